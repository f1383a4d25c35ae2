//! The cryptographic core's wire encodings (`tabella_crypto`), under everything the other
//! targets parse: Ristretto points and ElGamal ciphertexts, scalars, Bulletproofs range proofs
//! (single and aggregated), the identity validator's RSA key in DER, and the JSON (hex) forms
//! of Paillier keys and ciphertexts and of range proofs. The first byte chooses the decoder.
//! Every decoder accepts only canonical encodings: whatever decodes re-encodes to exactly the
//! input (or, for JSON and DER, to a stable encoding that decodes to the same value).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_crypto::blind::{IssuerPublicKey, TokenSignature};
use tabella_crypto::elgamal::Ciphertext;
use tabella_crypto::encoding::WirePoint;
use tabella_crypto::group::SecretScalar;
use tabella_crypto::paillier;
use tabella_crypto::range::{AggregatedRangeProof, RangeProof};
use tabella_fuzz::{json_round_trip, json_stable};

const BITS: [usize; 4] = [8, 16, 32, 64];

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("crypto_encoding"), |data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 8 {
        0 => {
            if let Ok(c) = Ciphertext::from_bytes(rest) {
                assert_eq!(&c.to_bytes()[..], rest);
            }
        }
        1 => {
            if let Ok(p) = WirePoint::from_bytes(rest) {
                assert_eq!(p.compressed().as_bytes(), rest);
                assert_eq!(WirePoint::new(*p.point()).compressed(), p.compressed());
            }
        }
        2 => {
            if let Ok(s) = SecretScalar::from_bytes(rest) {
                assert_eq!(&s.to_bytes()[..], rest);
            }
        }
        3 => {
            let Some((&b, proof)) = rest.split_first() else {
                return;
            };
            if let Ok(p) = RangeProof::from_bytes(BITS[usize::from(b) % 4], proof) {
                assert_eq!(p.to_bytes(), proof);
            }
        }
        4 => {
            let Some((&b, proof)) = rest.split_first() else {
                return;
            };
            let bits = BITS[usize::from(b) % 4];
            let count = usize::from(b >> 2) + 1;
            if let Ok(p) = AggregatedRangeProof::from_bytes(bits, count, proof) {
                assert_eq!(p.to_bytes(), proof);
            }
        }
        5 => {
            if let Ok(k) = IssuerPublicKey::from_der(rest) {
                let der = k.to_der().unwrap();
                let back = IssuerPublicKey::from_der(&der).unwrap();
                assert_eq!(back.to_der().unwrap(), der);
            }
        }
        6 => {
            if let Ok(k) = serde_json::from_slice::<paillier::PublicKey>(rest) {
                json_round_trip(&k);
            }
            if let Ok(c) = serde_json::from_slice::<paillier::Ciphertext>(rest) {
                json_round_trip(&c);
            }
            if let Ok(p) = serde_json::from_slice::<paillier::MembershipProof>(rest) {
                json_stable(&p);
            }
        }
        _ => {
            if let Ok(p) = serde_json::from_slice::<RangeProof>(rest) {
                json_stable(&p);
            }
            if let Ok(t) = serde_json::from_slice::<TokenSignature>(rest) {
                json_round_trip(&t);
            }
            if let Ok(c) = serde_json::from_slice::<Ciphertext>(rest) {
                json_round_trip(&c);
            }
        }
    }
});
