//! A local network of vortex node daemons in one process, on real mail transports: either the
//! embedded SMTP receiver with one Maildir per node (no install needed), or a Postfix + Dovecot
//! testbed (`scripts/mail-testbed`, SMTP in and IMAP IDLE out). The demo and the tests use it;
//! each node is a [`Daemon`] with its own home, journal and keys, run as a task that can be
//! killed (aborted mid-step) and restarted from its home.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use tabella_vortex::accounting::Policy;
use tabella_vortex::asym::PrivateKey;
use tabella_vortex::wire::Blending;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::daemon::{self, Daemon, Incoming, Options};
use crate::error::{Error, Result};
use crate::gateway::Gateway;
use crate::imap::ImapConfig;
use crate::maildir::Maildir;
use crate::smtpd::{Limits, Smtpd};
use crate::station::{self, Letter, PeerEntry, SendRequest};
use crate::unblend::Accepts;

/// The Postfix + Dovecot testbed, as `scripts/mail-testbed start` describes it in
/// `BASE/testbed.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct Testbed {
    /// SMTP server.
    pub smtp: HostPort,
    /// IMAP server.
    pub imap: HostPort,
    /// Mail domain.
    pub domain: String,
    /// One account per node.
    pub accounts: Vec<Account>,
    /// Each account's Maildir.
    #[serde(default)]
    pub maildirs: HashMap<String, PathBuf>,
}

/// A host and port.
#[derive(Clone, Debug, Deserialize)]
pub struct HostPort {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// A mail account.
#[derive(Clone, Debug, Deserialize)]
pub struct Account {
    /// Mail address.
    pub address: String,
    /// IMAP user.
    pub user: String,
    /// IMAP password.
    pub password: String,
}

impl Testbed {
    /// Reads `BASE/testbed.json`.
    pub fn load(base: &Path) -> Result<Self> {
        let path = base.join("testbed.json");
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::Transport(format!(
                "{}: {e} (start it with scripts/mail-testbed start --base {})",
                path.display(),
                base.display()
            ))
        })?;
        serde_json::from_slice(&bytes).map_err(|e| Error::malformed("testbed.json", e))
    }
}

/// Which transport the nodes use.
pub enum Transport {
    /// The embedded SMTP receiver and Maildirs under the network's directory.
    Embedded,
    /// A running Postfix + Dovecot testbed.
    Testbed(Testbed),
}

struct Member {
    address: String,
    home: PathBuf,
    host: PrivateKey,
    owner: PrivateKey,
    seed: [u8; 32],
    created: u64,
    blending: Blending,
    incoming: Incoming,
    gateway: Option<Gateway>,
    task: Option<(watch::Sender<bool>, JoinHandle<Result<()>>)>,
}

/// How the local network is made.
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Nodes.
    pub nodes: usize,
    /// RSA modulus of host keys.
    pub key_bits: usize,
    /// Identity puzzle difficulty.
    pub puzzle_bits: Option<u32>,
    /// F5 passphrase of the nodes that take JPEG carriers (every other node), or none.
    pub f5: Option<String>,
    /// Seed of the keys (a fixed seed gives reproducible keys for tests).
    pub seed: u64,
    /// How often daemons look for work.
    pub poll: Duration,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            nodes: 5,
            key_bits: 2048,
            puzzle_bits: Some(8),
            f5: None,
            seed: 1,
            poll: Duration::from_millis(200),
        }
    }
}

/// The network.
pub struct LocalNet {
    dir: PathBuf,
    members: Vec<Member>,
    peers: Vec<PeerEntry>,
    smtp: (String, u16),
    smtpd: Option<Smtpd>,
    policy: Policy,
    accepts: Accepts,
    poll: Duration,
}

