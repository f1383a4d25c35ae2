//! A node's home directory: `node.json` (addresses, peers, limits), `genesis.json` (the
//! chain's founding roster, the same on every node), the validator's secret key, and `data/` (the
//! redb database and the consensus engine's write-ahead log).
//!
//! The validator key is kept in one of two files, both owner-only (0600):
//! - `validator.key`: sealed under the node passphrase ([`crate::seal`]: Argon2id +
//!   ChaCha20-Poly1305, the same sealing as the `tabella` keystore). `tabella node init` and
//!   `tabella node run` read the passphrase from `TABELLA_NODE_PASSPHRASE` or
//!   `--passphrase-file FILE`, so a node starts unattended (a service manager's credential
//!   or environment file) without the key ever lying on disk in clear.
//! - `validator.insecure-key`: unencrypted hex, only when asked for explicitly
//!   (`tabella node init --insecure-plaintext-key`) and for throw-away development chains
//!   (`tabella demo`, `tabella testnet` without a passphrase, the benches).
//!
//! A home from an older version holds the key as bare hex in `validator.key`; it is not used
//! until it is sealed ([`Home::seal_legacy_key`], done by `tabella node run` when a passphrase is
//! given).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tabella_ledger::block::SkipchainParams;
use tabella_ledger::roster::{ValidatorKey, ValidatorSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, KeyError};
use crate::genesis::Genesis;
use crate::seal::{Passphrase, Sealed};

/// The environment variable holding the node passphrase.
pub const PASSPHRASE_ENV: &str = "TABELLA_NODE_PASSPHRASE";

/// Associated data of the sealed validator key.
const KEY_AAD: &[u8] = b"tabella-node/v1/validator.key";

/// How a new home stores its validator key.
#[derive(Clone, Debug)]
pub enum KeyProtection {
    /// Sealed under this passphrase in `validator.key`.
    Sealed(Passphrase),
    /// Unencrypted in `validator.insecure-key` (throw-away development nodes only).
    InsecurePlaintext,
}

/// How an existing home stores its validator key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStorage {
    /// `validator.key`, sealed.
    Sealed,
    /// `validator.insecure-key`, unencrypted by the operator's explicit choice.
    InsecurePlaintext,
    /// `validator.key` as bare hex, from an older version: to be sealed before use.
    LegacyPlaintext,
}

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

