//! Tabella's web pages (issue 16, in progress): plain HTML rendered on the server from askama
//! templates (escaped by default; the only unescaped text is SVG from [`chart`], which escapes
//! its own), one stylesheet, no JavaScript. View models are built here from the election state,
//! so the pages can be tested without HTTP; the node (`tabella node run`) serves them under `/`.
//!
//! Done so far: the elections list, an election's page (phase, officials, key ceremony,
//! registration, table quotas, ballots per block, results overall and per group with charts),
//! the receipt lookup, the verdicts, the verifier run on the node's record, and the block
//! explorer (blocks, transactions with their Merkle receipts, the light-client path). Still to
//! come (see docs/WEB-NOTES.md): the officials' consoles, the voter booth with the Benaloh audit,
//! and the browser tests.
#![forbid(unsafe_code)]

pub mod booth;
pub mod chart;
pub mod console;
pub mod explorer;
pub mod views;

/// The stylesheet, served at `/static/tabella.css`.
pub const CSS: &str = include_str!("../static/tabella.css");

/// Headers every HTML response carries: no scripts, nothing from other origins, no framing, no
/// MIME sniffing, no referrer.
pub const SECURITY_HEADERS: [(&str, &str); 3] = [
    (
        "content-security-policy",
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
];
