//! F5 figures: embedding and extracting 16 KiB into a carrier sized for it by `carrier_for`,
//! and generating that carrier. `cargo bench -p tabella-vortex-mail --bench f5`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::hint::black_box;
use tabella_vortex_mail::f5;

const LEN: usize = 16 * 1024;

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(16);
    let cover = f5::carrier_for(LEN, &mut rng).expect("carrier");
    let mut message = vec![0u8; LEN];
    rng.fill_bytes(&mut message);
    let (stego, stats) = f5::embed_with_stats(&cover, &message, b"bench").expect("embed");
    let c0 = f5::jpeg::read(&cover).expect("read");
    let capacity = f5::capacity(&cover).expect("capacity");
    let expected = f5::capacity_expected(&cover).expect("capacity");
    eprintln!(
        "carrier {}x{}, {} bytes; capacity {capacity} B guaranteed ({:.1}% of the file), \
         {expected} B expected at k=1 ({:.1}%); 16 KiB at k={}: {} changes, {} shrinkage, \
         {:.2} bits/change; stego {} bytes",
        c0.width,
        c0.height,
        cover.len(),
        100.0 * capacity as f64 / cover.len() as f64,
        100.0 * expected as f64 / cover.len() as f64,
        stats.k,
        stats.changes,
        stats.shrinkage,
        stats.efficiency(),
        stego.len(),
    );

    let mut g = c.benchmark_group("f5_16KiB");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(LEN as u64));
    g.bench_function("embed", |b| {
        b.iter(|| f5::embed(black_box(&cover), black_box(&message), b"bench").expect("embed"))
    });
    g.bench_function("extract", |b| {
        b.iter(|| f5::extract(black_box(&stego), b"bench").expect("extract"))
    });
    g.finish();

    let mut g = c.benchmark_group("f5_carrier");
    g.sample_size(10);
    g.bench_function("carrier_for_16KiB", |b| {
        b.iter(|| f5::carrier_for(black_box(LEN), &mut rng).expect("carrier"))
    });
    g.bench_function("carrier_640x480", |b| {
        b.iter(|| f5::carrier(640, 480, &mut rng).expect("carrier"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
