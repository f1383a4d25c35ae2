//! Secrets sealed under a passphrase — the one sealing primitive of Tabella, used by the node for
//! its validator key (`validator.key`) and by the `tabella` keystore for every role's keys.
//!
//! Construction: Argon2id (RFC 9106, version 0x13) derives a 32-byte key from the passphrase and a
//! random 16-byte salt; the secret is encrypted with ChaCha20-Poly1305 (RFC 8439) under a random
//! 12-byte nonce, with caller-chosen associated data naming what the secret is (a sealed file
//! moved to another entry does not open). The Argon2 parameters are stored in the file next to
//! the salt, so a file stays readable if the default cost changes.
//!
//! Parameters read from a file are bounded before anything is derived ([`KdfBounds`]): a file
//! whose cost is below the floor is refused (a downgraded file makes offline guessing of the
//! passphrase cheap), and one whose cost is absurd is refused before any memory is allocated (a
//! denial of service). The floor is OWASP's minimum for Argon2id (19 MiB, 2 passes; Password
//! Storage Cheat Sheet); the standard cost written is RFC 9106 §4's second recommended option
//! (64 MiB, 3 passes, 1 lane).
//!
//! Tests may seal with a tiny cost (`TABELLA_KDF_FAST=1`, 1 MiB and 1 pass) — but only in a debug
//! build ([`kdf_choice`]): a release build ignores the variable with a warning, and refuses to
//! open files sealed that way.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Once;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Error, KeyError};

/// The format tag written in every sealed file.
pub const FORMAT: &str = "tabella-keystore/v1 argon2id chacha20poly1305";
/// The environment variable that asks for the fast test cost (debug builds only).
pub const KDF_FAST_ENV: &str = "TABELLA_KDF_FAST";
/// Largest sealed file read (keys are a few KiB).
pub const MAX_FILE_BYTES: u64 = 4 << 20;
/// Largest passphrase file read.
const MAX_PASSPHRASE_BYTES: u64 = 64 << 10;

/// Argon2id cost as stored in a sealed file. The numbers are read as `u64` so that an
/// out-of-range value gets an error naming its field rather than a parse error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory, KiB.
    pub m_kib: u64,
    /// Passes.
    pub t: u64,
    /// Lanes.
    pub p: u64,
    /// Salt.
    #[serde(with = "hex::serde")]
    pub salt: Vec<u8>,
}

impl KdfParams {
    /// The standard cost (RFC 9106 §4, second recommended option): 64 MiB, 3 passes, 1 lane.
    pub const STANDARD: (u64, u64, u64) = (64 * 1024, 3, 1);
    /// The test cost (`TABELLA_KDF_FAST=1` in a debug build): 1 MiB, 1 pass, 1 lane.
    pub const FAST: (u64, u64, u64) = (1024, 1, 1);

    fn with_cost((m_kib, t, p): (u64, u64, u64)) -> Self {
        let mut salt = vec![0u8; 16];
        OsRng.fill_bytes(&mut salt);
        KdfParams { m_kib, t, p, salt }
    }
}

/// How the running binary was built; decides whether the fast test cost is honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildMode {
    /// `cfg(debug_assertions)`: what `cargo test` builds.
    Debug,
    /// An optimized build without debug assertions: what users run.
    Release,
}

impl BuildMode {
    /// The mode of this binary.
    pub fn current() -> Self {
        if cfg!(debug_assertions) {
            BuildMode::Debug
        } else {
            BuildMode::Release
        }
    }
}

/// The cost chosen for a new secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KdfChoice {
    /// The standard cost.
    Standard,
    /// The fast test cost, honoured (debug build, variable set): a warning is printed.
    FastForTests,
    /// The variable was set in a release build: ignored with a warning, the standard cost used.
    FastIgnoredInRelease,
}

impl KdfChoice {
    /// The warning to print, if any.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            KdfChoice::Standard => None,
            KdfChoice::FastForTests => Some(
                "warning: TABELLA_KDF_FAST=1: sealing secrets with a WEAK key derivation (Argon2id 1 MiB, 1 pass) for tests; never use such keys for real",
            ),
            KdfChoice::FastIgnoredInRelease => Some(
                "warning: TABELLA_KDF_FAST=1 is ignored in a release build; secrets are sealed with the standard cost (Argon2id 64 MiB, 3 passes)",
            ),
        }
    }

    fn cost(self) -> (u64, u64, u64) {
        match self {
            KdfChoice::FastForTests => KdfParams::FAST,
            KdfChoice::Standard | KdfChoice::FastIgnoredInRelease => KdfParams::STANDARD,
        }
    }
}

