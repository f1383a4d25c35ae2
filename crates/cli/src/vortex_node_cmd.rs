//! `tabella vortex node init|run`, `vortex peers`, `vortex send`, `vortex inbox` and
//! `vortex demo`: MessageVortex nodes on real mail (crates/vortex-mail).
//!
//! A node's home holds its public entry (`node.json`), its keys (sealed in `keys/` under the
//! keystore passphrase, or unencrypted in `vortex.insecure-key` for a throw-away node), its
//! journal, its outbox and its inbox (see `tabella_vortex_mail::daemon`).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use rand_chacha::rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use tabella_vortex::accounting::Policy;
use tabella_vortex::asym::PrivateKey;
use tabella_vortex_mail::daemon::{self, Daemon, Incoming, Options};
use tabella_vortex_mail::gateway::Gateway;
use tabella_vortex_mail::imap::ImapConfig;
use tabella_vortex_mail::localnet::{LocalNet, NetConfig, Testbed, Transport};
use tabella_vortex_mail::station::{self, PeerEntry, SendRequest, Target};
use tabella_vortex_mail::unblend::Accepts;

use crate::keystore::{self, Keystore};

const KEY_NAME: &str = "vortex-node";
const KEY_KIND: &str = "vortex";
const INSECURE_KEY: &str = "vortex.insecure-key";

/// `tabella vortex node …`.
#[derive(Args, Debug)]
pub struct NodeArgs {
    #[command(subcommand)]
    what: NodeCommand,
}

#[derive(Subcommand, Debug)]
enum NodeCommand {
    /// Create a node's home: host key, owner key and node.json (its directory entry).
    #[command(
        after_help = "Example:\n  TABELLA_PASSPHRASE=… tabella vortex node init --home n1 --address node1@example.org"
    )]
    Init(InitArgs),
    /// Run a node: read mail (Maildir or IMAP IDLE), relay, deliver, send with SMTP.
    #[command(
        after_help = "Examples:\n  tabella vortex node run --home n1 --peers peers.json --smtp 127.0.0.1:2525 --maildir /var/mail/node1\n  tabella vortex node run --home n1 --peers peers.json --smtp 127.0.0.1:2525 \\\n      --imap 127.0.0.1:1143 --imap-user node1@vortex.test --imap-password-file pw"
    )]
    Run(RunArgs),
}

/// Arguments of `vortex node init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The node's home directory (created).
    #[arg(long)]
    home: PathBuf,
    /// The node's mail address (where other nodes send to).
    #[arg(long)]
    address: String,
    /// Blending other nodes must use toward it: plain:OFFSET or f5:PASSPHRASE.
    #[arg(long, default_value = "plain:0")]
    blending: String,
    /// RSA modulus of the host key.
    #[arg(long, default_value_t = 2048)]
    key_bits: usize,
    /// Read the keystore passphrase from this file (owner-only); else TABELLA_PASSPHRASE.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// Store the keys UNENCRYPTED (vortex.insecure-key): for throw-away nodes only.
    #[arg(long, conflicts_with = "passphrase_file")]
    insecure_plaintext_key: bool,
}

/// Arguments of `vortex node run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The node's home (from `vortex node init`).
    #[arg(long)]
    home: PathBuf,
    /// The directory of nodes: a JSON list of node.json entries (`tabella vortex peers`).
    #[arg(long)]
    peers: PathBuf,
    /// SMTP server for outgoing mail, HOST:PORT.
    #[arg(long)]
    smtp: String,
    /// Read incoming mail from this Maildir.
    #[arg(long, conflicts_with = "imap")]
    maildir: Option<PathBuf>,
    /// Read incoming mail with IMAP IDLE from HOST:PORT.
    #[arg(long, requires = "imap_user")]
    imap: Option<String>,
    /// IMAP user.
    #[arg(long)]
    imap_user: Option<String>,
    /// File holding the IMAP password.
    #[arg(long)]
    imap_password_file: Option<PathBuf>,
    /// Identity puzzle difficulty in bits asked of newcomers (0 = free identities).
    #[arg(long, default_value_t = 12)]
    puzzle_bits: u32,
    /// Accept F5 JPEG carriers with this passphrase (repeatable); PLAIN at 0 and 256 always.
    #[arg(long = "accept-f5")]
    accept_f5: Vec<String>,
    /// Be a gateway to this ledger node's API (http://HOST:PORT): submit the transactions that
    /// letters carry (ballots sent with `tabella voter vote --via-vortex`) and answer with the
    /// ledger's receipt through their reply blocks.
    #[arg(long, value_name = "URL")]
    ledger: Option<String>,
    /// Connect to the ledger from this local address.
    #[arg(long, requires = "ledger")]
    ledger_bind: Option<std::net::IpAddr>,
    /// Seconds between looks at the mailbox when nothing wakes the node.
    #[arg(long, default_value_t = 1.0)]
    poll: f64,
    /// Read the keystore passphrase from this file (owner-only); else TABELLA_PASSPHRASE.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

