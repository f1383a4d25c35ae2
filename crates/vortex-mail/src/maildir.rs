//! A Maildir (D. J. Bernstein's format, as Postfix's virtual(8) and Dovecot write it): a mail is
//! written to `tmp/`, synced, then renamed into `new/`, so a reader never sees half a mail and
//! a crash loses nothing that was acknowledged. A reader moves what it has handled to `cur/`
//! with the `S` (seen) flag.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A Maildir on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maildir {
    root: PathBuf,
}

impl Maildir {
    /// Opens `root`, creating `tmp/`, `new/` and `cur/` if missing.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(root.join(sub)).map_err(|e| {
                Error::Transport(format!("cannot create {}: {e}", root.join(sub).display()))
            })?;
        }
        Ok(Maildir { root })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stores `mail` in `new/`; returns its file name.
    pub fn deliver(&self, mail: &[u8]) -> Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|e| Error::Transport(e.to_string()))?;
        let name = format!(
            "{}.M{}P{}Q{}.tabella",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let tmp = self.root.join("tmp").join(&name);
        let mut f = fs::File::create(&tmp)?;
        f.write_all(mail)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, self.root.join("new").join(&name))?;
        Ok(name)
    }

    /// The names of the mails in `new/`, oldest first (by name, which starts with the time).
    pub fn list_new(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(self.root.join("new"))?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| !n.starts_with('.'))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The bytes of mail `name` in `new/`.
    pub fn read_new(&self, name: &str) -> Result<Vec<u8>> {
        check_name(name)?;
        Ok(fs::read(self.root.join("new").join(name))?)
    }

    /// Moves mail `name` from `new/` to `cur/`, flagged seen.
    pub fn mark_seen(&self, name: &str) -> Result<()> {
        check_name(name)?;
        fs::rename(
            self.root.join("new").join(name),
            self.root.join("cur").join(format!("{name}:2,S")),
        )?;
        Ok(())
    }

    /// Every mail file in `new/` and `cur/`.
    pub fn all_files(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            for e in fs::read_dir(self.root.join(sub))? {
                let p = e?.path();
                if p.is_file() {
                    out.push(p);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Error::BadParameters(format!("maildir name {name:?}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_list_seen() {
        let dir = std::env::temp_dir().join(format!("tabella-maildir-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let md = Maildir::open(&dir).unwrap();
        let a = md.deliver(b"one").unwrap();
        let b = md.deliver(b"two").unwrap();
        assert_eq!(md.list_new().unwrap(), vec![a.clone(), b.clone()]);
        assert_eq!(md.read_new(&a).unwrap(), b"one");
        md.mark_seen(&a).unwrap();
        assert_eq!(md.list_new().unwrap(), vec![b]);
        assert_eq!(md.all_files().unwrap().len(), 2);
        assert!(md.read_new("../x").is_err());
        assert!(fs::read_dir(dir.join("tmp")).unwrap().next().is_none());
        fs::remove_dir_all(&dir).unwrap();
    }
}
