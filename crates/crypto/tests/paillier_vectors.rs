//! Frozen Paillier test vectors (`test-vectors/paillier/v1`).
//!
//! `check_vectors` loads every file in the folder and checks each vector: positive ones must
//! decrypt / open / verify to the stated values, negative ones must be rejected.
//! `regenerate_vectors` (ignored) rewrites the files from a seeded RNG:
//! `cargo test -p tabella-crypto --test paillier_vectors -- --ignored`. Regenerating is only for a
//! deliberate format change: the committed files are the reference other implementations check.

use std::path::PathBuf;

use crypto_bigint::{ConcatenatingMul, Resize};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use tabella_crypto::paillier::{
    verify_opening, Ciphertext, MembershipProof, Plaintext, PublicKey, Randomness, SecretKey,
};

fn dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/paillier/v1"
    ))
}

fn from_value<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap()
}

fn load_key() -> SecretKey {
    let text = std::fs::read_to_string(dir().join("key.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    key_from(&v)
}

fn key_from(v: &Value) -> SecretKey {
    let p = hex::decode(v["p"].as_str().unwrap()).unwrap();
    let q = hex::decode(v["q"].as_str().unwrap()).unwrap();
    let mut bytes = b"TBPAISK1".to_vec();
    for x in [&p, &q] {
        bytes.extend_from_slice(&(x.len() as u16).to_be_bytes());
        bytes.extend_from_slice(x);
    }
    SecretKey::from_bytes(&bytes).unwrap()
}

fn check_key_file(v: &Value) -> usize {
    let sk = key_from(v);
    let pk: PublicKey = from_value(&v["public_key"]);
    assert_eq!(sk.public_key(), &pk);
    assert_eq!(pk.modulus_bits(), v["bits"].as_u64().unwrap() as u32);
    1
}

fn check_encryption_file(v: &Value, sk: &SecretKey) -> usize {
    let pk: PublicKey = from_value(&v["public_key"]);
    assert_eq!(&pk, sk.public_key());
    let mut count = 0;
    for vec in v["vectors"].as_array().unwrap() {
        let desc = vec["description"].as_str().unwrap();
        let valid = vec["valid"].as_bool().unwrap();
        let m: Plaintext = from_value(&vec["m"]);
        let r: Randomness = from_value(&vec["r"]);
        let parsed: Result<Ciphertext, _> = serde_json::from_value(vec["ciphertext"].clone());
        let outcome = parsed.map_err(|e| e.to_string()).and_then(|c| {
            verify_opening(&pk, &c, &m, &r)
                .map(|_| c)
                .map_err(|e| e.to_string())
        });
        if valid {
            let c = outcome.unwrap_or_else(|e| panic!("{desc}: {e}"));
            assert_eq!(pk.encrypt_with(&m, &r).unwrap(), c, "{desc}");
            assert_eq!(sk.decrypt(&c).unwrap(), m, "{desc}");
            assert_eq!(sk.decrypt_textbook(&c).unwrap(), m, "{desc}");
            assert_eq!(sk.recover_randomness(&c).unwrap(), r, "{desc}");
            let bytes = hex::decode(vec["ciphertext_bytes"].as_str().unwrap()).unwrap();
            assert_eq!(pk.ciphertext_from_bytes(&bytes).unwrap(), c, "{desc}");
        } else {
            assert!(outcome.is_err(), "negative vector accepted: {desc}");
        }
        count += 1;
    }
    count
}

fn check_membership_file(v: &Value) -> usize {
    let pk: PublicKey = from_value(&v["public_key"]);
    let set: Vec<Plaintext> = from_value(&v["set"]);
    let mut count = 0;
    for vec in v["vectors"].as_array().unwrap() {
        let desc = vec["description"].as_str().unwrap();
        let valid = vec["valid"].as_bool().unwrap();
        let context = hex::decode(vec["context"].as_str().unwrap()).unwrap();
        let c: Result<Ciphertext, _> = serde_json::from_value(vec["ciphertext"].clone());
        let proof: Result<MembershipProof, _> = serde_json::from_value(vec["proof"].clone());
        let outcome = match (c, proof) {
            (Ok(c), Ok(p)) => p.verify(&context, &pk, &c, &set).map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        if valid {
            outcome.unwrap_or_else(|e| panic!("{desc}: {e}"));
        } else {
            assert!(outcome.is_err(), "negative vector accepted: {desc}");
        }
        count += 1;
    }
    count
}

#[test]
fn check_vectors() {
    let sk = load_key();
    let mut files = 0;
    let mut vectors = 0;
    let mut entries: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        vectors += match v["kind"].as_str().unwrap() {
            "key" => check_key_file(&v),
            "encryption" => check_encryption_file(&v, &sk),
            "membership" => check_membership_file(&v),
            other => panic!("{}: unknown kind {other}", path.display()),
        };
        files += 1;
    }
    assert!(
        files >= 3,
        "expected the key, encryption and membership files"
    );
    assert!(vectors >= 10);
}

// ------------------------------------------------------------------------------------------
// Generator.

fn hexs<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap()
}

/// Flips the last hex digit of a hex string value.
fn flip_last(v: &Value) -> Value {
    let s = v.as_str().unwrap();
    let (head, last) = s.split_at(s.len() - 1);
    let d = u8::from_str_radix(last, 16).unwrap() ^ 1;
    Value::String(format!("{head}{d:x}"))
}

fn write(name: &str, v: &Value) {
    let mut text = serde_json::to_string_pretty(v).unwrap();
    text.push('\n');
    std::fs::write(dir().join(name), text).unwrap();
}

#[test]
#[ignore = "rewrites the frozen vectors; run only on a deliberate format change"]
fn regenerate_vectors() {
    std::fs::create_dir_all(dir()).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(20_011_999);
    let sk = SecretKey::generate(2048, &mut rng).unwrap();
    let pk = sk.public_key().clone();
    let (p, q) = sk.primes();
    let hex_of = |x: &crypto_bigint::BoxedUint| hex::encode(x.to_be_bytes_trimmed_vartime());
    write(
        "key.json",
        &json!({
            "kind": "key",
            "description": "Fixed 2048-bit Paillier key (g = n + 1) from two 1024-bit safe primes, \
                generated by SecretKey::generate with ChaCha20Rng::seed_from_u64(20011999). \
                TEST ONLY: the secret primes are public.",
            "bits": pk.modulus_bits(),
            "p": hex_of(p),
            "q": hex_of(q),
            "public_key": hexs(&pk),
        }),
    );

    // Encryption / opening vectors.
    let mut vectors = Vec::new();
    let n_minus_1 = Plaintext::new(pk.modulus().wrapping_sub(
        crypto_bigint::BoxedUint::one().resize_unchecked(pk.modulus().bits_precision()),
    ));
    let plaintexts = [
        ("m = 0", Plaintext::from(0)),
        ("m = 1", Plaintext::from(1)),
        ("m = 42", Plaintext::from(42)),
        ("m = 2^64 - 1", Plaintext::from(u64::MAX)),
        ("m = n - 1 (largest plaintext)", n_minus_1),
    ];
    let mut first = None;
    for (desc, m) in plaintexts {
        let (c, r) = pk.encrypt(&m, &mut rng).unwrap();
        let bytes = pk.ciphertext_to_bytes(&c).unwrap();
        vectors.push(json!({
            "description": format!("{desc}: c = (1 + m·n)·r^n mod n²; decrypts to m, recovers r"),
            "valid": true,
            "m": hexs(&m), "r": hexs(&r), "ciphertext": hexs(&c),
            "ciphertext_bytes": hex::encode(bytes),
        }));
        if first.is_none() {
            first = Some((m, r, c));
        }
    }
    let (m0, r0, c0) = first.unwrap();
    let c0v = hexs(&c0);
    let n = pk.modulus().clone();
    let n2 = n.concatenating_mul(&n);
    let negatives = [
        (
            "tampered ciphertext (last hex digit flipped): re-encryption of (m, r) differs",
            flip_last(&c0v),
            hexs(&m0),
            hexs(&r0),
        ),
        (
            "claimed plaintext m + 1: re-encryption differs",
            c0v.clone(),
            hexs(&Plaintext::from(1)),
            hexs(&r0),
        ),
        (
            "tampered randomness (last hex digit flipped)",
            c0v.clone(),
            hexs(&m0),
            flip_last(&hexs(&r0)),
        ),
        (
            "ciphertext = n² (not below n²)",
            Value::String(hex_of(&n2)),
            hexs(&m0),
            hexs(&r0),
        ),
        (
            "ciphertext = n (not coprime to n)",
            Value::String(hex_of(&n)),
            hexs(&m0),
            hexs(&r0),
        ),
        (
            "ciphertext = 0",
            Value::String("00".into()),
            hexs(&m0),
            hexs(&r0),
        ),
        (
            "ciphertext with a leading zero byte (non-minimal hex)",
            Value::String(format!("00{}", c0v.as_str().unwrap())),
            hexs(&m0),
            hexs(&r0),
        ),
        (
            "ciphertext in uppercase hex",
            Value::String(c0v.as_str().unwrap().to_uppercase()),
            hexs(&m0),
            hexs(&r0),
        ),
    ];
    for (desc, c, m, r) in negatives {
        vectors.push(json!({"description": desc, "valid": false, "m": m, "r": r, "ciphertext": c}));
    }
    write(
        "encryption.json",
        &json!({
            "kind": "encryption",
            "description": "Paillier encryption with g = n + 1 under key.json. Positive vectors: \
                encrypt_with(m, r) = ciphertext, decryption gives m, randomness recovery gives r, \
                and verify_opening accepts. Negative vectors: verify_opening (or decoding) must reject.",
            "public_key": hexs(&pk),
            "vectors": vectors,
        }),
    );

    // Membership vectors for S = {0, 1}.
    let set = [Plaintext::from(0), Plaintext::from(1)];
    let ctx = b"tabella test vectors/election 1/contest 0".to_vec();
    let mut vectors = Vec::new();
    let mut valid_one = None;
    for (i, m) in set.iter().enumerate() {
        let (c, r) = pk.encrypt(m, &mut rng).unwrap();
        let proof = MembershipProof::prove(&ctx, &pk, &c, &set, i, &r, &mut rng).unwrap();
        proof.verify(&ctx, &pk, &c, &set).unwrap();
        vectors.push(json!({
            "description": format!("valid proof that an encryption of {i} is in {{0, 1}}"),
            "valid": true, "context": hex::encode(&ctx),
            "ciphertext": hexs(&c), "proof": hexs(&proof),
        }));
        valid_one = Some((c, proof));
    }
    let (c1, p1) = valid_one.unwrap();
    let p1v = hexs(&p1);
    let mut neg = |desc: &str, context: &[u8], c: Value, proof: Value| {
        vectors.push(json!({
            "description": desc, "valid": false, "context": hex::encode(context),
            "ciphertext": c, "proof": proof,
        }));
    };
    let c1v = hexs(&c1);
    neg(
        "valid proof under another context",
        b"tabella test vectors/election 2/contest 0",
        c1v.clone(),
        p1v.clone(),
    );
    neg(
        "tampered ciphertext (last hex digit flipped)",
        &ctx,
        flip_last(&c1v),
        p1v.clone(),
    );
    for field in ["challenges", "responses"] {
        for j in 0..2 {
            let mut t = p1v.clone();
            t[field][j] = flip_last(&t[field][j]);
            neg(
                &format!("tampered proof: {field}[{j}] last hex digit flipped"),
                &ctx,
                c1v.clone(),
                t,
            );
        }
    }
    let mut t = p1v.clone();
    t["challenges"].as_array_mut().unwrap().swap(0, 1);
    neg("tampered proof: challenges swapped", &ctx, c1v.clone(), t);
    let mut t = p1v.clone();
    t["responses"].as_array_mut().unwrap().pop();
    neg("tampered proof: a response removed", &ctx, c1v.clone(), t);
    let mut t = p1v.clone();
    t["challenges"][0] = Value::String(format!("01{}", "00".repeat(32)));
    neg(
        "tampered proof: challenge of 2^256 (outside the challenge space)",
        &ctx,
        c1v.clone(),
        t,
    );
    // A proof made by an honest prover for an encryption of 2 (outside the set).
    let (c2, r2) = pk.encrypt(&Plaintext::from(2), &mut rng).unwrap();
    let p2 = MembershipProof::prove(&ctx, &pk, &c2, &set, 1, &r2, &mut rng).unwrap();
    neg(
        "proof for an encryption of 2, which is outside {0, 1}",
        &ctx,
        hexs(&c2),
        hexs(&p2),
    );
    write(
        "membership.json",
        &json!({
            "kind": "membership",
            "description": "Baudron-Fouque-Pointcheval-Stern (PODC 2001) 1-out-of-k membership \
                proofs, Fiat-Shamir on merlin transcript 'tabella/paillier-membership/v1' bound \
                to the hex context, for S = {0, 1} under key.json.",
            "public_key": hexs(&pk),
            "set": hexs(&set),
            "vectors": vectors,
        }),
    );
}
