//! Durable storage of the committed chain in a `redb` database (crash-safe: each commit is
//! one atomic, fsynced write transaction).
//!
//! Only committed facts are stored — blocks with their commit certificates, and forward links.
//! The application state is a deterministic function of the blocks and is rebuilt by replaying
//! them on start ([`crate::node_app::NodeApp::open`]); a node killed at any moment restarts
//! from its last committed block. The consensus engine keeps its own write-ahead log.
//!
//! A write that fails (disk full or failing, a read-only file or filesystem) is
//! [`Error::DiskWrite`], naming the file: the node stops on it rather than run ahead of its
//! disk (see [`Error::is_fatal`]).

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tabella_ledger::block::{Block, Commit, ForwardLink};
use tabella_ledger::types::Height;

use crate::error::Error;

/// Blocks by height: JSON of `(Block, Commit)`.
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
/// Forward links by (source height, level): JSON.
const LINKS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("forward_links");

fn storage(e: impl Into<redb::Error>) -> Error {
    Error::Storage(Box::new(e.into()))
}

/// The system's reason for a failed write: the I/O error itself when there is one.
fn write_reason(e: redb::Error) -> String {
    match e {
        redb::Error::Io(io) => io.to_string(),
        redb::Error::PreviousIo => {
            "an earlier write to it failed, so the database refuses further writes".into()
        }
        other => other.to_string(),
    }
}

/// The node's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    /// Its file (named in write errors); `None` in memory.
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let db = Database::create(path).map_err(|e| Error::DatabaseOpen {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Self::with_tables(db, Some(path.to_path_buf()))
    }

    /// A database held in memory only (for in-process networks in tests: same code path as
    /// the file-backed store, nothing survives the process).
    pub fn in_memory() -> Result<Self, Error> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage)?;
        Self::with_tables(db, None)
    }

    /// A database in memory whose writes fail (as a full disk's would) once `fail` is raised,
    /// named `path` in its errors: for tests of a node whose disk fails.
    #[cfg(any(test, feature = "testing"))]
    pub fn in_memory_failing(
        fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
        path: &Path,
    ) -> Result<Self, Error> {
        let backend = FailingBackend {
            inner: redb::backends::InMemoryBackend::new(),
            fail,
        };
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(storage)?;
        Self::with_tables(db, Some(path.to_path_buf()))
    }

    fn with_tables(db: Database, path: Option<PathBuf>) -> Result<Self, Error> {
        let store = Store { db, path };
        let w = store.db.begin_write().map_err(|e| store.write_failed(e))?;
        {
            w.open_table(BLOCKS).map_err(|e| store.write_failed(e))?;
            w.open_table(LINKS).map_err(|e| store.write_failed(e))?;
        }
        w.commit().map_err(|e| store.write_failed(e))?;
        Ok(store)
    }

    /// A failed write: [`Error::DiskWrite`] naming the database file.
    fn write_failed(&self, e: impl Into<redb::Error>) -> Error {
        Error::DiskWrite {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| PathBuf::from("(the in-memory database)")),
            reason: write_reason(e.into()),
        }
    }

    /// Stores a committed block durably. Heights must follow each other; storing the same
    /// height twice with different content is refused.
    pub fn put_block(&self, block: &Block, commit: &Commit) -> Result<(), Error> {
        let h = block.header.height.0;
        let bytes = serde_json::to_vec(&(block, commit))?;
        let w = self.db.begin_write().map_err(|e| self.write_failed(e))?;
        {
            let mut t = w.open_table(BLOCKS).map_err(|e| self.write_failed(e))?;
            if let Some(old) = t.get(h).map_err(storage)? {
                if old.value() != bytes.as_slice() {
                    return Err(Error::StoredConflict(Height(h)));
                }
            }
            t.insert(h, bytes.as_slice())
                .map_err(|e| self.write_failed(e))?;
        }
        w.commit().map_err(|e| self.write_failed(e))?;
        Ok(())
    }

    /// Stores a forward link.
    pub fn put_forward_link(&self, link: &ForwardLink) -> Result<(), Error> {
        let bytes = serde_json::to_vec(link)?;
        let w = self.db.begin_write().map_err(|e| self.write_failed(e))?;
        {
            let mut t = w.open_table(LINKS).map_err(|e| self.write_failed(e))?;
            t.insert((link.from_height.0, link.level), bytes.as_slice())
                .map_err(|e| self.write_failed(e))?;
        }
        w.commit().map_err(|e| self.write_failed(e))?;
        Ok(())
    }

    /// Every stored block from height 1 on, in order (stops at the first gap).
    pub fn blocks(&self) -> Result<Vec<(Block, Commit)>, Error> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(BLOCKS).map_err(storage)?;
        let mut out = Vec::new();
        for (next, item) in (1u64..).zip(t.range(1u64..).map_err(storage)?) {
            let (k, v) = item.map_err(storage)?;
            if k.value() != next {
                break;
            }
            let bc: (Block, Commit) =
                serde_json::from_slice(v.value()).map_err(|source| Error::StoredCorrupt {
                    what: format!("block {}", k.value()),
                    source,
                })?;
            out.push(bc);
        }
        Ok(out)
    }

    /// Every stored forward link.
    pub fn forward_links(&self) -> Result<Vec<ForwardLink>, Error> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(LINKS).map_err(storage)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(storage)? {
            let (_, v) = item.map_err(storage)?;
            out.push(
                serde_json::from_slice(v.value()).map_err(|source| Error::StoredCorrupt {
                    what: "forward link".into(),
                    source,
                })?,
            );
        }
        Ok(out)
    }

    /// The highest stored height (0 if none).
    pub fn tip(&self) -> Result<Height, Error> {
        let r = self.db.begin_read().map_err(storage)?;
        let t = r.open_table(BLOCKS).map_err(storage)?;
        let last = t.last().map_err(storage)?.map(|(k, _)| k.value());
        Ok(Height(last.unwrap_or(0)))
    }
}

