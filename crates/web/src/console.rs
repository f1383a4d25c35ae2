//! The officials' consoles (`tabella console --as NAME`, served by the official's own binary on
//! 127.0.0.1): one page per role with the election's state and the role's actions. The page
//! holds no secret: the keystore stays on the machine and actions are signed there.

use askama::Template;

use crate::views::TableView;

/// `/`: the console.
#[derive(Template)]
#[template(path = "console.html")]
pub struct ConsolePage {
    /// The official's key name.
    pub name: String,
    /// The role: "council", "trustee", "identity-validator", "registrar" or "juror".
    pub role: String,
    /// The anti-forgery token.
    pub csrf: String,
    /// The keystore is open (the passphrase was right).
    pub signed_in: bool,
    /// The election this console acts on (empty: none chosen yet).
    pub election: String,
    /// The election as the node knows it, if chosen and known.
    pub status: Option<ConsoleStatus>,
    /// The last action's outcome: what the command said, or why it refused.
    pub flash: Option<Result<String, String>>,
    /// Something to hand on (the identity validator's response, a voter's request): (label, text).
    pub output: Option<(String, String)>,
    /// Juror: booth files written, each with its kiosk started or not.
    pub kiosks: Vec<String>,
    /// Juror: kiosk booths started, (link, text).
    pub links: Vec<(String, String)>,
    /// The node's public pages.
    pub node_url: String,
}

/// The election's state, as the console shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleStatus {
    /// Title.
    pub title: String,
    /// Phase in words.
    pub phase: String,
    /// Key ceremony in one sentence.
    pub ceremony: String,
    /// Decryptions posted / needed.
    pub decryptions: (usize, u16),
    /// Registration closed.
    pub registration_closed: bool,
    /// Identities validated, keys enabled.
    pub registered: (u64, u64),
    /// Ballots accepted.
    pub ballots: u64,
    /// Tables and their quotas.
    pub tables: Vec<TableView>,
}
