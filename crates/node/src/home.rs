//! A node's home directory: `node.json` (addresses, peers, limits), `genesis.json` (the
//! chain's founding roster, the same on every node), `validator.key` (the validator's secret,
//! owner-only), and `data/` (the redb database and the consensus engine's write-ahead log).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tabella_ledger::block::SkipchainParams;
use tabella_ledger::roster::{ValidatorKey, ValidatorSecret};
use zeroize::Zeroize;

use crate::error::Error;
use crate::node_app::Genesis;

/// The default API address of `tabella node run`.
pub const DEFAULT_API: &str = "127.0.0.1:7400";
/// The default consensus (peer-to-peer) address.
pub const DEFAULT_P2P: &str = "127.0.0.1:27400";

/// `node.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeConfig {
    /// Where the HTTP API listens.
    pub api: SocketAddr,
    /// Where the consensus engine listens for peers.
    pub p2p: SocketAddr,
    /// The other validators' consensus addresses.
    #[serde(default)]
    pub peers: Vec<SocketAddr>,
    /// The other validators' API addresses (forward-link signatures are shared there).
    #[serde(default)]
    pub peer_apis: Vec<SocketAddr>,
    /// Most transactions per block.
    #[serde(default = "default_max_block_txs")]
    pub max_block_txs: usize,
    /// Minimum time between blocks, in milliseconds (no empty blocks are rushed out).
    #[serde(default = "default_block_interval")]
    pub block_interval_ms: u64,
}

fn default_max_block_txs() -> usize {
    1_000
}
fn default_block_interval() -> u64 {
    100
}

/// Paths of a node home.
#[derive(Clone, Debug)]
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::Config(format!("cannot {what} {}: {e}", path.display()))
}

impl Home {
    /// The home at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Home { dir: dir.into() }
    }
    /// `node.json`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("node.json")
    }
    /// `genesis.json`.
    pub fn genesis_path(&self) -> PathBuf {
        self.dir.join("genesis.json")
    }
    /// `validator.key`.
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("validator.key")
    }
    /// `data/`.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }
    /// `data/ledger.redb`.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir().join("ledger.redb")
    }

    /// Whether a node was initialized here.
    pub fn exists(&self) -> bool {
        self.config_path().exists()
    }

    fn not_initialized(&self) -> Error {
        Error::Config(format!(
            "no node in {} (missing node.json); create one with `tabella node init --dev --home {}`",
            self.dir.display(),
            self.dir.display()
        ))
    }

    /// Reads `node.json`.
    pub fn config(&self) -> Result<NodeConfig, Error> {
        let p = self.config_path();
        if !p.exists() {
            return Err(self.not_initialized());
        }
        let t = fs::read_to_string(&p).map_err(|e| io(&p, "read", e))?;
        serde_json::from_str(&t)
            .map_err(|e| Error::Config(format!("{} is malformed: {e}", p.display())))
    }

    /// Reads `genesis.json`.
    pub fn genesis(&self) -> Result<Genesis, Error> {
        let p = self.genesis_path();
        if !p.exists() {
            return Err(self.not_initialized());
        }
        let t = fs::read_to_string(&p).map_err(|e| io(&p, "read", e))?;
        serde_json::from_str(&t)
            .map_err(|e| Error::Config(format!("{} is malformed: {e}", p.display())))
    }

    /// Reads `validator.key`.
    pub fn secret(&self) -> Result<ValidatorSecret, Error> {
        let p = self.key_path();
        let mut t = fs::read_to_string(&p).map_err(|e| io(&p, "read the validator key", e))?;
        let mut bytes = hex::decode(t.trim())
            .map_err(|_| Error::Config(format!("{} is not a hex key", p.display())))?;
        t.zeroize();
        let arr: Result<[u8; 32], _> = bytes.as_slice().try_into();
        bytes.zeroize();
        let mut arr =
            arr.map_err(|_| Error::Config(format!("{} must hold 32 bytes", p.display())))?;
        let s = ValidatorSecret::from_bytes(&arr);
        arr.zeroize();
        Ok(s)
    }

    fn write_private(path: &Path, text: &str) -> Result<(), Error> {
        use std::io::Write;
        #[cfg(unix)]
        use std::os::unix::fs::OpenOptionsExt;
        let mut o = fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        o.mode(0o600);
        let mut f = o.open(path).map_err(|e| io(path, "create", e))?;
        f.write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| io(path, "write", e))
    }

    fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), Error> {
        let t = serde_json::to_string_pretty(v).map_err(|e| Error::Encoding(e.to_string()))?;
        fs::write(path, t + "\n").map_err(|e| io(path, "write", e))
    }

    /// Creates the directory and a fresh validator key; refuses to overwrite a node.
    fn create(&self) -> Result<ValidatorKey, Error> {
        if self.exists() {
            return Err(Error::Config(format!(
                "a node already exists in {}; use another --home or delete it first",
                self.dir.display()
            )));
        }
        fs::create_dir_all(self.data_dir()).map_err(|e| io(&self.dir, "create", e))?;
        let secret = ValidatorSecret::generate(&mut OsRng);
        let mut bytes = secret.secret_bytes();
        let mut text = hex::encode(bytes);
        bytes.zeroize();
        let r = Self::write_private(&self.key_path(), &text);
        text.zeroize();
        r?;
        Ok(secret.public())
    }
}

