//! `tabella demo` — the main job: a complete election on the embedded one-node ledger, every
//! envelope submitted to the node over its HTTP API and committed in blocks (every proof
//! verified at admission and again when the block is executed), then the record is rebuilt
//! from what the node serves, written, and audited.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use indicatif::ProgressBar;
use tabella_election::action::Envelope;
use tabella_election::record::Record;
use tabella_election::simulate::{Sink, Stage};
use tabella_election::state::ElectionState;
use tabella_election::verify::verify_record_timed;
use tabella_ledger::types::Height;
use tabella_node::client::NodeClient;
use tabella_node::home::{self, Home, KeyProtection};
use tabella_node::run::{self, RunOptions};

use crate::election_cmd::{run_simulation_into, SimulateArgs};
use crate::output::{print_results, progress_style};
use crate::record_io::write_record;
use crate::roles::election_txs;

/// Options of `tabella demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of voters (about a third vote in person at the polling tables).
    #[arg(long, default_value_t = 1000)]
    voters: usize,
    /// Number of trustees.
    #[arg(long, default_value_t = 3)]
    trustees: u16,
    /// Trustees needed to decrypt (one trustee stays absent when possible).
    #[arg(long, default_value_t = 2)]
    threshold: u16,
    /// Number of polling tables.
    #[arg(long, default_value_t = 2)]
    tables: u16,
    /// Fraction of remote voters who vote twice (the last ballot counts).
    #[arg(long, default_value_t = 0.05)]
    revote_fraction: f64,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Validators of the embedded ledger (1: one node; more: a local testnet in this process).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// The embedded node's home, or the testnet's directory (recreated at each run; a
    /// throw-away chain, so its validator keys are stored unencrypted).
    #[arg(long, default_value = "./tabella-demo/node")]
    home: PathBuf,
    /// Where to write the election record.
    #[arg(long, default_value = "./tabella-demo/record")]
    out: PathBuf,
    /// The node's API address (default: any free port; with --serve, 127.0.0.1:7400).
    #[arg(long)]
    api: Option<SocketAddr>,
    /// Keep the node and its API running after the demo (Ctrl-C to stop).
    #[arg(long)]
    serve: bool,
    /// Don't draw progress bars.
    #[arg(long)]
    quiet: bool,
}

/// Submits each stage's envelopes to the node in batches and waits for them to be committed.
pub(crate) struct NodeSink {
    client: NodeClient,
    quiet: bool,
    committed: usize,
}

impl NodeSink {
    /// A sink submitting to `client`'s node.
    pub(crate) fn new(client: NodeClient, quiet: bool) -> Self {
        NodeSink {
            client,
            quiet,
            committed: 0,
        }
    }

    /// Counts `n` envelopes that reached the ledger another way (error messages number them).
    pub(crate) fn count_external(&mut self, n: usize) {
        self.committed += n;
    }

    /// Submits `envs` of `stage` and waits until the last is committed.
    pub(crate) fn publish_inner(&mut self, stage: Stage, envs: &[Envelope]) -> anyhow::Result<()> {
        let bar = if self.quiet || envs.len() < 50 {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(envs.len() as u64)
        };
        bar.set_style(progress_style());
        bar.set_prefix(match stage {
            Stage::Casting => "ledger: ballots",
            _ => "ledger: commit",
        });
        let mut last = None;
        for chunk in envs.chunks(250) {
            let txs = election_txs(chunk)?;
            for (i, r) in self.client.submit_batch(&txs)?.into_iter().enumerate() {
                match r {
                    Ok(id) => last = Some(id),
                    Err(e) => bail!("the node rejected envelope {}: {e}", self.committed + i),
                }
            }
            self.committed += chunk.len();
            bar.inc(chunk.len() as u64);
        }
        if let Some(id) = last {
            self.client
                .wait_committed(&id, Duration::from_secs(600))
                .context("waiting for the ledger to commit")?;
        }
        bar.finish_and_clear();
        Ok(())
    }
}

impl Sink for NodeSink {
    fn publish(&mut self, stage: Stage, envs: &[Envelope]) -> tabella_election::Result<()> {
        self.publish_inner(stage, envs)
            .map_err(|e| tabella_election::Error::Sink(format!("{e:#}")))
    }
}

