//! `tabella bench vortex` (mail part): F5 embedding capacity and speed, and vortex messages end
//! to end through real mail transports — five node daemons, 3-hop paths with redundancy 2/4,
//! on the embedded SMTP receiver or through Postfix and Dovecot (`--postfix BASE`). Relay
//! delays are set to 0 so the figures are the transport's and the nodes' own cost; a real
//! deployment adds its mixing delays (up to hops × the delay window) on top.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Serialize;

use tabella_vortex_mail::f5;
use tabella_vortex_mail::localnet::{LocalNet, NetConfig, Testbed, Transport};
use tabella_vortex_mail::station::{SendRequest, Target};

/// F5 at one message size.
#[derive(Debug, Serialize)]
pub struct F5Figure {
    /// Message bytes.
    pub message_bytes: usize,
    /// The carrier made for it (bytes of JPEG).
    pub carrier_bytes: usize,
    /// Guaranteed capacity of that carrier (bytes).
    pub capacity_bytes: usize,
    /// Guaranteed capacity as a share of the file.
    pub capacity_percent: f64,
    /// Matrix-encoding parameter chosen.
    pub k: u8,
    /// Bits embedded per coefficient changed.
    pub bits_per_change: f64,
    /// Milliseconds to make the carrier.
    pub carrier_ms: f64,
    /// Milliseconds to embed.
    pub embed_ms: f64,
    /// Milliseconds to extract.
    pub extract_ms: f64,
}

/// Vortex messages end to end through a mail transport.
#[derive(Debug, Serialize)]
pub struct MailFigure {
    /// `embedded` or `postfix`.
    pub transport: String,
    /// Nodes.
    pub nodes: usize,
    /// Messages sent (all at once).
    pub messages: usize,
    /// Messages delivered.
    pub delivered: usize,
    /// Seconds for every node to create its identities everywhere.
    pub setup_s: f64,
    /// Median seconds from handing a message to its node to its delivery.
    pub latency_median_s: f64,
    /// 90th percentile.
    pub latency_p90_s: f64,
    /// Slowest.
    pub latency_max_s: f64,
    /// Messages delivered per hour at this rate.
    pub messages_per_hour: f64,
    /// Mails that crossed the transport.
    pub mails: usize,
}

