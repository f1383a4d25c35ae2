//! Operator commands: `tabella node init|run`, `tabella testnet`, and the light client
//! `tabella chain verify`.

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use tabella_ledger::roster::Roster;
use tabella_ledger::types::{BlockHash, Height};
use tabella_node::client::NodeClient;
use tabella_node::home::{self, Home};
use tabella_node::run::{self, RunOptions};

/// `tabella node`.
#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: NodeCommand,
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Create a node home: a validator key, a genesis and node.json.
    Init {
        /// A development chain: this node is the only validator.
        #[arg(long)]
        dev: bool,
        /// The node's home directory.
        #[arg(long, default_value = "./tabella-node")]
        home: PathBuf,
        /// The HTTP API address.
        #[arg(long, default_value = home::DEFAULT_API)]
        api: SocketAddr,
        /// The consensus (peer-to-peer) address.
        #[arg(long, default_value = home::DEFAULT_P2P)]
        p2p: SocketAddr,
    },
    /// Run the node in a home until Ctrl-C: consensus, storage and the HTTP API.
    Run {
        /// The node's home directory.
        #[arg(long, default_value = "./tabella-node")]
        home: PathBuf,
        /// Serve the API here instead of node.json's address.
        #[arg(long)]
        api: Option<SocketAddr>,
        /// Listen for consensus peers here instead of node.json's address.
        #[arg(long)]
        p2p: Option<SocketAddr>,
    },
    /// Show a running node's status.
    Status {
        /// The node's API URL.
        #[arg(long, env = "TABELLA_NODE", default_value = "http://127.0.0.1:7400")]
        node: String,
    },
}

/// `tabella testnet`.
#[derive(Args, Debug)]
pub struct TestnetArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    nodes: usize,
    /// Directory holding one home per node (`node-0`, `node-1`, …).
    #[arg(long, default_value = "./tabella-testnet")]
    home: PathBuf,
    /// First API port (node i listens on base + i).
    #[arg(long, default_value_t = 7410)]
    api_port: u16,
    /// First consensus port.
    #[arg(long, default_value_t = 27410)]
    p2p_port: u16,
    /// Stop the testnet's nodes started earlier from this directory.
    #[arg(long)]
    stop: bool,
}

/// `tabella chain`.
#[derive(Args, Debug)]
pub struct ChainArgs {
    #[command(subcommand)]
    command: ChainCommand,
}

#[derive(Subcommand, Debug)]
enum ChainCommand {
    /// Light client: verify a block from the genesis hash alone (skipchain forward links and
    /// commit certificates, O(log k) blocks).
    Verify {
        /// The trusted genesis block hash (64 hex digits; `tabella node status` prints it).
        #[arg(long)]
        genesis: String,
        /// A node's API URL (need not be trusted).
        #[arg(long, env = "TABELLA_NODE", default_value = "http://127.0.0.1:7400")]
        node: String,
        /// The height to verify (default: the node's latest block).
        #[arg(long)]
        height: Option<u64>,
    },
}

pub fn node(args: NodeArgs) -> anyhow::Result<()> {
    match args.command {
        NodeCommand::Init {
            dev,
            home,
            api,
            p2p,
        } => {
            if !dev {
                bail!("only `tabella node init --dev` (a one-validator chain) is supported here; for several validators use `tabella testnet`");
            }
            let h = Home::new(&home);
            let g = home::init_dev(&h, api, p2p)?;
            let chain = g.chain()?;
            println!("Initialized a development node in {}", home.display());
            println!("  validator key  {:?}", g.validators.first());
            println!("  genesis hash   {}", chain.genesis_hash());
            println!("  API            http://{api}");
            println!("Start it with: tabella node run --home {}", home.display());
            Ok(())
        }
        NodeCommand::Run { home, api, p2p } => {
            tabella_node::log::init_from_env().map_err(anyhow::Error::msg)?;
            let h = Home::new(&home);
            let node = run::start(&h, RunOptions { api, p2p })?;
            let status = {
                let a = node
                    .app()
                    .lock()
                    .map_err(|_| anyhow::anyhow!("node state poisoned"))?;
                a.status()
            };
            println!(
                "tabella node: chain {} at height {}, API on {} (Ctrl-C to stop)",
                status.genesis_hash,
                status.height,
                node.url()
            );
            let stopper = node.stopper();
            stop_on_signal(stopper);
            node.wait()?;
            println!("tabella node: stopped");
            Ok(())
        }
        NodeCommand::Status { node } => {
            let c = NodeClient::new(&node);
            let s = c.status()?;
            println!("node          {}", c.base());
            println!("genesis hash  {}", s.genesis_hash);
            println!("height        {}", s.height);
            println!("tip hash      {}", s.tip_hash);
            println!("validators    {}", s.roster.len());
            println!("mempool       {}", s.mempool);
            Ok(())
        }
    }
}

