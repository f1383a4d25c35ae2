//! The verifiable shuffle from outside the crate, played as the attacker: honest shuffles verify
//! and keep the multiset of plaintexts; altered outputs, swapped outputs, replaced ciphertexts,
//! proofs moved to other inputs, contexts or keys, malformed proofs and provers with a witness
//! that does not match are all rejected.

use curve25519_dalek::scalar::Scalar;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::batch::BatchVerifier;
use tabella_crypto::elgamal::{Ciphertext, DlogTable, PublicKey, SecretKey};
use tabella_crypto::encoding::WirePoint;
use tabella_crypto::group::{SecretScalar, G};
use tabella_crypto::shuffle::{shuffle, ShuffleProof, ShuffleWitness};
use tabella_crypto::Error;

const CTX: &[u8] = b"election 7 / contest 2 / mixer 1";
const SHAPE_ERRORS: [&str; 2] = [
    "shuffle proof: the number of entries is not the number of ciphertexts",
    "shuffle proof: the numbers of inputs and outputs differ",
];

struct Setup {
    rng: ChaCha20Rng,
    sk: SecretKey,
    pk: PublicKey,
    inputs: Vec<Ciphertext>,
}

fn setup(seed: u64, plaintexts: impl IntoIterator<Item = u64>) -> Setup {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let sk = SecretKey::generate(&mut rng);
    let pk = sk.public_key();
    let inputs = plaintexts
        .into_iter()
        .map(|m| pk.encrypt(m, &mut rng).0)
        .collect();
    Setup {
        rng,
        sk,
        pk,
        inputs,
    }
}

fn decrypt_all(sk: &SecretKey, cts: &[Ciphertext]) -> Vec<u64> {
    let table = DlogTable::new(10_000).unwrap();
    cts.iter()
        .map(|c| sk.decrypt_vartime(c, &table).unwrap())
        .collect()
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v
}

fn rejected(r: tabella_crypto::Result<()>) -> bool {
    r == Err(Error::InvalidProof("shuffle proof"))
}

#[test]
fn honest_shuffles_verify_and_keep_the_plaintexts() {
    for n in [0usize, 1, 2, 3, 5, 17, 100] {
        let mut s = setup(1000 + n as u64, (0..n as u64).map(|i| (i * 37) % 11));
        let (outputs, proof) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
        assert_eq!(outputs.len(), n);
        assert_eq!(proof.len(), n);
        proof.verify(&s.pk, &s.inputs, &outputs, CTX).unwrap();
        assert_eq!(
            sorted(decrypt_all(&s.sk, &outputs)),
            sorted(decrypt_all(&s.sk, &s.inputs)),
            "n = {n}"
        );
        // Every output is re-randomized: none equals any input.
        assert!(outputs.iter().all(|o| !s.inputs.contains(o)), "n = {n}");
    }
}

#[test]
fn shuffles_reorder_and_chain_into_a_mix_net() {
    let mut s = setup(1100, 0..40);
    let mut list = s.inputs.clone();
    for mixer in 0u8..3 {
        let ctx = [CTX, &[mixer]].concat();
        let (next, proof) = shuffle(&s.pk, &list, &ctx, &mut s.rng).unwrap();
        proof.verify(&s.pk, &list, &next, &ctx).unwrap();
        assert!(rejected(proof.verify(&s.pk, &list, &next, CTX)));
        list = next;
    }
    let plain = decrypt_all(&s.sk, &list);
    assert_ne!(plain, (0..40).collect::<Vec<_>>(), "the order changed");
    assert_eq!(sorted(plain), (0..40).collect::<Vec<_>>());
}

#[test]
fn shuffled_outputs_altered_after_proving_are_rejected() {
    let mut s = setup(1200, [3, 1, 4, 1, 5]);
    let (outputs, proof) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
    for k in 0..outputs.len() {
        for part in 0..2 {
            let mut bad = outputs.clone();
            if part == 0 {
                bad[k].a += G;
            } else {
                bad[k].b += G;
            }
            assert!(
                rejected(proof.verify(&s.pk, &s.inputs, &bad, CTX)),
                "{k}/{part}"
            );
        }
        // A re-encryption of the same plaintext, and an encryption of a different one.
        let mut bad = outputs.clone();
        bad[k] = bad[k].rerandomize(&s.pk, &mut s.rng).0;
        assert!(rejected(proof.verify(&s.pk, &s.inputs, &bad, CTX)));
        let mut bad = outputs.clone();
        bad[k] = bad[k] + s.pk.encrypt(1, &mut s.rng).0;
        assert!(rejected(proof.verify(&s.pk, &s.inputs, &bad, CTX)));
    }
    // Two outputs swapped after proving, for every pair.
    for i in 0..outputs.len() {
        for j in i + 1..outputs.len() {
            let mut bad = outputs.clone();
            bad.swap(i, j);
            assert!(
                rejected(proof.verify(&s.pk, &s.inputs, &bad, CTX)),
                "{i}<->{j}"
            );
        }
    }
    // Outputs as inputs and the reverse.
    assert!(rejected(proof.verify(&s.pk, &outputs, &s.inputs, CTX)));
    proof.verify(&s.pk, &s.inputs, &outputs, CTX).unwrap();
}

