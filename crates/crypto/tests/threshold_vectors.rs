//! Checks every frozen vector under `test-vectors/dkg/v1/` and `test-vectors/threshold/v1/`.
//!
//! Each file is a JSON object with `kind`, `description` and `valid`. A valid vector must verify
//! and give its stated result; an invalid one must be rejected (an error, or a different result).
//! Regenerate with `cargo test -p tabella-crypto --lib vector_gen -- --ignored`.

mod support;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tabella_crypto::dkg::{DkgTranscript, JointKey, TrusteeIndex};
use tabella_crypto::elgamal::{Ciphertext, DlogTable, PublicKey, SecretKey};
use tabella_crypto::group::SecretScalar;
use tabella_crypto::keyswitch::{combine_key_switch, KeySwitchShare};
use tabella_crypto::threshold::{
    decrypt_tally, decrypt_vartime, DecryptionShare, TallyDecryptionShare,
};

fn field<T: DeserializeOwned>(v: &Value, name: &str) -> T {
    serde_json::from_value(v[name].clone()).unwrap_or_else(|e| panic!("field {name}: {e}"))
}

fn bytes(v: &Value, name: &str) -> Vec<u8> {
    hex::decode(field::<String>(v, name)).unwrap()
}

/// Evaluates one vector; `Ok(())` means it verified and matched its stated result.
fn evaluate(v: &Value, table: &DlogTable) -> Result<(), String> {
    let kind: String = field(v, "kind");
    match kind.as_str() {
        "dkg_transcript" => {
            let t: DkgTranscript = field(v, "transcript");
            let expected_key: JointKey = field(&v["expected"], "joint_key");
            let expected_disq: Vec<TrusteeIndex> = field(&v["expected"], "disqualified");
            expected_key.validate().map_err(|e| e.to_string())?;
            let o = t.recompute().map_err(|e| e.to_string())?;
            let disq: Vec<TrusteeIndex> = o.disqualified.iter().map(|d| d.dealer).collect();
            if o.joint_key != expected_key || disq != expected_disq {
                return Err("recomputed outcome differs from the expected one".into());
            }
            Ok(())
        }
        "decryption_share" => {
            let jk: JointKey = field(v, "joint_key");
            let ct: Ciphertext = field(v, "ciphertext");
            let share: DecryptionShare = field(v, "share");
            share
                .verify(&jk, &ct, &bytes(v, "context"))
                .map_err(|e| e.to_string())
        }
        "threshold_decryption" => {
            let jk: JointKey = field(v, "joint_key");
            let ct: Ciphertext = field(v, "ciphertext");
            let shares: Vec<DecryptionShare> = field(v, "shares");
            let expected: u64 = field(v, "expected_plaintext");
            let m = decrypt_vartime(&jk, &ct, &shares, &bytes(v, "context"), table)
                .map_err(|e| e.to_string())?;
            (m == expected)
                .then_some(())
                .ok_or_else(|| format!("decrypted {m}, expected {expected}"))
        }
        "tally_decryption" => {
            let jk: JointKey = field(v, "joint_key");
            let cts: Vec<Ciphertext> = field(v, "ciphertexts");
            let shares: Vec<TallyDecryptionShare> = field(v, "shares");
            let expected: Vec<u64> = field(v, "expected_plaintexts");
            let ctx = bytes(v, "context");
            for s in &shares {
                s.verify(&jk, &cts, &ctx).map_err(|e| e.to_string())?;
            }
            let m = decrypt_tally(&jk, &cts, &shares, &ctx, table).map_err(|e| e.to_string())?;
            (m == expected)
                .then_some(())
                .ok_or_else(|| format!("decrypted {m:?}, expected {expected:?}"))
        }
        "key_switch" => {
            let jk: JointKey = field(v, "joint_key");
            let ct: Ciphertext = field(v, "ciphertext");
            let parts: Vec<TrusteeIndex> = field(v, "participants");
            let q: PublicKey = field(v, "querier_public_key");
            let qsk = SecretKey::from_secret(
                SecretScalar::from_bytes(&bytes(v, "querier_secret_key")).unwrap(),
            );
            assert_eq!(
                qsk.public_key(),
                q,
                "vector's querier key pair is inconsistent"
            );
            let shares: Vec<KeySwitchShare> = field(v, "shares");
            let expected: u64 = field(v, "expected_plaintext");
            let switched = combine_key_switch(&jk, &parts, &ct, &q, &shares, &bytes(v, "context"))
                .map_err(|e| e.to_string())?;
            let m = qsk
                .decrypt_vartime(&switched, table)
                .map_err(|e| e.to_string())?;
            (m == expected)
                .then_some(())
                .ok_or_else(|| format!("decrypted {m}, expected {expected}"))
        }
        other => panic!("unknown vector kind {other}"),
    }
}

#[test]
fn dkg_v1_vectors() {
    let table = DlogTable::new(1000).unwrap();
    let (valid, invalid) = support::check_vector_files("dkg/v1", |v| evaluate(v, &table));
    assert!(valid + invalid >= 5, "expected the frozen DKG vectors");
    assert!(valid > 0 && invalid > 0);
}

#[test]
fn threshold_v1_vectors() {
    let table = DlogTable::new(1000).unwrap();
    let (valid, invalid) = support::check_vector_files("threshold/v1", |v| evaluate(v, &table));
    assert!(
        valid + invalid >= 20,
        "expected the frozen threshold vectors"
    );
    assert!(valid > 0 && invalid > 0);
}