/// Stops the node on Ctrl-C / SIGTERM.
pub fn stop_on_signal(stopper: tokio::sync::watch::Sender<bool>) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{signal, SignalKind};
                if let Ok(mut term) = signal(SignalKind::terminate()) {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                } else {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
            #[cfg(not(unix))]
            let _ = tokio::signal::ctrl_c().await;
        });
        let _ = stopper.send(true);
    });
}

pub fn testnet(args: TestnetArgs) -> anyhow::Result<()> {
    let pids = args.home.join("pids");
    if args.stop {
        let text = fs::read_to_string(&pids).with_context(|| {
            format!(
                "no running testnet recorded in {} (missing pids file)",
                args.home.display()
            )
        })?;
        for line in text.lines() {
            let pid = line.trim();
            if pid.is_empty() {
                continue;
            }
            let _ = Command::new("kill").arg(pid).status();
        }
        fs::remove_file(&pids)?;
        println!("stopped the testnet in {}", args.home.display());
        return Ok(());
    }
    let root = &args.home;
    let homes = if root.join("node-0").join("node.json").exists() {
        (0..args.nodes)
            .map(|i| Home::new(root.join(format!("node-{i}"))))
            .collect()
    } else {
        home::init_testnet(root, args.nodes, args.api_port, args.p2p_port)?
    };
    let exe = std::env::current_exe()?;
    let mut ids = String::new();
    let mut urls = Vec::new();
    for h in &homes {
        let log = fs::File::create(h.dir.join("node.log"))?;
        let child = Command::new(&exe)
            .args(["node", "run", "--home"])
            .arg(&h.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start a node process")?;
        ids.push_str(&format!("{}\n", child.id()));
        urls.push(format!("http://{}", h.config()?.api));
    }
    fs::write(&pids, ids)?;
    // Wait until every API answers.
    let start = Instant::now();
    for u in &urls {
        let c = NodeClient::new(u);
        while c.status().is_err() {
            if start.elapsed() > Duration::from_secs(30) {
                bail!("the node at {u} did not start; see its node.log");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    println!(
        "testnet of {} validators running from {}:",
        homes.len(),
        root.display()
    );
    for u in &urls {
        println!("  {u}");
    }
    println!(
        "stop it with: tabella testnet --home {} --stop",
        root.display()
    );
    Ok(())
}

pub fn chain(args: ChainArgs) -> anyhow::Result<()> {
    match args.command {
        ChainCommand::Verify {
            genesis,
            node,
            height,
        } => {
            let genesis = BlockHash::from_hex(genesis.trim())
                .map_err(|e| anyhow::anyhow!("--genesis: {e}"))?;
            let c = NodeClient::new(&node);
            let target = match height {
                Some(h) => Height(h),
                None => c.status()?.height,
            };
            let proof = c.light_proof(target)?;
            let roster_hash = proof.genesis.next_roster_hash;
            let roster: Roster = proof
                .rosters
                .iter()
                .find(|r| r.hash() == roster_hash)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("the node's proof lacks the genesis roster"))?;
            let v =
                tabella_ledger::light::verify(&genesis, &roster, &proof, target).map_err(|e| {
                    anyhow::anyhow!(
                        "light client: block {target} does NOT verify from genesis {genesis}: {e}"
                    )
                })?;
            println!(
                "OK: block {} ({}) verified from genesis {} in {} links",
                v.header.height, v.hash, genesis, v.links_used
            );
            println!("   state root {}", v.header.state_root);
            Ok(())
        }
    }
}
