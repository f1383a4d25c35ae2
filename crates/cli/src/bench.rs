//! `tabella bench`: user-facing performance figures, measured on this machine, one thread.
//!
//! Each figure runs the real operation on fresh inputs (a fixed-seed RNG) and reports the mean
//! wall-clock time per operation. Run a release build: `cargo run --release -- bench crypto`.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::Serialize;

use tabella_crypto::batch::BatchVerifier;
use tabella_crypto::disjunctive::{OneOfProof, PrecomputedKey};
use tabella_crypto::dkg::{JointKey, KeyShare, Round1, TrusteeIndex};
use tabella_crypto::elgamal::SecretKey;
use tabella_crypto::group::SecretScalar;
use tabella_crypto::paillier::{MembershipProof, Plaintext};
use tabella_crypto::range::RangeProof;
use tabella_crypto::threshold::DecryptionShare;
use tabella_crypto::vector::{EncryptedVector, VectorRule};

/// Arguments of `tabella bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchTarget,
}

#[derive(Subcommand, Debug)]
enum BenchTarget {
    /// Cryptographic core: ElGamal, proofs, ballots, threshold decryption, Paillier, bulletproofs.
    Crypto {
        /// Print machine-readable JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Scale the number of iterations (1 = default; smaller is quicker and noisier).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
    /// A complete in-process election: time per phase and record verification speed.
    Election {
        /// Number of voters.
        #[arg(long, default_value_t = 1000)]
        voters: usize,
        /// Ballot: `ten-option` (one single-choice contest with ten options, the target's unit)
        /// or `mixed` (the simulation's three contests: single choice, approval, preferential).
        #[arg(long, default_value = "ten-option")]
        ballot: String,
        /// Print machine-readable JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The ledger: ballots committed per second through a node, submit-to-commit latency.
    Ledger {
        /// Validators (1: the embedded one-node ledger).
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        /// Ballots (ten-option) to submit.
        #[arg(long, default_value_t = 2000)]
        ballots: usize,
        /// Print machine-readable JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Private statistics: range-proved answers, shuffles, key switching, and a whole sum query
    /// (every proof made and verified).
    Stats {
        /// Computing nodes.
        #[arg(long, visible_alias = "computing-nodes", default_value_t = 6)]
        cns: u16,
        /// Data providers in the sum query.
        #[arg(long, visible_alias = "providers", default_value_t = 600)]
        dps: usize,
        /// Run the sum query on the ledger with this many validators (the embedded ledger, the
        /// computing nodes and data providers talking to it over HTTP), instead of in process.
        #[arg(long)]
        nodes: Option<usize>,
        /// With --nodes: milliseconds waited in process before every party's request to the
        /// node (an emulated link latency).
        #[arg(long, default_value_t = 0, requires = "nodes")]
        delay_ms: u64,
        /// Scale the number of iterations (1 = default; smaller is quicker and noisier).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// Print machine-readable JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// GhostLine: one-time-pad encrypt+MAC beside ChaCha20-Poly1305, relay throughput.
    Ghostline(tabella_ghostline::bench::GhostlineBenchArgs),
    /// MessageVortex: addRedundancy beside reed-solomon-erasure, node processing, proof of work.
    Vortex {
        /// Scale the number of iterations (1 = default; smaller is quicker and noisier).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
        /// The hardest proof-of-work puzzle measured, in bits (from 8, in steps of 4).
        #[arg(long, default_value_t = 20)]
        max_bits: u32,
        /// Messages sent end to end between five node daemons over mail (0: skip).
        #[arg(long, default_value_t = 20)]
        mail_messages: usize,
        /// Send them through the Postfix + Dovecot testbed at BASE (`scripts/mail-testbed start
        /// --base BASE --nodes 5`) instead of the embedded SMTP receiver.
        #[arg(long, value_name = "BASE")]
        postfix: Option<std::path::PathBuf>,
        /// Print machine-readable JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Report of `tabella bench election`.
#[derive(Debug, Serialize)]
pub struct ElectionReport {
    /// Voters simulated.
    pub voters: usize,
    /// Ballots in the record (including re-votes).
    pub ballots: u64,
    /// Seconds per simulation phase.
    pub phases: Vec<(&'static str, f64)>,
    /// Seconds for the full record verification.
    pub verify_seconds: f64,
    /// Seconds spent on ballot proofs within verification.
    pub verify_ballot_seconds: f64,
    /// Ballots verified per second (proofs and signatures, both cores).
    pub verify_ballots_per_second: f64,
    /// Worker threads used by verification.
    pub threads: usize,
    /// Target from the issue (ten-option ballots/s).
    pub target_ballots_per_second: f64,
    /// Which ballot was measured.
    pub ballot: String,
}

/// One measured figure.
#[derive(Debug, Serialize)]
pub struct Figure {
    /// Stable machine-readable name.
    pub name: &'static str,
    /// What was measured.
    pub description: &'static str,
    /// Mean time per operation in microseconds.
    pub micros_per_op: f64,
    /// Operations timed.
    pub iterations: usize,
    /// Target in microseconds from the issue, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_micros: Option<f64>,
    /// Whether the target is met (absent when there is no target).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_met: Option<bool>,
}

/// Report of `tabella bench crypto`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Build profile the figures come from.
    pub profile: &'static str,
    /// Threads used.
    pub threads: usize,
    /// The figures.
    pub figures: Vec<Figure>,
}

pub(crate) fn figure(
    name: &'static str,
    description: &'static str,
    total: Duration,
    ops: usize,
    target_micros: Option<f64>,
) -> Figure {
    let micros = total.as_secs_f64() * 1e6 / ops.max(1) as f64;
    Figure {
        name,
        description,
        micros_per_op: micros,
        iterations: ops,
        target_micros,
        target_met: target_micros.map(|t| micros <= t),
    }
}

pub(crate) fn iters(base: usize, scale: f64) -> usize {
    ((base as f64 * scale).round() as usize).max(1)
}

/// Runs the selected benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchTarget::Vortex {
            scale,
            max_bits,
            mail_messages,
            postfix,
            json,
        } => {
            if !(scale > 0.0 && scale <= 100.0) {
                anyhow::bail!("--scale must be in (0, 100], got {scale}");
            }
            if !(8..=28).contains(&max_bits) {
                anyhow::bail!("--max-bits must be in 8..=28, got {max_bits}");
            }
            let mut r = crate::bench_vortex::vortex(scale, max_bits)?;
            r.f5 = crate::bench_vortex_mail::f5_figures(&[1024, 16 * 1024, 64 * 1024])?;
            if mail_messages > 0 {
                r.mail = Some(crate::bench_vortex_mail::mail_figure(
                    postfix.as_deref(),
                    mail_messages,
                )?);
            } else if postfix.is_some() {
                anyhow::bail!("--postfix needs --mail-messages above 0");
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                crate::bench_vortex::print(&r);
            }
            Ok(())
        }
        BenchTarget::Ledger {
            nodes,
            ballots,
            json,
        } => {
            let r = crate::bench_ledger::ledger(nodes, ballots)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "ledger, {} validator(s), {} ten-option ballots with full proof checks",
                    r.nodes, r.ballots
                );
                println!(
                    "  committed in         {:>10.2} s ({} blocks)",
                    r.seconds, r.blocks
                );
                println!(
                    "  throughput           {:>10.0} ballots/s",
                    r.ballots_per_second
                );
                println!("  submit-to-commit p50 {:>10.1} ms", r.latency_p50_ms);
                println!("  submit-to-commit p99 {:>10.1} ms", r.latency_p99_ms);
            }
            Ok(())
        }
        BenchTarget::Crypto { json, scale } => {
            if !(scale > 0.0 && scale <= 100.0) {
                anyhow::bail!("--scale must be in (0, 100], got {scale}");
            }
            let report = crypto(scale)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_table("crypto", &report);
            }
            Ok(())
        }
        BenchTarget::Election {
            voters,
            ballot,
            json,
        } => {
            let contests = match ballot.as_str() {
                "ten-option" => Some(vec![tabella_election::simulate::ten_option_contest()]),
                "mixed" => None,
                other => anyhow::bail!("--ballot must be ten-option or mixed, got {other:?}"),
            };
            let cfg = tabella_election::simulate::SimulationConfig {
                voters,
                seed: 7,
                contests,
                ..Default::default()
            };
            let (out, phases) = crate::election_cmd::run_simulation(&cfg, json)?;
            let t = Instant::now();
            let report =
                tabella_election::verify::verify_record_timed(&out.record, crate::monotonic);
            let verify_seconds = t.elapsed().as_secs_f64();
            if !report.ok() {
                anyhow::bail!("the simulated record did not verify:\n{report}");
            }
            let r = ElectionReport {
                voters,
                ballots: report.ballots_verified,
                phases,
                verify_seconds,
                verify_ballot_seconds: report.ballot_seconds,
                verify_ballots_per_second: report.ballots_verified as f64
                    / report.ballot_seconds.max(1e-9),
                threads: rayon::current_num_threads(),
                target_ballots_per_second: 2000.0,
                ballot: ballot.clone(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "tabella bench election ({} voters, {} ballots, {} threads)",
                    r.voters, r.ballots, r.threads
                );
                for (name, secs) in &r.phases {
                    println!("  {name:<22} {secs:>8.2} s");
                }
                println!("  {:<22} {:>8.2} s", "verify record", r.verify_seconds);
                println!(
                    "  ballot verification: {:.0} ballots/s ({ballot} ballots; target >= {:.0} ten-option ballots/s)",
                    r.verify_ballots_per_second, r.target_ballots_per_second
                );
            }
            Ok(())
        }
        BenchTarget::Stats {
            cns,
            dps,
            nodes: Some(validators),
            delay_ms,
            json,
            ..
        } => {
            let report =
                crate::bench_stats_chain::on_chain(usize::from(cns), dps, validators, delay_ms)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                crate::bench_stats_chain::print(&report);
            }
            Ok(())
        }
        BenchTarget::Stats {
            cns: nodes,
            dps: providers,
            scale,
            json,
            ..
        } => {
            if !(scale > 0.0 && scale <= 100.0) {
                anyhow::bail!("--scale must be in (0, 100], got {scale}");
            }
            if nodes == 0 || providers == 0 {
                anyhow::bail!("--nodes and --providers must be at least 1");
            }
            let report = crate::bench_stats::stats(scale, nodes, providers)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print_table("stats", &report);
            }
            Ok(())
        }
        BenchTarget::Ghostline(args) => tabella_ghostline::bench::run(args),
    }
}

