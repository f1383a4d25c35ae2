//! `tabella bench ghostline`: encrypt+MAC throughput beside ChaCha20-Poly1305, and relay throughput.
//!
//! Figures are measured in one run on this machine: [`crate::message::seal`] (one-time-pad XOR plus
//! the GF(2^256 − 189) polynomial MAC over header and ciphertext) and ChaCha20-Poly1305 encryption
//! (`chacha20poly1305` crate) of the same sizes; then a relay on 127.0.0.1 with three clients that
//! all send at once, each message delivered to the two others. Pad bytes come from memory (no
//! fsync), so the figures are of the cryptography and the relay, not of the disk. Build with
//! `--release` for meaningful numbers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use clap::Args;

use crate::client::{connect, Event};
use crate::message::{seal, MessageHeader};
use crate::pad::{consumption, PadId, PadOffset, SenderIndex};
use crate::relay::{start, RateLimit, RelayConfig, RoomToken};

/// Arguments of `tabella bench ghostline`.
#[derive(Args, Debug)]
pub struct GhostlineBenchArgs {
    /// Print machine-readable JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Scale the measuring time and message counts (1 = default; smaller is quicker and noisier).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
}

/// Encrypt+MAC throughput at one message size.
#[derive(Debug, Clone)]
pub struct SealFigure {
    /// Plaintext bytes per message.
    pub size: usize,
    /// GhostLine seal throughput, MB/s (10^6 bytes of plaintext per second).
    pub ghostline_mb_s: f64,
    /// ChaCha20-Poly1305 encryption throughput, MB/s.
    pub chacha_mb_s: f64,
}

/// Relay throughput with three clients on loopback.
#[derive(Debug, Clone)]
pub struct RelayFigure {
    /// Clients in the room.
    pub clients: usize,
    /// Messages sent (each delivered to every other client).
    pub messages: u64,
    /// Messages per second, counting each sent message once (all deliveries included).
    pub messages_per_s: f64,
    /// Deliveries per second (a message reaching one receiver).
    pub deliveries_per_s: f64,
}

/// The whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Encrypt+MAC figures at 64 B, 1 KiB, 64 KiB.
    pub seal: Vec<SealFigure>,
    /// Relay figure.
    pub relay: RelayFigure,
}

fn time_loop(budget: Duration, mut f: impl FnMut()) -> (u64, Duration) {
    let start = Instant::now();
    let mut n = 0u64;
    loop {
        for _ in 0..8 {
            f();
        }
        n += 8;
        let e = start.elapsed();
        if e >= budget {
            return (n, e);
        }
    }
}

/// Measures encrypt+MAC throughput for one size.
pub fn seal_figure(size: usize, budget: Duration) -> anyhow::Result<SealFigure> {
    let pad: Vec<u8> = (0..consumption(size))
        .map(|i| (i * 131 + 7) as u8)
        .collect();
    let plaintext: Vec<u8> = (0..size).map(|i| (i * 17) as u8).collect();
    let header = MessageHeader {
        pad_id: PadId([1; 16]),
        sender: SenderIndex(0),
        offset: PadOffset(0),
        length: u32::try_from(size).context("size")?,
    };
    seal(header, &plaintext, &pad)?;
    let (n, e) = time_loop(budget, || {
        let m = seal(header, &plaintext, &pad);
        std::hint::black_box(&m);
    });
    let ghost = (n as f64 * size as f64) / e.as_secs_f64() / 1e6;

    let cipher = ChaCha20Poly1305::new(Key::from_slice(&[7u8; 32]));
    let mut counter = 0u64;
    let mut failed = false;
    let (n, e) = time_loop(budget, || {
        counter += 1;
        let mut nonce = [0u8; 12];
        nonce[..8].copy_from_slice(&counter.to_le_bytes());
        let mut buf = plaintext.clone();
        match cipher.encrypt_in_place_detached(Nonce::from_slice(&nonce), b"", &mut buf) {
            Ok(tag) => {
                std::hint::black_box((&buf, tag));
            }
            Err(_) => failed = true,
        }
    });
    if failed {
        anyhow::bail!("ChaCha20-Poly1305 encryption failed");
    }
    let chacha = (n as f64 * size as f64) / e.as_secs_f64() / 1e6;
    Ok(SealFigure {
        size,
        ghostline_mb_s: ghost,
        chacha_mb_s: chacha,
    })
}

