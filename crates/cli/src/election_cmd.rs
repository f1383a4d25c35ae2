//! `tabella election ...` and `tabella verify`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use indicatif::ProgressBar;
use tabella_election::manifest::Scheme;
use tabella_election::simulate::{simulate_into, SimulationConfig, Sink, Stage};
use tabella_election::verify::verify_record_timed;

use crate::output::{print_results, progress_style};
use crate::record_io::{read_record, write_record};

/// `tabella election`.
#[derive(Args, Debug)]
pub struct ElectionArgs {
    #[command(flatten)]
    common: crate::roles::Common,
    #[command(subcommand)]
    cmd: ElectionCmd,
}

#[derive(Subcommand, Debug)]
enum ElectionCmd {
    /// Run a complete in-process election (no ledger) with random valid votes, print the results
    /// and write its record.
    Simulate(SimulateArgs),
    #[command(flatten)]
    Council(crate::roles::council::CouncilCmd),
}

/// Scheme names on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SchemeArg {
    /// Exponential ElGamal under the trustees' t-of-n key (default).
    Elgamal,
    /// Paillier under one administrator's key (seed 000: that administrator can decrypt every
    /// ballot; about 100x slower than ElGamal).
    Paillier,
}

/// Options of `tabella election simulate`.
#[derive(Args, Debug, Clone)]
pub struct SimulateArgs {
    /// Number of voters (about a third vote in person at the polling tables).
    #[arg(long, default_value_t = 100)]
    pub voters: usize,
    /// Number of trustees.
    #[arg(long, default_value_t = 3)]
    pub trustees: u16,
    /// Trustees needed to decrypt.
    #[arg(long, default_value_t = 2)]
    pub threshold: u16,
    /// Number of polling tables (0 = remote voting only).
    #[arg(long, default_value_t = 2)]
    pub tables: u16,
    /// Encryption scheme.
    #[arg(long, value_enum, default_value = "elgamal")]
    pub scheme: SchemeArg,
    /// Fraction of remote voters who vote twice (the last ballot counts).
    #[arg(long, default_value_t = 0.05)]
    pub revote_fraction: f64,
    /// Seed for every random choice (same seed, same election).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the election record.
    #[arg(long, default_value = "./tabella-sim/record")]
    pub out: PathBuf,
    /// Don't draw progress bars.
    #[arg(long)]
    pub quiet: bool,
    /// Don't run the verifier on the written record.
    #[arg(long)]
    pub no_verify: bool,
    /// Fewest counted ballots a group (remote voters, one table) needs to be published on its
    /// own; smaller groups are merged before decryption.
    #[arg(long, default_value_t = tabella_election::manifest::DEFAULT_MIN_GROUP_SIZE)]
    pub min_group_size: u32,
}

impl SimulateArgs {
    /// The simulation configuration, validated.
    pub fn config(&self) -> anyhow::Result<SimulationConfig> {
        if self.trustees == 0 || self.threshold == 0 || self.threshold > self.trustees {
            bail!(
                "--threshold must be between 1 and --trustees ({}), got {}",
                self.trustees,
                self.threshold
            );
        }
        if !(0.0..=1.0).contains(&self.revote_fraction) {
            bail!("--revote-fraction must be between 0 and 1");
        }
        if self.voters == 0 {
            bail!("--voters must be at least 1");
        }
        let scheme = match self.scheme {
            SchemeArg::Elgamal => Scheme::Elgamal,
            SchemeArg::Paillier => Scheme::Paillier,
        };
        Ok(SimulationConfig {
            election_id: "simulated-election".into(),
            voters: self.voters,
            trustees: self.trustees,
            threshold: self.threshold,
            tables: self.tables,
            scheme,
            revote_fraction: self.revote_fraction,
            absent_trustees: u16::from(self.trustees > self.threshold),
            token_key_bits: 2048,
            seed: self.seed,
            paillier_key: None,
            contests: None,
            min_group_size: self.min_group_size,
            registration_batch: tabella_election::manifest::DEFAULT_REGISTRATION_BATCH,
        })
    }
}

fn stage_name(s: Stage) -> &'static str {
    match s {
        Stage::Setup => "setup",
        Stage::KeyCeremony => "key ceremony",
        Stage::Registration => "registration",
        Stage::Encrypting => "encrypting ballots",
        Stage::Casting => "verifying + casting",
        Stage::Closing => "closing",
        Stage::Decrypting => "decrypting",
        Stage::Done => "done",
    }
}