impl LocalNet {
    /// Makes keys and homes under `dir` and starts the transport (not the nodes).
    pub async fn create(dir: &Path, config: &NetConfig, transport: Transport) -> Result<Self> {
        if config.nodes < 2 {
            return Err(Error::BadParameters(
                "a network needs at least 2 nodes".into(),
            ));
        }
        std::fs::create_dir_all(dir)?;
        let mut rng = ChaCha20Rng::seed_from_u64(config.seed);
        let created = daemon::unix_now();
        let (addresses, smtp, smtpd, incoming): (Vec<String>, _, _, Vec<Incoming>) = match transport
        {
            Transport::Embedded => {
                let addresses: Vec<String> = (1..=config.nodes)
                    .map(|i| format!("node{i}@vortex.test"))
                    .collect();
                let mut boxes = HashMap::new();
                let mut incoming = Vec::new();
                for a in &addresses {
                    let md_dir = dir.join("mail").join(a);
                    boxes.insert(a.clone(), Maildir::open(&md_dir)?);
                    incoming.push(Incoming::Maildir(md_dir));
                }
                let s =
                    Smtpd::start("127.0.0.1:0", "mx.vortex.test", boxes, Limits::default()).await?;
                let port = s.addr().port();
                (
                    addresses,
                    ("127.0.0.1".to_string(), port),
                    Some(s),
                    incoming,
                )
            }
            Transport::Testbed(tb) => {
                if tb.accounts.len() < config.nodes {
                    return Err(Error::BadParameters(format!(
                        "the testbed has {} accounts, {} nodes asked",
                        tb.accounts.len(),
                        config.nodes
                    )));
                }
                let accounts = &tb.accounts[..config.nodes];
                let incoming = accounts
                    .iter()
                    .map(|a| {
                        Incoming::Imap(ImapConfig {
                            host: tb.imap.host.clone(),
                            port: tb.imap.port,
                            user: a.user.clone(),
                            password: a.password.clone(),
                        })
                    })
                    .collect();
                (
                    accounts.iter().map(|a| a.address.clone()).collect(),
                    (tb.smtp.host.clone(), tb.smtp.port),
                    None,
                    incoming,
                )
            }
        };
        let mut members = Vec::new();
        for (i, (address, incoming)) in addresses.into_iter().zip(incoming).enumerate() {
            let mut seed = [0u8; 32];
            rng.fill_bytes(&mut seed);
            let blending = match (&config.f5, i % 2) {
                (Some(p), 1) => Blending::F5 {
                    passphrase: p.as_bytes().to_vec(),
                },
                _ => Blending::Plain {
                    offset: if i % 3 == 2 { 256 } else { 0 },
                },
            };
            members.push(Member {
                home: dir.join(format!("node{}", i + 1)),
                host: PrivateKey::generate(config.key_bits, &mut rng)?,
                owner: PrivateKey::generate_p384(&mut rng)?,
                address,
                seed,
                created,
                blending,
                incoming,
                gateway: None,
                task: None,
            });
        }
        let peers = members
            .iter()
            .map(|m| {
                PeerEntry::of(&tabella_vortex::builder::NodeInfo {
                    address: m.address.clone(),
                    host: m.host.public().clone(),
                    blending: m.blending.clone(),
                })
            })
            .collect();
        let accepts = Accepts {
            offsets: vec![0, 256],
            passphrases: config.f5.iter().map(|p| p.as_bytes().to_vec()).collect(),
        };
        Ok(LocalNet {
            dir: dir.to_path_buf(),
            members,
            peers,
            smtp,
            smtpd,
            policy: Policy {
                puzzle_bits: config.puzzle_bits,
                ..Policy::default()
            },
            accepts,
            poll: config.poll,
        })
    }

    /// The network's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Node `i`'s address.
    pub fn address(&self, i: usize) -> &str {
        &self.members[i].address
    }

    /// Makes node `i` a gateway to a ledger node (takes effect at its next start).
    pub fn set_gateway(&mut self, i: usize, gateway: Gateway) {
        if let Some(m) = self.members.get_mut(i) {
            m.gateway = Some(gateway);
        }
    }