/// Arguments of `vortex peers`.
#[derive(Args, Debug)]
pub struct PeersArgs {
    /// Node homes (or node.json files) to list.
    #[arg(required = true)]
    homes: Vec<PathBuf>,
    /// Write the directory here instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Arguments of `vortex send`.
#[derive(Args, Debug)]
pub struct SendArgs {
    /// The sender's node home.
    #[arg(long)]
    home: PathBuf,
    /// The recipient's node address (its owner receives the message).
    #[arg(
        long,
        conflicts_with = "reply_block",
        required_unless_present = "reply_block"
    )]
    to: Option<String>,
    /// Answer through this reply block (a `.reply` file from `vortex inbox`).
    #[arg(long)]
    reply_block: Option<PathBuf>,
    /// The message: a file, or - for standard input.
    file: PathBuf,
    /// Transmissions per path (relays + 1).
    #[arg(long, default_value_t = 3)]
    hops: usize,
    /// Redundancy k/n (1/1: one path).
    #[arg(long, default_value = "2/4")]
    redundancy: String,
    /// Decoy messages.
    #[arg(long, default_value_t = 1)]
    decoys: usize,
    /// Attach a reply block so the recipient can answer without knowing who you are.
    #[arg(long)]
    with_reply: bool,
    /// Relay delay window in seconds, MIN-MAX.
    #[arg(long, default_value = "1-30")]
    delay: String,
}

/// Arguments of `vortex inbox`.
#[derive(Args, Debug)]
pub struct InboxArgs {
    /// The node home.
    #[arg(long)]
    home: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `vortex mailserver`.
#[derive(Args, Debug)]
pub struct MailserverArgs {
    /// Where to listen for SMTP.
    #[arg(long, default_value = "127.0.0.1:2525")]
    listen: String,
    /// Directory holding one Maildir per address.
    #[arg(long)]
    root: PathBuf,
    /// The addresses it accepts mail for (everything else is refused with 550).
    #[arg(required = true)]
    addresses: Vec<String>,
}

/// Runs `vortex mailserver` until Ctrl-C.
pub fn mailserver(a: MailserverArgs) -> anyhow::Result<()> {
    let mut boxes = std::collections::HashMap::new();
    for addr in &a.addresses {
        if !addr.contains('@') || addr.contains(['/', '\\']) || addr.starts_with('.') {
            bail!("{addr:?} is not a mail address");
        }
        let md = tabella_vortex_mail::maildir::Maildir::open(a.root.join(addr))?;
        boxes.insert(addr.clone(), md);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = tabella_vortex_mail::smtpd::Smtpd::start(
            &a.listen,
            "mx.vortex.local",
            boxes,
            tabella_vortex_mail::smtpd::Limits::default(),
        )
        .await?;
        println!(
            "listening on {} for {} addresses; Maildirs under {} (Ctrl-C to stop)",
            server.addr(),
            a.addresses.len(),
            a.root.display()
        );
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        crate::node_cmd::stop_on_signal(stop);
        let _ = stopped.wait_for(|s| *s).await;
        server.stop().await;
        anyhow::Ok(())
    })
}

/// Arguments of `vortex demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Use the Postfix + Dovecot testbed started with `scripts/mail-testbed start --base BASE`
    /// instead of the embedded SMTP receiver.
    #[arg(long, value_name = "BASE")]
    postfix: Option<PathBuf>,
    /// Working directory (kept afterwards); default: a fresh temporary directory.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

