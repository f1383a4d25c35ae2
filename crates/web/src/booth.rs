//! The voter booth's pages (`tabella booth`, served by the voter's own binary on 127.0.0.1):
//! sign in with the wallet (or, at a polling table's kiosk, the juror's authorization), choose,
//! seal (the local binary encrypts and shows the ballot's tracker), then cast or audit
//! (Benaloh's challenge). The pages hold no secret and run no script; every form carries the
//! session's anti-forgery token.

use askama::Template;

/// A contest as the ballot form shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BallotContest {
    /// Number, from 1 (form field `c{number}`, or `c{number}r{rank}` for ranked contests).
    pub number: usize,
    /// Title.
    pub title: String,
    /// "single", "approval" or "ranked".
    pub kind: &'static str,
    /// The rule in words.
    pub rule: String,
    /// Candidates, numbered from 1 in the form.
    pub candidates: Vec<String>,
    /// A blank vote is allowed.
    pub allow_blank: bool,
    /// Ranks to fill (ranked contests), 1..=ranks.
    pub ranks: Vec<usize>,
}

/// What the voter chose, in words, per contest: (title, choice).
pub type ChoicesInWords = Vec<(String, String)>;

/// The booth's pages share these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BoothHeader {
    /// Election title.
    pub title: String,
    /// Election id.
    pub election: String,
    /// The anti-forgery token each form posts back.
    pub csrf: String,
    /// "remote voter" or "polling table N".
    pub mode: String,
}

/// `/`: sign in (remote voters) or the state of things.
#[derive(Template)]
#[template(path = "booth_start.html")]
pub struct StartPage {
    /// Header.
    pub h: BoothHeader,
    /// The phase in words.
    pub phase: String,
    /// Voting is open.
    pub open: bool,
    /// Wallet name to prefill.
    pub wallet: String,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// Remote registration is still open (the two registration steps are offered).
    pub registration_open: bool,
    /// The last registration step's outcome.
    pub flash: Option<Result<String, String>>,
    /// A file to hand on (the request for the identity validator, the note for the registrar).
    pub output: Option<(String, String)>,
}

/// `/ballot`: the ballot form.
#[derive(Template)]
#[template(path = "booth_ballot.html")]
pub struct BallotPage {
    /// Header.
    pub h: BoothHeader,
    /// Contests.
    pub contests: Vec<BallotContest>,
    /// Why the last attempt failed (nothing was encrypted).
    pub error: Option<String>,
    /// Receipts of ballots already cast from this booth session.
    pub cast_before: Vec<String>,
}

/// `/seal`: the encrypted ballot's tracker, before the voter casts or audits it.
#[derive(Template)]
#[template(path = "booth_sealed.html")]
pub struct SealedPage {
    /// Header.
    pub h: BoothHeader,
    /// The tracker (the hash of the encrypted ballot; after casting, it is the receipt).
    pub tracker: String,
    /// The choices, in words.
    pub choices: ChoicesInWords,
}

/// After an audit: the ballot is spoiled and its randomness revealed.
#[derive(Template)]
#[template(path = "booth_audited.html")]
pub struct AuditedPage {
    /// Header.
    pub h: BoothHeader,
    /// The spoiled ballot's tracker.
    pub tracker: String,
    /// What the local check found: the choices the encryption holds, or why it failed.
    pub check: Result<ChoicesInWords, String>,
    /// The public node's page that checks an audit file independently.
    pub node_audit_url: String,
    /// The node's URL (for the command line).
    pub node_url: String,
}

/// After casting.
#[derive(Template)]
#[template(path = "booth_cast.html")]
pub struct CastPage {
    /// Header.
    pub h: BoothHeader,
    /// The receipt (equal to the tracker shown before casting).
    pub receipt: String,
    /// The block that holds the ballot.
    pub height: u64,
    /// What the node says: counted, or why not.
    pub status: Result<String, String>,
    /// The node's public receipt page.
    pub node_receipt_url: String,
    /// More ballots can be cast from this session (remote voters may vote again; a kiosk
    /// authorization is single-use).
    pub can_vote_again: bool,
}

/// A refusal or an error, with a way back.
#[derive(Template)]
#[template(path = "booth_message.html")]
pub struct MessagePage {
    /// Page title.
    pub heading: String,
    /// The message.
    pub message: String,
    /// Where to go next: (href, text).
    pub back: Option<(String, String)>,
}