    /// Node `i`'s home.
    pub fn home(&self, i: usize) -> &Path {
        &self.members[i].home
    }

    /// The directory of nodes.
    pub fn peers(&self) -> &[PeerEntry] {
        &self.peers
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True if there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Starts node `i` (rebuilding it from its journal if it ran before).
    pub async fn start(&mut self, i: usize) -> Result<()> {
        let m = self
            .members
            .get_mut(i)
            .ok_or_else(|| Error::BadParameters(format!("no node {i}")))?;
        if m.task.is_some() {
            return Ok(());
        }
        let options = Options {
            home: m.home.clone(),
            station: station::Config {
                address: m.address.clone(),
                blending: m.blending.clone(),
                host: m.host.clone(),
                owner: m.owner.clone(),
                policy: self.policy.clone(),
                seed: m.seed,
                created: m.created,
            },
            peers: self.peers.clone(),
            accepts: self.accepts.clone(),
            smtp: self.smtp.clone(),
            incoming: m.incoming.clone(),
            poll: self.poll,
            echo: false,
            gateway: m.gateway.clone(),
        };
        let mut d = Daemon::open(options).await?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(async move { d.run(stopped).await });
        m.task = Some((stop, task));
        Ok(())
    }

    /// Starts every node.
    pub async fn start_all(&mut self) -> Result<()> {
        for i in 0..self.members.len() {
            self.start(i).await?;
        }
        Ok(())
    }

    /// Kills node `i` where it stands (its task is aborted, as a crash would).
    pub async fn kill(&mut self, i: usize) {
        if let Some((_, task)) = self.members.get_mut(i).and_then(|m| m.task.take()) {
            task.abort();
            let _ = task.await;
        }
    }

    /// Stops node `i` cleanly.
    pub async fn stop(&mut self, i: usize) -> Result<()> {
        if let Some((stop, task)) = self.members.get_mut(i).and_then(|m| m.task.take()) {
            let _ = stop.send(true);
            task.await
                .map_err(|e| Error::Transport(format!("node task: {e}")))??;
        }
        Ok(())
    }

    /// Stops every node and the transport.
    pub async fn shutdown(mut self) -> Result<()> {
        for i in 0..self.members.len() {
            self.stop(i).await?;
        }
        if let Some(s) = self.smtpd.take() {
            s.stop().await;
        }
        Ok(())
    }

    /// Hands node `i`'s owner a message to send (as `tabella vortex send` does).
    pub fn send(&self, i: usize, request: &SendRequest) -> Result<PathBuf> {
        daemon::queue_request(&self.members[i].home, request)
    }

    /// Node `i`'s inbox.
    pub fn inbox(&self, i: usize) -> Result<Vec<Letter>> {
        daemon::read_inbox(&self.members[i].home)
    }

    /// Whether node `i`'s identity set-up is done, from its log.
    pub fn setup_done(&self, i: usize) -> bool {
        let n = self.members.len() - 1;
        std::fs::read_to_string(self.members[i].home.join("node.log"))
            .map(|log| log.contains(&format!("identities ready at {n} nodes")))
            .unwrap_or(false)
    }

    /// Waits (polling every 100 ms) until `done` holds or `timeout` passes.
    pub async fn wait_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&LocalNet) -> bool,
    ) -> Result<bool> {
        let start = Instant::now();
        loop {
            if done(self) {
                return Ok(true);
            }
            // A node task that ended with an error is reported.
            for m in &mut self.members {
                if let Some((_, task)) = &m.task {
                    if task.is_finished() {
                        if let Some((_, task)) = m.task.take() {
                            let r = task
                                .await
                                .map_err(|e| Error::Transport(format!("node task: {e}")))?;
                            r.map_err(|e| Error::Transport(format!("{} stopped: {e}", m.address)))?;
                        }
                    }
                }
            }
            if start.elapsed() > timeout {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
