//! `tabella bench vortex`: the MessageVortex core on this machine — addRedundancy on 1 MiB
//! (padding, Reed–Solomon, per-block AES-256-GCM) beside `reed-solomon-erasure`, recovery from
//! the parity blocks alone, a node processing a 64 KiB message with a 3-operation routing combo,
//! the host-key decryption every arriving message costs, and proof-of-work solve / verify per
//! difficulty. One thread; every figure does the whole operation on fresh data.

use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use tabella_vortex::accounting::Policy;
use tabella_vortex::builder::{self, Envelope, Slots, Timing};
use tabella_vortex::erasure::Code;
use tabella_vortex::gf::Gf256;
use tabella_vortex::hash::HashAlg;
use tabella_vortex::ops::{Operation, Size};
use tabella_vortex::pow::{Challenge, COUNTER};
use tabella_vortex::redundancy::{self, GfSize, Shape};
use tabella_vortex::sim::Network;
use tabella_vortex::sym::SymKey;

/// One proof-of-work difficulty.
#[derive(Debug, Serialize)]
pub struct PowFigure {
    /// Difficulty in bits.
    pub bits: u32,
    /// Puzzles solved.
    pub trials: usize,
    /// Mean hashes per solution (expected 2^bits).
    pub mean_hashes: f64,
    /// Mean milliseconds per solution.
    pub solve_ms: f64,
    /// Microseconds per verification.
    pub verify_us: f64,
}

/// Report of `tabella bench vortex`.
#[derive(Debug, Serialize)]
pub struct VortexReport {
    /// Build profile.
    pub profile: &'static str,
    /// Message size for the redundancy figures, bytes.
    pub redundancy_bytes: usize,
    /// addRedundancy (pad + encode + 8 × AES-256-GCM), GF(2^8), k = 4, n = 8: MB/s.
    pub add_redundancy_mb_s: f64,
    /// The same without the per-block encryption (pad + encode): MB/s.
    pub encode_only_mb_s: f64,
    /// reed-solomon-erasure 6 encoding the same stripes: MB/s.
    pub reed_solomon_erasure_mb_s: f64,
    /// removeRedundancy from the four parity blocks alone (decrypt, invert, decode, unpad): MB/s.
    pub remove_redundancy_mb_s: f64,
    /// The target for addRedundancy, MB/s.
    pub target_mb_s: f64,
    /// A node receiving a 64 KiB message and firing its 3-operation combo (decrypt, split,
    /// merge) into the next message: milliseconds per message.
    pub node_64k_ms: f64,
    /// Messages of 64 KiB per second one core of a node processes.
    pub node_64k_per_second: f64,
    /// One RSA-2048 OAEP decryption with the host key (two per arriving message), µs.
    pub host_decrypt_us: f64,
    /// Proof of work per difficulty.
    pub pow: Vec<PowFigure>,
    /// F5 embedding per message size.
    pub f5: Vec<crate::bench_vortex_mail::F5Figure>,
    /// Messages end to end through a mail transport (absent with --mail-messages 0).
    pub mail: Option<crate::bench_vortex_mail::MailFigure>,
}

fn mb_s(bytes: usize, total: Duration, ops: usize) -> f64 {
    bytes as f64 * ops as f64 / total.as_secs_f64() / 1e6
}

