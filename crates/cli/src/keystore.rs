//! The keystore: one directory (created 0700) holding every role's keys, one pair of files per
//! entry (0600): `NAME.KIND.json` with the public part in clear, and `NAME.KIND.sealed` with the
//! secret part encrypted under a passphrase.
//!
//! Sealing: Argon2id derives a 32-byte key from the passphrase and a random 16-byte salt; the
//! secret is encrypted with ChaCha20-Poly1305 under a random 12-byte nonce, with the entry's kind
//! and name as associated data (a sealed file renamed to another entry does not open). The Argon2
//! parameters are stored in the file, so a keystore written with the fast test parameters
//! (`TABELLA_KDF_FAST=1`) still opens with the default build.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use zeroize::Zeroizing;

/// Default keystore directory.
pub const DEFAULT_DIR: &str = "./tabella-keys";

/// Argon2id cost: 64 MiB, 3 passes (OWASP-level); `TABELLA_KDF_FAST=1` lowers it to 1 MiB, 1 pass
/// for tests only.
fn kdf_params() -> KdfParams {
    if std::env::var("TABELLA_KDF_FAST").is_ok_and(|v| v == "1") {
        KdfParams {
            m_kib: 1024,
            t: 1,
            p: 1,
            salt: Vec::new(),
        }
    } else {
        KdfParams {
            m_kib: 64 * 1024,
            t: 3,
            p: 1,
            salt: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct KdfParams {
    m_kib: u32,
    t: u32,
    p: u32,
    #[serde(with = "hex::serde")]
    salt: Vec<u8>,
}

/// The on-disk form of a sealed secret.
#[derive(Debug, Serialize, Deserialize)]
struct SealedFile {
    format: String,
    kdf: KdfParams,
    #[serde(with = "hex::serde")]
    nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    ciphertext: Vec<u8>,
}

const FORMAT: &str = "tabella-keystore/v1 argon2id chacha20poly1305";

/// A passphrase, zeroized on drop and never printed.
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// Wraps a passphrase (trailing newline removed).
    pub fn new(s: String) -> anyhow::Result<Self> {
        let s = Zeroizing::new(s);
        let trimmed = Zeroizing::new(s.trim_end_matches(['\n', '\r']).to_string());
        if trimmed.is_empty() {
            bail!("the keystore passphrase is empty; choose a non-empty one");
        }
        Ok(Passphrase(trimmed))
    }

    /// From `--passphrase-file`, else `TABELLA_PASSPHRASE`.
    pub fn from_sources(file: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(f) = file {
            let s = fs::read_to_string(f)
                .with_context(|| format!("cannot read the passphrase file {}", f.display()))?;
            return Passphrase::new(s);
        }
        match std::env::var("TABELLA_PASSPHRASE") {
            Ok(s) => Passphrase::new(s),
            Err(_) => bail!(
                "no keystore passphrase: set TABELLA_PASSPHRASE or pass --passphrase-file FILE"
            ),
        }
    }
}

fn derive_key(pass: &Passphrase, kdf: &KdfParams) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let params = Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32))
        .map_err(|e| anyhow!("bad key-derivation parameters in the keystore: {e}"))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(pass.0.as_bytes(), &kdf.salt, key.as_mut())
        .map_err(|e| anyhow!("key derivation failed: {e}"))?;
    Ok(key)
}

fn aad(kind: &str, name: &str) -> Vec<u8> {
    format!("tabella-keystore/v1/{kind}/{name}").into_bytes()
}

