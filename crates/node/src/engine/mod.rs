//! The consensus-engine adapter: Malachite (the `arc-malachitebft-*` crates, channel API)
//! driving a [`LedgerApp`]. This module tree is the only part of Tabella that knows Malachite.
//!
//! - [`context`]: heights, addresses (validator keys), validator sets (rosters), values
//!   (blocks), proposals, streamed proposal parts and votes;
//! - [`signing`]: ed25519 with the ledger keys; a precommit for a block signs the ledger's
//!   commit message, so the engine's commit certificate *is* [`tabella_ledger::block::Commit`];
//! - [`codec`]: JSON encoding for the network, the value sync and the WAL;
//! - the run loop (private `host` module): answers the engine's requests by calling the
//!   [`LedgerApp`] on blocking tasks.
//!
//! Consensus, gossip (libp2p over TCP), the write-ahead log and the value sync of lagging
//! nodes are Malachite's. The verdict bitmap of each validator is its precommit vote
//! extension; the extensions that come with a commit certificate are handed to the next
//! proposer.
//!
//! ```no_run
//! # async fn example(secret: tabella_ledger::roster::ValidatorSecret,
//! #     app: tabella_node::node_app::NodeApp) -> tabella_node::Result<()> {
//! use std::sync::{Arc, Mutex};
//! use tabella_node::engine::{run, EngineConfig};
//!
//! let config = EngineConfig::new(
//!     secret,
//!     "127.0.0.1:27000".parse().unwrap(),
//!     vec!["127.0.0.1:27001".parse().unwrap(), "127.0.0.1:27002".parse().unwrap()],
//!     "/var/lib/tabella/engine".into(),
//! );
//! let app = Arc::new(Mutex::new(app));
//! let engine = run(config, Arc::clone(&app)).await?;
//! // ... the app's state advances as blocks are committed ...
//! engine.stop().await?;
//! # Ok(()) }
//! ```
//!
//! Limits: blocks are streamed in parts of [`EngineConfig::part_size`] bytes and refused above
//! [`EngineConfig::max_block_bytes`]; a lagging node syncs one block per request.

pub mod codec;
pub mod context;
mod host;
pub mod signing;
#[cfg(feature = "testing")]
pub mod testing;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_malachitebft_app_channel::app::config::{
    ConsensusConfig, NodeConfig, P2pConfig, ValueSyncConfig,
};
use arc_malachitebft_app_channel::app::net::Multiaddr;
use arc_malachitebft_app_channel::app::types::core::LinearTimeouts;
use arc_malachitebft_app_channel::app::types::Keypair;
use arc_malachitebft_app_channel::{
    ConsensusContext, EngineBuilder, NetworkContext, NetworkIdentity, RequestContext, SyncContext,
    WalContext,
};
use tabella_ledger::roster::ValidatorSecret;
use tabella_ledger::types::hash_parts;
use tokio::task::JoinHandle;

use crate::app::LedgerApp;
use crate::error::{Error, Result};
use codec::{EngineCodec, WalCodec};
use context::{Address, TabellaContext};
use signing::{EngineSigner, EngineVerifier};

/// Consensus step timeouts. Round `r` waits `base + r * delta` for each step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Waiting for a proposal.
    pub propose: Duration,
    /// Waiting for more prevotes after seeing > 2/3 of any.
    pub prevote: Duration,
    /// Waiting for more precommits after seeing > 2/3 of any.
    pub precommit: Duration,
    /// Added to each timeout per round.
    pub delta: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            propose: Duration::from_secs(3),
            prevote: Duration::from_secs(1),
            precommit: Duration::from_secs(1),
            delta: Duration::from_millis(500),
        }
    }
}

impl Timeouts {
    fn to_linear(self) -> LinearTimeouts {
        let rebroadcast = self
            .propose
            .saturating_add(self.prevote)
            .saturating_add(self.precommit);
        LinearTimeouts {
            propose: self.propose,
            propose_delta: self.delta,
            prevote: self.prevote,
            prevote_delta: self.delta,
            precommit: self.precommit,
            precommit_delta: self.delta,
            rebroadcast,
            max_timeout: Duration::from_secs(60),
        }
    }
}

