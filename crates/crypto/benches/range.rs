//! Benchmarks for range proofs, link proofs, stealth scanning and blind tokens.
//!
//! Run with `cargo bench -p tabella-crypto --bench range`.

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::blind;
use tabella_crypto::elgamal::SecretKey;
use tabella_crypto::group::SecretScalar;
use tabella_crypto::range::{encrypt_with_range_proof, LinkProof, PedersenCommitment, RangeProof};
use tabella_crypto::stealth::generate_meta_address;

fn range(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let gamma = SecretScalar::random(&mut rng);
    let (commit, proof) = RangeProof::prove(b"bench", 123_456_789, &gamma, 32, &mut rng).unwrap();
    c.bench_function("bulletproof 32-bit prove", |b| {
        b.iter(|| RangeProof::prove(b"bench", 123_456_789, &gamma, 32, &mut rng).unwrap())
    });
    c.bench_function("bulletproof 32-bit verify", |b| {
        b.iter(|| proof.verify(b"bench", &commit, 32).unwrap())
    });

    let sk = SecretKey::generate(&mut rng);
    let pk = sk.public_key();
    let v = 77u64;
    let (ct, r) = pk.encrypt(v, &mut rng);
    let g = SecretScalar::random(&mut rng);
    let vc = PedersenCommitment::commit(v, &g).unwrap();
    let link = LinkProof::prove(b"bench", &pk, &ct, &vc, v, &r, &g, &mut rng).unwrap();
    c.bench_function("link proof prove", |b| {
        b.iter(|| LinkProof::prove(b"bench", &pk, &ct, &vc, v, &r, &g, &mut rng).unwrap())
    });
    c.bench_function("link proof verify", |b| {
        b.iter(|| link.verify(b"bench", &pk, &ct, &vc).unwrap())
    });
    let (enc, _) = encrypt_with_range_proof(&pk, v, 32, b"bench", &mut rng).unwrap();
    c.bench_function("encrypt_with_range_proof 32-bit verify", |b| {
        b.iter(|| enc.verify(&pk, 32, b"bench").unwrap())
    });
}

fn stealth(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let (meta, scan, _spend) = generate_meta_address(&mut rng);
    let mut keys = Vec::with_capacity(1000);
    for i in 0..1000 {
        if i % 100 == 0 {
            keys.push(meta.derive_stealth_key(&mut rng));
        } else {
            keys.push(
                generate_meta_address(&mut rng)
                    .0
                    .derive_stealth_key(&mut rng),
            );
        }
    }
    let mut g = c.benchmark_group("stealth");
    g.sample_size(10);
    g.bench_function("scan 1000 keys", |b| {
        b.iter(|| assert_eq!(scan.scan(&meta.spend, &keys).len(), 10))
    });
    g.bench_function("derive stealth key (registrar)", |b| {
        b.iter(|| meta.derive_stealth_key(&mut rng))
    });
    g.finish();
}

fn blind_tokens(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (sk, pk) = blind::generate_issuer_key(2048, &mut rng).unwrap();
    let mut g = c.benchmark_group("blind rsa 2048");
    g.sample_size(10);
    g.bench_function("blind + sign + finalize + verify", |b| {
        b.iter(|| {
            let (req, st) = blind::blind(&pk, b"token", &mut rng).unwrap();
            let bs = blind::sign_blinded(&sk, &req, &mut rng).unwrap();
            let tok = blind::finalize(&pk, &st, &bs, b"token").unwrap();
            blind::verify(&pk, b"token", &tok).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, range, stealth, blind_tokens);
criterion_main!(benches);
