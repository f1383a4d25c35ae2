//! The election record: everything an auditor needs, as a set of named files (documented in
//! `docs/RECORD.md`). This module only encodes and decodes bytes; reading and writing the
//! directory is the CLI's job.
//!
//! * `actions.jsonl` — the source of truth: every accepted envelope, in order, one JSON per line.
//! * `manifest.json`, `key-ceremony.json`, `tallies.json`, `results.json`, `counts.json` —
//!   derived summaries for convenience; the verifier recomputes each from `actions.jsonl` and
//!   fails if any differs.

use serde::{Deserialize, Serialize};
use tabella_crypto::dkg::DkgOutcome;

use crate::action::Envelope;
use crate::error::{Error, Result};
use crate::ids::Digest32;
use crate::manifest::Manifest;
use crate::state::{Counts, ElectionState};
use crate::tally::{Results, Tallies};

/// Format version written in `record.json`.
pub const RECORD_FORMAT: &str = "tabella-election-record/v1";

/// Names of the record files.
pub mod files {
    /// Format marker and file list.
    pub const INDEX: &str = "record.json";
    /// The ordered log.
    pub const ACTIONS: &str = "actions.jsonl";
    /// The manifest.
    pub const MANIFEST: &str = "manifest.json";
    /// The key ceremony outcome.
    pub const KEY_CEREMONY: &str = "key-ceremony.json";
    /// The encrypted tallies.
    pub const TALLIES: &str = "tallies.json";
    /// The results.
    pub const RESULTS: &str = "results.json";
    /// Public counts and invariants.
    pub const COUNTS: &str = "counts.json";
}

/// The record's index file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordIndex {
    /// [`RECORD_FORMAT`].
    pub format: String,
    /// The election id.
    pub election_id: String,
    /// Number of lines in `actions.jsonl`.
    pub actions: u64,
}

/// An election record in memory.
#[derive(Clone, Debug)]
pub struct Record {
    /// Every accepted envelope, in order.
    pub log: Vec<Envelope>,
    /// Derived: the manifest.
    pub manifest: Manifest,
    /// Derived: key ceremony outcome (ElGamal scheme).
    pub key_ceremony: Option<DkgOutcome>,
    /// Derived: encrypted tallies.
    pub tallies: Option<Tallies>,
    /// Derived: results.
    pub results: Option<Results>,
    /// Derived: counts.
    pub counts: Counts,
    /// The election id written in `record.json`.
    pub index_election_id: String,
}

fn json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut s = serde_json::to_vec_pretty(v).map_err(|e| Error::Malformed(e.to_string()))?;
    s.push(b'\n');
    Ok(s)
}

fn parse<T: for<'de> Deserialize<'de>>(name: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::Malformed(format!("{name}: {e}")))
}

impl Record {
    /// Builds the record of a state and the log that produced it.
    pub fn from_state(log: Vec<Envelope>, state: &ElectionState) -> Result<Record> {
        let manifest = state
            .manifest()
            .cloned()
            .ok_or_else(|| Error::Malformed("the election was never created".into()))?;
        Ok(Record {
            log,
            key_ceremony: state.key_ceremony().cloned(),
            tallies: state.tallies().cloned(),
            results: state.results().cloned(),
            counts: state.counts(),
            index_election_id: manifest.election_id.to_string(),
            manifest,
        })
    }

    /// Encodes the record as `(file name, bytes)` pairs.
    pub fn to_files(&self) -> Result<Vec<(&'static str, Vec<u8>)>> {
        let mut actions = Vec::new();
        for e in &self.log {
            serde_json::to_writer(&mut actions, e).map_err(|e| Error::Malformed(e.to_string()))?;
            actions.push(b'\n');
        }
        let index = RecordIndex {
            format: RECORD_FORMAT.into(),
            election_id: self.index_election_id.clone(),
            actions: self.log.len() as u64,
        };
        Ok(vec![
            (files::INDEX, json(&index)?),
            (files::ACTIONS, actions),
            (files::MANIFEST, json(&self.manifest)?),
            (files::KEY_CEREMONY, json(&self.key_ceremony)?),
            (files::TALLIES, json(&self.tallies)?),
            (files::RESULTS, json(&self.results)?),
            (files::COUNTS, json(&self.counts)?),
        ])
    }

    /// Decodes a record from its files (`get` returns a file's bytes or `None` if missing).
    /// Only the encoding is checked here; [`crate::verify::verify_record`] checks the content.
    pub fn from_files(get: impl Fn(&str) -> Option<Vec<u8>>) -> Result<Record> {
        let need = |name: &str| {
            get(name).ok_or_else(|| Error::Malformed(format!("the record has no {name}")))
        };
        let index: RecordIndex = parse(files::INDEX, &need(files::INDEX)?)?;
        if index.format != RECORD_FORMAT {
            return Err(Error::Malformed(format!(
                "record format {:?} is not {RECORD_FORMAT:?}",
                index.format
            )));
        }
        let actions = need(files::ACTIONS)?;
        let mut log = Vec::new();
        for (i, line) in actions.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            log.push(parse::<Envelope>(
                &format!("{} line {}", files::ACTIONS, i + 1),
                line,
            )?);
        }
        if log.len() as u64 != index.actions {
            return Err(Error::Malformed(format!(
                "{} has {} actions, {} says {}",
                files::ACTIONS,
                log.len(),
                files::INDEX,
                index.actions
            )));
        }
        Ok(Record {
            log,
            manifest: parse(files::MANIFEST, &need(files::MANIFEST)?)?,
            key_ceremony: parse(files::KEY_CEREMONY, &need(files::KEY_CEREMONY)?)?,
            tallies: parse(files::TALLIES, &need(files::TALLIES)?)?,
            results: parse(files::RESULTS, &need(files::RESULTS)?)?,
            counts: parse(files::COUNTS, &need(files::COUNTS)?)?,
            index_election_id: index.election_id,
        })
    }
}

/// What the record says about a voter's receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStatus {
    /// The ballot is in the record and counted.
    Counted,
    /// The ballot is in the record but a later ballot of the same credential replaced it.
    Replaced,
    /// The ballot is not in the record.
    Missing,
}

/// The voter-side check: is the ballot with this receipt in the record, and does it count?
/// (`state` is the record replayed, e.g. by the verifier.)
pub fn check_receipt(record: &Record, state: &ElectionState, receipt: &Digest32) -> ReceiptStatus {
    let present = record
        .log
        .iter()
        .any(|e| matches!(e, Envelope::Ballot(b) if b.hash() == *receipt));
    if !present {
        ReceiptStatus::Missing
    } else if state.counted_ballots().any(|h| h == *receipt) {
        ReceiptStatus::Counted
    } else {
        ReceiptStatus::Replaced
    }
}