/// Encrypts `plain` for entry `kind`/`name`.
fn seal(pass: &Passphrase, kind: &str, name: &str, plain: &[u8]) -> anyhow::Result<SealedFile> {
    let mut kdf = kdf_params();
    kdf.salt = vec![0u8; 16];
    OsRng.fill_bytes(&mut kdf.salt);
    let key = derive_key(pass, &kdf)?;
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
    let ciphertext = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain,
                aad: &aad(kind, name),
            },
        )
        .map_err(|_| anyhow!("encryption failed"))?;
    Ok(SealedFile {
        format: FORMAT.into(),
        kdf,
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// A keystore directory.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

/// The part of an entry kept in clear.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicEntry<P> {
    /// Entry name.
    pub name: String,
    /// Entry kind (`key`, `share`, `wallet`, ...).
    pub kind: String,
    /// The public data.
    pub public: P,
}

impl Keystore {
    /// Opens (creating it 0700 if missing) the keystore at `dir`.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        if !dir.exists() {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the keystore {}", dir.display()))?;
            set_mode(dir, 0o700)?;
        } else if !dir.is_dir() {
            bail!(
                "the keystore {} is not a directory; pass --keystore DIR",
                dir.display()
            );
        }
        Ok(Keystore {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str, kind: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{name}.{kind}.{ext}"))
    }

    /// Whether entry `name` of `kind` exists.
    pub fn exists(&self, name: &str, kind: &str) -> bool {
        self.path(name, kind, "json").exists()
    }

    /// Writes an entry: public part in clear, secret part sealed. Refuses to overwrite unless
    /// `replace`.
    pub fn put<P: Serialize, S: Serialize>(
        &self,
        name: &str,
        kind: &str,
        public: &P,
        secret: &S,
        pass: &Passphrase,
        replace: bool,
    ) -> anyhow::Result<()> {
        check_name(name)?;
        if !replace && self.exists(name, kind) {
            bail!(
                "{kind} '{name}' already exists in {}; pick another name",
                self.dir.display()
            );
        }
        let plain = Zeroizing::new(serde_json::to_vec(secret)?);
        let sealed = seal(pass, kind, name, &plain)?;
        write_private(
            &self.path(name, kind, "sealed"),
            &serde_json::to_vec_pretty(&sealed)?,
        )?;
        let entry = PublicEntry {
            name: name.to_string(),
            kind: kind.to_string(),
            public,
        };
        write_private(
            &self.path(name, kind, "json"),
            &serde_json::to_vec_pretty(&entry)?,
        )?;
        Ok(())
    }

    /// Reads an entry's public part.
    pub fn public<P: DeserializeOwned>(&self, name: &str, kind: &str) -> anyhow::Result<P> {
        let p = self.path(name, kind, "json");
        let bytes = fs::read(&p).map_err(|_| self.missing(name, kind))?;
        let e: PublicEntry<P> = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is malformed", p.display()))?;
        Ok(e.public)
    }

    fn missing(&self, name: &str, kind: &str) -> anyhow::Error {
        match kind {
            "key" => anyhow!(
                "no key '{name}' in {}; create it with `tabella keys new --role ROLE --name {name}` (or pass --keystore DIR)",
                self.dir.display()
            ),
            "wallet" => anyhow!(
                "no wallet '{name}' in {}; start with `tabella voter register --wallet {name} ...`",
                self.dir.display()
            ),
            _ => anyhow!("no {kind} '{name}' in {}", self.dir.display()),
        }
    }

    /// Opens an entry's secret part.
    pub fn secret<S: DeserializeOwned>(
        &self,
        name: &str,
        kind: &str,
        pass: &Passphrase,
    ) -> anyhow::Result<S> {
        let p = self.path(name, kind, "sealed");
        let bytes = fs::read(&p).map_err(|_| self.missing(name, kind))?;
        let wrong = || {
            anyhow!(
                "wrong passphrase for {kind} '{name}' in {} (or the file is corrupted)",
                self.dir.display()
            )
        };
        let sealed: SealedFile = serde_json::from_slice(&bytes).map_err(|_| wrong())?;
        if sealed.format != FORMAT || sealed.nonce.len() != 12 {
            return Err(wrong());
        }
        let key = derive_key(pass, &sealed.kdf)?;
        let cipher = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()));
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    Nonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad: &aad(kind, name),
                    },
                )
                .map_err(|_| wrong())?,
        );
        serde_json::from_slice(&plain).map_err(|_| wrong())
    }

    /// Every entry of `kind`: (name, public JSON).
    pub fn list(&self, kind: &str) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
        let mut out = Vec::new();
        let suffix = format!(".{kind}.json");
        let rd = fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read the keystore {}", self.dir.display()))?;
        for e in rd {
            let e = e?;
            let file = e.file_name().to_string_lossy().to_string();
            if let Some(name) = file.strip_suffix(&suffix) {
                let v: PublicEntry<serde_json::Value> =
                    serde_json::from_slice(&fs::read(e.path())?)
                        .with_context(|| format!("{} is malformed", e.path().display()))?;
                out.push((name.to_string(), v.public));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        bail!("name {name:?} must be 1-64 characters of letters, digits, '-' and '_'");
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(p: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set permissions on {}", p.display()))
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) -> anyhow::Result<()> {
    Ok(())
}

/// Writes a file readable by its owner only (0600), atomically (temporary name, then rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    set_mode(&tmp, 0o600)?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s.into()).unwrap()
    }

    #[test]
    fn round_trip_wrong_passphrase_and_moved_file() {
        std::env::set_var("TABELLA_KDF_FAST", "1");
        let d = tempfile::tempdir().unwrap();
        let ks = Keystore::open(&d.path().join("ks")).unwrap();
        ks.put("alice", "key", &"pub", &vec![1u8, 2, 3], &pass("pw"), false)
            .unwrap();
        let s: Vec<u8> = ks.secret("alice", "key", &pass("pw")).unwrap();
        assert_eq!(s, vec![1, 2, 3]);
        let p: String = ks.public("alice", "key").unwrap();
        assert_eq!(p, "pub");
        let e = ks
            .secret::<Vec<u8>>("alice", "key", &pass("nope"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong passphrase for key 'alice'"), "{e}");
        // The secret never appears in clear on disk.
        let raw = fs::read_to_string(d.path().join("ks/alice.key.sealed")).unwrap();
        assert!(!raw.contains("[1,2,3]"));
        // A sealed file copied under another name does not open (associated data).
        fs::copy(
            d.path().join("ks/alice.key.sealed"),
            d.path().join("ks/bob.key.sealed"),
        )
        .unwrap();
        assert!(ks.secret::<Vec<u8>>("bob", "key", &pass("pw")).is_err());
        // No overwrite.
        assert!(ks
            .put("alice", "key", &"pub", &1u8, &pass("pw"), false)
            .is_err());
        let missing = ks
            .secret::<u8>("carol", "key", &pass("pw"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("no key 'carol'"), "{missing}");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_private() {
        use std::os::unix::fs::PermissionsExt;
        std::env::set_var("TABELLA_KDF_FAST", "1");
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("ks");
        let ks = Keystore::open(&dir).unwrap();
        ks.put("a", "key", &0u8, &0u8, &pass("pw"), false).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("a.key.sealed")), 0o600);
        assert_eq!(mode(&dir.join("a.key.json")), 0o600);
    }

    #[test]
    fn empty_passphrase_and_bad_names_are_refused() {
        assert!(Passphrase::new("\n".into()).is_err());
        assert!(check_name("../x").is_err());
        assert!(check_name("council-1").is_ok());
    }
}