/// The node's secrets.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Secrets {
    /// Host key, PKCS#8 DER hex.
    host: String,
    /// Owner key, PKCS#8 DER hex.
    owner: String,
    /// Station seed, hex.
    seed: String,
    /// Creation time.
    created: u64,
}

/// Runs `vortex node …`.
pub fn node(args: NodeArgs) -> anyhow::Result<()> {
    match args.what {
        NodeCommand::Init(a) => init(a),
        NodeCommand::Run(a) => run(a),
    }
}

fn init(a: InitArgs) -> anyhow::Result<()> {
    let blending = station::parse_blending(&a.blending)?;
    if a.address.len() > 254 || !a.address.contains('@') || a.address.contains(char::is_whitespace)
    {
        bail!("--address {:?} is not a mail address", a.address);
    }
    if a.home.join("node.json").exists() {
        bail!(
            "{} already holds a node (node.json exists); pick another --home",
            a.home.display()
        );
    }
    if !(2048..=8192).contains(&a.key_bits) {
        bail!("--key-bits must be between 2048 and 8192");
    }
    let pass = if a.insecure_plaintext_key {
        None
    } else {
        Some(
            keystore::passphrase(a.passphrase_file.as_deref()).map_err(|e| {
                anyhow!("{e} (or, for a throw-away node, --insecure-plaintext-key)")
            })?,
        )
    };
    fs::create_dir_all(&a.home).with_context(|| format!("cannot create {}", a.home.display()))?;
    eprintln!("generating a {}-bit host key…", a.key_bits);
    let host = PrivateKey::generate(a.key_bits, &mut OsRng)?;
    let owner = PrivateKey::generate_p384(&mut OsRng)?;
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let secrets = Secrets {
        host: hex::encode(&*host.to_pkcs8()?),
        owner: hex::encode(&*owner.to_pkcs8()?),
        seed: hex::encode(seed),
        created: daemon::unix_now(),
    };
    seed.zeroize();
    let entry = PeerEntry::of(&tabella_vortex::builder::NodeInfo {
        address: a.address.clone(),
        host: host.public().clone(),
        blending,
    });
    match &pass {
        Some(p) => {
            let ks = Keystore::open(&a.home.join("keys"))?;
            ks.put(KEY_NAME, KEY_KIND, &entry, &secrets, p, false)?;
        }
        None => {
            keystore::write_private(
                &a.home.join(INSECURE_KEY),
                &serde_json::to_vec_pretty(&secrets)?,
            )?;
            eprintln!(
                "warning: the node's keys are stored UNENCRYPTED in {}; use it for tests only",
                a.home.join(INSECURE_KEY).display()
            );
        }
    }
    fs::write(a.home.join("node.json"), serde_json::to_vec_pretty(&entry)?)?;
    println!("node {} created in {}", a.address, a.home.display());
    println!(
        "its directory entry: {}",
        a.home.join("node.json").display()
    );
    println!(
        "next: collect every node's entry with `tabella vortex peers HOME… --out peers.json`, then `tabella vortex node run`"
    );
    Ok(())
}

fn load_secrets(home: &Path, passphrase_file: Option<&Path>) -> anyhow::Result<Secrets> {
    let insecure = home.join(INSECURE_KEY);
    if insecure.is_file() {
        return serde_json::from_slice(&fs::read(&insecure)?)
            .with_context(|| format!("{} is not a vortex key file", insecure.display()));
    }
    let keys = home.join("keys");
    if !keys.is_dir() {
        bail!(
            "{} is not a vortex node home (no keys); create it with `tabella vortex node init`",
            home.display()
        );
    }
    let pass = keystore::passphrase(passphrase_file)?;
    Keystore::open(&keys)?.secret(KEY_NAME, KEY_KIND, &pass)
}

fn read_entry(path: &Path) -> anyhow::Result<PeerEntry> {
    if !path.exists() || (path.is_dir() && !path.join("node.json").is_file()) {
        bail!(
            "{} is not a vortex node home (no node.json); create one with `tabella vortex node init`",
            path.display()
        );
    }
    let file = if path.is_dir() {
        path.join("node.json")
    } else {
        path.to_path_buf()
    };
    let bytes = fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let e: PeerEntry = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a node entry", file.display()))?;
    e.info()
        .with_context(|| format!("{}: bad node entry", file.display()))?;
    Ok(e)
}

