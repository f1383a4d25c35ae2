//! The keystore: one directory (created 0700) holding every role's keys, one pair of files per
//! entry (0600): `NAME.KIND.json` with the public part in clear, and `NAME.KIND.sealed` with the
//! secret part encrypted under a passphrase.
//!
//! Sealing is [`tabella_node::seal`] (shared with the node's validator key): Argon2id derives a
//! 32-byte key from the passphrase and a random 16-byte salt; the secret is encrypted with
//! ChaCha20-Poly1305 under a random 12-byte nonce, with the entry's kind and name as associated
//! data (a sealed file renamed to another entry does not open). The Argon2 parameters are stored
//! in the file and bounded when read: a file downgraded below the floor (OWASP's 19 MiB, 2
//! passes) or with absurd costs is refused, naming the file and the field. The fast test cost
//! (`TABELLA_KDF_FAST=1`) is honoured by debug builds only, with a warning; release builds ignore
//! it (with a warning) and refuse files sealed with it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
pub use tabella_node::seal::Passphrase;
use tabella_node::seal::Sealed;
use zeroize::Zeroizing;

/// Default keystore directory.
pub const DEFAULT_DIR: &str = "./tabella-keys";

/// The environment variable holding the keystore passphrase.
pub const PASSPHRASE_ENV: &str = "TABELLA_PASSPHRASE";

/// The keystore passphrase: from `--passphrase-file` (owner-only), else `TABELLA_PASSPHRASE`.
pub fn passphrase(file: Option<&Path>) -> anyhow::Result<Passphrase> {
    Passphrase::from_sources(file, PASSPHRASE_ENV)?.ok_or_else(|| {
        anyhow!("no keystore passphrase: set {PASSPHRASE_ENV} or pass --passphrase-file FILE")
    })
}

