//! Election envelopes (officials' signed actions and voters' ballots), as the ledger and the
//! verifier read them: `Envelope` JSON, its signed payload (`ActionBody` or `BallotBody`), and
//! the election state machine of the fixture election (voting open).
//!
//! A decoded envelope must round-trip. A ballot's payload is re-signed with a key of ours, so
//! that its validity proofs (not only its signature) are verified against the election key;
//! the fuzzer cannot forge a proof, so a ballot that verifies must carry the proofs of a
//! fixture ballot. Applying any envelope to the open election either fails and leaves the
//! counts unchanged, or succeeds only where `check_ballot` accepted the ballot.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::group::{SecretScalar, G};
use tabella_election::action::{ActionBody, Envelope};
use tabella_election::ballot::sign_ballot;
use tabella_election::batch::verify_one;
use tabella_election::state::ProofCheck;
use tabella_fuzz::{election, json_round_trip, open_election};

fn fixture_payloads() -> &'static Vec<String> {
    static P: OnceLock<Vec<String>> = OnceLock::new();
    P.get_or_init(|| {
        election()
            .record
            .log
            .iter()
            .filter_map(|e| match e {
                Envelope::Ballot(b) => Some(b.payload.clone()),
                Envelope::Official(_) => None,
            })
            .collect()
    })
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("election_envelope"), |data: &[u8]| {
    let Ok(env) = serde_json::from_slice::<Envelope>(data) else {
        return;
    };
    json_round_trip(&env);
    let _ = env.hash();
    let state = open_election();
    let manifest = state.manifest().unwrap();
    let mut ballot_ok = None;
    match &env {
        Envelope::Official(a) => {
            if let Ok(body) = serde_json::from_str::<ActionBody>(&a.payload) {
                json_round_trip(&body);
            }
            let _ = a.open();
        }
        Envelope::Ballot(b) => {
            if let Ok(parsed) = b.parse() {
                json_round_trip(&parsed.body);
                let key = state.election_key().unwrap();
                let mut rng = ChaCha20Rng::seed_from_u64(1);
                let ours = SecretScalar::random(&mut rng);
                let resigned = sign_ballot(b.payload.clone(), &ours, &mut rng);
                let signer = G * ours.expose();
                if verify_one(&resigned, &parsed, manifest, key, &signer).is_ok() {
                    // Proofs of a payload the fuzzer made up cannot verify, but a fixture
                    // ballot's payload may come back with its JSON re-spelled.
                    let canon = serde_json::to_string(&parsed.body).unwrap();
                    assert!(
                        fixture_payloads().iter().any(|p| {
                            serde_json::from_str::<serde_json::Value>(p).ok()
                                == serde_json::from_str::<serde_json::Value>(&canon).ok()
                        }),
                        "a ballot whose proofs were not made by a voter verified"
                    );
                }
            }
            ballot_ok = Some(state.check_ballot(b, ProofCheck::Verify).is_ok());
        }
    }
    let mut after = state.clone();
    let before = after.counts();
    match after.apply(&env) {
        Ok(_) => {
            if let Some(ok) = ballot_ok {
                assert!(ok, "apply accepted a ballot check_ballot refused");
            }
        }
        Err(_) => assert_eq!(after.counts(), before, "a refused envelope changed the counts"),
    }
});