/// Measures relay throughput: `clients` clients each send `per_client` sealed 64-byte messages at
/// once; the clock stops when every client has received every other client's messages.
pub async fn relay_figure(clients: usize, per_client: u64) -> anyhow::Result<RelayFigure> {
    let token = RoomToken::new(b"bench-room".to_vec());
    let mut config = RelayConfig::new(vec![token.clone()]);
    // Measure capacity, not the configured per-connection limit.
    config.rate = RateLimit {
        frames_per_second: u32::MAX,
        burst: u32::MAX,
    };
    config.queue_len = 1 << 18;
    let addr: SocketAddr = "127.0.0.1:0".parse().context("address")?;
    let relay = start(addr, config).await?;
    let mut conns = Vec::new();
    for i in 0..clients {
        let (tx, mut rx) = connect(relay.local_addr(), &token, i as u16, &format!("c{i}")).await?;
        // Wait until the relay lists everyone who joined so far.
        loop {
            match rx.next().await? {
                Some(Event::Presence(m)) if m.len() > i => break,
                Some(_) => continue,
                None => anyhow::bail!("relay closed during setup"),
            }
        }
        conns.push((tx, rx));
    }
    // Pre-seal every message (the cryptography is measured above).
    let pad = vec![0x5au8; consumption(64) as usize];
    let mut batches = Vec::new();
    for i in 0..clients {
        let mut msgs = Vec::with_capacity(per_client as usize);
        for k in 0..per_client {
            let header = MessageHeader {
                pad_id: PadId([2; 16]),
                sender: SenderIndex(i as u16),
                offset: PadOffset(k * consumption(64)),
                length: 64,
            };
            msgs.push(seal(header, &[b'm'; 64], &pad)?.encode());
        }
        batches.push(Arc::new(msgs));
    }
    let expect = per_client * (clients as u64 - 1);
    let start_t = Instant::now();
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for ((mut tx, mut rx), msgs) in conns.into_iter().zip(batches) {
        senders.push(tokio::spawn(async move {
            for (k, m) in msgs.iter().enumerate() {
                tx.send(m).await?;
                if k % 32 == 31 {
                    tx.flush().await?;
                }
            }
            tx.flush().await?;
            Ok::<_, crate::Error>(tx)
        }));
        receivers.push(tokio::spawn(async move {
            let mut got = 0u64;
            while got < expect {
                match rx.next().await? {
                    Some(Event::Data(_)) => got += 1,
                    Some(Event::Presence(_)) => {}
                    None => break,
                }
            }
            Ok::<_, crate::Error>(got)
        }));
    }
    let mut open_senders = Vec::new();
    for s in senders {
        open_senders.push(s.await.context("sender task")??);
    }
    let mut delivered = 0u64;
    for r in receivers {
        let got = tokio::time::timeout(Duration::from_secs(120), r)
            .await
            .context("relay bench timed out")?
            .context("receiver task")??;
        delivered += got;
    }
    let elapsed = start_t.elapsed().as_secs_f64();
    drop(open_senders);
    relay.shutdown().await;
    if delivered != expect * clients as u64 {
        anyhow::bail!(
            "relay delivered {delivered} of {} messages",
            expect * clients as u64
        );
    }
    let messages = per_client * clients as u64;
    Ok(RelayFigure {
        clients,
        messages,
        messages_per_s: messages as f64 / elapsed,
        deliveries_per_s: delivered as f64 / elapsed,
    })
}

/// Runs every measurement.
pub fn measure(scale: f64) -> anyhow::Result<Report> {
    let scale = scale.clamp(0.01, 100.0);
    let budget = Duration::from_secs_f64(0.5 * scale);
    let mut seal_figs = Vec::new();
    for size in [64, 1024, 64 * 1024] {
        seal_figs.push(seal_figure(size, budget)?);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let per_client = ((20_000.0 * scale) as u64).max(100);
    let relay = rt.block_on(relay_figure(3, per_client))?;
    Ok(Report {
        seal: seal_figs,
        relay,
    })
}

/// Runs `tabella bench ghostline`.
pub fn run(args: GhostlineBenchArgs) -> anyhow::Result<()> {
    let r = measure(args.scale)?;
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    if args.json {
        let seal: Vec<String> = r
            .seal
            .iter()
            .map(|f| {
                format!(
                    "{{\"size\":{},\"ghostline_mb_s\":{:.1},\"chacha20poly1305_mb_s\":{:.1},\"ratio\":{:.3}}}",
                    f.size,
                    f.ghostline_mb_s,
                    f.chacha_mb_s,
                    f.ghostline_mb_s / f.chacha_mb_s
                )
            })
            .collect();
        println!(
            "{{\"profile\":\"{profile}\",\"seal\":[{}],\"relay\":{{\"clients\":{},\"messages\":{},\"messages_per_s\":{:.0},\"deliveries_per_s\":{:.0}}}}}",
            seal.join(","),
            r.relay.clients,
            r.relay.messages,
            r.relay.messages_per_s,
            r.relay.deliveries_per_s
        );
        return Ok(());
    }
    println!("GhostLine benchmark ({profile} build)");
    println!("encrypt+MAC (seal) vs ChaCha20-Poly1305 encrypt, MB/s of plaintext:");
    println!(
        "  {:>8}  {:>12}  {:>18}  {:>6}",
        "size", "GhostLine", "ChaCha20-Poly1305", "ratio"
    );
    for f in &r.seal {
        let size = if f.size >= 1024 {
            format!("{} KiB", f.size / 1024)
        } else {
            format!("{} B", f.size)
        };
        println!(
            "  {:>8}  {:>12.1}  {:>18.1}  {:>5.2}x",
            size,
            f.ghostline_mb_s,
            f.chacha_mb_s,
            f.ghostline_mb_s / f.chacha_mb_s
        );
    }
    if let Some(big) = r.seal.last() {
        let ratio = big.ghostline_mb_s / big.chacha_mb_s;
        println!(
            "  target at 64 KiB: >= 0.5x ChaCha20-Poly1305 -> {:.2}x ({})",
            ratio,
            if ratio >= 0.5 { "met" } else { "not met" }
        );
    }
    println!(
        "relay on 127.0.0.1, {} clients sending at once, 64-byte messages: {} messages in all",
        r.relay.clients, r.relay.messages
    );
    println!(
        "  {:.0} messages/s ({:.0} deliveries/s); target >= 10,000 messages/s ({})",
        r.relay.messages_per_s,
        r.relay.deliveries_per_s,
        if r.relay.messages_per_s >= 10_000.0 {
            "met"
        } else {
            "not met"
        }
    );
    Ok(())
}