fn aad(kind: &str, name: &str) -> Vec<u8> {
    format!("tabella-keystore/v1/{kind}/{name}").into_bytes()
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

    /// Whether entry `name` of `kind` has its sealed secret part.
    pub fn has_secret(&self, name: &str, kind: &str) -> bool {
        self.path(name, kind, "sealed").is_file()
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
        let sealed = Sealed::seal(pass, &aad(kind, name), &plain)?;
        write_private(&self.path(name, kind, "sealed"), &sealed.to_json()?)?;
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
        if !p.is_file() {
            return Err(self.missing(name, kind));
        }
        let wrong = || {
            anyhow!(
                "wrong passphrase for {kind} '{name}' in {} (or the file is corrupted)",
                self.dir.display()
            )
        };
        // Format and key-derivation bounds first (errors name the file and the field).
        let sealed = Sealed::read(&p)?;
        let plain = sealed.open(pass, &aad(kind, name))?.ok_or_else(wrong)?;
        serde_json::from_slice(&plain).map_err(|_| wrong())
    }

    /// Deletes entry `name` of `kind` (both parts; nothing to do if it does not exist). The sealed
    /// file is overwritten with zeros before it is unlinked; on copy-on-write or flash storage
    /// old blocks may survive, and they stay sealed under the passphrase.
    pub fn remove(&self, name: &str, kind: &str) -> anyhow::Result<()> {
        check_name(name)?;
        let sealed = self.path(name, kind, "sealed");
        if let Ok(meta) = fs::metadata(&sealed) {
            let zeros = vec![0u8; usize::try_from(meta.len()).unwrap_or(0)];
            fs::write(&sealed, &zeros)
                .and_then(|()| fs::File::open(&sealed)?.sync_all())
                .with_context(|| format!("cannot overwrite {}", sealed.display()))?;
            fs::remove_file(&sealed)
                .with_context(|| format!("cannot delete {}", sealed.display()))?;
        }
        let public = self.path(name, kind, "json");
        if public.exists() {
            fs::remove_file(&public)
                .with_context(|| format!("cannot delete {}", public.display()))?;
        }
        Ok(())
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

/// Writes a file readable by its owner only (0600), atomically and durably
/// ([`tabella_node::durable::write_atomic`]).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    tabella_node::durable::write_atomic(path, bytes, true)
        .with_context(|| format!("cannot write {}", path.display()))
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

    fn tamper(path: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut j: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        edit(&mut j);
        fs::write(path, serde_json::to_vec(&j).unwrap()).unwrap();
    }

    /// The attacker rewrites a sealed entry with a cheap key derivation (8 KiB, 1 pass: a
    /// downgrade that makes guessing cheap) or with absurd costs (64 GiB, 2^32 passes: a denial
    /// of service); each is refused before any derivation, naming the file and the field.
    #[test]
    fn downgraded_or_absurd_kdf_parameters_are_refused() {
        std::env::set_var("TABELLA_KDF_FAST", "1");
        let d = tempfile::tempdir().unwrap();
        let ks = Keystore::open(&d.path().join("ks")).unwrap();
        ks.put("alice", "key", &"pub", &vec![1u8], &pass("pw"), false)
            .unwrap();
        let f = d.path().join("ks/alice.key.sealed");
        let honest = fs::read(&f).unwrap();
        // Written with the fast test cost in this debug build, and it opens here.
        assert!(String::from_utf8_lossy(&honest).contains("\"m_kib\": 1024"));
        assert!(ks.secret::<Vec<u8>>("alice", "key", &pass("pw")).is_ok());
        for (field, value, needle) in [
            (
                "m_kib",
                serde_json::json!(8),
                "field kdf.m_kib = 8 is below the minimum",
            ),
            (
                "t",
                serde_json::json!(0),
                "field kdf.t = 0 is below the minimum 1",
            ),
            (
                "m_kib",
                serde_json::json!(64u64 << 20),
                "field kdf.m_kib = 67108864 exceeds the maximum",
            ),
            (
                "t",
                serde_json::json!(1u64 << 32),
                "field kdf.t = 4294967296 exceeds the maximum",
            ),
        ] {
            fs::write(&f, &honest).unwrap();
            tamper(&f, |j| j["kdf"][field] = value);
            let e = ks
                .secret::<Vec<u8>>("alice", "key", &pass("pw"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("{}: {needle}", f.display())), "{e}");
        }
    }

    /// Two entries sealed under the same passphrase: the attacker moves one entry's sealed blob
    /// (or just its ciphertext and nonce) into the other's file. The blob is valid under its own
    /// name, but the entry's kind and name are the associated data, so it is refused.
    #[test]
    fn swapped_ciphertexts_between_entries_are_refused() {
        std::env::set_var("TABELLA_KDF_FAST", "1");
        let d = tempfile::tempdir().unwrap();
        let ks = Keystore::open(&d.path().join("ks")).unwrap();
        let pw = pass("pw");
        ks.put("alice", "key", &"a", &vec![1u8], &pw, false)
            .unwrap();
        ks.put("bob", "key", &"b", &vec![2u8], &pw, false).unwrap();
        ks.put("alice", "wallet", &"w", &vec![3u8], &pw, false)
            .unwrap();
        let dir = d.path().join("ks");
        let alice: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join("alice.key.sealed")).unwrap()).unwrap();
        // Whole file moved: the other name.
        fs::copy(dir.join("alice.key.sealed"), dir.join("bob.key.sealed")).unwrap();
        let e = ks
            .secret::<Vec<u8>>("bob", "key", &pw)
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong passphrase for key 'bob'"), "{e}");
        // The same blob still opens where it belongs (the refusal is not vacuous).
        assert_eq!(ks.secret::<Vec<u8>>("alice", "key", &pw).unwrap(), vec![1]);
        // Whole file moved: the other kind, same name.
        fs::copy(
            dir.join("alice.key.sealed"),
            dir.join("alice.wallet.sealed"),
        )
        .unwrap();
        assert!(ks.secret::<Vec<u8>>("alice", "wallet", &pw).is_err());
        // Only the ciphertext (with its nonce and salt) spliced into bob's own file.
        ks.put("bob", "key", &"b", &vec![2u8], &pw, true).unwrap();
        tamper(&dir.join("bob.key.sealed"), |j| {
            j["ciphertext"] = alice["ciphertext"].clone();
            j["nonce"] = alice["nonce"].clone();
            j["kdf"] = alice["kdf"].clone();
        });
        let e = ks
            .secret::<Vec<u8>>("bob", "key", &pw)
            .unwrap_err()
            .to_string();
        assert!(e.contains("wrong passphrase for key 'bob'"), "{e}");
    }

    #[test]
    fn empty_passphrase_and_bad_names_are_refused() {
        assert!(Passphrase::new("\n".into()).is_err());
        assert!(check_name("../x").is_err());
        assert!(check_name("council-1").is_ok());
    }
}