#[test]
fn shuffle_proofs_do_not_move_to_other_inputs_contexts_or_keys() {
    let mut s = setup(1300, [1, 2, 3, 4]);
    let (outputs, proof) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
    // Other inputs (one ciphertext re-randomized, then a whole fresh list).
    let mut other = s.inputs.clone();
    other[2] = other[2].rerandomize(&s.pk, &mut s.rng).0;
    assert!(rejected(proof.verify(&s.pk, &other, &outputs, CTX)));
    let fresh: Vec<_> = (1..=4).map(|m| s.pk.encrypt(m, &mut s.rng).0).collect();
    let (fresh_out, fresh_proof) = shuffle(&s.pk, &fresh, CTX, &mut s.rng).unwrap();
    assert!(rejected(proof.verify(&s.pk, &fresh, &fresh_out, CTX)));
    assert!(rejected(
        fresh_proof.verify(&s.pk, &s.inputs, &outputs, CTX)
    ));
    // Other context.
    assert!(rejected(proof.verify(
        &s.pk,
        &s.inputs,
        &outputs,
        b"election 8"
    )));
    assert!(rejected(proof.verify(&s.pk, &s.inputs, &outputs, b"")));
    // Other public key.
    let other_pk = SecretKey::generate(&mut s.rng).public_key();
    assert!(rejected(proof.verify(&other_pk, &s.inputs, &outputs, CTX)));
    assert!(rejected(proof.verify(
        &PublicKey(s.pk.0 + G),
        &s.inputs,
        &outputs,
        CTX
    )));
}

#[test]
fn every_shuffle_proof_element_is_checked() {
    let mut s = setup(1400, [0, 1, 0]);
    let (outputs, proof) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
    let bump = |p: &mut WirePoint| *p = WirePoint::new(p.point() + G);
    let mut variants: Vec<ShuffleProof> = Vec::new();
    for i in 0..proof.len() {
        for field in 0..5 {
            let mut p = proof.clone();
            let x = &mut p.entries[i];
            match field {
                0 => bump(&mut x.c),
                1 => bump(&mut x.c_hat),
                2 => bump(&mut x.t_hat),
                3 => x.k_hat += Scalar::ONE,
                _ => x.k_prime += Scalar::ONE,
            }
            variants.push(p);
        }
    }
    for field in 0..9 {
        let mut p = proof.clone();
        match field {
            0 => bump(&mut p.t1),
            1 => bump(&mut p.t2),
            2 => bump(&mut p.t3),
            3 => bump(&mut p.t4_a),
            4 => bump(&mut p.t4_b),
            5 => p.k1 += Scalar::ONE,
            6 => p.k2 += Scalar::ONE,
            7 => p.k3 += Scalar::ONE,
            _ => p.k4 += Scalar::ONE,
        }
        variants.push(p);
    }
    // Entries reordered (positions matter).
    let mut p = proof.clone();
    p.entries.swap(0, 2);
    variants.push(p);
    for (k, p) in variants.iter().enumerate() {
        assert!(
            rejected(p.verify(&s.pk, &s.inputs, &outputs, CTX)),
            "variant {k}"
        );
    }
}

#[test]
fn wrong_shuffle_shapes_are_typed_errors() {
    let mut s = setup(1500, [7, 8, 9]);
    let (outputs, proof) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
    let (pk, inputs) = (&s.pk, &s.inputs);
    let wrong_length = Err(Error::InvalidProof(SHAPE_ERRORS[0]));
    let count_mismatch = Err(Error::InvalidProof(SHAPE_ERRORS[1]));

    let mut truncated = proof.clone();
    truncated.entries.pop();
    assert_eq!(truncated.verify(pk, inputs, &outputs, CTX), wrong_length);
    let mut extended = proof.clone();
    extended.entries.push(proof.entries[0].clone());
    assert_eq!(extended.verify(pk, inputs, &outputs, CTX), wrong_length);
    let mut emptied = proof.clone();
    emptied.entries.clear();
    assert_eq!(emptied.verify(pk, inputs, &outputs, CTX), wrong_length);

    assert_eq!(
        proof.verify(pk, &inputs[..2], &outputs, CTX),
        count_mismatch
    );
    assert_eq!(proof.verify(pk, inputs, &outputs[..2], CTX), count_mismatch);
    assert_eq!(
        proof.verify(pk, &inputs[..2], &outputs[..2], CTX),
        wrong_length
    );
    assert!(rejected(truncated.verify(
        pk,
        &inputs[..2],
        &outputs[..2],
        CTX
    )));
    assert_eq!(proof.verify(pk, &[], &[], CTX), wrong_length);

    // A proof of the empty shuffle does not stand for a non-empty one, nor the reverse.
    let (empty_out, empty_proof) = shuffle(pk, &[], CTX, &mut s.rng).unwrap();
    empty_proof.verify(pk, &[], &empty_out, CTX).unwrap();
    assert_eq!(empty_proof.verify(pk, inputs, &outputs, CTX), wrong_length);

    // Nothing is added to a batch for a malformed proof.
    let mut bv = BatchVerifier::new().unwrap();
    assert!(truncated
        .add_to_batch(pk, inputs, &outputs, CTX, &mut bv)
        .is_err());
    assert_eq!(bv.proof_count(), 0);
}