/// Runs the demo.
pub fn run(a: DemoArgs) -> anyhow::Result<()> {
    let sim = SimulateArgs {
        voters: a.voters,
        trustees: a.trustees,
        threshold: a.threshold,
        tables: a.tables,
        scheme: crate::election_cmd::SchemeArg::Elgamal,
        revote_fraction: a.revote_fraction,
        seed: a.seed,
        out: a.out.clone(),
        quiet: a.quiet,
        no_verify: false,
        min_group_size: tabella_election::manifest::DEFAULT_MIN_GROUP_SIZE,
    };
    let mut cfg = sim.config()?;
    cfg.election_id = "demo-election".into();

    // --- the embedded ledger: one node (default) or a local testnet
    let (mut nodes, chain_name) = embedded_ledger(&a.home, a.nodes, a.api, a.serve)?;
    let node = nodes.remove(0);
    let client = NodeClient::new(&node.url());
    let status = client.status()?;
    println!(
        "Tabella demo: a complete election on a local {}-validator ledger",
        status.roster.len()
    );
    println!(
        "  node {}  (home {}, chain {}, {} validator(s){})",
        node.url(),
        a.home.display(),
        chain_name,
        status.roster.len(),
        if nodes.is_empty() {
            String::new()
        } else {
            format!(
                "; the others on {}",
                nodes.iter().map(|n| n.url()).collect::<Vec<_>>().join(", ")
            )
        }
    );
    println!(
        "  {} voters, {} trustees (threshold {}), {} polling tables + remote voters, {:.0}% re-votes",
        cfg.voters,
        cfg.trustees,
        cfg.threshold,
        cfg.tables,
        cfg.revote_fraction * 100.0
    );
    let t0 = Instant::now();
    let mut sink = NodeSink {
        client: client.clone(),
        quiet: a.quiet,
        committed: 0,
    };
    let (out, timings) = run_simulation_into(&cfg, a.quiet, &mut sink)?;
    for (name, secs) in &timings {
        println!("  {name:<22} {secs:>8.2} s");
    }
    let elapsed = t0.elapsed();

    // --- what the ledger holds, fetched over the API as anyone could
    let envs = client.envelopes(&cfg.election_id)?;
    let mut state = ElectionState::new();
    for (i, e) in envs.iter().enumerate() {
        state.apply(e).map_err(|err| {
            anyhow::anyhow!("envelope {i} served by the node does not apply: {err}")
        })?;
    }
    if envs.len() != out.record.log.len() {
        bail!(
            "the node holds {} envelopes of the election but {} were submitted",
            envs.len(),
            out.record.log.len()
        );
    }
    let record = Record::from_state(envs, &state)?;
    let results = client.results(&cfg.election_id)?;
    let chain_status = client.status()?;
    println!();
    println!(
        "Ledger: {} blocks committed, {} envelopes ({} ballots) in {:.1} s",
        chain_status.height,
        record.log.len(),
        record.counts.ballots_accepted,
        elapsed.as_secs_f64()
    );
    println!();
    print_results(&record.manifest, &results);

    // --- the record, audited from the files alone
    write_record(&a.out, &record)?;
    println!();
    println!("Election record written to {}", a.out.display());
    let report = verify_record_timed(&crate::record_io::read_record(&a.out)?, crate::monotonic);
    println!();
    println!("{report}");
    if !report.ok() {
        bail!("the election record did not verify");
    }
    // The light client checks the chain's tip from the genesis hash alone.
    let proof = client.light_proof(chain_status.height)?;
    let roster = proof
        .rosters
        .iter()
        .find(|r| r.hash() == proof.genesis.next_roster_hash)
        .cloned()
        .context("the node's light proof lacks the genesis roster")?;
    let v = tabella_ledger::light::verify(
        &status.genesis_hash,
        &roster,
        &proof,
        Height(chain_status.height.0),
    )?;
    println!(
        "Light client: block {} verified from genesis {} in {} links",
        v.header.height, status.genesis_hash, v.links_used
    );
    if let Some(receipt) = out.receipts.last() {
        println!();
        println!(
            "Check a voter's receipt: tabella verify --receipt {receipt} {}",
            a.out.display()
        );
    }
    if a.serve {
        println!();
        println!(
            "Serving the node on {} (Ctrl-C to stop): open {}/ in a browser for the results, receipts, the verifier and the block explorer; the API is under {}/v1/",
            node.url(),
            node.url(),
            node.url()
        );
        let stopper = node.stopper();
        crate::node_cmd::stop_on_signal(stopper);
        node.wait()?;
    } else {
        node.stop()?;
    }
    for n in nodes {
        n.stop()?;
    }
    Ok(())
}

/// Starts the embedded ledger in `home_dir` (recreated): one development node (`nodes == 1`,
/// its API on `api`, or 127.0.0.1:7400 with `serve`, else a free port) or a local testnet of
/// `nodes` validators in this process. Returns the running nodes and the chain's name.
pub(crate) fn embedded_ledger(
    home_dir: &std::path::Path,
    nodes: usize,
    api: Option<SocketAddr>,
    serve: bool,
) -> anyhow::Result<(Vec<run::RunningNode>, String)> {
    if !(1..=7).contains(&nodes) {
        bail!("--nodes must be between 1 and 7");
    }
    if home_dir.join("node.json").exists() || home_dir.join("node-0").join("node.json").exists() {
        std::fs::remove_dir_all(home_dir)
            .with_context(|| format!("cannot reset the demo node in {}", home_dir.display()))?;
    }
    let mut running = Vec::new();
    let chain_name;
    if nodes == 1 {
        let home = Home::new(home_dir);
        let api_addr = api.unwrap_or_else(|| {
            if serve {
                SocketAddr::from(([127, 0, 0, 1], 7400))
            } else {
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
        });
        chain_name = home::init_dev(
            &home,
            api_addr,
            SocketAddr::from(([127, 0, 0, 1], 0)),
            &KeyProtection::InsecurePlaintext,
        )?
        .chain_name;
        running.push(run::start(
            &home,
            RunOptions {
                api: Some(api_addr),
                ..RunOptions::default()
            },
        )?);
    } else {
        let apis = crate::bench_ledger::free_port_range(nodes)?;
        let p2p = crate::bench_ledger::free_port_range(nodes)?;
        let homes = home::init_testnet(
            home_dir,
            nodes,
            apis,
            p2p,
            &KeyProtection::InsecurePlaintext,
        )?;
        chain_name = homes
            .first()
            .map(|h| h.genesis().map(|g| g.chain_name))
            .transpose()?
            .unwrap_or_default();
        for h in &homes {
            running.push(run::start(h, RunOptions::default())?);
        }
    }
    Ok((running, chain_name))
}
