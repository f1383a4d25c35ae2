//! Frozen test vectors for stealth keys (`test-vectors/stealth/v1/`). `check_stealth_vectors`
//! checks every file; the ignored `regenerate_stealth_vectors` rewrites them.

use std::fs;
use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde_json::{json, Value};
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::schnorr::SchnorrSignature;
use tabella_crypto::stealth::{
    generate_meta_address, MetaAddress, ScanSecret, SpendSecret, StealthKey, StealthSecret,
};

mod support;

fn dir() -> PathBuf {
    support::vectors_dir("stealth/v1")
}

fn secret(v: &Value) -> Result<SecretScalar, String> {
    let b = hex::decode(v.as_str().ok_or("secret not a string")?).map_err(|e| e.to_string())?;
    SecretScalar::from_bytes(&b).map_err(|e| e.to_string())
}

fn check(v: &Value) -> Result<(), String> {
    let d = &v["data"];
    let e = |e: serde_json::Error| e.to_string();
    match v["kind"].as_str().ok_or("kind")? {
        "derivation" => {
            let meta: MetaAddress = serde_json::from_value(d["meta_address"].clone()).map_err(e)?;
            let r = secret(&d["r"])?;
            let want: StealthKey = serde_json::from_value(d["stealth_key"].clone()).map_err(e)?;
            (meta.derive_stealth_key_with(&r) == want)
                .then_some(())
                .ok_or_else(|| "derived key differs".into())
        }
        "scan" => {
            let scan = ScanSecret::from_secret(secret(&d["scan_secret"])?);
            let spend: MetaAddress =
                serde_json::from_value(d["meta_address"].clone()).map_err(e)?;
            if scan.public() != spend.scan {
                return Err("scan secret does not match meta-address".into());
            }
            let keys: Vec<StealthKey> = serde_json::from_value(d["keys"].clone()).map_err(e)?;
            let want: Vec<usize> = serde_json::from_value(d["owned"].clone()).map_err(e)?;
            (scan.scan(&spend.spend, &keys) == want)
                .then_some(())
                .ok_or_else(|| "scan result differs".into())
        }
        "secret" => {
            let scan = ScanSecret::from_secret(secret(&d["scan_secret"])?);
            let spend = SpendSecret::from_secret(secret(&d["spend_secret"])?);
            let key: StealthKey = serde_json::from_value(d["stealth_key"].clone()).map_err(e)?;
            let s = StealthSecret::derive(&scan, &spend, &key).map_err(|e| e.to_string())?;
            let want = secret(&d["one_time_secret"])?;
            (s.secret() == &want && want.expose() * G == key.p)
                .then_some(())
                .ok_or_else(|| "one-time secret differs".into())
        }
        "signature" => {
            let key: StealthKey = serde_json::from_value(d["stealth_key"].clone()).map_err(e)?;
            let msg =
                hex::decode(d["message"].as_str().ok_or("message")?).map_err(|e| e.to_string())?;
            let sig: SchnorrSignature =
                serde_json::from_value(d["signature"].clone()).map_err(e)?;
            key.verify(&msg, &sig).map_err(|e| e.to_string())
        }
        k => Err(format!("unknown kind {k}")),
    }
}

#[test]
fn check_stealth_vectors() {
    let (pos, neg) = support::check_vector_files("stealth/v1", check);
    assert!(pos >= 4 && neg >= 4, "{pos}+/{neg}-");
}

fn write(name: &str, v: Value) {
    fs::write(
        dir().join(format!("{name}.json")),
        serde_json::to_string_pretty(&v).unwrap() + "\n",
    )
    .unwrap();
    assert_eq!(check(&v).is_ok(), v["valid"].as_bool().unwrap(), "{name}");
}

fn vec_(kind: &str, desc: &str, valid: bool, data: Value) -> Value {
    json!({"description": desc, "valid": valid, "kind": kind, "data": data})
}

