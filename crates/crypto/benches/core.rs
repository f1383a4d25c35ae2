//! Criterion benchmarks of the core: ElGamal, 0/1 proofs, a 10-option ballot (fixed RNG seed).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::batch::BatchVerifier;
use tabella_crypto::disjunctive::{OneOfProof, PrecomputedKey};
use tabella_crypto::elgamal::{DlogTable, SecretKey};
use tabella_crypto::group::G;
use tabella_crypto::vector::{EncryptedVector, VectorRule};

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let sk = SecretKey::generate(&mut rng);
    let key = PrecomputedKey::new(sk.public_key());

    c.bench_function("elgamal/encrypt", |b| b.iter(|| key.encrypt(1, &mut rng)));

    let (ct, r) = key.encrypt(1, &mut rng);
    c.bench_function("bit_proof/prove", |b| {
        b.iter(|| OneOfProof::prove(b"b", &key, &ct, &[0, 1], 1, &r, &mut rng))
    });
    let proof = OneOfProof::prove(b"b", &key, &ct, &[0, 1], 1, &r, &mut rng).unwrap();
    c.bench_function("bit_proof/verify", |b| {
        b.iter(|| proof.verify(b"b", &key.pk, &ct, &[0, 1]))
    });

    let many: Vec<_> = (0..1024)
        .map(|i| {
            let (ct, r) = key.encrypt(i & 1, &mut rng);
            let p = OneOfProof::prove(b"b", &key, &ct, &[0, 1], (i & 1) as usize, &r, &mut rng)
                .unwrap();
            (ct, p)
        })
        .collect();
    c.bench_function("bit_proof/batch_verify_1024", |b| {
        b.iter(|| {
            let mut bv = BatchVerifier::new().unwrap();
            for (ct, p) in &many {
                p.add_to_batch(b"b", &key.pk, ct, &[0, 1], &mut bv).unwrap();
            }
            bv.verify()
        })
    });

    let rule = VectorRule::single_choice(10);
    let mut choice = vec![0u64; 10];
    choice[3] = 1;
    c.bench_function("ballot10/encrypt_prove", |b| {
        b.iter(|| EncryptedVector::encrypt(b"e", &key, &rule, &choice, &mut rng))
    });
    let ballot = EncryptedVector::encrypt(b"e", &key, &rule, &choice, &mut rng).unwrap();
    c.bench_function("ballot10/verify", |b| {
        b.iter(|| ballot.verify(b"e", &key.pk, &rule))
    });
    let json = serde_json::to_string(&ballot).unwrap();
    c.bench_function("ballot10/decode_json", |b| {
        b.iter_batched(
            || json.clone(),
            |s| serde_json::from_str::<EncryptedVector>(&s),
            BatchSize::SmallInput,
        )
    });

    let table = DlogTable::new(100_000_000).unwrap();
    let target = tabella_crypto::group::GroupScalar::from(77_777_777u64) * G;
    c.bench_function("dlog/bsgs_1e8_worst_case", |b| {
        b.iter(|| table.solve_vartime(&target))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
