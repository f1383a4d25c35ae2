//! Paillier benchmarks (2048-bit n): encryption, CRT decryption, randomness recovery, and the
//! membership proof for a 10-value set. Fixed RNG seed; the key is built from fixed primes drawn
//! from that seed (safe-prime generation would dominate the setup).

use criterion::{criterion_group, criterion_main, Criterion};
use crypto_bigint::BoxedUint;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use tabella_crypto::paillier::{MembershipProof, Plaintext, SecretKey};

/// The frozen test-vector key (two 1024-bit safe primes).
fn key() -> SecretKey {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/paillier/v1/key.json"
    ))
    .expect("test-vectors/paillier/v1/key.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("key.json");
    let prime = |name: &str| {
        let bytes = hex::decode(v[name].as_str().expect("hex")).expect("hex");
        BoxedUint::from_be_slice(&bytes, 1024).expect("1024-bit prime")
    };
    SecretKey::from_primes(&prime("p"), &prime("q")).expect("valid key")
}

fn bench(c: &mut Criterion) {
    let sk = key();
    let pk = sk.public_key().clone();
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let m = Plaintext::from(rng.next_u64() % 1000);
    let (ct, r) = pk.encrypt(&m, &mut rng).expect("encrypt");

    c.bench_function("paillier/encrypt", |b| {
        b.iter(|| pk.encrypt(&m, &mut rng).expect("encrypt"))
    });
    c.bench_function("paillier/encrypt_with", |b| {
        b.iter(|| pk.encrypt_with(&m, &r).expect("encrypt"))
    });
    c.bench_function("paillier/decrypt_crt", |b| {
        b.iter(|| sk.decrypt(&ct).expect("decrypt"))
    });
    c.bench_function("paillier/decrypt_textbook", |b| {
        b.iter(|| sk.decrypt_textbook(&ct).expect("decrypt"))
    });
    c.bench_function("paillier/recover_randomness", |b| {
        b.iter(|| sk.recover_randomness(&ct).expect("recover"))
    });
    c.bench_function("paillier/add", |b| {
        b.iter(|| pk.add(&ct, &ct).expect("add"))
    });

    let set: Vec<Plaintext> = (0..10u64).map(Plaintext::from).collect();
    let (c7, r7) = pk.encrypt(&Plaintext::from(7), &mut rng).expect("encrypt");
    let proof = MembershipProof::prove(b"bench", &pk, &c7, &set, 7, &r7, &mut rng).expect("prove");
    let mut group = c.benchmark_group("paillier/membership_10");
    group.sample_size(10);
    group.bench_function("prove", |b| {
        b.iter(|| {
            MembershipProof::prove(b"bench", &pk, &c7, &set, 7, &r7, &mut rng).expect("prove")
        })
    });
    group.bench_function("verify", |b| {
        b.iter(|| proof.verify(b"bench", &pk, &c7, &set).expect("verify"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
