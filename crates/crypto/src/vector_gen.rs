//! Regenerates the frozen test vectors under `test-vectors/{dkg,threshold}/v1/` from fixed seeds.
//!
//! Run `cargo test -p tabella-crypto --lib vector_gen -- --ignored`, review the diff, commit.
//! `tests/threshold_vectors.rs` checks every file. Lives inside the crate (not in `tests/`) because
//! the cheating-dealer vectors need the crate-private dealing hook.
//!
//! Test-only code: `lib.rs` declares this module under #[cfg(test)], so its `unwrap`s never reach
//! library builds.

use std::path::{Path, PathBuf};

use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};

use crate::dkg::tests::{idx, run, Ceremony};
use crate::dkg::{DkgTranscript, TrusteeIndex};
use crate::elgamal::SecretKey;
use crate::group::G;
use crate::keyswitch::KeySwitchShare;
use crate::threshold::{DecryptionShare, TallyDecryptionShare};

fn dir(kind: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-vectors")
        .join(kind)
        .join("v1");
    std::fs::create_dir_all(&d).unwrap();
    for e in std::fs::read_dir(&d).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            std::fs::remove_file(p).unwrap();
        }
    }
    d
}

fn write(d: &Path, name: &str, v: Value) {
    let mut s = serde_json::to_string_pretty(&v).unwrap();
    s.push('\n');
    std::fs::write(d.join(format!("{name}.json")), s).unwrap();
}

fn dkg_vector(description: &str, valid: bool, t: &DkgTranscript, expected: &Ceremony) -> Value {
    let disq: Vec<TrusteeIndex> = expected
        .outcome
        .disqualified
        .iter()
        .map(|d| d.dealer)
        .collect();
    json!({
        "kind": "dkg_transcript",
        "description": description,
        "valid": valid,
        "transcript": t,
        "expected": {
            "joint_key": expected.outcome.joint_key,
            "disqualified": disq,
        }
    })
}