fn io(path: &Path, action: &'static str, source: std::io::Error) -> Error {
    Error::File {
        path: path.to_path_buf(),
        action,
        source,
    }
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
    /// `validator.key` (the sealed validator key).
    pub fn key_path(&self) -> PathBuf {
        self.dir.join("validator.key")
    }
    /// `validator.insecure-key` (an unencrypted validator key, development only).
    pub fn insecure_key_path(&self) -> PathBuf {
        self.dir.join("validator.insecure-key")
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
        Error::NotInitialized {
            home: self.dir.clone(),
        }
    }

    /// Reads `node.json`.
    pub fn config(&self) -> Result<NodeConfig, Error> {
        let p = self.config_path();
        if !p.exists() {
            return Err(self.not_initialized());
        }
        let t = fs::read_to_string(&p).map_err(|e| io(&p, "read", e))?;
        serde_json::from_str(&t).map_err(|source| Error::Malformed {
            path: p.clone(),
            source,
        })
    }

    /// Reads `genesis.json`.
    pub fn genesis(&self) -> Result<Genesis, Error> {
        let p = self.genesis_path();
        if !p.exists() {
            return Err(self.not_initialized());
        }
        let t = fs::read_to_string(&p).map_err(|e| io(&p, "read", e))?;
        serde_json::from_str(&t).map_err(|source| Error::Malformed {
            path: p.clone(),
            source,
        })
    }

    /// How this home stores its validator key.
    pub fn key_storage(&self) -> Result<KeyStorage, Error> {
        let (k, i) = (self.key_path(), self.insecure_key_path());
        match (k.exists(), i.exists()) {
            (true, true) => Err(KeyError::TwoKeys {
                sealed: k,
                insecure: i,
            }
            .into()),
            (false, true) => Ok(KeyStorage::InsecurePlaintext),
            (false, false) => Err(KeyError::NoKey {
                home: self.dir.clone(),
            }
            .into()),
            (true, false) => {
                let t =
                    Zeroizing::new(fs::read(&k).map_err(|e| io(&k, "read the validator key", e))?);
                let trimmed = t.trim_ascii();
                if trimmed.len() == 64 && trimmed.iter().all(u8::is_ascii_hexdigit) {
                    Ok(KeyStorage::LegacyPlaintext)
                } else {
                    Ok(KeyStorage::Sealed)
                }
            }
        }
    }

    /// Reads the validator key: a sealed one needs `pass`; a legacy unencrypted one is refused
    /// with instructions to seal it.
    pub fn secret(&self, pass: Option<&Passphrase>) -> Result<ValidatorSecret, Error> {
        let k = self.key_path();
        match self.key_storage()? {
            KeyStorage::InsecurePlaintext => read_hex_key(&self.insecure_key_path()),
            KeyStorage::LegacyPlaintext => Err(KeyError::Unsealed {
                path: k,
                home: self.dir.clone(),
                env: PASSPHRASE_ENV,
            }
            .into()),
            KeyStorage::Sealed => {
                let pass = pass.ok_or_else(|| KeyError::NeedPassphrase {
                    path: k.clone(),
                    env: PASSPHRASE_ENV,
                })?;
                let sealed = Sealed::read(&k)?;
                let plain = sealed
                    .open(pass, KEY_AAD)?
                    .ok_or_else(|| KeyError::WrongPassphrase { path: k.clone() })?;
                let arr: [u8; 32] = plain.as_slice().try_into().map_err(|_| KeyError::BadKey {
                    path: k.clone(),
                    problem: "does not hold a 32-byte key",
                })?;
                let arr = Zeroizing::new(arr);
                Ok(ValidatorSecret::from_bytes(&arr))
            }
        }
    }

    /// Seals a legacy unencrypted `validator.key` in place under `pass` (written to a temporary
    /// file, then renamed over the plaintext).
    pub fn seal_legacy_key(&self, pass: &Passphrase) -> Result<(), Error> {
        if self.key_storage()? != KeyStorage::LegacyPlaintext {
            return Err(KeyError::NotLegacy {
                path: self.key_path(),
            }
            .into());
        }
        let k = self.key_path();
        let secret = read_hex_key(&k)?;
        let bytes = Zeroizing::new(secret.secret_bytes());
        let sealed = Sealed::seal(pass, KEY_AAD, bytes.as_ref())?;
        Self::write_private(&k, &sealed.to_json()?)
    }

    fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
        crate::durable::write_atomic(path, bytes, true).map_err(|e| io(path, "write", e))
    }

    fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), Error> {
        let t = serde_json::to_string_pretty(v)?;
        crate::durable::write_atomic(path, (t + "\n").as_bytes(), false)
            .map_err(|e| io(path, "write", e))
    }

    /// Creates the directory and a fresh validator key; refuses to overwrite a node.
    fn create(&self, protection: &KeyProtection) -> Result<ValidatorKey, Error> {
        if self.exists() {
            return Err(Error::AlreadyInitialized {
                home: self.dir.clone(),
            });
        }
        fs::create_dir_all(self.data_dir()).map_err(|e| io(&self.dir, "create", e))?;
        let secret = ValidatorSecret::generate(&mut OsRng);
        let bytes = Zeroizing::new(secret.secret_bytes());
        match protection {
            KeyProtection::Sealed(pass) => {
                let sealed = Sealed::seal(pass, KEY_AAD, bytes.as_ref())?;
                Self::write_private(&self.key_path(), &sealed.to_json()?)?;
            }
            KeyProtection::InsecurePlaintext => {
                let text = Zeroizing::new(hex::encode(bytes.as_ref()) + "\n");
                Self::write_private(&self.insecure_key_path(), text.as_bytes())?;
            }
        }
        Ok(secret.public())
    }
}

/// Reads an unencrypted hex key file.
fn read_hex_key(p: &Path) -> Result<ValidatorSecret, Error> {
    let t = Zeroizing::new(fs::read_to_string(p).map_err(|e| io(p, "read the validator key", e))?);
    let mut bytes = hex::decode(t.trim()).map_err(|_| KeyError::BadKey {
        path: p.to_path_buf(),
        problem: "is not a hex key",
    })?;
    let arr: Result<[u8; 32], _> = bytes.as_slice().try_into();
    bytes.zeroize();
    let arr = Zeroizing::new(arr.map_err(|_| KeyError::BadKey {
        path: p.to_path_buf(),
        problem: "must hold 32 bytes",
    })?);
    Ok(ValidatorSecret::from_bytes(&arr))
}

