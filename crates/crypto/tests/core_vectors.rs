//! Frozen test vectors for the core proofs: `test-vectors/core/v1/*.json`.
//!
//! Each file holds `{"spec": ..., "vectors": [{"description", "valid", ...}]}`. Every vector goes
//! through [`check_test_vector`]: a valid one must verify (and decrypt to the stated value), an
//! invalid one must be rejected. Regenerate (only when a format deliberately changes) with
//! `TABELLA_REGEN_VECTORS=1 cargo test -p tabella-crypto --test core_vectors -- --ignored`.

use std::path::PathBuf;

use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use tabella_crypto::disjunctive::{OneOfProof, PrecomputedKey};
use tabella_crypto::dleq::{DleqProof, DleqStatement};
use tabella_crypto::elgamal::{Ciphertext, DlogTable, PublicKey, SecretKey};
use tabella_crypto::encoding::{point_from_bytes, scalar_from_bytes};
use tabella_crypto::group::{generator_h, SecretScalar, G};
use tabella_crypto::schnorr::SchnorrProof;
use tabella_crypto::vector::{EncryptedVector, VectorRule};

mod support;

fn dir() -> PathBuf {
    support::vectors_dir("core/v1")
}

fn hexv(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("hex")
}

fn point(v: &Value) -> Result<curve25519_dalek::ristretto::RistrettoPoint, tabella_crypto::Error> {
    point_from_bytes(&hexv(v))
}

/// Checks one vector of the given kind; returns Ok(()) iff the vector's statement holds.
fn check(kind: &str, v: &Value) -> Result<(), String> {
    let ctx = hexv(&v["context"]);
    let e = |x: tabella_crypto::Error| x.to_string();
    match kind {
        "elgamal" => {
            let sk = SecretKey::from_secret(
                SecretScalar::from_bytes(&hexv(&v["secret_key"])).map_err(e)?,
            );
            let pk: PublicKey =
                serde_json::from_value(v["public_key"].clone()).map_err(|x| x.to_string())?;
            if sk.public_key() != pk {
                return Err("public key does not match secret key".into());
            }
            let ct: Ciphertext =
                serde_json::from_value(v["ciphertext"].clone()).map_err(|x| x.to_string())?;
            let m = v["plaintext"].as_u64().ok_or("plaintext")?;
            let r = SecretScalar::from_bytes(&hexv(&v["randomness"])).map_err(e)?;
            if pk.encrypt_with(&Scalar::from(m), &r) != ct {
                return Err("re-encryption with the stated randomness differs".into());
            }
            let got = sk
                .decrypt_vartime(&ct, &DlogTable::new(1 << 20).map_err(e)?)
                .map_err(e)?;
            (got == m)
                .then_some(())
                .ok_or_else(|| format!("decrypted {got}, expected {m}"))
        }
        "schnorr" => {
            let y = point(&v["public"]).map_err(e)?;
            let p: SchnorrProof =
                serde_json::from_value(v["proof"].clone()).map_err(|x| x.to_string())?;
            p.verify(&ctx, &G, &y).map_err(e)
        }
        "dleq" => {
            let st = DleqStatement {
                b1: point(&v["b1"]).map_err(e)?,
                x1: point(&v["x1"]).map_err(e)?,
                b2: point(&v["b2"]).map_err(e)?,
                x2: point(&v["x2"]).map_err(e)?,
            };
            let p: DleqProof =
                serde_json::from_value(v["proof"].clone()).map_err(|x| x.to_string())?;
            p.verify(&ctx, &st).map_err(e)
        }
        "one_of" => {
            let pk: PublicKey =
                serde_json::from_value(v["public_key"].clone()).map_err(|x| x.to_string())?;
            let ct: Ciphertext =
                serde_json::from_value(v["ciphertext"].clone()).map_err(|x| x.to_string())?;
            let values: Vec<u64> =
                serde_json::from_value(v["values"].clone()).map_err(|x| x.to_string())?;
            let p: OneOfProof =
                serde_json::from_value(v["proof"].clone()).map_err(|x| x.to_string())?;
            p.verify(&ctx, &pk, &ct, &values).map_err(e)
        }
        "vector" => {
            let pk: PublicKey =
                serde_json::from_value(v["public_key"].clone()).map_err(|x| x.to_string())?;
            let rule: VectorRule =
                serde_json::from_value(v["rule"].clone()).map_err(|x| x.to_string())?;
            let ev: EncryptedVector =
                serde_json::from_value(v["vector"].clone()).map_err(|x| x.to_string())?;
            ev.verify(&ctx, &pk, &rule).map_err(e)
        }
        other => Err(format!("unknown vector kind {other}")),
    }
}

