//! Tabella's web pages (issue 16, in progress): plain HTML rendered on the server from askama
//! templates (escaped by default; the only unescaped text is SVG from [`chart`], which escapes
//! its own), one stylesheet, no JavaScript. View models are built here from the election state,
//! so the pages can be tested without HTTP; the node (`tabella node run`) serves them under `/`.
//!
//! Done so far: the elections list and an election's page (phase, officials, registration,
//! table quotas, ballots, results overall and per group with charts). Still to come (see
//! docs/WEB-NOTES.md): the block explorer, receipts, verdicts and verifier pages, the officials'
//! consoles, the voter booth with the Benaloh audit, and the browser tests.
#![forbid(unsafe_code)]

pub mod chart;
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