#[test]
#[ignore = "rewrites the frozen test vectors; run explicitly and review the diff"]
fn regenerate_test_vectors() {
    // ---------------------------------------------------------------- dkg/v1
    let d = dir("dkg");
    let mut rng = ChaCha20Rng::seed_from_u64(2026_0001);
    let honest = run(3, 2, &mut rng, None, None);
    write(
        &d,
        "honest_n3_t2",
        dkg_vector(
            "honest 2-of-3 ceremony: all dealers qualify; expected joint key and verification shares",
            true,
            &honest.transcript,
            &honest,
        ),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(2026_0002);
    let cheat = run(4, 2, &mut rng, Some((2, 3)), None);
    write(
        &d,
        "cheating_dealer_n4_t2",
        dkg_vector(
            "dealer 2 sends trustee 3 a bad share; trustee 3's complaint (revealed key + DLEQ) disqualifies dealer 2; QUAL = {1,3,4}",
            true,
            &cheat.transcript,
            &cheat,
        ),
    );
    let mut rng = ChaCha20Rng::seed_from_u64(2026_0003);
    let false_c = run(3, 2, &mut rng, None, Some((3, 1)));
    write(
        &d,
        "false_complaint_n3_t2",
        dkg_vector(
            "trustee 3 complains about dealer 1 although its share is good; the complaint is dismissed and dealer 1 stays in QUAL",
            true,
            &false_c.transcript,
            &false_c,
        ),
    );
    // Negative: the record drops the complaint's effect — claiming dealer 2 qualified is wrong.
    let mut claimed = run(
        4,
        2,
        &mut ChaCha20Rng::seed_from_u64(2026_0002),
        Some((2, 3)),
        None,
    );
    claimed.outcome = crate::dkg::recompute_outcome(
        &cheat.transcript.params,
        &cheat.transcript.longterm_publics,
        &cheat.transcript.dealings,
        &[],
    )
    .unwrap();
    write(
        &d,
        "cheating_dealer_claimed_qualified",
        dkg_vector(
            "INVALID: expected result ignores trustee 3's valid complaint and keeps dealer 2 in QUAL",
            false,
            &cheat.transcript,
            &claimed,
        ),
    );
    let mut tampered = honest.transcript.clone();
    tampered.dealings[0].commitments[1] += G;
    write(
        &d,
        "tampered_commitment",
        dkg_vector(
            "INVALID: dealer 1's second commitment altered after posting (its proof of knowledge no longer verifies), yet the expected result keeps the original joint key",
            false,
            &tampered,
            &honest,
        ),
    );
    let mut short = honest.transcript.clone();
    short.dealings.truncate(1);
    write(
        &d,
        "too_few_dealings",
        dkg_vector(
            "INVALID: only dealer 1 posted a dealing, fewer than t = 2 qualify, the ceremony must fail",
            false,
            &short,
            &honest,
        ),
    );

    // ---------------------------------------------------------------- threshold/v1
    let d = dir("threshold");
    let jk = &honest.outcome.joint_key;
    let mut rng = ChaCha20Rng::seed_from_u64(2026_0100);
    let ctx = b"tabella-test/election-1/contest-0";
    let (ct, _) = jk.public_key.encrypt(42, &mut rng);
    let (other_ct, _) = jk.public_key.encrypt(42, &mut rng);
    let shares: Vec<DecryptionShare> = honest
        .shares
        .iter()
        .map(|k| DecryptionShare::create(k, &ct, ctx, &mut rng))
        .collect();
    let share_vec = |description: &str, valid: bool, s: &DecryptionShare, c: &[u8]| {
        json!({
            "kind": "decryption_share",
            "description": description,
            "valid": valid,
            "joint_key": jk,
            "context": hex::encode(c),
            "ciphertext": ct,
            "share": s,
        })
    };
    write(
        &d,
        "share_valid",
        share_vec(
            "trustee 1's decryption share of Enc(42) with its DLEQ proof",
            true,
            &shares[0],
            ctx,
        ),
    );
    let mut f = shares[0];
    f.share += G;
    write(
        &d,
        "share_altered_point",
        share_vec("INVALID: D_j altered (D_j + G)", false, &f, ctx),
    );
    let mut f = shares[0];
    f.proof.a1 += G;
    write(
        &d,
        "share_altered_a1",
        share_vec("INVALID: proof commitment A1 altered", false, &f, ctx),
    );
    let mut f = shares[0];
    f.proof.a2 += G;
    write(
        &d,
        "share_altered_a2",
        share_vec("INVALID: proof commitment A2 altered", false, &f, ctx),
    );
    let mut f = shares[0];
    f.proof.response += Scalar::ONE;
    write(
        &d,
        "share_altered_response",
        share_vec("INVALID: proof response altered", false, &f, ctx),
    );
    let mut f = shares[0];
    f.trustee = idx(2);
    write(
        &d,
        "share_wrong_trustee",
        share_vec(
            "INVALID: trustee 1's share relabelled as trustee 2's",
            false,
            &f,
            ctx,
        ),
    );
    write(
        &d,
        "share_wrong_context",
        share_vec(
            "INVALID: valid share presented under another context",
            false,
            &shares[0],
            b"tabella-test/election-1/contest-1",
        ),
    );
    let other = DecryptionShare::create(&honest.shares[0], &other_ct, ctx, &mut rng);
    write(
        &d,
        "share_other_ciphertext",
        share_vec(
            "INVALID: trustee 1's share of a different ciphertext",
            false,
            &other,
            ctx,
        ),
    );
    let wrong_key = crate::dkg::KeyShare::from_parts(idx(1), honest.shares[1].secret().clone());
    let f = DecryptionShare::create(&wrong_key, &ct, ctx, &mut rng);
    write(
        &d,
        "share_wrong_key",
        share_vec("INVALID: trustee 1's share computed with trustee 2's secret (self-consistent proof, wrong X_j)", false, &f, ctx),
    );

    let dec_vec = |description: &str, valid: bool, s: Vec<DecryptionShare>| {
        json!({
            "kind": "threshold_decryption",
            "description": description,
            "valid": valid,
            "joint_key": jk,
            "context": hex::encode(ctx),
            "ciphertext": ct,
            "shares": s,
            "expected_plaintext": 42,
        })
    };
    for (a, b) in [(0usize, 1usize), (0, 2), (1, 2)] {
        write(
            &d,
            &format!("decrypt_trustees_{}_{}", a + 1, b + 1),
            dec_vec(
                &format!(
                    "trustees {} and {} decrypt Enc(42); the third is absent",
                    a + 1,
                    b + 1
                ),
                true,
                vec![shares[a], shares[b]],
            ),
        );
    }
    write(
        &d,
        "decrypt_all_three",
        dec_vec("all three trustees decrypt Enc(42)", true, shares.clone()),
    );
    let mut bad = shares[1];
    bad.share += G;
    write(
        &d,
        "decrypt_one_bad_share",
        dec_vec(
            "INVALID: trustee 2's share altered",
            false,
            vec![shares[0], bad],
        ),
    );
    write(
        &d,
        "decrypt_duplicate_share",
        dec_vec(
            "INVALID: trustee 1's share given twice",
            false,
            vec![shares[0], shares[0]],
        ),
    );
    write(
        &d,
        "decrypt_too_few",
        dec_vec("INVALID: one share, threshold is 2", false, vec![shares[2]]),
    );

    let tally: Vec<u64> = vec![3, 0, 17, 250];
    let cts: Vec<_> = tally
        .iter()
        .map(|m| jk.public_key.encrypt(*m, &mut rng).0)
        .collect();
    let tshares: Vec<TallyDecryptionShare> = honest.shares[1..]
        .iter()
        .map(|k| TallyDecryptionShare::create(k, &cts, ctx, &mut rng))
        .collect();
    let tally_vec = |description: &str, valid: bool, s: &[TallyDecryptionShare]| {
        json!({
            "kind": "tally_decryption",
            "description": description,
            "valid": valid,
            "joint_key": jk,
            "context": hex::encode(ctx),
            "ciphertexts": cts,
            "shares": s,
            "expected_plaintexts": tally,
        })
    };
    write(
        &d,
        "tally_trustees_2_3",
        tally_vec("trustees 2 and 3 decrypt a 4-entry tally", true, &tshares),
    );
    let mut bad = tshares.clone();
    bad[0].shares.swap(1, 2);
    bad[0].proofs.swap(1, 2);
    write(
        &d,
        "tally_swapped_positions",
        tally_vec(
            "INVALID: trustee 2's shares (and proofs) for positions 1 and 2 swapped",
            false,
            &bad,
        ),
    );

    let querier = SecretKey::generate(&mut rng);
    let q = querier.public_key();
    let parts = vec![idx(1), idx(3)];
    let ks: Vec<KeySwitchShare> = parts
        .iter()
        .map(|j| {
            KeySwitchShare::create(&honest.shares[j.position()], &parts, &ct, &q, ctx, &mut rng)
                .unwrap()
        })
        .collect();
    let ks_vec = |description: &str, valid: bool, s: &[KeySwitchShare]| {
        json!({
            "kind": "key_switch",
            "description": description,
            "valid": valid,
            "joint_key": jk,
            "context": hex::encode(ctx),
            "ciphertext": ct,
            "participants": parts,
            "querier_public_key": q,
            "querier_secret_key": hex::encode(querier.secret().to_bytes()),
            "shares": s,
            "expected_plaintext": 42,
        })
    };
    write(
        &d,
        "keyswitch_trustees_1_3",
        ks_vec(
            "trustees 1 and 3 switch Enc_Y(42) to the querier's key; the querier decrypts 42",
            true,
            &ks,
        ),
    );
    type Tamper = fn(&mut KeySwitchShare);
    let tampers: [(&str, &str, Tamper); 5] = [
        (
            "keyswitch_altered_v",
            "INVALID: trustee 1's V altered",
            |s| s.v += G,
        ),
        (
            "keyswitch_altered_w",
            "INVALID: trustee 1's W altered",
            |s| s.w += G,
        ),
        (
            "keyswitch_altered_commitment",
            "INVALID: a proof commitment altered",
            |s| s.proof.commitments[2] += G,
        ),
        (
            "keyswitch_altered_response",
            "INVALID: a proof response altered",
            |s| s.proof.responses[0] += Scalar::ONE,
        ),
        (
            "keyswitch_wrong_trustee",
            "INVALID: trustee 1's contribution relabelled as trustee 2's",
            |s| s.trustee = TrusteeIndex::new(2).unwrap(),
        ),
    ];
    for (name, description, tamper) in tampers {
        let mut bad = ks.clone();
        tamper(&mut bad[0]);
        write(&d, name, ks_vec(description, false, &bad));
    }
}
