//! Reading and writing an election record directory (the I/O shell around
//! `tabella_election::record`).

use std::fs;
use std::path::Path;

use anyhow::{bail, Context};
use tabella_election::record::{files, Record};

/// Writes the record's files into `dir` (created if needed). Each file is written to a temporary
/// name, synced, then renamed, so a killed process never leaves a half-written file behind.
pub fn write_record(dir: &Path, record: &Record) -> anyhow::Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the record directory {}", dir.display()))?;
    for (name, bytes) in record.to_files()? {
        let dst = dir.join(name);
        tabella_node::durable::write_atomic(&dst, &bytes, false)
            .with_context(|| format!("cannot write {}", dst.display()))?;
    }
    Ok(())
}

/// Reads a record directory. Errors name the missing or malformed file.
pub fn read_record(dir: &Path) -> anyhow::Result<Record> {
    if !dir.is_dir() {
        bail!(
            "{} is not a directory: pass the election record directory (it contains {})",
            dir.display(),
            files::INDEX
        );
    }
    let get = |name: &str| fs::read(dir.join(name)).ok();
    Record::from_files(get).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))
}
