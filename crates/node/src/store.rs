//! Durable storage of the committed chain in a `redb` database (crash-safe: each commit is
//! one atomic, fsynced write transaction).
//!
//! Only committed facts are stored — blocks with their commit certificates, and forward links.
//! The application state is a deterministic function of the blocks and is rebuilt by replaying
//! them on start ([`crate::node_app::NodeApp::open`]); a node killed at any moment restarts
//! from its last committed block. The consensus engine keeps its own write-ahead log.

use std::path::Path;

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

/// The node's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let db = Database::create(path).map_err(|e| Error::DatabaseOpen {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Self::with_tables(db)
    }

    /// A database held in memory only (for in-process networks in tests: same code path as
    /// the file-backed store, nothing survives the process).
    pub fn in_memory() -> Result<Self, Error> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage)?;
        Self::with_tables(db)
    }

    fn with_tables(db: Database) -> Result<Self, Error> {
        let w = db.begin_write().map_err(storage)?;
        {
            w.open_table(BLOCKS).map_err(storage)?;
            w.open_table(LINKS).map_err(storage)?;
        }
        w.commit().map_err(storage)?;
        Ok(Store { db })
    }

    /// Stores a committed block durably. Heights must follow each other; storing the same
    /// height twice with different content is refused.
    pub fn put_block(&self, block: &Block, commit: &Commit) -> Result<(), Error> {
        let h = block.header.height.0;
        let bytes = serde_json::to_vec(&(block, commit))?;
        let w = self.db.begin_write().map_err(storage)?;
        {
            let mut t = w.open_table(BLOCKS).map_err(storage)?;
            if let Some(old) = t.get(h).map_err(storage)? {
                if old.value() != bytes.as_slice() {
                    return Err(Error::StoredConflict(Height(h)));
                }
            }
            t.insert(h, bytes.as_slice()).map_err(storage)?;
        }
        w.commit().map_err(storage)?;
        Ok(())
    }

    /// Stores a forward link.
    pub fn put_forward_link(&self, link: &ForwardLink) -> Result<(), Error> {
        let bytes = serde_json::to_vec(link)?;
        let w = self.db.begin_write().map_err(storage)?;
        {
            let mut t = w.open_table(LINKS).map_err(storage)?;
            t.insert((link.from_height.0, link.level), bytes.as_slice())
                .map_err(storage)?;
        }
        w.commit().map_err(storage)?;
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
