//! Property tests for the core: homomorphism, serialization round trips, proof completeness and
//! soundness (false statements and altered proofs are rejected).

use curve25519_dalek::scalar::Scalar;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::disjunctive::{OneOfProof, PrecomputedKey, SumProof};
use tabella_crypto::dleq::DleqProof;
use tabella_crypto::elgamal::{Ciphertext, DlogTable, SecretKey};
use tabella_crypto::group::{generator_h, SecretScalar, G};
use tabella_crypto::schnorr::SchnorrProof;
use tabella_crypto::vector::{EncryptedVector, VectorRule};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn elgamal_homomorphism(seed: u64, a in 0u64..5000, b in 0u64..5000, k in 0u64..20) {
        let mut rng = rng(seed);
        let sk = SecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let table = DlogTable::new(200_000).unwrap();
        let (ca, _) = pk.encrypt(a, &mut rng);
        let (cb, _) = pk.encrypt(b, &mut rng);
        prop_assert_eq!(sk.decrypt_vartime(&(ca + cb), &table).unwrap(), a + b);
        prop_assert_eq!(sk.decrypt_vartime(&ca.scale(&Scalar::from(k)), &table).unwrap(), a * k);
        prop_assert_eq!(ca.scale_small(k), ca.scale(&Scalar::from(k)));
        prop_assert_eq!(ca.scale_small(k + 1000), ca.scale(&Scalar::from(k + 1000)));
        let (cr, _) = ca.rerandomize(&pk, &mut rng);
        prop_assert_eq!(sk.decrypt_vartime(&cr, &table).unwrap(), a);
        prop_assert_eq!(sk.decrypt_vartime(&Ciphertext::sum([&ca, &cb, &cr]), &table).unwrap(), 2 * a + b);
    }

    #[test]
    fn serde_round_trips(seed: u64, m in 0u64..3) {
        let mut rng = rng(seed);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        let (ct, r) = key.encrypt(m, &mut rng);
        let s = serde_json::to_string(&ct).unwrap();
        prop_assert_eq!(serde_json::from_str::<Ciphertext>(&s).unwrap(), ct);
        let p = OneOfProof::prove(b"c", &key, &ct, &[0, 1, 2], m as usize, &r, &mut rng).unwrap();
        let s = serde_json::to_string(&p).unwrap();
        let back: OneOfProof = serde_json::from_str(&s).unwrap();
        prop_assert_eq!(&back, &p);
        back.verify(b"c", &key.pk, &ct, &[0, 1, 2]).unwrap();
        let x = SecretScalar::random(&mut rng);
        let sp = SchnorrProof::prove(b"c", &G, &x, &mut rng);
        prop_assert_eq!(serde_json::from_str::<SchnorrProof>(&serde_json::to_string(&sp).unwrap()).unwrap(), sp);
        let (_, dp) = DleqProof::prove(b"c", &G, &generator_h(), &x, &mut rng);
        prop_assert_eq!(serde_json::from_str::<DleqProof>(&serde_json::to_string(&dp).unwrap()).unwrap(), dp);
    }

    #[test]
    fn one_of_complete_and_sound(seed: u64, k in 1u64..6, m in 0u64..8, field in 0usize..4, pos in 0usize..8) {
        let mut rng = rng(seed);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        let values: Vec<u64> = (0..=k).collect();
        let (ct, r) = key.encrypt(m, &mut rng);
        let idx = (m.min(k)) as usize;
        let p = OneOfProof::prove(b"ctx", &key, &ct, &values, idx, &r, &mut rng).unwrap();
        let ok = p.verify(b"ctx", &key.pk, &ct, &values).is_ok();
        // complete for true statements, sound for false ones (m > k)
        prop_assert_eq!(ok, m <= k);
        if m <= k {
            let mut q = p.clone();
            let n = values.len();
            match field {
                0 => { let i = pos % n; q.a[i] = (*q.a[i].point() + G).into(); }
                1 => { let i = pos % n; q.b[i] = (*q.b[i].point() + G).into(); }
                2 => { let i = pos % (n - 1); q.challenges[i] += Scalar::ONE; }
                _ => { let i = pos % n; q.responses[i] += Scalar::ONE; }
            }
            prop_assert!(q.verify(b"ctx", &key.pk, &ct, &values).is_err());
            // the proof does not transfer to another ciphertext of the same value
            let (ct2, _) = key.encrypt(m, &mut rng);
            prop_assert!(p.verify(b"ctx", &key.pk, &ct2, &values).is_err());
        }
    }

    #[test]
    fn sum_proof_sound(seed: u64, votes in proptest::collection::vec(0u64..2, 1..8), min in 0u64..4, width in 0u64..4) {
        let mut rng = rng(seed);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        let max = min + width;
        let (cts, rs): (Vec<_>, Vec<_>) = votes.iter().map(|v| key.encrypt(*v, &mut rng)).unzip();
        let sum: u64 = votes.iter().sum();
        let res = SumProof::prove(b"s", &key, &cts, &rs, sum, min, max, &mut rng);
        if sum >= min && sum <= max {
            res.unwrap().verify(b"s", &key.pk, &cts).unwrap();
        } else {
            prop_assert!(res.is_err());
            // A cheating prover that claims an in-range sum anyway produces an invalid proof.
            let claimed = SumProof::prove(b"s", &key, &cts, &rs, min, min, max, &mut rng).unwrap();
            prop_assert!(claimed.verify(b"s", &key.pk, &cts).is_err());
        }
    }

    #[test]
    fn approval_vectors(seed: u64, votes in proptest::collection::vec(0u64..2, 2..6)) {
        let mut rng = rng(seed);
        let sk = SecretKey::generate(&mut rng);
        let key = PrecomputedKey::new(sk.public_key());
        let rule = VectorRule::approval(votes.len(), 0, votes.len() as u64);
        let ev = EncryptedVector::encrypt(b"v", &key, &rule, &votes, &mut rng).unwrap();
        ev.verify(b"v", &key.pk, &rule).unwrap();
        let s = serde_json::to_string(&ev).unwrap();
        let back: EncryptedVector = serde_json::from_str(&s).unwrap();
        back.verify(b"v", &key.pk, &rule).unwrap();
        let table = DlogTable::new(10).unwrap();
        for (ct, v) in ev.ciphertexts.iter().zip(&votes) {
            prop_assert_eq!(sk.decrypt_vartime(ct, &table).unwrap(), *v);
        }
    }

    #[test]
    fn schnorr_and_dleq_sound(seed: u64, field in 0usize..3) {
        let mut rng = rng(seed);
        let x = SecretScalar::random(&mut rng);
        let y = x.expose() * G;
        let p = SchnorrProof::prove(b"c", &G, &x, &mut rng);
        p.verify(b"c", &G, &y).unwrap();
        let mut q = p;
        match field { 0 => q.commitment += G, _ => q.response += Scalar::ONE }
        prop_assert!(q.verify(b"c", &G, &y).is_err());
        let h = generator_h();
        let (st, d) = DleqProof::prove(b"c", &G, &h, &x, &mut rng);
        d.verify(b"c", &st).unwrap();
        let mut e = d;
        match field { 0 => e.a1 += h, 1 => e.a2 += h, _ => e.response += Scalar::ONE }
        prop_assert!(e.verify(b"c", &st).is_err());
    }
}

#[test]
fn malformed_encodings_rejected() {
    // Non-canonical point (all 0xff) and non-canonical scalar (2^256 - 1) must be refused.
    let bad = format!("\"{}\"", "ff".repeat(32));
    assert!(serde_json::from_str::<Ciphertext>(&format!("{{\"a\":{bad},\"b\":{bad}}}")).is_err());
    let mut rng = rng(5);
    let x = SecretScalar::random(&mut rng);
    let p = SchnorrProof::prove(b"c", &G, &x, &mut rng);
    let mut v = serde_json::to_value(p).unwrap();
    v["response"] = serde_json::Value::String("ff".repeat(32));
    assert!(serde_json::from_value::<SchnorrProof>(v.clone()).is_err());
    v["response"] = serde_json::Value::String("zz".into());
    assert!(serde_json::from_value::<SchnorrProof>(v).is_err());
}
