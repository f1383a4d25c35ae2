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
use tabella_node::home::{self, Home, KeyProtection, KeyStorage, PASSPHRASE_ENV};
use tabella_node::run::{self, RunOptions};
use tabella_node::seal::Passphrase;

/// `tabella node`.
#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: NodeCommand,
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Create a node home: a sealed validator key, a genesis and node.json.
    ///
    /// The validator key is sealed (Argon2id + ChaCha20-Poly1305, file validator.key, mode 0600)
    /// under the node passphrase, read from the TABELLA_NODE_PASSPHRASE variable or from
    /// --passphrase-file FILE; `tabella node run` needs the same passphrase. For a throw-away
    /// development node, --insecure-plaintext-key stores the key unencrypted instead
    /// (validator.insecure-key) and `node run` then needs no passphrase.
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
        /// Read the node passphrase from this file (readable by its owner only, e.g. mode 0600)
        /// instead of TABELLA_NODE_PASSPHRASE.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
        /// Store the validator key UNENCRYPTED (validator.insecure-key): anyone who can read the
        /// home can sign as this validator. For throw-away development nodes only.
        #[arg(long, conflicts_with = "passphrase_file")]
        insecure_plaintext_key: bool,
    },
    /// Run the node in a home until Ctrl-C: consensus, storage and the HTTP API.
    ///
    /// A sealed validator key is opened with the node passphrase from TABELLA_NODE_PASSPHRASE or
    /// --passphrase-file FILE (readable by its owner only), so the node starts unattended, e.g.
    /// under a service manager that provides the variable or the file. A key created with
    /// `node init --insecure-plaintext-key` needs no passphrase (a warning is printed). A home
    /// from an older tabella, whose validator.key is unencrypted, is refused until a passphrase
    /// is given: the first such run seals the key in place.
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
        /// Read the node passphrase from this file (readable by its owner only, e.g. mode 0600)
        /// instead of TABELLA_NODE_PASSPHRASE.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
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
    /// Seal every validator key under the node passphrase from this file (owner-only) instead
    /// of TABELLA_NODE_PASSPHRASE. With neither, this development testnet stores its keys
    /// unencrypted (validator.insecure-key in each home).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
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
            passphrase_file,
            insecure_plaintext_key,
        } => {
            if !dev {
                bail!("only `tabella node init --dev` (a one-validator chain) is supported here; for several validators use `tabella testnet`");
            }
            let protection = if insecure_plaintext_key {
                KeyProtection::InsecurePlaintext
            } else {
                match Passphrase::from_sources(passphrase_file.as_deref(), PASSPHRASE_ENV)? {
                    Some(p) => KeyProtection::Sealed(p),
                    None => bail!(
                        "no node passphrase to seal the validator key: set {PASSPHRASE_ENV} or pass --passphrase-file FILE (or, for a throw-away development node, --insecure-plaintext-key)"
                    ),
                }
            };
            let h = Home::new(&home);
            let g = home::init_dev(&h, api, p2p, &protection)?;
            let chain = g.chain()?;
            println!("Initialized a development node in {}", home.display());
            println!("  validator key  {:?}", g.validators.first());
            println!("  genesis hash   {}", chain.genesis_hash());
            println!("  API            http://{api}");
            match protection {
                KeyProtection::Sealed(_) => {
                    println!("  key file       {} (sealed)", h.key_path().display());
                    println!(
                        "Start it with: tabella node run --home {} (with the same passphrase)",
                        home.display()
                    );
                }
                KeyProtection::InsecurePlaintext => {
                    println!(
                        "  key file       {} (UNENCRYPTED: development only)",
                        h.insecure_key_path().display()
                    );
                    println!("Start it with: tabella node run --home {}", home.display());
                }
            }
            Ok(())
        }
        NodeCommand::Run {
            home,
            api,
            p2p,
            passphrase_file,
        } => {
            tabella_node::log::init_from_env().map_err(anyhow::Error::msg)?;
            let h = Home::new(&home);
            let passphrase = Passphrase::from_sources(passphrase_file.as_deref(), PASSPHRASE_ENV)?;
            if h.exists() {
                match (h.key_storage()?, &passphrase) {
                    (KeyStorage::LegacyPlaintext, Some(p)) => {
                        h.seal_legacy_key(p)?;
                        eprintln!(
                            "tabella node: sealed the unencrypted validator key {} under the node passphrase; from now on the node needs that passphrase to start",
                            h.key_path().display()
                        );
                    }
                    (KeyStorage::InsecurePlaintext, _) => eprintln!(
                        "warning: the validator key {} is stored UNENCRYPTED (node init --insecure-plaintext-key); use this node for development only",
                        h.insecure_key_path().display()
                    ),
                    _ => {}
                }
            }
            let node = run::start(
                &h,
                RunOptions {
                    api,
                    p2p,
                    passphrase,
                },
            )?;
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
    let passphrase = Passphrase::from_sources(args.passphrase_file.as_deref(), PASSPHRASE_ENV)?;
    let homes = if root.join("node-0").join("node.json").exists() {
        (0..args.nodes)
            .map(|i| Home::new(root.join(format!("node-{i}"))))
            .collect()
    } else {
        let protection = match passphrase {
            Some(p) => KeyProtection::Sealed(p),
            None => {
                println!(
                    "note: a development testnet: the validator keys are stored unencrypted (validator.insecure-key); set {PASSPHRASE_ENV} or pass --passphrase-file FILE to seal them"
                );
                KeyProtection::InsecurePlaintext
            }
        };
        home::init_testnet(root, args.nodes, args.api_port, args.p2p_port, &protection)?
    };
    let exe = std::env::current_exe()?;
    let mut ids = String::new();
    let mut urls = Vec::new();
    for h in &homes {
        let log = fs::File::create(h.dir.join("node.log"))?;
        let mut cmd = Command::new(&exe);
        cmd.args(["node", "run", "--home"]).arg(&h.dir);
        // The children inherit TABELLA_NODE_PASSPHRASE; a passphrase file is passed on.
        if let Some(f) = &args.passphrase_file {
            cmd.arg("--passphrase-file").arg(f);
        }
        let child = cmd
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
