//! Statistics proofs (`tabella_stats::proof::SignedProof`), as a verifying node receives them
//! on the ledger: range-proved answers, aggregations, noise lists, shuffles and key switches of
//! the fixture query. Input: one byte choosing the protocol step, then the proof's JSON.
//!
//! A decoded proof must re-encode stably. It is then re-signed by the prover of that step (a
//! cheating prover can sign anything) and offered to the audit in the state just before that
//! step, fully checked: the fuzzer cannot make a new valid proof, so an accepted body must be
//! the honest one (a different body accepted is a soundness bug).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_fuzz::{json_stable, stats};
use tabella_stats::audit::Check;
use tabella_stats::proof::SignedProof;

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("stats_proof"), |data: &[u8]| {
    let Some((&step, json)) = data.split_first() else {
        return;
    };
    let Ok(proof) = serde_json::from_slice::<SignedProof>(json) else {
        return;
    };
    json_stable(&proof);
    let f = stats();
    let i = usize::from(step) % f.proofs.len();
    let honest = &f.proofs[i];
    let mut audit = f.audits[i].clone();
    // The proof as sent (signature unchanged): accepted only if it is the honest one.
    if audit.clone().accept(&proof, Check::Full).is_ok() {
        assert_eq!(
            serde_json::to_value(&proof.body).unwrap(),
            serde_json::to_value(&honest.body).unwrap(),
            "another body than the honest one was accepted"
        );
    }
    // The body re-signed by the step's prover.
    let Ok(resigned) = SignedProof::sign(honest.query, &f.provers[i], proof.body) else {
        return;
    };
    if audit.accept(&resigned, Check::Full).is_ok() {
        assert_eq!(
            serde_json::to_value(&resigned.body).unwrap(),
            serde_json::to_value(&honest.body).unwrap(),
            "a re-signed tampered proof was accepted"
        );
    }
});