fn read_peers(path: &Path) -> anyhow::Result<Vec<PeerEntry>> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let peers: Vec<PeerEntry> = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a list of node entries", path.display()))?;
    for p in &peers {
        p.info()
            .with_context(|| format!("{}: entry {}", path.display(), p.address))?;
    }
    Ok(peers)
}

/// `HOST:PORT` of a mail server. Only loopback servers: the node speaks SMTP and IMAP without
/// TLS (D-44), which must not cross a network.
fn host_port(s: &str, what: &str) -> anyhow::Result<(String, u16)> {
    let (h, p) = s
        .rsplit_once(':')
        .ok_or_else(|| anyhow!("{what} {s:?}: expected HOST:PORT"))?;
    let port: u16 = p
        .parse()
        .map_err(|_| anyhow!("{what} {s:?}: the port is not a number"))?;
    let loopback = h == "localhost"
        || h.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!(
            "{what} {s:?}: only a mail server on this machine (127.0.0.1) can be used: the node has no TLS yet, and passwords and carriers must not cross a network in clear"
        );
    }
    Ok((h.to_string(), port))
}

/// `http://HOST:PORT` of a ledger node's API, as a socket address.
pub(crate) fn ledger_addr(url: &str) -> anyhow::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--ledger {url:?}: expected http://HOST:PORT"))?;
    rest.trim_end_matches('/')
        .to_socket_addrs()
        .with_context(|| format!("--ledger {url:?}: not a HOST:PORT"))?
        .next()
        .ok_or_else(|| anyhow!("--ledger {url:?}: no address"))
}

fn run(a: RunArgs) -> anyhow::Result<()> {
    let entry = read_entry(&a.home)?;
    let secrets = load_secrets(&a.home, a.passphrase_file.as_deref())?;
    let peers = read_peers(&a.peers)?;
    if !peers.iter().any(|p| p.address == entry.address) {
        eprintln!(
            "note: {} is not in {}; other nodes cannot route through it",
            entry.address,
            a.peers.display()
        );
    }
    let incoming = match (&a.maildir, &a.imap) {
        (Some(m), None) => Incoming::Maildir(m.clone()),
        (None, Some(i)) => {
            let (host, port) = host_port(i, "--imap")?;
            let password = match &a.imap_password_file {
                Some(f) => fs::read_to_string(f)
                    .with_context(|| format!("cannot read {}", f.display()))?
                    .trim_end_matches(['\n', '\r'])
                    .to_string(),
                None => std::env::var("TABELLA_IMAP_PASSWORD").map_err(|_| {
                    anyhow!("no IMAP password: pass --imap-password-file FILE or set TABELLA_IMAP_PASSWORD")
                })?,
            };
            Incoming::Imap(ImapConfig {
                host,
                port,
                user: a.imap_user.clone().unwrap_or_default(),
                password,
            })
        }
        _ => bail!("say where mail comes in: --maildir DIR or --imap HOST:PORT"),
    };
    if !(0.05..=3600.0).contains(&a.poll) {
        bail!("--poll must be between 0.05 and 3600 seconds");
    }
    let hexkey = |h: &str, what: &str| -> anyhow::Result<PrivateKey> {
        let der = zeroize::Zeroizing::new(hex::decode(h).with_context(|| format!("{what} key"))?);
        Ok(PrivateKey::from_pkcs8(&der)?)
    };
    let host = hexkey(&secrets.host, "host")?;
    if hex::encode(host.public().spki()) != entry.host {
        bail!(
            "the keys in {} do not match its node.json",
            a.home.display()
        );
    }
    let mut seed = [0u8; 32];
    hex::decode_to_slice(&secrets.seed, &mut seed).context("seed")?;
    let options = Options {
        home: a.home.clone(),
        station: station::Config {
            address: entry.address.clone(),
            blending: station::parse_blending(&entry.blending)?,
            host,
            owner: hexkey(&secrets.owner, "owner")?,
            policy: Policy {
                puzzle_bits: (a.puzzle_bits > 0).then_some(a.puzzle_bits),
                ..Policy::default()
            },
            seed,
            created: secrets.created,
        },
        peers,
        accepts: Accepts {
            offsets: vec![0, 256],
            passphrases: a.accept_f5.iter().map(|p| p.as_bytes().to_vec()).collect(),
        },
        smtp: host_port(&a.smtp, "--smtp")?,
        incoming,
        poll: Duration::from_secs_f64(a.poll),
        echo: true,
        gateway: match &a.ledger {
            Some(url) => Some(Gateway {
                ledger: ledger_addr(url)?,
                bind: a.ledger_bind,
                timeout: Duration::from_secs(120),
            }),
            None => None,
        },
    };
    seed.zeroize();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut d = Daemon::open(options).await?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        crate::node_cmd::stop_on_signal(stop);
        d.run(stopped).await?;
        anyhow::Ok(())
    })
}

