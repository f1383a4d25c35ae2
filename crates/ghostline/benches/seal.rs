//! Criterion benches of the pure core: seal (encrypt + MAC) and open at three sizes.
//! User-facing figures beside ChaCha20-Poly1305: `tabella bench ghostline`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tabella_ghostline::message::{open, seal, MessageHeader};
use tabella_ghostline::pad::{consumption, PadId, PadOffset, SenderIndex};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ghostline");
    for size in [64usize, 1024, 64 * 1024] {
        let pad: Vec<u8> = (0..consumption(size))
            .map(|i| (i * 131 + 7) as u8)
            .collect();
        let text: Vec<u8> = (0..size).map(|i| (i * 17) as u8).collect();
        let header = MessageHeader {
            pad_id: PadId([1; 16]),
            sender: SenderIndex(0),
            offset: PadOffset(0),
            length: size as u32,
        };
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("seal", size), &size, |b, _| {
            b.iter(|| seal(header, &text, &pad).unwrap())
        });
        let sealed = seal(header, &text, &pad).unwrap();
        g.bench_with_input(BenchmarkId::new("open", size), &size, |b, _| {
            b.iter(|| open(&sealed, &pad).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