#[test]
#[ignore]
fn regenerate_stealth_vectors() {
    fs::create_dir_all(dir()).unwrap();
    for entry in fs::read_dir(dir()).unwrap() {
        fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let mut rng = ChaCha20Rng::seed_from_u64(0x57ea_174e);
    let (meta, scan, spend) = generate_meta_address(&mut rng);
    let (other_meta, other_scan, other_spend) = generate_meta_address(&mut rng);
    let sh = |s: &SecretScalar| hex::encode(s.to_bytes());

    let r = SecretScalar::random(&mut rng);
    let key = meta.derive_stealth_key_with(&r);
    write(
        "derivation",
        vec_(
            "derivation",
            "registrar derives (R, P, view tag) from the meta-address and r",
            true,
            json!({"meta_address": meta, "r": sh(&r), "stealth_key": key}),
        ),
    );
    let mut bad = key;
    bad.p += G;
    write(
        "derivation_reject_altered_p",
        vec_(
            "derivation",
            "P altered (P + G): not the derivation of r",
            false,
            json!({"meta_address": meta, "r": sh(&r), "stealth_key": bad}),
        ),
    );
    let mut bad = key;
    bad.view_tag ^= 0x01;
    write(
        "derivation_reject_altered_view_tag",
        vec_(
            "derivation",
            "view tag altered",
            false,
            json!({"meta_address": meta, "r": sh(&r), "stealth_key": bad}),
        ),
    );

    // A list of 24 keys, 3 of them ours.
    let mut keys = Vec::new();
    let mut owned = Vec::new();
    for i in 0..24 {
        if i == 2 || i == 11 || i == 23 {
            owned.push(keys.len());
            keys.push(meta.derive_stealth_key(&mut rng));
        } else if i % 2 == 0 {
            keys.push(other_meta.derive_stealth_key(&mut rng));
        } else {
            keys.push(
                generate_meta_address(&mut rng)
                    .0
                    .derive_stealth_key(&mut rng),
            );
        }
    }
    write(
        "scan_24_keys",
        vec_(
            "scan",
            "voter scans 24 keys and finds exactly its 3",
            true,
            json!({"meta_address": meta, "scan_secret": sh(scan.secret()), "keys": keys, "owned": owned}),
        ),
    );
    write(
        "scan_reject_claims_other",
        vec_(
            "scan",
            "claimed ownership includes a key of another voter",
            false,
            json!({"meta_address": meta, "scan_secret": sh(scan.secret()), "keys": keys, "owned": [0, 2, 11, 23]}),
        ),
    );
    let other_owned: Vec<usize> = other_scan.scan(&other_meta.spend, &keys);
    write(
        "scan_other_voter",
        vec_(
            "scan",
            "another voter scanning the same list finds only its own keys",
            true,
            json!({"meta_address": other_meta, "scan_secret": sh(other_scan.secret()), "keys": keys, "owned": other_owned}),
        ),
    );

    let s = StealthSecret::derive(&scan, &spend, &keys[11]).unwrap();
    write(
        "secret",
        vec_(
            "secret",
            "one-time secret p = H(a·R, R) + b, with p·G = P",
            true,
            json!({"scan_secret": sh(scan.secret()), "spend_secret": sh(spend.secret()), "stealth_key": keys[11], "one_time_secret": sh(s.secret())}),
        ),
    );
    write(
        "secret_reject_other_voter",
        vec_(
            "secret",
            "another voter's secrets cannot derive a secret for this key",
            false,
            json!({"scan_secret": sh(other_scan.secret()), "spend_secret": sh(other_spend.secret()), "stealth_key": keys[11], "one_time_secret": sh(s.secret())}),
        ),
    );
    write(
        "secret_reject_wrong_spend",
        vec_(
            "secret",
            "right scan secret, wrong spend secret",
            false,
            json!({"scan_secret": sh(scan.secret()), "spend_secret": sh(other_spend.secret()), "stealth_key": keys[11], "one_time_secret": sh(s.secret())}),
        ),
    );

    let msg = b"tabella ballot: election 7, contest 1";
    let sig = s.sign(msg, &mut rng);
    let sv = |desc: &str, valid: bool, k: &StealthKey, m: &[u8], sg: &SchnorrSignature| {
        vec_(
            "signature",
            desc,
            valid,
            json!({"stealth_key": k, "message": hex::encode(m), "signature": sg}),
        )
    };
    write(
        "signature",
        sv(
            "Schnorr signature by the stealth key in domain tabella/stealth-sig/v1",
            true,
            &keys[11],
            msg,
            &sig,
        ),
    );
    write(
        "signature_reject_altered_message",
        sv(
            "message altered",
            false,
            &keys[11],
            b"tabella ballot: election 7, contest 2",
            &sig,
        ),
    );
    write(
        "signature_reject_other_key",
        sv(
            "signature checked against another stealth key of the same voter",
            false,
            &keys[2],
            msg,
            &sig,
        ),
    );
    let mut bad = sig;
    bad.0.response += curve25519_dalek::scalar::Scalar::ONE;
    write(
        "signature_reject_altered_response",
        sv("signature response + 1", false, &keys[11], msg, &bad),
    );
    let plain = SchnorrSignature::sign(b"tabella/other-domain", msg, s.secret(), &mut rng);
    write(
        "signature_reject_wrong_domain",
        sv(
            "signature made in another signing domain",
            false,
            &keys[11],
            msg,
            &plain,
        ),
    );
}