/// Runs `vortex peers`.
pub fn peers(a: PeersArgs) -> anyhow::Result<()> {
    let mut list = Vec::new();
    for h in &a.homes {
        let e = read_entry(h)?;
        if list.iter().any(|x: &PeerEntry| x.address == e.address) {
            bail!("{} appears twice", e.address);
        }
        list.push(e);
    }
    let json = serde_json::to_string_pretty(&list)?;
    match a.out {
        Some(p) => {
            fs::write(&p, json)?;
            println!("{} nodes written to {}", list.len(), p.display());
        }
        None => println!("{json}"),
    }
    Ok(())
}

fn parse_delay(s: &str) -> anyhow::Result<(u32, u32)> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| anyhow!("--delay {s:?}: expected MIN-MAX seconds, e.g. 1-30"))?;
    let a: u32 = a
        .trim()
        .parse()
        .map_err(|_| anyhow!("--delay: MIN is not a number"))?;
    let b: u32 = b
        .trim()
        .parse()
        .map_err(|_| anyhow!("--delay: MAX is not a number"))?;
    if a > b || b > 86_400 {
        bail!("--delay: need MIN ≤ MAX ≤ 86400");
    }
    Ok((a, b))
}

/// Runs `vortex send`.
pub fn send(a: SendArgs) -> anyhow::Result<()> {
    read_entry(&a.home)?;
    let text = if a.file.as_os_str() == "-" {
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut v)?;
        v
    } else {
        fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?
    };
    if text.len() > 1 << 20 {
        bail!("the message is {} bytes; at most 1 MiB", text.len());
    }
    let to = match (&a.to, &a.reply_block) {
        (Some(t), None) => Target::Address(t.clone()),
        (None, Some(f)) => {
            let h =
                fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
            let h = h.trim().to_string();
            let der =
                hex::decode(&h).with_context(|| format!("{} is not a reply block", f.display()))?;
            tabella_vortex::asn1::decode::<tabella_vortex::asn1::RoutingCombo>(&der)
                .map_err(|e| anyhow!("{} is not a reply block: {e}", f.display()))?;
            Target::ReplyBlock(h)
        }
        _ => bail!("say where: --to ADDRESS or --reply-block FILE"),
    };
    let redundancy = crate::vortex_cmd::parse_redundancy(&a.redundancy)?;
    if a.hops == 0 || a.hops > 8 {
        bail!("--hops must be between 1 and 8");
    }
    let request = SendRequest {
        to,
        text,
        hops: a.hops,
        redundancy,
        decoys: a.decoys,
        reply: a.with_reply,
        delay: parse_delay(&a.delay)?,
    };
    let path = daemon::queue_request(&a.home, &request)?;
    println!(
        "queued as {}; the node sends it when it runs (`tabella vortex node run --home {}`)",
        path.display(),
        a.home.display()
    );
    Ok(())
}

/// A message to the owner at `to` the way ballots and the demo send it: 3 hops, redundancy
/// 2/4, one decoy, a reply block attached, relay delays in `delay`.
fn anonymous(to: &str, text: Vec<u8>, delay: (u32, u32)) -> SendRequest {
    SendRequest {
        to: Target::Address(to.to_string()),
        text,
        hops: 3,
        redundancy: Some((2, 4)),
        decoys: 1,
        reply: true,
        delay,
    }
}