#[test]
fn shuffle_proof_serde_round_trip_and_strict_decoding() {
    let mut s = setup(1600, [2, 4]);
    let (outputs, proof) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
    let json = serde_json::to_string(&proof).unwrap();
    let back: ShuffleProof = serde_json::from_str(&json).unwrap();
    assert_eq!(back, proof);
    back.verify(&s.pk, &s.inputs, &outputs, CTX).unwrap();

    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let edit = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = value.clone();
        f(&mut v);
        serde_json::from_value::<ShuffleProof>(v)
    };
    // A missing element, an unknown field, a non-canonical point or scalar: decoding fails.
    assert!(edit(&|v| {
        v["entries"][0].as_object_mut().unwrap().remove("k_hat");
    })
    .is_err());
    assert!(edit(&|v| {
        v.as_object_mut().unwrap().remove("t3");
    })
    .is_err());
    assert!(edit(&|v| v["entries"][1]["extra"] = "00".into()).is_err());
    assert!(edit(&|v| v["extra"] = 1.into()).is_err());
    assert!(edit(&|v| v["t1"] = "ff".repeat(32).into()).is_err());
    assert!(edit(&|v| v["entries"][0]["c"] = "01".repeat(16).into()).is_err());
    assert!(edit(&|v| v["k1"] = "ff".repeat(32).into()).is_err());
    assert!(edit(&|v| v["entries"][1]["k_prime"] = "ff".repeat(32).into()).is_err());
    // A decodable proof with one entry too few or too many is refused at verification.
    for f in [
        |v: &mut serde_json::Value| {
            v["entries"].as_array_mut().unwrap().pop();
        },
        |v: &mut serde_json::Value| {
            let first = v["entries"][0].clone();
            v["entries"].as_array_mut().unwrap().push(first);
        },
    ] {
        let p = edit(&f).unwrap();
        assert_eq!(
            p.verify(&s.pk, &s.inputs, &outputs, CTX),
            Err(Error::InvalidProof(SHAPE_ERRORS[0]))
        );
    }
}

