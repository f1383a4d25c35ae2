//! RFC 9474 Appendix A test vectors (`test-vectors/blind-rsa/rfc9474/`), checked two ways:
//!
//! 1. Through `blind-rsa-signatures` directly, for all four variants, byte for byte: with an RNG
//!    that replays the published `msg_prefix`, `salt` and blinding factor `r = inv⁻¹ mod n`, `blind`
//!    must give the published `blinded_msg` and `inv`; `blind_sign` the published `blind_sig`;
//!    `finalize` the published `sig`; and `verify` must accept it.
//! 2. Through our own wrapper (`tabella_crypto::blind`, which is RSABSSA-SHA384-PSS-Randomized):
//!    key import, `sign_blinded`, `finalize` from a restored blinding state, and `verify`.
//!
//! Negative vectors (altered signature, message, randomizer; truncated signature) must be rejected.

use std::fs;
use std::path::PathBuf;

use blind_rsa_signatures::{
    Deterministic, HashAlgorithm, MessagePrepare, MessageRandomizer, PSSZero, PublicKey,
    Randomized, SaltMode, SecretKey, Sha384, Signature, PSS,
};
use crypto_bigint::NonZero;
use rsa::{BoxedUint, RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use tabella_crypto::blind::{
    self, BlindSignature, BlindedRequest, BlindingState, IssuerPublicKey, IssuerSecretKey,
    TokenSignature,
};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/blind-rsa/rfc9474")
}