/// `tabella node init --dev`: one validator alone on its chain, API on `api`, its key stored as
/// `protection` says.
pub fn init_dev(
    home: &Home,
    api: SocketAddr,
    p2p: SocketAddr,
    protection: &KeyProtection,
) -> Result<Genesis, Error> {
    let key = home.create(protection)?;
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
/// ports `api_base + i`, consensus ports `p2p_base + i`; every key stored as `protection` says.
pub fn init_testnet(
    root: &Path,
    n: usize,
    api_base: u16,
    p2p_base: u16,
    protection: &KeyProtection,
) -> Result<Vec<Home>, Error> {
    if n == 0 {
        return Err(Error::Setting {
            setting: "nodes",
            reason: "a testnet needs at least one node".into(),
        });
    }
    let homes: Vec<Home> = (0..n)
        .map(|i| Home::new(root.join(format!("node-{i}"))))
        .collect();
    let mut keys = Vec::with_capacity(n);
    for h in &homes {
        keys.push(h.create(protection)?);
    }
    let genesis = Genesis {
        chain_name: "tabella-testnet".into(),
        params: SkipchainParams::default(),
        validators: keys,
    };
    let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    for (i, h) in homes.iter().enumerate() {
        let off = u16::try_from(i).map_err(|_| Error::Setting {
            setting: "nodes",
            reason: format!("{n} nodes are too many"),
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s.into()).unwrap()
    }

    /// An attacker who copies the home (a backup, a stolen disk) gets no key material without the
    /// passphrase; a wrong or missing passphrase gets a clear error.
    #[test]
    fn the_sealed_validator_key_needs_its_passphrase() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path().join("n"));
        let g = init_dev(&home, local(), local(), &KeyProtection::Sealed(pass("pw"))).unwrap();
        assert_eq!(home.key_storage().unwrap(), KeyStorage::Sealed);
        assert!(!home.insecure_key_path().exists());
        let secret = home.secret(Some(&pass("pw"))).unwrap();
        assert_eq!(Some(&secret.public()), g.validators.first());
        let raw = fs::read(home.key_path()).unwrap();
        let sk = secret.secret_bytes();
        let text = String::from_utf8_lossy(&raw).to_lowercase();
        assert!(!text.contains(&hex::encode(sk)));
        assert!(!raw.windows(32).any(|w| w == sk));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(home.key_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = home.secret(None).unwrap_err().to_string();
        assert!(
            e.contains("is sealed; give its passphrase with TABELLA_NODE_PASSPHRASE"),
            "{e}"
        );
        let e = home.secret(Some(&pass("guess"))).unwrap_err().to_string();
        assert!(e.contains("wrong node passphrase for"), "{e}");
    }

    /// The attacker swaps in a file sealed for another purpose under a passphrase they know the
    /// victim uses (say the victim's keystore entry): the associated data refuses it. And a file
    /// downgraded to a cheap key derivation is refused naming the field.
    #[test]
    fn swapped_or_downgraded_key_files_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path().join("n"));
        init_dev(&home, local(), local(), &KeyProtection::Sealed(pass("pw"))).unwrap();
        let other = Sealed::seal(&pass("pw"), b"tabella-keystore/v1/key/x", &[9u8; 32]).unwrap();
        // Well formed, and it opens under its own associated data.
        assert!(other
            .open(&pass("pw"), b"tabella-keystore/v1/key/x")
            .unwrap()
            .is_some());
        fs::write(home.key_path(), other.to_json().unwrap()).unwrap();
        let e = home.secret(Some(&pass("pw"))).unwrap_err().to_string();
        assert!(e.contains("wrong node passphrase"), "{e}");

        let mut j: serde_json::Value = serde_json::from_slice(&other.to_json().unwrap()).unwrap();
        j["kdf"]["m_kib"] = serde_json::json!(8);
        j["kdf"]["t"] = serde_json::json!(1);
        fs::write(home.key_path(), serde_json::to_vec(&j).unwrap()).unwrap();
        let e = home.secret(Some(&pass("pw"))).unwrap_err().to_string();
        assert!(
            e.contains("validator.key: field kdf.m_kib = 8 is below the minimum"),
            "{e}"
        );
    }

    #[test]
    fn insecure_keys_are_explicit_and_legacy_keys_are_sealed_before_use() {
        let d = tempfile::tempdir().unwrap();
        let home = Home::new(d.path().join("n"));
        let g = init_dev(&home, local(), local(), &KeyProtection::InsecurePlaintext).unwrap();
        assert_eq!(home.key_storage().unwrap(), KeyStorage::InsecurePlaintext);
        let public = home.secret(None).unwrap().public();
        assert_eq!(Some(&public), g.validators.first());
        // An older home: the same hex in validator.key.
        fs::rename(home.insecure_key_path(), home.key_path()).unwrap();
        assert_eq!(home.key_storage().unwrap(), KeyStorage::LegacyPlaintext);
        let e = home.secret(Some(&pass("pw"))).unwrap_err().to_string();
        assert!(
            e.contains("unencrypted") && e.contains("TABELLA_NODE_PASSPHRASE"),
            "{e}"
        );
        home.seal_legacy_key(&pass("pw")).unwrap();
        assert_eq!(home.key_storage().unwrap(), KeyStorage::Sealed);
        let s = home.secret(Some(&pass("pw"))).unwrap();
        assert_eq!(s.public(), public);
        let raw = fs::read_to_string(home.key_path()).unwrap();
        assert!(!raw.contains(&hex::encode(s.secret_bytes())));
        assert!(home.seal_legacy_key(&pass("pw")).is_err());
        // Both files at once is ambiguous.
        fs::write(home.insecure_key_path(), "00").unwrap();
        assert!(home.key_storage().unwrap_err().to_string().contains("both"));
    }
}
