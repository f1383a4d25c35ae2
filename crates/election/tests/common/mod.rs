//! Helpers shared by the election integration tests.

/// The frozen 2048-bit Paillier test key of `test-vectors/paillier/v1/key.json` (its primes are
/// public: tests only).
pub fn paillier_test_key() -> tabella_crypto::paillier::SecretKey {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/paillier/v1/key.json"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("key.json")).expect("JSON");
    let mut bytes = b"TBPAISK1".to_vec();
    for k in ["p", "q"] {
        let x = hex::decode(v[k].as_str().expect("hex")).expect("hex");
        bytes.extend_from_slice(&(x.len() as u16).to_be_bytes());
        bytes.extend_from_slice(&x);
    }
    tabella_crypto::paillier::SecretKey::from_bytes(&bytes).expect("the test key")
}