fn print_table(what: &str, report: &Report) {
    println!(
        "tabella bench {what} ({} build, {} thread)",
        report.profile, report.threads
    );
    println!(
        "{:<34} {:>14} {:>8} {:>12}  description",
        "figure", "time/op", "iters", "target"
    );
    for f in &report.figures {
        let target = match (f.target_micros, f.target_met) {
            (Some(t), Some(true)) => format!("<= {} ok", fmt_micros(t)),
            (Some(t), _) => format!("<= {} MISSED", fmt_micros(t)),
            _ => String::new(),
        };
        println!(
            "{:<34} {:>14} {:>8} {:>12}  {}",
            f.name,
            fmt_micros(f.micros_per_op),
            f.iterations,
            target,
            f.description
        );
    }
}

/// "debug" or "release": the build the figures come from.
pub(crate) fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

fn fmt_micros(us: f64) -> String {
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

fn crypto(scale: f64) -> anyhow::Result<Report> {
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let mut figures = Vec::new();
    let sk = SecretKey::generate(&mut rng);
    let key = PrecomputedKey::new(sk.public_key());

    // ElGamal encryption (fixed-base tables for G and the election key).
    let n = iters(2000, scale);
    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(key.encrypt(i as u64 & 1, &mut rng));
    }
    figures.push(figure(
        "elgamal_encrypt",
        "exponential ElGamal encryption",
        t.elapsed(),
        n,
        None,
    ));

    // 0/1 proofs at n = 1024.
    let n = iters(1024, scale);
    let cts: Vec<_> = (0..n)
        .map(|i| key.encrypt(i as u64 & 1, &mut rng))
        .collect();
    let t = Instant::now();
    let proofs: Vec<OneOfProof> = cts
        .iter()
        .enumerate()
        .map(|(i, (ct, r))| OneOfProof::prove(b"bench", &key, ct, &[0, 1], i & 1, r, &mut rng))
        .collect::<Result<_, _>>()?;
    figures.push(figure(
        "bit_proof_prove",
        "0/1 disjunctive proof, prove",
        t.elapsed(),
        n,
        None,
    ));
    let t = Instant::now();
    for ((ct, _), p) in cts.iter().zip(&proofs) {
        p.verify(b"bench", &key.pk, ct, &[0, 1])?;
    }
    figures.push(figure(
        "bit_proof_verify",
        "0/1 proof, verify alone",
        t.elapsed(),
        n,
        None,
    ));
    let t = Instant::now();
    let mut bv = BatchVerifier::new()?;
    for ((ct, _), p) in cts.iter().zip(&proofs) {
        p.add_to_batch(b"bench", &key.pk, ct, &[0, 1], &mut bv)?;
    }
    bv.verify()?;
    figures.push(figure(
        "bit_proof_batch_verify",
        "0/1 proof, batch-verified, per proof (n = 1024)",
        t.elapsed(),
        n,
        None,
    ));

    // A 10-option single-choice ballot.
    let rule = VectorRule::single_choice(10);
    let n = iters(300, scale);
    let choices: Vec<Vec<u64>> = (0..n)
        .map(|i| {
            let mut v = vec![0u64; 10];
            v[i % 10] = 1;
            v
        })
        .collect();
    let t = Instant::now();
    let ballots: Vec<EncryptedVector> = choices
        .iter()
        .map(|v| EncryptedVector::encrypt(b"bench-ballot", &key, &rule, v, &mut rng))
        .collect::<Result<_, _>>()?;
    figures.push(figure(
        "ballot10_encrypt_prove",
        "10-option single-choice ballot: 10 ciphertexts, 10 bit proofs, sum proof",
        t.elapsed(),
        n,
        Some(2000.0),
    ));
    let t = Instant::now();
    for b in &ballots {
        b.verify(b"bench-ballot", &key.pk, &rule)?;
    }
    figures.push(figure(
        "ballot10_verify",
        "10-option ballot, verify alone",
        t.elapsed(),
        n,
        Some(1500.0),
    ));
    let t = Instant::now();
    let mut bv = BatchVerifier::new()?;
    for b in &ballots {
        b.add_to_batch(b"bench-ballot", &key.pk, &rule, &mut bv)?;
    }
    bv.verify()?;
    figures.push(figure(
        "ballot10_batch_verify",
        "10-option ballot, batch-verified, per ballot",
        t.elapsed(),
        n,
        Some(500.0),
    ));

    // Threshold decryption: one trustee's partial decryption with its DLEQ proof (2-of-3 key).
    let shares = threshold_key_shares(&mut rng)?;
    let n = iters(500, scale);
    let cts: Vec<_> = (0..n)
        .map(|i| key.encrypt(i as u64 & 1, &mut rng).0)
        .collect();
    let t = Instant::now();
    let parts: Vec<DecryptionShare> = cts
        .iter()
        .map(|ct| DecryptionShare::create(&shares.1[0], ct, b"bench-tally", &mut rng))
        .collect();
    figures.push(figure(
        "partial_decrypt_prove",
        "trustee partial decryption + DLEQ proof",
        t.elapsed(),
        n,
        None,
    ));
    let t = Instant::now();
    for (p, ct) in parts.iter().zip(&cts) {
        p.verify(&shares.0, ct, b"bench-tally")?;
    }
    figures.push(figure(
        "partial_decrypt_verify",
        "verify one partial decryption",
        t.elapsed(),
        n,
        None,
    ));

    // Paillier, 2048-bit modulus (seed 000), on the frozen test key's size; a fresh key is
    // generated once (safe primes, ~1-2 s) and not timed.
    let psk = tabella_crypto::paillier::SecretKey::generate(2048, &mut rng)?;
    let ppk = psk.public_key().clone();
    let n = iters(40, scale);
    let t = Instant::now();
    let pcts: Vec<_> = (0..n)
        .map(|i| ppk.encrypt(&Plaintext::from(i as u64 % 10), &mut rng))
        .collect::<Result<_, _>>()?;
    figures.push(figure(
        "paillier2048_encrypt",
        "Paillier encryption, n = 2048 bits",
        t.elapsed(),
        n,
        Some(15_000.0),
    ));
    let t = Instant::now();
    for (c, _) in &pcts {
        std::hint::black_box(psk.decrypt(c)?);
    }
    figures.push(figure(
        "paillier2048_decrypt",
        "Paillier CRT decryption",
        t.elapsed(),
        n,
        None,
    ));
    let set: Vec<Plaintext> = (0..10u64).map(Plaintext::from).collect();
    let n = iters(6, scale);
    let t = Instant::now();
    let mproofs: Vec<MembershipProof> = pcts
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, (c, r))| {
            MembershipProof::prove(b"bench-paillier", &ppk, c, &set, i % 10, r, &mut rng)
        })
        .collect::<Result<_, _>>()?;
    let n = mproofs.len();
    figures.push(figure(
        "paillier_membership10_prove",
        "Paillier 1-out-of-10 membership proof (Baudron et al.), prove",
        t.elapsed(),
        n,
        None,
    ));
    let t = Instant::now();
    for ((c, _), p) in pcts.iter().zip(&mproofs) {
        p.verify(b"bench-paillier", &ppk, c, &set)?;
    }
    figures.push(figure(
        "paillier_membership10_verify",
        "Paillier 1-out-of-10 membership proof, verify",
        t.elapsed(),
        n,
        None,
    ));

    // Bulletproofs, 32-bit.
    let n = iters(50, scale);
    let gammas: Vec<SecretScalar> = (0..n).map(|_| SecretScalar::random(&mut rng)).collect();
    let t = Instant::now();
    let proofs: Vec<_> = gammas
        .iter()
        .enumerate()
        .map(|(i, g)| RangeProof::prove(b"bench-range", 1_000_000 + i as u64, g, 32, &mut rng))
        .collect::<Result<_, _>>()?;
    figures.push(figure(
        "bulletproof32_prove",
        "Bulletproofs range proof, 32-bit, prove",
        t.elapsed(),
        n,
        None,
    ));
    let t = Instant::now();
    for (c, p) in &proofs {
        p.verify(b"bench-range", c, 32)?;
    }
    figures.push(figure(
        "bulletproof32_verify",
        "Bulletproofs range proof, 32-bit, verify",
        t.elapsed(),
        n,
        None,
    ));

    Ok(Report {
        profile: profile(),
        threads: 1,
        figures,
    })
}