/// How to run one validator's engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The validator's key: signs proposals, votes and vote extensions; its public key is the
    /// validator's address. The network identity is derived from it.
    pub secret: ValidatorSecret,
    /// Where to listen for peers (TCP), e.g. `127.0.0.1:27000`.
    pub listen: SocketAddr,
    /// Peers to stay connected to (TCP).
    pub peers: Vec<SocketAddr>,
    /// The engine's own directory (its write-ahead log lives here).
    pub home: PathBuf,
    /// Step timeouts.
    pub timeouts: Timeouts,
    /// The least time between the start of a height and this node's proposal for it, so that
    /// an idle chain does not produce blocks as fast as it can (default 200 ms).
    pub min_block_interval: Duration,
    /// Size in bytes of each chunk of a block's encoding streamed as a proposal part
    /// (default 256 KiB).
    pub part_size: usize,
    /// Largest accepted encoded block, in bytes (default 64 MiB).
    pub max_block_bytes: usize,
    /// How often nodes tell each other their tip, for the value sync (default 1 s).
    pub sync_status_interval: Duration,
}

impl EngineConfig {
    /// A configuration with the default timeouts and limits.
    pub fn new(
        secret: ValidatorSecret,
        listen: SocketAddr,
        peers: Vec<SocketAddr>,
        home: PathBuf,
    ) -> Self {
        EngineConfig {
            secret,
            listen,
            peers,
            home,
            timeouts: Timeouts::default(),
            min_block_interval: Duration::from_millis(200),
            part_size: 256 * 1024,
            max_block_bytes: 64 * 1024 * 1024,
            sync_status_interval: Duration::from_secs(1),
        }
    }
}

/// Malachite's node configuration, built from ours.
struct MalachiteConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl NodeConfig for MalachiteConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }
    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }
    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }
    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }
    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

fn tcp_multiaddr(addr: &SocketAddr) -> Result<Multiaddr> {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
        std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
    };
    format!("{ip}/tcp/{}", addr.port()).parse().map_err(
        |e: <Multiaddr as std::str::FromStr>::Err| Error::Address {
            addr: addr.to_string(),
            reason: e.to_string(),
        },
    )
}

fn malachite_config(config: &EngineConfig, moniker: String) -> Result<MalachiteConfig> {
    let mut p2p = P2pConfig {
        listen_addr: tcp_multiaddr(&config.listen)?,
        persistent_peers: config
            .peers
            .iter()
            .map(tcp_multiaddr)
            .collect::<Result<Vec<_>>>()?,
        ..P2pConfig::default()
    };
    // Sync responses carry whole blocks (hex in JSON: about twice their size).
    let big = format!("{} B", (config.max_block_bytes as u64).saturating_mul(3));
    p2p.rpc_max_size = big.parse().map_err(|e| Error::Setting {
        setting: "max_block_bytes",
        reason: format!("{big}: {e}"),
    })?;
    let consensus = ConsensusConfig {
        p2p,
        ..ConsensusConfig::default()
    };
    let value_sync = ValueSyncConfig {
        enabled: true,
        status_update_interval: config.sync_status_interval,
        max_response_size: consensus.p2p.rpc_max_size,
        batch_size: 1,
        ..ValueSyncConfig::default()
    };
    Ok(MalachiteConfig {
        moniker,
        consensus,
        value_sync,
    })
}

/// A running engine. Dropping it does not stop the engine: call [`EngineHandle::stop`].
pub struct EngineHandle {
    address: Address,
    node: arc_malachitebft_app_channel::app::engine::node::NodeRef,
    engine: JoinHandle<()>,
    host: JoinHandle<Result<()>>,
}

impl EngineHandle {
    /// The validator key this engine signs with.
    pub fn key(&self) -> tabella_ledger::roster::ValidatorKey {
        self.address.0
    }