/// Runs a simulation with progress bars; returns the output and per-stage seconds.
pub fn run_simulation(
    cfg: &SimulationConfig,
    quiet: bool,
) -> anyhow::Result<(
    tabella_election::simulate::SimulationOutput,
    Vec<(&'static str, f64)>,
)> {
    struct Local;
    impl Sink for Local {
        fn publish(
            &mut self,
            _: Stage,
            _: &[tabella_election::action::Envelope],
        ) -> tabella_election::Result<()> {
            Ok(())
        }
    }
    run_simulation_into(cfg, quiet, &mut Local)
}

/// [`run_simulation`] handing every envelope to `sink` too (the demo's ledger node).
pub fn run_simulation_into(
    cfg: &SimulationConfig,
    quiet: bool,
    sink: &mut dyn Sink,
) -> anyhow::Result<(
    tabella_election::simulate::SimulationOutput,
    Vec<(&'static str, f64)>,
)> {
    let mut timings: Vec<(&'static str, f64)> = Vec::new();
    let mut current: Option<(Stage, Instant, ProgressBar)> = None;
    let style = progress_style();
    let mut on_progress = |stage: Stage, done: usize, total: usize| {
        let same = matches!(&current, Some((s, _, _)) if *s == stage);
        if !same {
            if let Some((s, t, bar)) = current.take() {
                bar.finish();
                timings.push((stage_name(s), t.elapsed().as_secs_f64()));
            }
            let bar = if quiet || stage == Stage::Done {
                ProgressBar::hidden()
            } else {
                ProgressBar::new(total as u64)
            };
            bar.set_style(style.clone());
            bar.set_prefix(stage_name(stage));
            current = Some((stage, Instant::now(), bar));
        }
        if let Some((_, _, bar)) = &current {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    let out = simulate_into(cfg, &mut on_progress, sink)?;
    if let Some((s, t, bar)) = current.take() {
        bar.finish_and_clear();
        if s != Stage::Done {
            timings.push((stage_name(s), t.elapsed().as_secs_f64()));
        }
    }
    Ok((out, timings))
}

/// Runs `tabella election`.
pub fn run(args: ElectionArgs) -> anyhow::Result<()> {
    match args.cmd {
        ElectionCmd::Council(cmd) => crate::roles::council::run(cmd, &args.common),
        ElectionCmd::Simulate(a) => {
            let cfg = a.config()?;
            if cfg.scheme == Scheme::Paillier {
                println!("Paillier scheme (seed 000): one voting administrator holds the key and could decrypt any ballot.");
                println!("Generating its 2048-bit key from two safe primes may take a minute.");
            }
            println!(
                "Simulating an election: {} voters, {} trustees (threshold {}), {} polling tables",
                cfg.voters, cfg.trustees, cfg.threshold, cfg.tables
            );
            let (out, timings) = run_simulation(&cfg, a.quiet)?;
            for (name, secs) in &timings {
                println!("  {name:<22} {secs:>8.2} s");
            }
            let results = out
                .state
                .results()
                .ok_or_else(|| anyhow::anyhow!("the simulation ended without results"))?;
            let manifest = &out.record.manifest;
            println!();
            print_results(manifest, results);
            write_record(&a.out, &out.record)?;
            println!();
            println!("Election record written to {}", a.out.display());
            if a.no_verify {
                println!("Verify it with: tabella verify {}", a.out.display());
                return Ok(());
            }
            // Audit what was written, from the files alone, as an auditor would.
            println!();
            let ok = verify(VerifyArgs {
                record: a.out.clone(),
                json: false,
                receipt: None,
            })?;
            if !ok {
                bail!("the election record did not verify");
            }
            if let Some(receipt) = out.receipts.last() {
                println!();
                println!(
                    "Each voter keeps a receipt (the hash of their ballot). The last voter's is:"
                );
                println!("  {receipt}");
                println!(
                    "Check it is in the record and counted: tabella verify --receipt {receipt} {}",
                    a.out.display()
                );
            }
            Ok(())
        }
    }
}

/// Options of `tabella verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The election record directory.
    pub record: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also check that the ballot with this receipt (hex ballot hash) is in the record.
    #[arg(long)]
    pub receipt: Option<String>,
}

/// Runs `tabella verify`: exit status 0 only if every check passes.
pub fn verify(args: VerifyArgs) -> anyhow::Result<bool> {
    let record = read_record(&args.record)?;
    let report = verify_record_timed(&record, crate::monotonic);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("Verifying the election record in {}", args.record.display());
        println!("{report}");
    }
    let mut ok = report.ok();
    if let Some(r) = &args.receipt {
        let digest = tabella_election::ids::Digest32::from_hex(r.trim()).map_err(|e| {
            anyhow::anyhow!("--receipt: {e} (a receipt is the 64-hex-digit ballot hash)")
        })?;
        let status = tabella_election::record::check_receipt(&record, &report.state, &digest);
        println!("receipt {r}: {status:?}");
        ok &= status == tabella_election::record::ReceiptStatus::Counted;
    }
    Ok(ok)
}
