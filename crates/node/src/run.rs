//! Running a node: the application opened from its home, the HTTP API served, and the
//! consensus engine (Malachite, [`crate::engine`]) committing blocks, all on one tokio runtime in a background thread.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tabella_ledger::tx::Transaction;
use tokio::sync::watch;

use crate::api::{self, SharedApp};
use crate::engine::{self, EngineConfig};
use crate::error::Error;
use crate::home::Home;
use crate::node_app::{AppLimits, NodeApp};

/// A node running in the background.
pub struct RunningNode {
    api: SocketAddr,
    app: SharedApp,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<Result<(), Error>>>,
}

/// Options that override `node.json` (tests use an OS-assigned API port).
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Listen for the API here instead of `node.json`'s address.
    pub api: Option<SocketAddr>,
    /// Listen for consensus peers here instead of `node.json`'s address.
    pub p2p: Option<SocketAddr>,
    /// The passphrase of a sealed validator key (see [`crate::home`]).
    pub passphrase: Option<crate::seal::Passphrase>,
}

impl RunningNode {
    /// The API's bound address.
    pub fn api_addr(&self) -> SocketAddr {
        self.api
    }
    /// `http://` URL of the API.
    pub fn url(&self) -> String {
        format!("http://{}", self.api)
    }
    /// The shared application (tests and the in-process demo read it directly).
    pub fn app(&self) -> &SharedApp {
        &self.app
    }
    /// Stops the node and waits for it.
    pub fn stop(mut self) -> Result<(), Error> {
        self.shutdown()
    }
    fn shutdown(&mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| node_thread_panicked())?,
            None => Ok(()),
        }
    }
    /// Blocks until the node stops (Ctrl-C from the caller, or a fatal error).
    pub fn wait(mut self) -> Result<(), Error> {
        match self.thread.take() {
            Some(t) => t.join().map_err(|_| node_thread_panicked())?,
            None => Ok(()),
        }
    }
    /// A sender that stops the node (e.g. from a Ctrl-C handler).
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// Opens the node in `home` (replaying its stored blocks) and starts it.
pub fn start(home: &Home, opts: RunOptions) -> Result<RunningNode, Error> {
    let config = home.config()?;
    let genesis = home.genesis()?;
    let secret = home.secret(opts.passphrase.as_ref())?;
    let limits = AppLimits {
        max_block_txs: config.max_block_txs,
        ..AppLimits::default()
    };
    let app = NodeApp::open(&genesis, secret.clone(), &home.db_path(), limits)?;
    let app: SharedApp = Arc::new(Mutex::new(app));
    let api_addr = opts.api.unwrap_or(config.api);
    let std_listener = std::net::TcpListener::bind(api_addr).map_err(|e| Error::Address {
        addr: api_addr.to_string(),
        reason: format!(
            "cannot listen on it for the API: {e} (is another node running? use --api to pick another address)"
        ),
    })?;
    std_listener.set_nonblocking(true)?;
    let bound = std_listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let app2 = app.clone();
    let interval = Duration::from_millis(config.block_interval_ms.max(1));
    let config = config.clone();
    let p2p = opts.p2p.unwrap_or(config.p2p);
    let data_dir = home.data_dir();
    let engine_home = data_dir.join("engine");
    std::fs::create_dir_all(&engine_home)?;
    let stop_tx2 = stop_tx.clone();
    let thread = std::thread::Builder::new()
        .name("tabella-node".into())
        .spawn(move || -> Result<(), Error> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener)?;
                let router = api::router(app2.clone());
                let mut api_stop = stop_rx.clone();
                let server = tokio::spawn(async move {
                    axum::serve(
                        listener,
                        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
                    )
                    .with_graceful_shutdown(async move {
                        let _ = api_stop.wait_for(|s| *s).await;
                    })
                    .await
                });
                if !config.peer_apis.is_empty() {
                    let (to_relay, relayed) = tokio::sync::mpsc::unbounded_channel();
                    if let Ok(mut a) = app2.lock() {
                        a.set_relay(to_relay);
                    }
                    tokio::spawn(relay_transactions(
                        config.peer_apis.clone(),
                        relayed,
                        stop_rx.clone(),
                    ));
                    tokio::spawn(share_link_signatures(
                        app2.clone(),
                        config.peer_apis.clone(),
                        stop_rx.clone(),
                    ));
                }
                let mut engine_config =
                    EngineConfig::new(secret, p2p, config.peers.clone(), engine_home);
                engine_config.min_block_interval = interval;
                let driver = async {
                    let engine = engine::run(engine_config, app2.clone()).await?;
                    let mut stop = stop_rx.clone();
                    loop {
                        tokio::select! {
                            _ = stop.wait_for(|s| *s) => break,
                            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                                if engine.is_finished() {
                                    break;
                                }
                            }
                        }
                    }
                    let finished = engine.is_finished();
                    let stopped = engine.stop().await;
                    if finished && !*stop_rx.borrow() {
                        // The run loop's own fatal error (a block it cannot store) first.
                        if let Err(e) = &stopped {
                            if e.is_fatal() {
                                return stopped;
                            }
                        }
                        // Malachite stops its actors when its write-ahead log cannot be
                        // written; name the file rather than leave the cause in the log only.
                        if let Some(e) = unwritable_data(&data_dir) {
                            return Err(e);
                        }
                        stopped?;
                        return Err(Error::Engine(
                            "the consensus engine stopped; see the log above".into(),
                        ));
                    }
                    stopped?;
                    Ok(())
                }
                .await;
                if driver.is_err() {
                    let _ = stop_tx2.send(true);
                }
                let _ = server.await;
                driver
            })
        })?;
    Ok(RunningNode {
        api: bound,
        app,
        stop: stop_tx,
        thread: Some(thread),
    })
}