/// Whether `TABELLA_KDF_FAST` is honoured: only when it is requested in a debug build.
pub fn kdf_choice(fast_requested: bool, mode: BuildMode) -> KdfChoice {
    match (fast_requested, mode) {
        (false, _) => KdfChoice::Standard,
        (true, BuildMode::Debug) => KdfChoice::FastForTests,
        (true, BuildMode::Release) => KdfChoice::FastIgnoredInRelease,
    }
}

fn fast_requested() -> bool {
    std::env::var(KDF_FAST_ENV).is_ok_and(|v| v == "1")
}

/// The cost for a new secret in this process, printing the warning (once per process) when the
/// test variable is set.
fn kdf_for_new_secret() -> KdfParams {
    static WARNED: Once = Once::new();
    let choice = kdf_choice(fast_requested(), BuildMode::current());
    if let Some(w) = choice.warning() {
        WARNED.call_once(|| eprintln!("{w}"));
    }
    KdfParams::with_cost(choice.cost())
}

/// Bounds on the parameters read from a sealed file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfBounds {
    /// Least memory, KiB.
    pub min_m_kib: u64,
    /// Most memory, KiB.
    pub max_m_kib: u64,
    /// Fewest passes.
    pub min_t: u64,
    /// Most passes.
    pub max_t: u64,
    /// Most lanes (at least 1).
    pub max_p: u64,
}

impl KdfBounds {
    /// The bounds of a build: the floor is OWASP's Argon2id minimum (19 MiB, 2 passes) in a
    /// release build and the test cost (1 MiB, 1 pass) in a debug build; the ceiling is 1 GiB,
    /// 16 passes, 16 lanes in both.
    pub fn for_build(mode: BuildMode) -> Self {
        let (min_m_kib, min_t) = match mode {
            BuildMode::Release => (19 * 1024, 2),
            BuildMode::Debug => (KdfParams::FAST.0, KdfParams::FAST.1),
        };
        KdfBounds {
            min_m_kib,
            max_m_kib: 1024 * 1024,
            min_t,
            max_t: 16,
            max_p: 16,
        }
    }

    /// Checks `kdf` (read from `file`), naming the offending field.
    pub fn check(&self, kdf: &KdfParams, file: &str) -> Result<(), Error> {
        let low = |field: &'static str, value: u64, min: u64| -> Error {
            KeyError::KdfTooWeak {
                file: file.to_string(),
                field,
                value,
                min,
            }
            .into()
        };
        let high = |field: &'static str, value: u64, max: u64| -> Error {
            KeyError::KdfTooCostly {
                file: file.to_string(),
                field,
                value,
                max,
            }
            .into()
        };
        if kdf.m_kib < self.min_m_kib {
            return Err(low("m_kib", kdf.m_kib, self.min_m_kib));
        }
        if kdf.m_kib > self.max_m_kib {
            return Err(high("m_kib", kdf.m_kib, self.max_m_kib));
        }
        if kdf.t < self.min_t {
            return Err(low("t", kdf.t, self.min_t));
        }
        if kdf.t > self.max_t {
            return Err(high("t", kdf.t, self.max_t));
        }
        if kdf.p < 1 {
            return Err(low("p", kdf.p, 1));
        }
        if kdf.p > self.max_p {
            return Err(high("p", kdf.p, self.max_p));
        }
        if kdf.m_kib < 8 * kdf.p {
            return Err(low("m_kib", kdf.m_kib, 8 * kdf.p));
        }
        if kdf.salt.len() < 16 {
            return Err(bad_field(
                file,
                "kdf.salt",
                format!(
                    "is {} bytes, fewer than 16; the file is refused (was it altered?)",
                    kdf.salt.len()
                ),
            ));
        }
        if kdf.salt.len() > 64 {
            return Err(bad_field(
                file,
                "kdf.salt",
                format!(
                    "is {} bytes, more than 64; the file is refused (was it altered?)",
                    kdf.salt.len()
                ),
            ));
        }
        Ok(())
    }
}

/// A passphrase, zeroized on drop and never printed.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