/// Runs a 2-of-3 key ceremony and returns the joint key and the key shares.
fn threshold_key_shares(rng: &mut ChaCha20Rng) -> anyhow::Result<(JointKey, Vec<KeyShare>)> {
    use tabella_crypto::dkg::DkgParams;
    use tabella_crypto::elgamal::PublicKey;
    let params = DkgParams::new(3, 2, b"bench")?;
    let secrets: Vec<SecretScalar> = (0..3).map(|_| SecretScalar::random(rng)).collect();
    let publics: Vec<PublicKey> = secrets
        .iter()
        .map(|s| PublicKey(s.expose() * tabella_crypto::group::G))
        .collect();
    let mut r2 = Vec::new();
    let mut dealings = Vec::new();
    for (i, s) in secrets.iter().enumerate() {
        let r1 = Round1::new(
            params.clone(),
            TrusteeIndex::new(i as u16 + 1)?,
            s.clone(),
            publics.clone(),
        )?;
        let (next, d) = r1.deal(rng);
        r2.push(next);
        dealings.push(d);
    }
    let mut shares = Vec::new();
    let mut joint = None;
    for r in r2 {
        let (r3, complaints) = r.receive(&dealings, rng)?;
        if !complaints.is_empty() {
            anyhow::bail!("unexpected complaint in the benchmark key ceremony");
        }
        let (share, outcome) = r3.resolve(&[])?;
        shares.push(share);
        joint = Some(outcome.joint_key);
    }
    let joint = joint.ok_or_else(|| anyhow::anyhow!("no trustees"))?;
    Ok((joint, shares))
}