fn load() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir()).expect("rfc9474 vectors exist") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) == Some("json") {
            let v: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn bytes(v: &Value, k: &str) -> Vec<u8> {
    hex::decode(v[k].as_str().unwrap_or_else(|| panic!("field {k}"))).unwrap()
}

fn uint(v: &Value, k: &str) -> BoxedUint {
    BoxedUint::from_be_slice_vartime(&bytes(v, k))
}

/// An RNG (rand_core 0.10 traits) that hands out a fixed byte stream, then panics.
struct Replay(Vec<u8>);

impl rsa::rand_core::TryRng for Replay {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        assert!(dst.len() <= self.0.len(), "replay RNG exhausted");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}
impl rsa::rand_core::TryCryptoRng for Replay {}

fn public_key<H: HashAlgorithm, S: SaltMode, M: MessagePrepare>(v: &Value) -> PublicKey<H, S, M> {
    PublicKey::new(RsaPublicKey::new(uint(v, "n"), uint(v, "e")).unwrap())
}

fn secret_key<H: HashAlgorithm, S: SaltMode, M: MessagePrepare>(v: &Value) -> SecretKey<H, S, M> {
    let inner = RsaPrivateKey::from_components(
        uint(v, "n"),
        uint(v, "e"),
        uint(v, "d"),
        vec![uint(v, "p"), uint(v, "q")],
    )
    .unwrap();
    SecretKey::new(inner)
}

fn randomizer(v: &Value) -> Option<MessageRandomizer> {
    let p = bytes(v, "msg_prefix");
    (!p.is_empty()).then(|| MessageRandomizer(p.try_into().expect("32-byte prefix")))
}

fn check_positive<H: HashAlgorithm, S: SaltMode, M: MessagePrepare>(name: &str, v: &Value) {
    let n = uint(v, "n");
    let n_len = bytes(v, "n").len();
    let inv = BoxedUint::from_be_slice(&bytes(v, "inv"), n.bits_precision()).unwrap();
    let r = inv
        .invert_mod(&NonZero::new(n.clone()).into_option().unwrap())
        .into_option()
        .unwrap();
    let mut stream = bytes(v, "msg_prefix");
    assert_eq!(stream.is_empty(), !M::RANDOMIZE, "{name}");
    stream.extend_from_slice(&bytes(v, "salt"));
    assert_eq!(
        bytes(v, "salt").len(),
        v["salt_len"].as_u64().unwrap() as usize
    );
    let mut r_le = r.to_le_bytes().to_vec();
    r_le.resize(n_len, 0);
    stream.extend_from_slice(&r_le);
    let mut rng = Replay(stream);

    let pk = public_key::<H, S, M>(v);
    let sk = secret_key::<H, S, M>(v);
    let msg = bytes(v, "msg");
    let br = pk.blind(&mut rng, &msg).unwrap();
    assert!(rng.0.is_empty(), "{name}: not all replayed randomness used");
    assert_eq!(
        br.blind_message.0,
        bytes(v, "blinded_msg"),
        "{name}: blinded_msg"
    );
    assert_eq!(br.secret.0, bytes(v, "inv"), "{name}: inv");
    assert_eq!(br.msg_randomizer, randomizer(v), "{name}: msg_prefix");
    let bs = sk.blind_sign(&br.blind_message).unwrap();
    assert_eq!(bs.0, bytes(v, "blind_sig"), "{name}: blind_sig");
    let sig = pk.finalize(&bs, &br, &msg).unwrap();
    assert_eq!(sig.0, bytes(v, "sig"), "{name}: sig");
    pk.verify(&Signature(bytes(v, "sig")), randomizer(v), &msg)
        .unwrap();
}

fn crate_verify<H: HashAlgorithm, S: SaltMode, M: MessagePrepare>(v: &Value) -> bool {
    public_key::<H, S, M>(v)
        .verify(&Signature(bytes(v, "sig")), randomizer(v), bytes(v, "msg"))
        .is_ok()
}

fn dispatch_verify(v: &Value) -> bool {
    match v["variant"].as_str().unwrap() {
        "RSABSSA-SHA384-PSS-Randomized" => crate_verify::<Sha384, PSS, Randomized>(v),
        "RSABSSA-SHA384-PSSZERO-Randomized" => crate_verify::<Sha384, PSSZero, Randomized>(v),
        "RSABSSA-SHA384-PSS-Deterministic" => crate_verify::<Sha384, PSS, Deterministic>(v),
        "RSABSSA-SHA384-PSSZERO-Deterministic" => crate_verify::<Sha384, PSSZero, Deterministic>(v),
        other => panic!("unknown variant {other}"),
    }
}

fn our_pk(v: &Value) -> IssuerPublicKey {
    let der = public_key::<Sha384, PSS, Randomized>(v).to_der().unwrap();
    IssuerPublicKey::from_der(&der).unwrap()
}

fn our_token(v: &Value) -> Option<TokenSignature> {
    Some(TokenSignature {
        randomizer: bytes(v, "msg_prefix").try_into().ok()?,
        signature: bytes(v, "sig"),
    })
}

#[test]
fn rfc9474_vectors() {
    let all = load();
    let (mut pos, mut neg) = (0, 0);
    let mut variants = Vec::new();
    for (name, v) in &all {
        assert!(v["description"].is_string(), "{name}");
        let valid = v["valid"].as_bool().unwrap();
        let variant = v["variant"].as_str().unwrap().to_string();
        let randomized_pss = variant == "RSABSSA-SHA384-PSS-Randomized";
        if valid {
            pos += 1;
            variants.push(variant.clone());
            match variant.as_str() {
                "RSABSSA-SHA384-PSS-Randomized" => {
                    check_positive::<Sha384, PSS, Randomized>(name, v)
                }
                "RSABSSA-SHA384-PSSZERO-Randomized" => {
                    check_positive::<Sha384, PSSZero, Randomized>(name, v)
                }
                "RSABSSA-SHA384-PSS-Deterministic" => {
                    check_positive::<Sha384, PSS, Deterministic>(name, v)
                }
                "RSABSSA-SHA384-PSSZERO-Deterministic" => {
                    check_positive::<Sha384, PSSZero, Deterministic>(name, v)
                }
                other => panic!("unknown variant {other}"),
            }
            if randomized_pss {
                // Our wrapper, on the same published values.
                let pk = our_pk(v);
                let msg = bytes(v, "msg");
                blind::verify(&pk, &msg, &our_token(v).unwrap()).unwrap();
                let sk_der = secret_key::<Sha384, PSS, Randomized>(v).to_der().unwrap();
                let sk = IssuerSecretKey::from_pkcs8_der(&sk_der).unwrap();
                let mut rng =
                    <rand_chacha::ChaCha20Rng as rand_core::SeedableRng>::seed_from_u64(1);
                let bs =
                    blind::sign_blinded(&sk, &BlindedRequest(bytes(v, "blinded_msg")), &mut rng)
                        .unwrap();
                assert_eq!(
                    bs,
                    BlindSignature(bytes(v, "blind_sig")),
                    "{name}: our blind_sig"
                );
                let mut state = bytes(v, "msg_prefix");
                state.extend_from_slice(&bytes(v, "inv"));
                let st = BlindingState::from_bytes(&state).unwrap();
                let tok = blind::finalize(&pk, &st, &bs, &msg).unwrap();
                assert_eq!(tok.signature, bytes(v, "sig"), "{name}: our sig");
                assert_eq!(tok, our_token(v).unwrap());
            }
        } else {
            neg += 1;
            assert!(
                !dispatch_verify(v),
                "{name}: crate accepted a negative vector"
            );
            if randomized_pss {
                if let Some(tok) = our_token(v) {
                    assert!(
                        blind::verify(&our_pk(v), &bytes(v, "msg"), &tok).is_err(),
                        "{name}: our verify accepted a negative vector"
                    );
                }
            }
        }
    }
    variants.sort();
    assert_eq!(
        variants,
        [
            "RSABSSA-SHA384-PSS-Deterministic",
            "RSABSSA-SHA384-PSS-Randomized",
            "RSABSSA-SHA384-PSSZERO-Deterministic",
            "RSABSSA-SHA384-PSSZERO-Randomized"
        ]
    );
    assert_eq!(pos, 4);
    assert!(neg >= 8, "{neg} negative vectors");
}