impl Passphrase {
    /// Wraps a passphrase (a trailing newline removed); an empty one is refused.
    pub fn new(s: String) -> Result<Self, Error> {
        let s = Zeroizing::new(s);
        let trimmed = Zeroizing::new(s.trim_end_matches(['\n', '\r']).to_string());
        if trimmed.is_empty() {
            return Err(KeyError::EmptyPassphrase.into());
        }
        Ok(Passphrase(trimmed))
    }

    /// Reads a passphrase file, which must be readable by its owner only (mode 0600 or 0400).
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let unreadable = |source| KeyError::PassphraseFile {
            path: path.to_path_buf(),
            source,
        };
        let f = fs::File::open(path).map_err(unreadable)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = f.metadata().map_err(unreadable)?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(KeyError::SharedPassphraseFile {
                    path: path.to_path_buf(),
                    mode: mode & 0o777,
                }
                .into());
            }
        }
        let mut s = Zeroizing::new(String::new());
        f.take(MAX_PASSPHRASE_BYTES)
            .read_to_string(&mut s)
            .map_err(unreadable)?;
        Passphrase::new(std::mem::take(&mut *s))
    }

    /// From `file` if given, else from the environment variable `var`; `None` if neither.
    pub fn from_sources(file: Option<&Path>, var: &str) -> Result<Option<Self>, Error> {
        if let Some(f) = file {
            return Passphrase::from_file(f).map(Some);
        }
        match std::env::var(var) {
            Ok(s) => Passphrase::new(s).map(Some),
            Err(_) => Ok(None),
        }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A sealed secret as written on disk (JSON).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sealed {
    format: String,
    kdf: KdfParams,
    #[serde(with = "hex::serde")]
    nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    ciphertext: Vec<u8>,
}

fn bad_field(file: &str, field: &'static str, problem: String) -> Error {
    KeyError::BadField {
        file: file.to_string(),
        field,
        problem,
    }
    .into()
}

fn derive_key(pass: &Passphrase, kdf: &KdfParams) -> Result<Zeroizing<[u8; 32]>, Error> {
    let u = |v: u64, field: &str| {
        u32::try_from(v).map_err(|_| KeyError::Kdf(format!("kdf.{field} = {v} is out of range")))
    };
    let params = Params::new(
        u(kdf.m_kib, "m_kib")?,
        u(kdf.t, "t")?,
        u(kdf.p, "p")?,
        Some(32),
    )
    .map_err(|e| KeyError::Kdf(format!("bad parameters: {e}")))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(pass.bytes(), &kdf.salt, key.as_mut())
        .map_err(|e| KeyError::Kdf(e.to_string()))?;
    Ok(key)
}

impl Sealed {
    /// Seals `plain` under `pass` with associated data `aad`, at the standard cost (or the test
    /// cost, see [`kdf_choice`]).
    pub fn seal(pass: &Passphrase, aad: &[u8], plain: &[u8]) -> Result<Self, Error> {
        Self::seal_with(kdf_for_new_secret(), pass, aad, plain)
    }

    fn seal_with(
        kdf: KdfParams,
        pass: &Passphrase,
        aad: &[u8],
        plain: &[u8],
    ) -> Result<Self, Error> {
        let key = derive_key(pass, &kdf)?;
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let ciphertext = ChaCha20Poly1305::new(Key::from_slice(key.as_ref()))
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| KeyError::Encrypt)?;
        Ok(Sealed {
            format: FORMAT.into(),
            kdf,
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    /// The JSON written to disk.
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut v = serde_json::to_vec_pretty(self)?;
        v.push(b'\n');
        Ok(v)
    }

    /// Parses a sealed file's bytes (`file` names it in errors) and checks its format and
    /// parameters against this build's [`KdfBounds`].
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, Error> {
        Self::parse_with(bytes, file, &KdfBounds::for_build(BuildMode::current()))
    }

    /// [`Sealed::parse`] with explicit bounds.
    pub fn parse_with(bytes: &[u8], file: &str, bounds: &KdfBounds) -> Result<Self, Error> {
        let s: Sealed = serde_json::from_slice(bytes).map_err(|e| KeyError::NotSealed {
            file: file.to_string(),
            reason: e.to_string(),
        })?;
        if s.format != FORMAT {
            return Err(bad_field(
                file,
                "format",
                format!("is {:?}, expected {FORMAT:?}", s.format),
            ));
        }
        bounds.check(&s.kdf, file)?;
        if s.nonce.len() != 12 {
            return Err(bad_field(
                file,
                "nonce",
                format!("is {} bytes, expected 12", s.nonce.len()),
            ));
        }
        if s.ciphertext.len() < 16 {
            return Err(bad_field(
                file,
                "ciphertext",
                format!(
                    "is {} bytes, shorter than its 16-byte tag",
                    s.ciphertext.len()
                ),
            ));
        }
        Ok(s)
    }

    /// Reads and parses a sealed file (at most [`MAX_FILE_BYTES`]).
    pub fn read(path: &Path) -> Result<Self, Error> {
        let unreadable = |source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        };
        let f = fs::File::open(path).map_err(unreadable)?;
        let mut bytes = Vec::new();
        f.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(KeyError::TooLarge {
                path: path.to_path_buf(),
                max: MAX_FILE_BYTES,
            }
            .into());
        }
        Self::parse(&bytes, &path.display().to_string())
    }

    /// The key-derivation parameters.
    pub fn kdf(&self) -> &KdfParams {
        &self.kdf
    }

    /// Opens the secret. `Ok(None)` when authentication fails: a wrong passphrase, or a file
    /// altered or moved to another entry (other `aad`).
    pub fn open(&self, pass: &Passphrase, aad: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        let key = derive_key(pass, &self.kdf)?;
        let plain = ChaCha20Poly1305::new(Key::from_slice(key.as_ref())).decrypt(
            Nonce::from_slice(&self.nonce),
            Payload {
                msg: &self.ciphertext,
                aad,
            },
        );
        Ok(plain.ok().map(Zeroizing::new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(s: &str) -> Passphrase {
        Passphrase::new(s.into()).unwrap()
    }

    fn fast() -> KdfParams {
        KdfParams::with_cost(KdfParams::FAST)
    }

    #[test]
    fn round_trip_and_wrong_passphrase_or_aad() {
        let s = Sealed::seal_with(fast(), &pass("pw"), b"a", b"secret").unwrap();
        let back = Sealed::parse(&s.to_json().unwrap(), "f").unwrap();
        assert_eq!(
            back.open(&pass("pw"), b"a").unwrap().unwrap().as_slice(),
            b"secret"
        );
        assert!(back.open(&pass("pw!"), b"a").unwrap().is_none());
        assert!(back.open(&pass("pw"), b"b").unwrap().is_none());
    }

    #[test]
    fn the_fast_cost_is_honoured_only_in_debug_builds() {
        assert_eq!(kdf_choice(false, BuildMode::Release), KdfChoice::Standard);
        assert_eq!(kdf_choice(false, BuildMode::Debug), KdfChoice::Standard);
        assert_eq!(kdf_choice(true, BuildMode::Debug), KdfChoice::FastForTests);
        let rel = kdf_choice(true, BuildMode::Release);
        assert_eq!(rel, KdfChoice::FastIgnoredInRelease);
        // A release build ignores the variable: the standard cost, and it says so.
        assert_eq!(rel.cost(), KdfParams::STANDARD);
        assert!(rel
            .warning()
            .unwrap()
            .contains("ignored in a release build"));
        assert!(KdfChoice::FastForTests.warning().unwrap().contains("WEAK"));
        assert!(KdfChoice::Standard.warning().is_none());
        // The standard cost passes the release bounds; the test cost only the debug ones.
        let std_kdf = KdfParams::with_cost(KdfParams::STANDARD);
        assert!(KdfBounds::for_build(BuildMode::Release)
            .check(&std_kdf, "f")
            .is_ok());
        assert!(KdfBounds::for_build(BuildMode::Debug)
            .check(&fast(), "f")
            .is_ok());
        let e = KdfBounds::for_build(BuildMode::Release)
            .check(&fast(), "f")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kdf.m_kib = 1024 is below the minimum 19456"),
            "{e}"
        );
    }

    /// The attacker rewrites a sealed file with a cheap cost (8 KiB, 1 pass) and re-seals a
    /// secret of their own under it, or writes absurd costs to make the victim's tool allocate
    /// 64 GiB / run 2^32 passes. Each is refused with the field named, before deriving anything.
    #[test]
    fn downgraded_or_absurd_parameters_are_refused() {
        let kdf = KdfParams {
            m_kib: 8,
            t: 1,
            p: 1,
            salt: vec![7; 16],
        };
        // The downgraded file is well formed and would open under the old code (which passed
        // any parameters to Argon2): the attack is real.
        let weak = Sealed::seal_with(kdf, &pass("pw"), b"a", b"x").unwrap();
        assert!(weak.open(&pass("pw"), b"a").unwrap().is_some());
        let json = weak.to_json().unwrap();
        for mode in [BuildMode::Debug, BuildMode::Release] {
            let e = Sealed::parse_with(&json, "ks/a.key.sealed", &KdfBounds::for_build(mode))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("ks/a.key.sealed: field kdf.m_kib = 8 is below the minimum"),
                "{e}"
            );
        }
        let honest = Sealed::seal_with(fast(), &pass("pw"), b"a", b"x").unwrap();
        let tamper = |field: &str, v: serde_json::Value| {
            let mut j: serde_json::Value =
                serde_json::from_slice(&honest.to_json().unwrap()).unwrap();
            j["kdf"][field] = v;
            Sealed::parse(&serde_json::to_vec(&j).unwrap(), "victim.sealed")
                .unwrap_err()
                .to_string()
        };
        let e = tamper("m_kib", serde_json::json!(64u64 << 20));
        assert!(
            e.contains("victim.sealed: field kdf.m_kib = 67108864 exceeds the maximum 1048576"),
            "{e}"
        );
        let e = tamper("t", serde_json::json!(1u64 << 32));
        assert!(
            e.contains("victim.sealed: field kdf.t = 4294967296 exceeds the maximum 16"),
            "{e}"
        );
        let e = tamper("t", serde_json::json!(0));
        assert!(e.contains("field kdf.t = 0 is below the minimum 1"), "{e}");
        let e = tamper("p", serde_json::json!(1u64 << 24));
        assert!(
            e.contains("field kdf.p = 16777216 exceeds the maximum 16"),
            "{e}"
        );
        let e = tamper("p", serde_json::json!(0));
        assert!(e.contains("field kdf.p = 0 is below the minimum 1"), "{e}");
        let e = tamper("salt", serde_json::json!("00"));
        assert!(
            e.contains("field kdf.salt is 1 bytes, fewer than 16"),
            "{e}"
        );
        let e = tamper("salt", serde_json::json!("00".repeat(65)));
        assert!(
            e.contains("field kdf.salt is 65 bytes, more than 64"),
            "{e}"
        );
        // Nonce and format.
        let mut j: serde_json::Value = serde_json::from_slice(&honest.to_json().unwrap()).unwrap();
        j["nonce"] = serde_json::json!("00");
        let e = Sealed::parse(&serde_json::to_vec(&j).unwrap(), "v")
            .unwrap_err()
            .to_string();
        assert!(e.contains("v: field nonce is 1 bytes, expected 12"), "{e}");
        let mut j: serde_json::Value = serde_json::from_slice(&honest.to_json().unwrap()).unwrap();
        j["format"] = serde_json::json!("tabella-keystore/v0 scrypt");
        let e = Sealed::parse(&serde_json::to_vec(&j).unwrap(), "v")
            .unwrap_err()
            .to_string();
        assert!(e.contains("v: field format"), "{e}");
    }

    /// Changing the parameters of an honest file (say to the floor) only makes it unopenable:
    /// the parameters are bound to the derived key, so the tag fails.
    #[test]
    fn parameters_are_bound_to_the_key() {
        let honest =
            Sealed::seal_with(KdfParams::with_cost((2048, 1, 1)), &pass("pw"), b"a", b"x").unwrap();
        let mut j: serde_json::Value = serde_json::from_slice(&honest.to_json().unwrap()).unwrap();
        j["kdf"]["m_kib"] = serde_json::json!(1024);
        let s = Sealed::parse(&serde_json::to_vec(&j).unwrap(), "v").unwrap();
        assert!(s.open(&pass("pw"), b"a").unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn passphrase_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pw");
        fs::write(&f, "hunter2\n").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        let e = Passphrase::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("mode 644") && e.contains("chmod 600"), "{e}");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
        let p = Passphrase::from_file(&f).unwrap();
        assert_eq!(p.bytes(), b"hunter2");
        assert!(Passphrase::new("\n".into()).is_err());
        assert!(
            Passphrase::from_sources(None, "TABELLA_TEST_UNSET_VARIABLE_X")
                .unwrap()
                .is_none()
        );
    }
}