/// Runs every vector of every file; panics naming each vector whose outcome is wrong.
fn check_test_vector(file: &str, kind: &str) -> usize {
    let path = dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let vectors = doc["vectors"].as_array().expect("vectors array");
    assert!(!vectors.is_empty());
    let mut wrong = Vec::new();
    for v in vectors {
        let valid = v["valid"].as_bool().expect("valid flag");
        let outcome = check(kind, v);
        if outcome.is_ok() != valid {
            wrong.push(format!(
                "{}: expected valid={valid}, got {outcome:?}",
                v["description"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{file}: {wrong:#?}");
    vectors.len()
}

#[test]
fn core_vectors() {
    let mut n = 0;
    for (file, kind) in [
        ("elgamal.json", "elgamal"),
        ("schnorr.json", "schnorr"),
        ("dleq.json", "dleq"),
        ("one_of.json", "one_of"),
        ("vector.json", "vector"),
    ] {
        n += check_test_vector(file, kind);
    }
    assert!(n >= 20, "expected at least 20 vectors, found {n}");
}

// ---------------------------------------------------------------- generation

fn h(b: &[u8]) -> Value {
    Value::String(hex::encode(b))
}
fn hp(p: &curve25519_dalek::ristretto::RistrettoPoint) -> Value {
    h(p.compress().as_bytes())
}
fn vec_doc(spec: &str, vectors: Vec<Value>) -> Value {
    json!({"spec": spec, "generator": "crates/crypto/tests/core_vectors.rs (seeded ChaCha20)", "vectors": vectors})
}
fn mutate(v: &Value, path: &[&str], f: impl Fn(&Value) -> Value, desc: &str) -> Value {
    let mut out = v.clone();
    let mut cur = &mut out;
    for p in path {
        cur = if let Ok(i) = p.parse::<usize>() {
            &mut cur[i]
        } else {
            &mut cur[*p]
        };
    }
    *cur = f(cur);
    out["valid"] = json!(false);
    out["description"] = json!(desc);
    out
}
fn flip_point(_: &Value) -> Value {
    hp(&(G + generator_h()))
}
fn bump_scalar(v: &Value) -> Value {
    let s = scalar_from_bytes(&hexv(v)).unwrap() + Scalar::ONE;
    h(s.as_bytes())
}

#[test]
#[ignore = "regenerates the frozen vectors; run only when the format deliberately changes"]
fn regenerate_core_vectors() {
    if std::env::var("TABELLA_REGEN_VECTORS").ok().as_deref() != Some("1") {
        return;
    }
    let mut rng = ChaCha20Rng::seed_from_u64(20261123);
    std::fs::create_dir_all(dir()).unwrap();
    let write = |name: &str, doc: Value| {
        std::fs::write(
            dir().join(name),
            serde_json::to_string_pretty(&doc).unwrap() + "\n",
        )
        .unwrap();
    };
    let sk = SecretKey::generate(&mut rng);
    let pk = sk.public_key();
    let key = PrecomputedKey::new(pk);
    let ctx = b"tabella-test-vector".to_vec();

    // ElGamal
    let mut vs = Vec::new();
    for m in [0u64, 1, 42, 1_000_000] {
        let (ct, r) = pk.encrypt(m, &mut rng);
        vs.push(
            json!({"description": format!("encryption of {m}"), "valid": true, "context": h(&ctx),
            "secret_key": h(&sk.secret().to_bytes()), "public_key": pk, "plaintext": m,
            "randomness": h(&r.to_bytes()), "ciphertext": ct}),
        );
    }
    let base = vs[2].clone();
    vs.push(mutate(
        &base,
        &["ciphertext", "b"],
        flip_point,
        "ciphertext b altered",
    ));
    vs.push(mutate(
        &base,
        &["plaintext"],
        |_| json!(43),
        "wrong plaintext claimed",
    ));
    vs.push(mutate(
        &base,
        &["ciphertext", "a"],
        |_| h(&[0xff; 32]),
        "non-canonical point encoding",
    ));
    write(
        "elgamal.json",
        vec_doc("exponential ElGamal over Ristretto255", vs),
    );

    // Schnorr
    let x = SecretScalar::random(&mut rng);
    let p = SchnorrProof::prove(&ctx, &G, &x, &mut rng);
    let base = json!({"description": "valid proof of knowledge", "valid": true, "context": h(&ctx),
        "public": hp(&(x.expose() * G)), "proof": p});
    let vs = vec![
        base.clone(),
        mutate(
            &base,
            &["proof", "commitment"],
            flip_point,
            "commitment altered",
        ),
        mutate(
            &base,
            &["proof", "response"],
            bump_scalar,
            "response altered",
        ),
        mutate(
            &base,
            &["context"],
            |_| h(b"another context"),
            "other context",
        ),
        mutate(&base, &["public"], flip_point, "other public key"),
    ];
    write("schnorr.json", vec_doc("tabella/schnorr/v1", vs));

    // DLEQ
    let hh = generator_h();
    let (st, p) = DleqProof::prove(&ctx, &G, &hh, &x, &mut rng);
    let base = json!({"description": "valid DLEQ", "valid": true, "context": h(&ctx),
        "b1": hp(&st.b1), "x1": hp(&st.x1), "b2": hp(&st.b2), "x2": hp(&st.x2), "proof": p});
    let vs = vec![
        base.clone(),
        mutate(&base, &["x2"], flip_point, "unequal logarithms"),
        mutate(&base, &["proof", "a1"], flip_point, "A1 altered"),
        mutate(&base, &["proof", "a2"], flip_point, "A2 altered"),
        mutate(
            &base,
            &["proof", "response"],
            bump_scalar,
            "response altered",
        ),
    ];
    write("dleq.json", vec_doc("tabella/dleq/v1", vs));

    // One-of
    let mut vs = Vec::new();
    for (m, values) in [
        (0u64, vec![0u64, 1]),
        (1, vec![0, 1]),
        (3, vec![0, 1, 2, 3, 4]),
    ] {
        let (ct, r) = key.encrypt(m, &mut rng);
        let idx = values.iter().position(|v| *v == m).unwrap();
        let p = OneOfProof::prove(&ctx, &key, &ct, &values, idx, &r, &mut rng).unwrap();
        vs.push(
            json!({"description": format!("{m} in {values:?}"), "valid": true, "context": h(&ctx),
            "public_key": pk, "ciphertext": ct, "values": values, "proof": p}),
        );
    }
    let (ct, r) = key.encrypt(2, &mut rng);
    let p = OneOfProof::prove(&ctx, &key, &ct, &[0, 1], 1, &r, &mut rng).unwrap();
    vs.push(json!({"description": "2 claimed in [0, 1] (false statement)", "valid": false, "context": h(&ctx),
        "public_key": pk, "ciphertext": ct, "values": [0, 1], "proof": p}));
    let base = vs[1].clone();
    vs.push(mutate(
        &base,
        &["proof", "a", "0"],
        flip_point,
        "A_0 altered",
    ));
    vs.push(mutate(
        &base,
        &["proof", "b", "1"],
        flip_point,
        "B_1 altered",
    ));
    vs.push(mutate(
        &base,
        &["proof", "challenges", "0"],
        bump_scalar,
        "c_0 altered",
    ));
    vs.push(mutate(
        &base,
        &["proof", "responses", "1"],
        bump_scalar,
        "z_1 altered",
    ));
    vs.push(mutate(
        &base,
        &["values"],
        |_| json!([0, 2]),
        "other value set",
    ));
    vs.push(mutate(
        &base,
        &["ciphertext", "a"],
        flip_point,
        "other ciphertext",
    ));
    write("one_of.json", vec_doc("tabella/one-of/v1", vs));

    // Vector (a single-choice 3-option ballot contest)
    let rule = VectorRule::single_choice(3);
    let ev = EncryptedVector::encrypt(&ctx, &key, &rule, &[0, 0, 1], &mut rng).unwrap();
    let base = json!({"description": "single choice, option 3", "valid": true, "context": h(&ctx),
        "public_key": pk, "rule": rule, "vector": ev});
    let mut swapped = base.clone();
    let cts = swapped["vector"]["ciphertexts"].as_array_mut().unwrap();
    cts.swap(0, 2);
    let prs = swapped["vector"]["entry_proofs"].as_array_mut().unwrap();
    prs.swap(0, 2);
    swapped["valid"] = json!(false);
    swapped["description"] = json!("entries reordered with their proofs");
    let vs = vec![
        base.clone(),
        swapped,
        mutate(
            &base,
            &["rule", "sum_max"],
            |_| json!(2),
            "rule says up to 2 selections",
        ),
        mutate(
            &base,
            &["vector", "ciphertexts", "1", "b"],
            flip_point,
            "entry 2 ciphertext altered",
        ),
        mutate(
            &base,
            &["vector", "sum_proof", "proof", "responses", "0"],
            bump_scalar,
            "sum proof altered",
        ),
    ];
    write("vector.json", vec_doc("tabella/vector/v1", vs));
}