/// Runs the benchmark; `scale` multiplies the iteration counts, `max_bits` bounds the
/// hardest puzzle.
pub fn vortex(scale: f64, max_bits: u32) -> anyhow::Result<VortexReport> {
    let mut rng = ChaCha20Rng::seed_from_u64(14);
    let n = |base: usize| crate::bench::iters(base, scale);

    // Redundancy on 1 MiB.
    let size = 1 << 20;
    let mut message = vec![0u8; size];
    rng.fill_bytes(&mut message);
    let shape = Shape {
        data: 4,
        redundancy: 4,
        gf: GfSize::Gf8,
    };
    let keys: Vec<SymKey> = (0..8).map(|_| SymKey::generate(&mut rng)).collect();
    let iters = n(40);
    // One untimed round first: tables built, pages mapped.
    let mut blocks = redundancy::add(&message, shape, &keys)?;
    let t = Instant::now();
    for _ in 0..iters {
        blocks = redundancy::add(&message, shape, &keys)?;
    }
    let add = t.elapsed();
    let code = Code::<Gf256>::new(4, 4)?;
    let t = Instant::now();
    for _ in 0..iters {
        let padded = redundancy::pad(&message, 4)?;
        std::hint::black_box(code.encode(&padded)?);
    }
    let encode = t.elapsed();
    let padded = redundancy::pad(&message, 4)?;
    let stripe = padded.len() / 4;
    let mut shards: Vec<Vec<u8>> = padded.chunks(stripe).map(<[u8]>::to_vec).collect();
    shards.resize(8, vec![0u8; stripe]);
    let rs = reed_solomon_erasure::galois_8::ReedSolomon::new(4, 4)
        .map_err(|e| anyhow::anyhow!("reed-solomon-erasure: {e:?}"))?;
    let t = Instant::now();
    for _ in 0..iters {
        rs.encode(&mut shards)
            .map_err(|e| anyhow::anyhow!("reed-solomon-erasure: {e:?}"))?;
    }
    let rse = t.elapsed();
    std::hint::black_box(&shards);
    let parity_only: Vec<Option<Vec<u8>>> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (i >= 4).then(|| b.clone()))
        .collect();
    let t = Instant::now();
    for _ in 0..iters {
        let got = redundancy::remove(&parity_only, shape, &keys)?;
        if got.message.len() != size {
            anyhow::bail!("removeRedundancy returned {} bytes", got.message.len());
        }
    }
    let remove = t.elapsed();

    // A node: 64 KiB through a relay with a 3-operation combo.
    let policy = Policy {
        puzzle_bits: Some(4),
        ..Policy::default()
    };
    let mut net = Network::new(3, &policy, 2048, 0, 15)?;
    net.create_identities()?;
    let infos = net.infos().to_vec();
    let ids = net.identities(0).clone();
    let mut slots = Slots::default();
    let timing = Timing {
        min: 0,
        max: 0,
        now: net.now(),
        lifetime: 3600,
    };
    let count = n(60).min(400);
    let mut messages = Vec::with_capacity(count);
    for _ in 0..count {
        let next_header = builder::header(
            ids.get(&infos[2].address)?.public(),
            timing.now - 60,
            timing.now + 3600,
            vec![],
            None,
            &mut rng,
        )?;
        let next = Envelope::new(&infos[2], &next_header, &builder::no_routing(), &mut rng)?;
        let layer = SymKey::generate(&mut rng);
        let s = slots.take(&infos[1].address, 4)?;
        let combo = next.into_combo(
            &[
                Operation::Decrypt {
                    from: s,
                    key: layer.clone(),
                    to: s + 1,
                },
                Operation::Split {
                    from: s + 1,
                    size: Size::Percent { from: 0, to: 50 },
                    first: s + 2,
                    second: s + 3,
                },
                Operation::Merge {
                    first: s + 2,
                    second: s + 3,
                    to: 1,
                },
            ],
            0,
            0,
        )?;
        let routing = tabella_vortex::asn1::RoutingBlock {
            routing: vec![combo],
            mappings: vec![tabella_vortex::asn1::MapBlockOperation {
                original_id: 1,
                new_id: u32::from(s),
            }],
            reply_block: None,
        };
        let key = ids.get(&infos[1].address)?;
        let h = builder::header(
            key.public(),
            timing.now - 60,
            timing.now + 3600,
            vec![],
            None,
            &mut rng,
        )?;
        let mut payload = vec![0u8; 64 << 10];
        rng.fill_bytes(&mut payload);
        let bytes = Envelope::new(&infos[1], &h, &routing, &mut rng)?
            .signed(key)?
            .seal(vec![layer.encrypt(&payload)?], &mut rng)?;
        messages.push(bytes);
    }
    let now = net.now();
    let node = net.node_mut(1);
    let t = Instant::now();
    for m in &messages {
        node.receive(m, now, &mut rng)
            .map_err(|e| anyhow::anyhow!("the relay refused a benchmark message: {e}"))?;
        let tick = node.tick(now, &mut rng);
        if tick.outgoing.len() != 1 {
            anyhow::bail!("the relay sent {} messages, not 1", tick.outgoing.len());
        }
    }
    let node_time = t.elapsed();

    // The host-key decryption of a prefix.
    let host = tabella_vortex::asym::PrivateKey::generate(2048, &mut rng)?;
    let block = host.public().encrypt(&[7u8; 80], &mut rng)?;
    let dec_iters = n(100);
    let t = Instant::now();
    for _ in 0..dec_iters {
        std::hint::black_box(host.decrypt(&block)?);
    }
    let host_decrypt = t.elapsed();

    // Proof of work.
    let mut pow = Vec::new();
    let mut template = vec![0u8; 600];
    rng.fill_bytes(&mut template);
    let mut bits = 8;
    while bits <= max_bits {
        let trials = ((1usize << 22) >> bits).clamp(3, 200);
        let trials = n(trials).max(2);
        let (mut hashes, mut solve) = (0u64, Duration::ZERO);
        let mut last = (Challenge::random(bits, &mut rng)?, template.clone());
        for _ in 0..trials {
            let c = Challenge::random(bits, &mut rng)?;
            let t = Instant::now();
            let (counter, tries) = c
                .solve(HashAlg::Sha3_256, &template, rng.next_u64(), 1 << 40)
                .ok_or_else(|| anyhow::anyhow!("no solution"))?;
            solve += t.elapsed();
            hashes += tries;
            let mut solved = template.clone();
            let at = solved.len() - COUNTER;
            solved[at..].copy_from_slice(&counter.to_be_bytes());
            last = (c, solved);
        }
        let v_iters = 2000;
        let t = Instant::now();
        for _ in 0..v_iters {
            if !last.0.verify(HashAlg::Sha3_256, &last.1) {
                anyhow::bail!("a solution did not verify");
            }
        }
        let verify = t.elapsed();
        pow.push(PowFigure {
            bits,
            trials,
            mean_hashes: hashes as f64 / trials as f64,
            solve_ms: solve.as_secs_f64() * 1e3 / trials as f64,
            verify_us: verify.as_secs_f64() * 1e6 / v_iters as f64,
        });
        bits += 4;
    }

    Ok(VortexReport {
        profile: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        redundancy_bytes: size,
        add_redundancy_mb_s: mb_s(size, add, iters),
        encode_only_mb_s: mb_s(size, encode, iters),
        reed_solomon_erasure_mb_s: mb_s(size, rse, iters),
        remove_redundancy_mb_s: mb_s(size, remove, iters),
        target_mb_s: 200.0,
        node_64k_ms: node_time.as_secs_f64() * 1e3 / count as f64,
        node_64k_per_second: count as f64 / node_time.as_secs_f64(),
        host_decrypt_us: host_decrypt.as_secs_f64() * 1e6 / dec_iters as f64,
        pow,
        f5: Vec::new(),
        mail: None,
    })
}