/// An in-memory backend whose writes fail with "No space left on device" once `fail` is raised.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
struct FailingBackend {
    inner: redb::backends::InMemoryBackend,
    fail: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

#[cfg(any(test, feature = "testing"))]
impl FailingBackend {
    fn check(&self) -> std::io::Result<()> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            // ENOSPC on Linux.
            Err(std::io::Error::from_raw_os_error(28))
        } else {
            Ok(())
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl redb::StorageBackend for FailingBackend {
    fn len(&self) -> std::io::Result<u64> {
        redb::StorageBackend::len(&self.inner)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        redb::StorageBackend::read(&self.inner, offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check()?;
        redb::StorageBackend::set_len(&self.inner, len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.check()?;
        redb::StorageBackend::sync_data(&self.inner)
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        redb::StorageBackend::write(&self.inner, offset, data)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use tabella_ledger::block::SkipchainParams;
    use tabella_ledger::chain::Chain;
    use tabella_ledger::roster::{Roster, ValidatorSecret};

    use super::*;

    /// A block (genesis, relabelled) and a certificate for it: the store does not check them.
    fn block_at(h: u64) -> (Block, Commit) {
        let secret = ValidatorSecret::from_bytes(&[7; 32]);
        let roster = Roster::new(vec![secret.public()]).unwrap();
        let chain = Chain::genesis(SkipchainParams::default(), roster).unwrap();
        let mut block = chain.block(Height(0)).unwrap().clone();
        block.header.height = Height(h);
        let commit = Commit {
            height: Height(h),
            round: 0,
            block: block.header.hash(),
            signatures: vec![],
            verdicts: vec![],
        };
        (block, commit)
    }

    #[test]
    fn a_failed_write_is_fatal_names_the_file_and_keeps_what_was_stored() {
        let fail = Arc::new(AtomicBool::new(false));
        let path = Path::new("/var/lib/tabella/data/ledger.redb");
        let store = Store::in_memory_failing(fail.clone(), path).unwrap();
        let (b1, c1) = block_at(1);
        store.put_block(&b1, &c1).unwrap();
        fail.store(true, Ordering::SeqCst);
        let (b2, c2) = block_at(2);
        let e = store.put_block(&b2, &c2).unwrap_err();
        assert!(e.is_fatal(), "{e}");
        let msg = e.to_string();
        assert!(
            msg.starts_with("cannot write /var/lib/tabella/data/ledger.redb: "),
            "{msg}"
        );
        assert!(msg.contains("os error 28"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
        // Whatever was stored before the failure is still there; nothing half-written is.
        let blocks = store.blocks().unwrap();
        assert_eq!(blocks, vec![(b1, c1)]);
        assert_eq!(store.tip().unwrap(), Height(1));
    }

    #[test]
    fn a_conflicting_block_is_not_a_disk_failure() {
        let store = Store::in_memory().unwrap();
        let (b1, c1) = block_at(1);
        store.put_block(&b1, &c1).unwrap();
        let mut other = c1.clone();
        other.round = 1;
        let e = store.put_block(&b1, &other).unwrap_err();
        assert!(matches!(e, Error::StoredConflict(Height(1))), "{e}");
        assert!(!e.is_fatal());
    }
}
