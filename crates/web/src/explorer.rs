//! The block explorer, receipt, verdict and verifier pages. Their view models are plain data
//! (strings and numbers): the node fills them from its chain, so this crate stays free of the
//! ledger's types and the pages can be tested without a node.

use askama::Template;

/// One row of `/blocks`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    /// Height.
    pub height: u64,
    /// Hash, hex.
    pub hash: String,
    /// Transactions in the block.
    pub tx_count: u64,
    /// The block hands over to another roster.
    pub roster_change: bool,
}

/// `/blocks?from=H`: headers, newest first.
#[derive(Template)]
#[template(path = "blocks.html")]
pub struct BlocksPage {
    /// The committed height.
    pub tip: u64,
    /// The rows.
    pub rows: Vec<BlockRow>,
    /// `from` of the page with newer blocks.
    pub newer: Option<u64>,
    /// `from` of the page with older blocks.
    pub older: Option<u64>,
}

/// One transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxRow {
    /// Position in the block.
    pub index: usize,
    /// Transaction id, hex.
    pub id: String,
    /// Kind: "ballot", an official action's name, "verdicts", "governance", "statistics".
    pub kind: String,
    /// The election it belongs to, if any.
    pub election: Option<String>,
    /// A detail: the ballot's receipt, the signer, the judged height.
    pub detail: String,
}

/// A validator's verdict bitmap on one judged block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerdictRow {
    /// The judged block's height.
    pub judged: u64,
    /// The block that committed the bitmap.
    pub committed_at: u64,
    /// The validator's key, hex.
    pub validator: String,
    /// Its sampling rate, in words.
    pub rate: String,
    /// One symbol per proof: ✓ valid, ✗ invalid, – sampled out, ? not received.
    pub cells: String,
    /// Proofs verified valid.
    pub valid: usize,
    /// Proofs verified invalid.
    pub invalid: usize,
    /// Proofs not verified (sampled out).
    pub skipped: usize,
    /// Proofs not received by the deadline.
    pub missing: usize,
}

/// `/blocks/{h}`.
#[derive(Template)]
#[template(path = "block.html")]
pub struct BlockPage {
    /// Height.
    pub height: u64,
    /// The committed height.
    pub tip: u64,
    /// Hash.
    pub hash: String,
    /// Header fields in order: (name, value).
    pub fields: Vec<(String, String)>,
    /// Back links: (height they point to, hash).
    pub back_links: Vec<(u64, String)>,
    /// The commit certificate: round and signers' keys (none for genesis).
    pub commit: Option<(u32, Vec<String>)>,
    /// Transactions.
    pub txs: Vec<TxRow>,
    /// Verdict bitmaps committed on this block.
    pub verdicts: Vec<VerdictRow>,
}

/// A Merkle inclusion receipt, checked by the node against the block's `tx_root`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptView {
    /// Transaction id.
    pub tx_id: String,
    /// Block height.
    pub height: u64,
    /// Leaf index.
    pub index: u64,
    /// Leaves in the block.
    pub tree_size: u64,
    /// Sibling hashes from the leaf up.
    pub path: Vec<String>,
    /// The block's `tx_root`.
    pub tx_root: String,
    /// `Ok(())` if the path leads to `tx_root`, else why not.
    pub verified: Result<(), String>,
}

/// `/tx/{id}`.
#[derive(Template)]
#[template(path = "tx.html")]
pub struct TxPage {
    /// Transaction id.
    pub id: String,
    /// "committed", "pending" (in the mempool) or "unknown".
    pub status: String,
    /// The receipt when committed.
    pub receipt: Option<ReceiptView>,
}

/// One hop of a light-client path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepView {
    /// "commit certificate" or "forward link, level L".
    pub link: String,
    /// Height left.
    pub from: u64,
    /// Height reached.
    pub to: u64,
    /// Signatures on the link.
    pub signatures: usize,
}

/// `/light/{h}`.
#[derive(Template)]
#[template(path = "light.html")]
pub struct LightPage {
    /// Target height.
    pub height: u64,
    /// Genesis hash.
    pub genesis: String,
    /// Hops.
    pub steps: Vec<StepView>,
    /// Rosters carried.
    pub rosters: usize,
    /// Verified by the light client from genesis: `Ok((hash reached, links used))`.
    pub verified: Result<(String, usize), String>,
    /// This node's address as the reader reached it (for the command line), if known.
    pub node_url: String,
}

/// `/elections/{id}/receipt?r=HEX`.
#[derive(Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    /// Election id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The receipt asked for (as typed, for the form).
    pub asked: String,
    /// What was found: `None` when nothing was asked.
    pub outcome: Option<ReceiptOutcome>,
}

/// A receipt lookup's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptOutcome {
    /// Not a receipt (why).
    Malformed(String),
    /// No committed ballot of this election has it.
    Missing,
    /// Committed: counted or replaced, with its Merkle receipt.
    Found {
        /// Counted in the tally (false: replaced by a later ballot of the same voter).
        counted: bool,
        /// The inclusion receipt.
        receipt: ReceiptView,
    },
}

/// `/elections/{id}/verdicts`.
#[derive(Template)]
#[template(path = "verdicts.html")]
pub struct VerdictsPage {
    /// Election id.
    pub id: String,
    /// Title.
    pub title: String,
    /// One row per (judged block, validator).
    pub rows: Vec<VerdictRow>,
}

/// One of the verifier's checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckView {
    /// What is checked.
    pub name: String,
    /// Items that passed.
    pub passed: u64,
    /// Failures, described (at most the first 20).
    pub failures: Vec<String>,
    /// Failures in all.
    pub failed: usize,
}

/// `/elections/{id}/verify`.
#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage {
    /// Election id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Envelopes in the record verified.
    pub envelopes: u64,
    /// Every check.
    pub checks: Vec<CheckView>,
    /// Ballots whose proofs were verified.
    pub ballots_verified: u64,
    /// Seconds the run took.
    pub seconds: f64,
    /// All checks passed.
    pub ok: bool,
    /// The record could not be built (why), so nothing was checked.
    pub error: Option<String>,
}

/// Shortens a hex string for tables: the first 12 characters and an ellipsis.
pub fn short(hex: &str) -> String {
    if hex.len() <= 16 {
        hex.to_string()
    } else {
        format!("{}…", &hex[..12])
    }
}

/// The symbol and the counts of verdicts, from their two-bit values
/// (0 invalid, 1 valid, 2 sampled out, 3 not received; seed 001 §5.1).
pub fn verdict_cells(values: &[u8]) -> (String, [usize; 4]) {
    let mut counts = [0usize; 4];
    let cells = values
        .iter()
        .map(|v| {
            let v = usize::from(*v & 3);
            counts[v] += 1;
            ['✗', '✓', '–', '?'][v]
        })
        .collect();
    (cells, counts)
}

/// A checked audit: the tracker and each contest's (title, choice in words).
pub type AuditedChoices = (String, Vec<(String, String)>);

/// `/elections/{id}/audit`: anyone checks a spoiled ballot's audit file (Benaloh's challenge)
/// with this node's copy of the election key.
#[derive(Template)]
#[template(path = "audit_check.html")]
pub struct AuditCheckPage {
    /// Election id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The file as pasted (kept in the form).
    pub pasted: String,
    /// `None` before a check; else the tracker and the choices in words, or why it failed.
    pub result: Option<Result<AuditedChoices, String>>,
}