/// Sends an election envelope through the vortex node at `home` to `gateway`, which submits it
/// to its ledger; waits for the gateway's receipt (through the reply block) and returns the
/// envelope's hash (the voter's receipt).
pub fn submit_via_vortex(
    home: &Path,
    gateway: &str,
    env: tabella_election::action::Envelope,
    delay: &str,
    timeout: Duration,
) -> anyhow::Result<tabella_election::ids::Digest32> {
    read_entry(home)?;
    let hash = env.hash();
    let tx = crate::roles::election_tx(env)?;
    let tx_json = serde_json::to_vec(&tx)?;
    let request_id = tabella_vortex_mail::gateway::request_id(&tx_json);
    let before = daemon::read_inbox(home)?.len();
    let request = anonymous(
        gateway,
        tabella_vortex_mail::gateway::tx_letter(&tx_json),
        parse_delay(delay)?,
    );
    daemon::queue_request(home, &request)?;
    eprintln!(
        "ballot handed to the vortex node in {} for {gateway}; waiting for the receipt…",
        home.display()
    );
    let start = Instant::now();
    loop {
        for l in daemon::read_inbox(home)?.into_iter().skip(before) {
            let Some(r) = tabella_vortex_mail::gateway::read_receipt(&l.text) else {
                continue;
            };
            if r.request != request_id {
                continue;
            }
            if let Some(e) = r.error {
                bail!("the gateway {gateway} could not submit the ballot: {e}");
            }
            let height = r.height();
            println!(
                "the gateway {gateway} reports the ballot committed at height {height} (its claim: check it against the chain with `tabella voter receipt`, through another node or later)"
            );
            return Ok(hash);
        }
        if start.elapsed() > timeout {
            bail!(
                "no receipt from {gateway} within {} s (is `tabella vortex node run --home {}` running?); the ballot may still arrive: check with `tabella voter receipt`",
                timeout.as_secs(),
                home.display()
            );
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Runs `vortex inbox`.
pub fn inbox(a: InboxArgs) -> anyhow::Result<()> {
    read_entry(&a.home)?;
    let letters = daemon::read_inbox(&a.home)?;
    if a.json {
        let v: Vec<serde_json::Value> = letters
            .iter()
            .map(|l| {
                serde_json::json!({
                    "seq": l.seq,
                    "text": String::from_utf8_lossy(&l.text),
                    "reply_block": l.reply_block.as_ref().map(|_| a.home.join("inbox").join(format!("{:06}.reply", l.seq))),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if letters.is_empty() {
        println!("no letters in {}", a.home.join("inbox").display());
    }
    for l in &letters {
        println!("── letter {} ({} bytes)", l.seq, l.text.len());
        println!("{}", String::from_utf8_lossy(&l.text));
        if l.reply_block.is_some() {
            println!(
                "   answer with: tabella vortex send --home {} --reply-block {} FILE",
                a.home.display(),
                a.home
                    .join("inbox")
                    .join(format!("{:06}.reply", l.seq))
                    .display()
            );
        }
    }
    Ok(())
}

/// The election sink of the demo: the first ballot goes through vortex (node 1's owner → three
/// hops → the gateway node → the ledger), the rest straight to the ledger.
struct VortexSink<'a> {
    inner: crate::demo::NodeSink,
    net: &'a mut LocalNet,
    rt: &'a tokio::runtime::Runtime,
    gateway: String,
    timeout: Duration,
    sent: Option<String>,
    t0: Instant,
}

impl VortexSink<'_> {
    fn through_vortex(&mut self, env: &tabella_election::action::Envelope) -> anyhow::Result<()> {
        let tx = crate::roles::election_tx(env.clone())?;
        let tx_id = tx
            .id()
            .map_err(|e| anyhow!("transaction id: {e}"))?
            .to_string();
        let tx_json = serde_json::to_vec(&tx)?;
        let request = tabella_vortex_mail::gateway::request_id(&tx_json);
        println!(
            "[{:6.1} s] a voter at {} casts a ballot through vortex: 3 hops, redundancy 2/4, to the gateway {}",
            self.t0.elapsed().as_secs_f64(),
            self.net.address(0),
            self.gateway
        );
        println!("           ballot transaction {tx_id}");
        self.net.send(
            0,
            &anonymous(
                &self.gateway,
                tabella_vortex_mail::gateway::tx_letter(&tx_json),
                (0, 3),
            ),
        )?;
        let id = request.clone();
        let found = self.rt.block_on(self.net.wait_until(self.timeout, |n| {
            n.inbox(0).is_ok_and(|l| {
                l.iter().any(|l| {
                    tabella_vortex_mail::gateway::read_receipt(&l.text)
                        .is_some_and(|r| r.request == id)
                })
            })
        }))?;
        if !found {
            bail!(
                "no receipt for the vortex ballot within {} s",
                self.timeout.as_secs()
            );
        }
        let receipt = self
            .net
            .inbox(0)?
            .iter()
            .filter_map(|l| tabella_vortex_mail::gateway::read_receipt(&l.text))
            .find(|r| r.request == request)
            .ok_or_else(|| anyhow!("receipt vanished"))?;
        if let Some(e) = receipt.error {
            bail!("the gateway could not submit the ballot: {e}");
        }
        let height = receipt.height();
        println!(
            "[{:6.1} s] the receipt came back through the reply block: committed at height {height}",
            self.t0.elapsed().as_secs_f64()
        );
        self.sent = Some(tx_id);
        Ok(())
    }
}

impl tabella_election::simulate::Sink for VortexSink<'_> {
    fn publish(
        &mut self,
        stage: tabella_election::simulate::Stage,
        envs: &[tabella_election::action::Envelope],
    ) -> tabella_election::Result<()> {
        let r = (|| {
            let mut rest = envs;
            if stage == tabella_election::simulate::Stage::Casting && self.sent.is_none() {
                if let Some((first, others)) = envs.split_first() {
                    self.through_vortex(first)?;
                    self.inner.count_external(1);
                    rest = others;
                }
            }
            self.inner.publish_inner(stage, rest)
        })();
        r.map_err(|e| tabella_election::Error::Sink(format!("{e:#}")))
    }
}

/// Runs `vortex demo`.
pub fn demo(a: DemoArgs) -> anyhow::Result<()> {
    tabella_node::log::init_from_env().map_err(anyhow::Error::msg)?;
    let (dir, _tmp) = match &a.dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let transport = match &a.postfix {
        Some(base) => Transport::Testbed(Testbed::load(base)?),
        None => Transport::Embedded,
    };
    let timeout = Duration::from_secs(a.timeout);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let t0 = Instant::now();
    let step = |s: &str| println!("[{:6.1} s] {s}", t0.elapsed().as_secs_f64());
    let config = NetConfig {
        f5: Some("tabella demo".into()),
        seed: OsRng.next_u64(),
        ..NetConfig::default()
    };
    step(&format!(
        "making 5 vortex nodes in {} ({}); nodes 2 and 4 take F5 JPEG carriers",
        dir.display(),
        if a.postfix.is_some() {
            "Postfix + Dovecot"
        } else {
            "embedded SMTP receiver + Maildirs"
        }
    ));
    let mut net = rt.block_on(LocalNet::create(&dir.join("vortex"), &config, transport))?;
    // Node 5 is the gateway to the ledger; it connects from its own loopback address.
    let (mut ledgers, chain) = crate::demo::embedded_ledger(&dir.join("ledger"), 1, None, false)?;
    let ledger = ledgers.remove(0);
    let gateway_ip = std::net::IpAddr::from([127, 0, 0, 2]);
    net.set_gateway(
        4,
        Gateway {
            ledger: ledger_addr(&ledger.url())?,
            bind: Some(gateway_ip),
            timeout: Duration::from_secs(120),
        },
    );
    step(&format!(
        "a one-node ledger (chain {chain}) at {}; {} is its vortex gateway, connecting from {gateway_ip}",
        ledger.url(),
        net.address(4)
    ));
    rt.block_on(net.start_all())?;
    step("each node's owner creates an identity at every other node (request, puzzle, proof)");
    if !rt.block_on(net.wait_until(timeout, |n| (0..n.len()).all(|i| n.setup_done(i))))? {
        bail!("identity set-up did not finish in {} s", a.timeout);
    }
    let (from, to) = (0, 3);
    let text = "Meet at the library at six. Bring the leaflets.";
    step(&format!(
        "{} sends {} an anonymous message: 3 hops, redundancy 2/4, a decoy, a reply block",
        net.address(from),
        net.address(to)
    ));
    net.send(
        from,
        &anonymous(net.address(to), text.as_bytes().to_vec(), (0, 3)),
    )?;
    let arrived = |n: &LocalNet, i: usize, t: &str| {
        n.inbox(i)
            .is_ok_and(|l| l.iter().any(|l| l.text == t.as_bytes()))
    };
    if !rt.block_on(net.wait_until(timeout, |n| arrived(n, to, text)))? {
        bail!("the message did not arrive in {} s", a.timeout);
    }
    let letter = net
        .inbox(to)?
        .into_iter()
        .find(|l| l.text == text.as_bytes())
        .ok_or_else(|| anyhow!("letter vanished"))?;
    step(&format!("{} received: {text:?}", net.address(to)));
    let block = letter
        .reply_block
        .ok_or_else(|| anyhow!("the letter carried no reply block"))?;
    let answer = "Understood. I will be there.";
    step(&format!(
        "{} answers through the reply block, without knowing who sent the message",
        net.address(to)
    ));
    net.send(
        to,
        &SendRequest {
            to: Target::ReplyBlock(hex::encode(block)),
            text: answer.as_bytes().to_vec(),
            hops: 1,
            redundancy: None,
            decoys: 0,
            reply: false,
            delay: (0, 0),
        },
    )?;
    if !rt.block_on(net.wait_until(timeout, |n| arrived(n, from, answer)))? {
        bail!("the answer did not arrive in {} s", a.timeout);
    }
    step(&format!(
        "{} received the answer: {answer:?}",
        net.address(from)
    ));

    // An election on the ledger; one of its ballots travels through vortex.
    step("an election on the ledger: 24 voters, 3 trustees (threshold 2); one ballot goes through vortex");
    let sim = crate::election_cmd::SimulateArgs {
        voters: 24,
        trustees: 3,
        threshold: 2,
        tables: 1,
        scheme: crate::election_cmd::SchemeArg::Elgamal,
        revote_fraction: 0.0,
        seed: OsRng.next_u64(),
        out: dir.join("record"),
        quiet: true,
        no_verify: false,
        min_group_size: tabella_election::manifest::DEFAULT_MIN_GROUP_SIZE,
    };
    let mut cfg = sim.config()?;
    cfg.election_id = "vortex-demo".into();
    let client = tabella_node::client::NodeClient::new(&ledger.url());
    let gateway = net.address(4).to_string();
    let mut sink = VortexSink {
        inner: crate::demo::NodeSink::new(client.clone(), true),
        net: &mut net,
        rt: &rt,
        gateway,
        timeout,
        sent: None,
        t0,
    };
    let (out, _) = crate::election_cmd::run_simulation_into(&cfg, true, &mut sink)?;
    let ballot_tx = sink
        .sent
        .clone()
        .ok_or_else(|| anyhow!("no ballot went through vortex"))?;
    let envs = client.envelopes(&cfg.election_id)?;
    let mut state = tabella_election::state::ElectionState::new();
    for (i, e) in envs.iter().enumerate() {
        state
            .apply(e)
            .map_err(|err| anyhow!("envelope {i} served by the ledger does not apply: {err}"))?;
    }
    if envs.len() != out.record.log.len() {
        bail!(
            "the ledger holds {} envelopes but {} were cast",
            envs.len(),
            out.record.log.len()
        );
    }
    let record = tabella_election::record::Record::from_state(envs, &state)?;
    crate::record_io::write_record(&dir.join("record"), &record)?;
    let report = tabella_election::verify::verify_record_timed(
        &crate::record_io::read_record(&dir.join("record"))?,
        crate::monotonic,
    );
    if !report.ok() {
        println!("{report}");
        bail!("the election record did not verify");
    }
    step(&format!(
        "the record verifies: {} ballots accepted and counted, the vortex ballot ({}…) among them",
        record.counts.ballots_accepted,
        &ballot_tx[..ballot_tx.len().min(16)]
    ));
    crate::output::print_results(&record.manifest, &client.results(&cfg.election_id)?);
    rt.block_on(net.shutdown())?;
    ledger.stop()?;
    step("done; every mail was an ordinary MIME mail (backup reports and camera uploads)");
    println!(
        "the ledger saw the vortex ballot come from {gateway_ip} (the gateway); run with TABELLA_LOG=tabella_node::access=debug to see each submission's address"
    );
    Ok(())
}