/// `tabella node init --dev`: one validator alone on its chain, API on `api`.
pub fn init_dev(home: &Home, api: SocketAddr, p2p: SocketAddr) -> Result<Genesis, Error> {
    let key = home.create()?;
    let genesis = Genesis {
        chain_name: "tabella-dev".into(),
        params: SkipchainParams::default(),
        validators: vec![key],
    };
    Home::write_json(&home.genesis_path(), &genesis)?;
    Home::write_json(
        &home.config_path(),
        &NodeConfig {
            api,
            p2p,
            peers: Vec::new(),
            peer_apis: Vec::new(),
            max_block_txs: default_max_block_txs(),
            block_interval_ms: default_block_interval(),
        },
    )?;
    Ok(genesis)
}

/// `tabella testnet`: `n` validators on 127.0.0.1 sharing one genesis, in `root/node-<i>`, API
/// ports `api_base + i`, consensus ports `p2p_base + i`.
pub fn init_testnet(
    root: &Path,
    n: usize,
    api_base: u16,
    p2p_base: u16,
) -> Result<Vec<Home>, Error> {
    if n == 0 {
        return Err(Error::Config("a testnet needs at least one node".into()));
    }
    let homes: Vec<Home> = (0..n)
        .map(|i| Home::new(root.join(format!("node-{i}"))))
        .collect();
    let mut keys = Vec::with_capacity(n);
    for h in &homes {
        keys.push(h.create()?);
    }
    let genesis = Genesis {
        chain_name: "tabella-testnet".into(),
        params: SkipchainParams::default(),
        validators: keys,
    };
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    for (i, h) in homes.iter().enumerate() {
        let off = u16::try_from(i).map_err(|_| Error::Config("too many nodes".into()))?;
        Home::write_json(&h.genesis_path(), &genesis)?;
        let others = (0..n)
            .filter(|j| *j != i)
            .filter_map(|j| u16::try_from(j).ok());
        Home::write_json(
            &h.config_path(),
            &NodeConfig {
                api: addr(api_base + off),
                p2p: addr(p2p_base + off),
                peers: others.clone().map(|j| addr(p2p_base + j)).collect(),
                peer_apis: others.map(|j| addr(api_base + j)).collect(),
                max_block_txs: default_max_block_txs(),
                block_interval_ms: default_block_interval(),
            },
        )?;
    }
    Ok(homes)
}