/// Sends this validator's forward-link signatures to the other validators' APIs (each peer
/// completes a link once it holds a quorum of signatures). Best effort: a peer that is down
/// gets them on a later round.
async fn share_link_signatures(
    app: SharedApp,
    peers: Vec<SocketAddr>,
    mut stop: watch::Receiver<bool>,
) {
    use std::collections::BTreeSet;
    let mut sent: BTreeSet<(u64, u32, String)> = BTreeSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(300)) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let own = match app.lock() {
            Ok(a) => a.own_link_signatures(),
            Err(_) => return,
        };
        for (h, level, sig) in own {
            for peer in &peers {
                let key = (h.0, level, peer.to_string());
                if sent.contains(&key) {
                    continue;
                }
                let url = format!("http://{peer}/v1/forward-links/{}/{level}", h.0);
                let body = match serde_json::to_string(&sig) {
                    Ok(b) => b,
                    Err(_) => continue,
                };
                let ok = tokio::task::spawn_blocking(move || {
                    ureq::post(&url)
                        .header("content-type", "application/json")
                        .send(body)
                        .is_ok()
                })
                .await
                .unwrap_or(false);
                if ok {
                    sent.insert(key);
                }
            }
        }
    }
}

/// Largest relayed request body (well under the API's `MAX_BODY`).
const RELAY_MAX_BODY: usize = 8 << 20;
/// Relayed requests waiting per peer before new ones are dropped for it.
const RELAY_QUEUE: usize = 64;

/// Relays the client transactions this node admitted to the other validators' APIs (marked as
/// relayed, so they go no further): what is queued is coalesced into requests of at most
/// [`RELAY_MAX_BODY`], each handed to every peer's own sender, so a slow or unreachable peer
/// delays no other. Best effort: a peer whose queue is full misses them, and they are still
/// committed when this node proposes.
async fn relay_transactions(
    peers: Vec<SocketAddr>,
    mut queue: tokio::sync::mpsc::UnboundedReceiver<Vec<Transaction>>,
    mut stop: watch::Receiver<bool>,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(2)))
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let senders: Vec<tokio::sync::mpsc::Sender<Arc<String>>> = peers
        .iter()
        .map(|peer| {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Arc<String>>(RELAY_QUEUE);
            let (agent, url) = (agent.clone(), format!("http://{peer}/v1/txs"));
            tokio::spawn(async move {
                while let Some(body) = rx.recv().await {
                    let (agent, url) = (agent.clone(), url.clone());
                    let _ = tokio::task::spawn_blocking(move || {
                        agent
                            .post(&url)
                            .header("content-type", "application/json")
                            .header(crate::api::RELAYED_HEADER, "1")
                            .send(body.as_str())
                            .is_ok()
                    })
                    .await;
                }
            });
            tx
        })
        .collect();
    // Each transaction as JSON, in admission order, not yet handed to the peers.
    let mut backlog: std::collections::VecDeque<String> = std::collections::VecDeque::new();
    loop {
        if backlog.is_empty() {
            let next = tokio::select! {
                next = queue.recv() => next,
                _ = stop.wait_for(|s| *s) => return,
            };
            let Some(txs) = next else { return };
            backlog.extend(txs.iter().filter_map(|t| serde_json::to_string(t).ok()));
        }
        while let Ok(more) = queue.try_recv() {
            backlog.extend(more.iter().filter_map(|t| serde_json::to_string(t).ok()));
        }
        // One request's worth: a JSON array of at most `RELAY_MAX_BODY` bytes (a single larger
        // transaction goes alone).
        let mut body = String::from("[");
        while let Some(t) = backlog.front() {
            if body.len() > 1 && body.len() + t.len() + 2 > RELAY_MAX_BODY {
                break;
            }
            if body.len() > 1 {
                body.push(',');
            }
            body.push_str(t);
            backlog.pop_front();
        }
        body.push(']');
        let body = Arc::new(body);
        for s in &senders {
            let _ = s.try_send(Arc::clone(&body));
        }
    }
}

/// The first file or directory of the node's data (`dir`, recursively, the engine's files
/// first) that cannot be written, as [`Error::DiskWrite`]: each file is opened for writing,
/// and in each directory a byte is written to a new file, synced and removed again (so a full
/// or failing disk shows, not only permissions and read-only files).
fn unwritable_data(dir: &Path) -> Option<Error> {
    let failed = |path: &Path, e: std::io::Error| Error::DiskWrite {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let probe = dir.join(".tabella-write-check");
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| *p != probe)
            .collect(),
        Err(e) => return Some(failed(dir, e)),
    };
    // Directories first, then files, each in name order.
    entries.sort_by_key(|p| (!p.is_dir(), p.clone()));
    for path in entries {
        if path.is_dir() {
            if let Some(e) = unwritable_data(&path) {
                return Some(e);
            }
        } else if let Err(e) = std::fs::OpenOptions::new().append(true).open(&path) {
            return Some(failed(&path, e));
        }
    }
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .and_then(|mut f| {
            f.write_all(b"x")?;
            f.sync_all()
        });
    let _ = std::fs::remove_file(&probe);
    written.err().map(|e| failed(dir, e))
}

fn node_thread_panicked() -> Error {
    Error::Task {
        task: "the node thread",
        reason: "it panicked".into(),
    }
}