/// Prints the report as a table.
pub fn print(r: &VortexReport) {
    println!("vortex ({} build, one thread)", r.profile);
    let met = if r.add_redundancy_mb_s >= r.target_mb_s {
        "met"
    } else {
        "NOT met"
    };
    println!(
        "  addRedundancy GF(2^8) k=4 n=8, 1 MiB, with 8 × AES-256-GCM  {:>8.0} MB/s  (target {:.0}: {met})",
        r.add_redundancy_mb_s, r.target_mb_s
    );
    println!(
        "  the same without encryption (pad + encode)                  {:>8.0} MB/s",
        r.encode_only_mb_s
    );
    println!(
        "  reed-solomon-erasure 6, same stripes                        {:>8.0} MB/s",
        r.reed_solomon_erasure_mb_s
    );
    println!(
        "  removeRedundancy from the 4 parity blocks alone             {:>8.0} MB/s",
        r.remove_redundancy_mb_s
    );
    println!(
        "  node: 64 KiB message, 3-operation combo, next message out   {:>8.2} ms  ({:.0} messages/s)",
        r.node_64k_ms, r.node_64k_per_second
    );
    println!(
        "  host key: one RSA-2048 OAEP decryption (two per message)    {:>8.0} µs",
        r.host_decrypt_us
    );
    println!("  proof of work (SHA3-256 over a 600-byte header):");
    println!("    bits   trials   mean hashes     solve        verify");
    for p in &r.pow {
        println!(
            "    {:>4}   {:>6}   {:>11.0}   {:>9.2} ms   {:>6.2} µs",
            p.bits, p.trials, p.mean_hashes, p.solve_ms, p.verify_us
        );
    }
    crate::bench_vortex_mail::print(&r.f5, r.mail.as_ref());
}
