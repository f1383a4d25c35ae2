//! Criterion benchmarks of the verifiable shuffle: proving (shuffle + proof) and verifying, for
//! 100 and 1,000 ciphertexts (fixed RNG seed).
//!
//! Run with `cargo bench -p tabella-crypto --bench shuffle`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::elgamal::SecretKey;
use tabella_crypto::shuffle::shuffle;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let pk = SecretKey::generate(&mut rng).public_key();
    let mut group = c.benchmark_group("shuffle");
    for n in [100usize, 1000] {
        let inputs: Vec<_> = (0..n)
            .map(|i| pk.encrypt(i as u64 % 7, &mut rng).0)
            .collect();
        group.bench_with_input(BenchmarkId::new("prove", n), &inputs, |b, inputs| {
            b.iter(|| shuffle(&pk, inputs, b"bench", &mut rng).unwrap())
        });
        let (outputs, proof) = shuffle(&pk, &inputs, b"bench", &mut rng).unwrap();
        group.bench_with_input(BenchmarkId::new("verify", n), &inputs, |b, inputs| {
            b.iter(|| proof.verify(&pk, inputs, &outputs, b"bench").unwrap())
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
