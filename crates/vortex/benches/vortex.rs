//! Criterion benchmarks of the MessageVortex core: addRedundancy on 1 MiB (GF(2^8), k = 4,
//! n = 8) beside reed-solomon-erasure, removeRedundancy from the parity blocks, and a
//! proof-of-work verification. `cargo bench -p tabella-vortex`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tabella_vortex::erasure::Code;
use tabella_vortex::gf::Gf256;
use tabella_vortex::hash::HashAlg;
use tabella_vortex::pow::Challenge;
use tabella_vortex::redundancy::{self, GfSize, Shape};
use tabella_vortex::sym::SymKey;

fn redundancy_1mib(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut message = vec![0u8; 1 << 20];
    rng.fill_bytes(&mut message);
    let shape = Shape {
        data: 4,
        redundancy: 4,
        gf: GfSize::Gf8,
    };
    let keys: Vec<SymKey> = (0..8).map(|_| SymKey::generate(&mut rng)).collect();
    let mut g = c.benchmark_group("redundancy_1MiB_k4_n8");
    g.throughput(Throughput::Bytes(message.len() as u64));
    g.sample_size(20);
    g.bench_function("addRedundancy (pad, encode, 8 x AES-256-GCM)", |b| {
        b.iter(|| redundancy::add(black_box(&message), shape, &keys))
    });
    let code = Code::<Gf256>::new(4, 4).expect("code");
    g.bench_function("pad + encode (no encryption)", |b| {
        b.iter(|| code.encode(&redundancy::pad(black_box(&message), 4).expect("pad")))
    });
    let padded = redundancy::pad(&message, 4).expect("pad");
    let stripe = padded.len() / 4;
    let mut shards: Vec<Vec<u8>> = padded.chunks(stripe).map(<[u8]>::to_vec).collect();
    shards.resize(8, vec![0u8; stripe]);
    let rs = reed_solomon_erasure::galois_8::ReedSolomon::new(4, 4).expect("rs");
    g.bench_function("reed-solomon-erasure encode", |b| {
        b.iter(|| rs.encode(black_box(&mut shards)))
    });
    let blocks = redundancy::add(&message, shape, &keys).expect("add");
    let parity: Vec<Option<Vec<u8>>> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (i >= 4).then(|| b.clone()))
        .collect();
    g.bench_function("removeRedundancy from the parity blocks", |b| {
        b.iter(|| redundancy::remove(black_box(&parity), shape, &keys))
    });
    g.finish();
}

fn pow_verify(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let challenge = Challenge::random(16, &mut rng).expect("challenge");
    let mut header = vec![0u8; 600];
    rng.fill_bytes(&mut header);
    c.bench_function("pow verify (SHA3-256, 600-byte header)", |b| {
        b.iter(|| challenge.verify(HashAlg::Sha3_256, black_box(&header)))
    });
}

criterion_group!(benches, redundancy_1mib, pow_verify);
criterion_main!(benches);