/// The cheating prover knows the code and the transcript and reuses the honest prover with a
/// witness that does not describe the outputs it publishes.
#[test]
fn shuffle_provers_with_a_witness_that_does_not_match_fail() {
    let mut s = setup(1700, [1, 0, 0, 1, 0, 2]);
    let n = s.inputs.len();
    let witness = ShuffleWitness::random(n, &mut s.rng);
    let honest = witness.apply(&s.pk, &s.inputs).unwrap();
    ShuffleProof::prove(&s.pk, &s.inputs, &honest, &witness, CTX, &mut s.rng)
        .unwrap()
        .verify(&s.pk, &s.inputs, &honest, CTX)
        .unwrap();

    // 1. One output replaced by an encryption of another value (a vote changed from 0 to 1),
    //    proved with the honest witness.
    let mut forged = honest.clone();
    let (changed, _) = s.pk.encrypt(1, &mut s.rng);
    forged[1] = changed;
    let p = ShuffleProof::prove(&s.pk, &s.inputs, &forged, &witness, CTX, &mut s.rng).unwrap();
    assert!(rejected(p.verify(&s.pk, &s.inputs, &forged, CTX)));
    assert_ne!(
        sorted(decrypt_all(&s.sk, &forged)),
        sorted(decrypt_all(&s.sk, &s.inputs))
    );

    // 2. The same forgery with the value added homomorphically to an honest output.
    let (delta, _) = s.pk.encrypt(1, &mut s.rng);
    let mut forged = honest.clone();
    forged[4] = forged[4] + delta;
    let p = ShuffleProof::prove(&s.pk, &s.inputs, &forged, &witness, CTX, &mut s.rng).unwrap();
    assert!(rejected(p.verify(&s.pk, &s.inputs, &forged, CTX)));

    // 3. Honest outputs, proved with the identity permutation or with two positions exchanged.
    let zeros = || (0..n).map(|_| SecretScalar::new(Scalar::ZERO)).collect();
    let identity = ShuffleWitness::new((0..n).collect(), zeros()).unwrap();
    let p = ShuffleProof::prove(&s.pk, &s.inputs, &honest, &identity, CTX, &mut s.rng).unwrap();
    assert!(rejected(p.verify(&s.pk, &s.inputs, &honest, CTX)));

    // 4. A witness with the right permutation but one wrong randomizer: outputs made from it
    //    verify, the honest outputs under it do not.
    let mut perm: Vec<usize> = (0..n).collect();
    perm.swap(0, 3);
    let rands: Vec<SecretScalar> = (0..n).map(|_| SecretScalar::random(&mut s.rng)).collect();
    let w = ShuffleWitness::new(perm.clone(), rands.clone()).unwrap();
    let outs = w.apply(&s.pk, &s.inputs).unwrap();
    ShuffleProof::prove(&s.pk, &s.inputs, &outs, &w, CTX, &mut s.rng)
        .unwrap()
        .verify(&s.pk, &s.inputs, &outs, CTX)
        .unwrap();
    let mut rands_off = rands;
    rands_off[2] = SecretScalar::new(rands_off[2].expose() + Scalar::ONE);
    let w_off = ShuffleWitness::new(perm, rands_off).unwrap();
    let p = ShuffleProof::prove(&s.pk, &s.inputs, &outs, &w_off, CTX, &mut s.rng).unwrap();
    assert!(rejected(p.verify(&s.pk, &s.inputs, &outs, CTX)));

    // 5. An honest shuffle of a list with one ballot replaced, presented for the original list.
    let mut stuffed = s.inputs.clone();
    stuffed[0] = s.pk.encrypt(2, &mut s.rng).0;
    let (out, p) = shuffle(&s.pk, &stuffed, CTX, &mut s.rng).unwrap();
    p.verify(&s.pk, &stuffed, &out, CTX).unwrap();
    assert!(rejected(p.verify(&s.pk, &s.inputs, &out, CTX)));
}

#[test]
fn shuffle_witnesses_are_checked_and_redacted() {
    let mut rng = ChaCha20Rng::seed_from_u64(1800);
    let r = |k: usize, rng: &mut ChaCha20Rng| -> Vec<SecretScalar> {
        (0..k).map(|_| SecretScalar::random(rng)).collect()
    };
    for bad in [vec![0, 0, 2], vec![0, 1, 3], vec![2, 1]] {
        let k = 3;
        assert!(matches!(
            ShuffleWitness::new(bad, r(k, &mut rng)),
            Err(Error::InvalidParameter(_))
        ));
    }
    assert!(ShuffleWitness::new(vec![], vec![]).unwrap().is_empty());
    let w = ShuffleWitness::new(vec![2, 0, 1], r(3, &mut rng)).unwrap();
    assert_eq!(format!("{w:?}"), "ShuffleWitness(<redacted>, 3 positions)");

    let s = setup(1801, [1, 2, 3]);
    let mut rng = s.rng;
    assert!(w.apply(&s.pk, &s.inputs[..2]).is_err());
    let outs = w.apply(&s.pk, &s.inputs).unwrap();
    assert!(ShuffleProof::prove(&s.pk, &s.inputs[..2], &outs, &w, CTX, &mut rng).is_err());
    assert!(ShuffleProof::prove(&s.pk, &s.inputs, &outs[..1], &w, CTX, &mut rng).is_err());
}

#[test]
fn shuffle_proofs_batch_with_each_other() {
    let mut s = setup(1900, [1, 2, 3, 4, 5]);
    let (o1, p1) = shuffle(&s.pk, &s.inputs, CTX, &mut s.rng).unwrap();
    let (o2, p2) = shuffle(&s.pk, &o1, CTX, &mut s.rng).unwrap();
    let mut bv = BatchVerifier::new().unwrap();
    p1.add_to_batch(&s.pk, &s.inputs, &o1, CTX, &mut bv)
        .unwrap();
    p2.add_to_batch(&s.pk, &o1, &o2, CTX, &mut bv).unwrap();
    assert_eq!(bv.proof_count(), 2);
    bv.verify().unwrap();

    let mut bad = o2.clone();
    bad.swap(0, 1);
    let mut bv = BatchVerifier::new().unwrap();
    p1.add_to_batch(&s.pk, &s.inputs, &o1, CTX, &mut bv)
        .unwrap();
    p2.add_to_batch(&s.pk, &o1, &bad, CTX, &mut bv).unwrap();
    assert_eq!(bv.verify(), Err(Error::BatchInvalid { count: 2 }));
}