    /// Whether the engine has stopped (on its own, after an unrecoverable error: a decided
    /// block that cannot be stored, a write-ahead log that cannot be written).
    pub fn is_finished(&self) -> bool {
        self.engine.is_finished() || self.host.is_finished()
    }

    /// Stops the engine's actors (network, consensus, WAL, sync) and the run loop, and waits
    /// (at most 10 s) for them to end. If the run loop had stopped on a fatal error (a decided
    /// block that cannot be stored: [`Error::DiskWrite`]), that error is returned.
    pub async fn stop(self) -> Result<()> {
        let reason = Some("stopped by the node".to_string());
        self.node.stop_children(reason.clone());
        self.node.stop(reason);
        let ended = tokio::time::timeout(Duration::from_secs(10), self.engine).await;
        if self.host.is_finished() {
            if let Ok(Err(e)) = self.host.await {
                return Err(e);
            }
        } else {
            self.host.abort();
            // The aborted run loop ends with a cancellation, which is expected here.
            let _ = self.host.await;
        }
        match ended {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(Error::Task {
                task: "the consensus engine task",
                reason: e.to_string(),
            }),
            Err(_) => Err(Error::Engine("engine did not stop within 10 s".into())),
        }
    }
}

/// The libp2p identity: an ed25519 key derived from the validator key (a deterministic
/// signature hashed), so the peer id is stable across restarts without exposing the secret.
fn network_keypair(secret: &ValidatorSecret) -> Result<Keypair> {
    let sig = secret.sign("tabella/engine/p2p-identity/v1", b"");
    let mut seed = hash_parts("tabella/engine/p2p-seed/v1", &[&sig.0.to_bytes()]);
    Keypair::ed25519_from_bytes(&mut seed).map_err(|e| Error::Engine(format!("p2p key: {e}")))
}

/// Starts a validator's engine on `app` and returns once it runs. The engine starts at the
/// app's `tip_height() + 1` (replaying its WAL for that height after a crash) with the app's
/// `next_roster()`, and catches up from peers with the value sync if they are ahead.
///
/// Must be called within a multi-threaded Tokio runtime.
pub async fn run<A: LedgerApp>(config: EngineConfig, app: Arc<Mutex<A>>) -> Result<EngineHandle> {
    std::fs::create_dir_all(&config.home)?;
    let address = Address(config.secret.public());
    let short: String = address.to_string().chars().take(16).collect();
    let moniker = format!("tabella-{short}");
    let node_config = malachite_config(&config, moniker.clone())?;
    let keypair = network_keypair(&config.secret)?;
    let identity = NetworkIdentity::new(moniker, keypair, Some(address.to_string()));
    let wal_path = config.home.join("wal").join("consensus.wal");
    let wal_codec = WalCodec::default();

    let (channels, handle) = EngineBuilder::new(TabellaContext, node_config)
        .with_default_wal(WalContext::new(wal_path, wal_codec.clone()))
        .with_default_network(NetworkContext::new(identity, EngineCodec))
        .with_default_sync(SyncContext::new(EngineCodec))
        .with_default_consensus(ConsensusContext::new_validator(
            address,
            Box::new(EngineVerifier),
            Box::new(EngineSigner::new(config.secret.clone())),
        ))
        .with_default_request(RequestContext::new(64))
        .build()
        .await
        .map_err(|e| Error::Engine(format!("{e:#}")))?;

    let host = host::Host::new(&config, address, app, channels.network, wal_codec.replayed);
    let mut consensus_rx = channels.consensus;
    let host_task = tokio::spawn(async move {
        let mut host = host;
        while let Some(msg) = consensus_rx.recv().await {
            if let Err(e) = host.handle(msg).await {
                if e.is_fatal() {
                    // The engine is stopped by whoever holds the handle, which sees the error
                    // in `EngineHandle::stop`.
                    return Err(e);
                }
                tracing::error!(error = %e, "engine run loop");
            }
        }
        Ok(())
    });

    Ok(EngineHandle {
        address,
        node: handle.actor,
        engine: handle.handle,
        host: host_task,
    })
}