/// F5 figures for a few message sizes.
pub fn f5_figures(sizes: &[usize]) -> anyhow::Result<Vec<F5Figure>> {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let mut out = Vec::new();
    for &n in sizes {
        let mut msg = vec![0u8; n];
        rng.fill_bytes(&mut msg);
        let t = Instant::now();
        let cover = f5::carrier_for(n, &mut rng)?;
        let carrier_ms = t.elapsed().as_secs_f64() * 1e3;
        let capacity = f5::capacity(&cover)?;
        let t = Instant::now();
        let (stego, stats) = f5::embed_with_stats(&cover, &msg, b"bench")?;
        let embed_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let back = f5::extract(&stego, b"bench")?;
        let extract_ms = t.elapsed().as_secs_f64() * 1e3;
        if back != msg {
            bail!("F5 did not round-trip {n} bytes");
        }
        out.push(F5Figure {
            message_bytes: n,
            carrier_bytes: stego.len(),
            capacity_bytes: capacity,
            capacity_percent: 100.0 * capacity as f64 / cover.len() as f64,
            k: stats.k,
            bits_per_change: stats.efficiency(),
            carrier_ms,
            embed_ms,
            extract_ms,
        });
    }
    Ok(out)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Sends `messages` messages between five daemons (3 hops, redundancy 2/4, no relay delay).
pub fn mail_figure(postfix: Option<&Path>, messages: usize) -> anyhow::Result<MailFigure> {
    if !(1..=1000).contains(&messages) {
        bail!("--mail-messages must be between 1 and 1000");
    }
    let (transport, name) = match postfix {
        Some(base) => (Transport::Testbed(Testbed::load(base)?), "postfix"),
        None => (Transport::Embedded, "embedded"),
    };
    let dir = tempfile::tempdir()?;
    let before = postfix.map_or(0, |b| count_files(&b.join("mail")));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let config = NetConfig {
            f5: Some("bench".into()),
            ..NetConfig::default()
        };
        let mut net = LocalNet::create(dir.path(), &config, transport).await?;
        let t = Instant::now();
        net.start_all().await?;
        if !net
            .wait_until(Duration::from_secs(300), |n| {
                (0..n.len()).all(|i| n.setup_done(i))
            })
            .await?
        {
            bail!("identity set-up did not finish in 300 s");
        }
        let setup_s = t.elapsed().as_secs_f64();
        let n = net.len();
        let mut sent: Vec<(usize, Vec<u8>, Instant)> = Vec::new();
        let start = Instant::now();
        for m in 0..messages {
            let from = m % n;
            let to = (from + 1 + m / n) % n;
            let to = if to == from { (to + 1) % n } else { to };
            let mut text = format!("bench message {m}: ").into_bytes();
            text.extend(std::iter::repeat_n(b'x', 1000));
            net.send(
                from,
                &SendRequest {
                    to: Target::Address(net.address(to).to_string()),
                    text: text.clone(),
                    hops: 3,
                    redundancy: Some((2, 4)),
                    decoys: 0,
                    reply: false,
                    delay: (0, 0),
                },
            )?;
            sent.push((to, text, Instant::now()));
        }
        let mut arrived: BTreeMap<usize, f64> = BTreeMap::new();
        let deadline = Instant::now() + Duration::from_secs(600);
        while arrived.len() < sent.len() && Instant::now() < deadline {
            for (i, (to, text, at)) in sent.iter().enumerate() {
                if arrived.contains_key(&i) {
                    continue;
                }
                if net.inbox(*to)?.iter().any(|l| &l.text == text) {
                    arrived.insert(i, at.elapsed().as_secs_f64());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let dir_mail = dir.path().join("mail");
        net.shutdown().await?;
        let mails = match postfix {
            Some(base) => count_files(&base.join("mail")) - before,
            None => count_files(&dir_mail),
        };
        let mut lat: Vec<f64> = arrived.values().copied().collect();
        lat.sort_by(f64::total_cmp);
        Ok(MailFigure {
            transport: name.into(),
            nodes: n,
            messages,
            delivered: arrived.len(),
            setup_s,
            latency_median_s: percentile(&lat, 0.5),
            latency_p90_s: percentile(&lat, 0.9),
            latency_max_s: lat.last().copied().unwrap_or(f64::NAN),
            messages_per_hour: arrived.len() as f64 / elapsed * 3600.0,
            mails,
        })
    })
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            n += count_files(&p);
        } else if p
            .parent()
            .and_then(|d| d.file_name())
            .is_some_and(|d| d == "new" || d == "cur")
        {
            n += 1;
        }
    }
    n
}

/// Prints the figures.
pub fn print(f5: &[F5Figure], mail: Option<&MailFigure>) {
    println!();
    println!("F5 steganography (fresh 4:2:0 JPEG carrier per message, quality 90)");
    println!(
        "  {:>9} {:>10} {:>10} {:>7} {:>3} {:>9} {:>9} {:>9} {:>9}",
        "message", "carrier", "capacity", "cap %", "k", "bits/chg", "carrier", "embed", "extract"
    );
    for f in f5 {
        println!(
            "  {:>7} B {:>8} B {:>8} B {:>6.1}% {:>3} {:>9.2} {:>6.0} ms {:>6.0} ms {:>6.0} ms",
            f.message_bytes,
            f.carrier_bytes,
            f.capacity_bytes,
            f.capacity_percent,
            f.k,
            f.bits_per_change,
            f.carrier_ms,
            f.embed_ms,
            f.extract_ms
        );
    }
    if let Some(m) = mail {
        println!();
        println!(
            "end to end over mail ({}): {} nodes, 3-hop paths, redundancy 2/4, no relay delay",
            m.transport, m.nodes
        );
        println!("  identity set-up        {:>8.1} s", m.setup_s);
        println!(
            "  delivered              {:>8} of {}",
            m.delivered, m.messages
        );
        println!(
            "  latency median / p90 / max  {:.1} / {:.1} / {:.1} s",
            m.latency_median_s, m.latency_p90_s, m.latency_max_s
        );
        println!("  messages per hour      {:>8.0}", m.messages_per_hour);
        println!("  mails on the transport {:>8}", m.mails);
    }
}
