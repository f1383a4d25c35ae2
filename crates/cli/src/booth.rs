//! `tabella booth`: the voter's booth as a local web page, served by the voter's own binary on
//! 127.0.0.1 (issue 16). The page runs no script and holds no secret: the wallet is opened, the
//! ballot encrypted, proved and signed by this process, with the same functions and checks as
//! `tabella voter vote`. With `--booth FILE` it is a polling table's kiosk, voting once with the
//! juror's authorization.
//!
//! Cast or audit (J. Benaloh, "Simple Verifiable Elections", EVT 2006; as in B. Adida, "Helios",
//! USENIX Security 2008): the booth encrypts, shows the tracker (the hash of the encrypted,
//! still unsigned ballot), and only then asks. *Cast* signs exactly that encryption. *Audit*
//! reveals its randomness, checks it here, and offers the file for an independent check
//! (`tabella verify-ballot`, or a node's `/elections/{id}/audit` page); the audited ballot is
//! never signed, so it can never be cast, and the next ballot is encrypted afresh.
//!
//! The session's guards against the local web attacker are in [`crate::local_web`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use clap::Args;
use rand_core::OsRng;
use serde::Deserialize;
use tabella_crypto::group::SecretScalar;
use tabella_election::action::Envelope;
use tabella_election::audit::{check_audited, AuditedBallot};
use tabella_election::ballot::{self, BallotSecrets, Choice, Credential};
use tabella_election::choice::parse_choices;
use tabella_election::ids::ElectionId;
use tabella_election::manifest::{ContestKind, Manifest};
use tabella_election::state::Phase;
use tabella_web::booth::{
    AuditedPage, BallotContest, BallotPage, BoothHeader, CastPage, ChoicesInWords, SealedPage,
    StartPage,
};

use crate::keystore::{Keystore, Passphrase};
use crate::local_web::{self, LocalSession};
use crate::roles::voter::{booth_credential, encrypt, keep_receipt, wallet_credential};
use crate::roles::{election_id, load, submit, Common, ElectionView};

/// `tabella booth`.
#[derive(Args, Debug)]
pub struct BoothArgs {
    #[command(flatten)]
    common: Common,
    /// The election id.
    #[arg(long)]
    election: String,
    /// Remote voter: the wallet name to offer on the sign-in page.
    #[arg(long)]
    wallet: Option<String>,
    /// Polling-table kiosk: the booth file from `tabella table authorize` (one ballot).
    #[arg(long, conflicts_with = "wallet")]
    booth: Option<PathBuf>,
    /// Where to listen: a loopback address only (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Close when standard input closes (a juror's console starts kiosk booths this way, so
    /// they end with it even if it is killed).
    #[arg(long, hide = true)]
    until_stdin_closes: bool,
}

/// Who votes in this session.
struct Voter {
    credential: Credential,
    signer: SecretScalar,
    /// Remote voters: the wallet (to keep receipts with it).
    wallet: Option<(String, Passphrase)>,
}

/// An encrypted ballot shown by its tracker, waiting for cast or audit.
struct Sealed {
    tracker: String,
    payload: String,
    secrets: BallotSecrets,
    choices: Vec<Choice>,
}

#[derive(Default)]
struct Session {
    voter: Option<Voter>,
    sealed: Option<Sealed>,
    /// Audit files by tracker.
    audits: HashMap<String, String>,
    /// Receipts cast in this session.
    cast: Vec<String>,
    /// A kiosk's authorization was used.
    used: bool,
    /// The last registration step's outcome, and the file it made.
    flash: Option<Result<String, String>>,
    output: Option<(String, String)>,
}

struct Booth {
    id: ElectionId,
    common: Common,
    kiosk: Option<PathBuf>,
    wallet: String,
    local: Arc<LocalSession>,
    session: Mutex<Session>,
}

type Shared = Arc<Booth>;

/// Runs `tabella booth`.
pub fn run(a: BoothArgs) -> anyhow::Result<()> {
    if a.until_stdin_closes {
        std::thread::spawn(|| {
            let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
            std::process::exit(0);
        });
    }
    let id = election_id(&a.election)?;
    if let Some(b) = &a.booth {
        // Refuse a wrong or unreadable file now, not in the page.
        booth_credential(b, &id)?;
    }
    // The election must exist before the page opens.
    load(&a.common.client(), &id)?;
    let what = format!("booth for election '{id}'");
    local_web::run(a.listen, &what, move |local| {
        router(Arc::new(Booth {
            id,
            kiosk: a.booth,
            wallet: a.wallet.unwrap_or_default(),
            local,
            common: a.common,
            session: Mutex::new(Session::default()),
        }))
    })
}

fn router(booth: Shared) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/register", post(register))
        .route("/ballot", get(ballot_page))
        .route("/seal", post(seal))
        .route("/cast", post(cast))
        .route("/audit", post(audit))
        .route("/audit/{file}", get(audit_file))
        .with_state(booth)
}

async fn election(b: &Shared) -> anyhow::Result<ElectionView> {
    let client = b.common.client();
    let id = b.id.clone();
    local_web::blocking(move || load(&client, &id)).await
}

fn header_of(b: &Booth, m: Option<&Manifest>) -> BoothHeader {
    BoothHeader {
        title: m.map_or_else(|| b.id.to_string(), |m| m.title.clone()),
        election: b.id.to_string(),
        csrf: b.local.csrf().to_string(),
        mode: match &b.kiosk {
            Some(_) => "polling-table kiosk".into(),
            None => "remote voter".into(),
        },
    }
}

fn unreachable_node(e: &anyhow::Error) -> Response {
    local_web::message(
        StatusCode::BAD_GATEWAY,
        "The node did not answer",
        &format!("{e:#}"),
        Some(("/", "Try again")),
    )
}

fn lock(b: &Booth) -> std::sync::MutexGuard<'_, Session> {
    // A panic while holding the session cannot leave it half-written in a way that matters
    // more than refusing every later request: take it as it is.
    b.session.lock().unwrap_or_else(|p| p.into_inner())
}

async fn home(State(b): State<Shared>) -> Response {
    let chain = match election(&b).await {
        Ok(c) => c,
        Err(e) => return unreachable_node(&e),
    };
    let open = chain.state.phase() == Some(Phase::Open);
    let (signed_in, used) = {
        let s = lock(&b);
        (s.voter.is_some(), s.used)
    };
    if open && (signed_in || b.kiosk.is_some()) && !used {
        return Redirect::to("/ballot").into_response();
    }
    let (flash, output) = {
        let mut s = lock(&b);
        (s.flash.take(), s.output.take())
    };
    if used {
        return local_web::message(
            StatusCode::OK,
            "Thank you",
            "This polling-table authorization has been used: the ballot is cast.",
            None,
        );
    }
    local_web::page(
        StatusCode::OK,
        StartPage {
            h: header_of(&b, chain.state.manifest()),
            phase: chain.phase().replace('_', " "),
            open: open && b.kiosk.is_none(),
            wallet: b.wallet.clone(),
            error: None,
            registration_open: b.kiosk.is_none() && !chain.state.registration_closed(),
            flash,
            output,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    wallet: String,
    passphrase: String,
}

async fn login(State(b): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    if !b.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    if b.kiosk.is_some() {
        return Redirect::to("/ballot").into_response();
    }
    let wallet = f.wallet.trim().to_string();
    let keystore = b.common.keystore.clone();
    let client = b.common.client();
    let id = b.id.clone();
    let pass_text = f.passphrase;
    let name = wallet.clone();
    let opened = local_web::blocking(move || {
        let chain = load(&client, &id)?;
        let pass = Passphrase::new(pass_text).map_err(|e| anyhow::anyhow!("{e}"))?;
        let ks = Keystore::open(&keystore)?;
        let (credential, signer) = wallet_credential(&ks, &name, &pass, &chain, &id)?;
        Ok((
            chain,
            Voter {
                credential,
                signer,
                wallet: Some((name, pass)),
            },
        ))
    })
    .await;
    match opened {
        Ok((chain, voter)) => {
            if chain.state.phase() != Some(Phase::Open) {
                return start_with_error(&b, &chain, &wallet, "Voting is not open.".into());
            }
            lock(&b).voter = Some(voter);
            Redirect::to("/ballot").into_response()
        }
        Err(e) => match election(&b).await {
            Ok(chain) => start_with_error(&b, &chain, &wallet, format!("{e:#}")),
            Err(e) => unreachable_node(&e),
        },
    }
}

fn start_with_error(b: &Booth, chain: &ElectionView, wallet: &str, error: String) -> Response {
    local_web::page(
        StatusCode::UNPROCESSABLE_ENTITY,
        StartPage {
            h: header_of(b, chain.state.manifest()),
            phase: chain.phase().replace('_', " "),
            open: chain.state.phase() == Some(Phase::Open),
            wallet: wallet.to_string(),
            error: Some(error),
            registration_open: b.kiosk.is_none() && !chain.state.registration_closed(),
            flash: None,
            output: None,
        }
        .render(),
    )
}

/// Signs in the kiosk's voter from its booth file, once.
fn kiosk_voter(b: &Booth) -> anyhow::Result<()> {
    let mut s = lock(b);
    if s.voter.is_none() && !s.used {
        if let Some(path) = &b.kiosk {
            let (credential, signer) = booth_credential(path, &b.id)?;
            s.voter = Some(Voter {
                credential,
                signer,
                wallet: None,
            });
        }
    }
    Ok(())
}

fn contests_of(m: &Manifest) -> Vec<BallotContest> {
    m.contests
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let (kind, rule, ranks) = match &c.kind {
                ContestKind::SingleChoice => ("single", "choose one".to_string(), vec![]),
                ContestKind::Approval { min, max } => (
                    "approval",
                    if min == max {
                        format!("approve exactly {max}")
                    } else {
                        format!("approve {min} to {max}")
                    },
                    vec![],
                ),
                ContestKind::Preferential { ranks } => (
                    "ranked",
                    format!("rank {ranks}, most preferred first"),
                    (1..=*ranks as usize).collect(),
                ),
            };
            BallotContest {
                number: i + 1,
                title: c.title.clone(),
                kind,
                rule,
                candidates: c.candidates.clone(),
                allow_blank: c.allow_blank,
                ranks,
            }
        })
        .collect()
}

async fn ballot_page(State(b): State<Shared>) -> Response {
    render_ballot(&b, None, StatusCode::OK).await
}

async fn render_ballot(b: &Shared, error: Option<String>, status: StatusCode) -> Response {
    if let Err(e) = kiosk_voter(b) {
        return local_web::message(
            StatusCode::BAD_REQUEST,
            "The kiosk cannot vote",
            &format!("{e:#}"),
            None,
        );
    }
    let ready = {
        let s = lock(b);
        s.voter.is_some() && !s.used
    };
    if !ready {
        return Redirect::to("/").into_response();
    }
    let chain = match election(b).await {
        Ok(c) => c,
        Err(e) => return unreachable_node(&e),
    };
    let Some(m) = chain.state.manifest() else {
        return local_web::message(
            StatusCode::NOT_FOUND,
            "No manifest",
            "The election has no manifest.",
            None,
        );
    };
    let cast_before = lock(b).cast.clone();
    local_web::page(
        status,
        BallotPage {
            h: header_of(b, Some(m)),
            contests: contests_of(m),
            error,
            cast_before,
        }
        .render(),
    )
}

/// The form's fields as `tabella voter vote --choice` arguments (`N=i,j` with candidate
/// numbers, or `N=blank`), so the booth and the command read choices with the same code.
fn choice_args(m: &Manifest, fields: &[(String, String)]) -> Vec<String> {
    m.contests
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let n = i + 1;
            let picked: Vec<String> = match &c.kind {
                ContestKind::Preferential { ranks } => (1..=*ranks as usize)
                    .filter_map(|r| {
                        let key = format!("c{n}r{r}");
                        fields
                            .iter()
                            .find(|(k, v)| *k == key && !v.is_empty())
                            .map(|(_, v)| v.clone())
                    })
                    .collect(),
                _ => fields
                    .iter()
                    .filter(|(k, _)| *k == format!("c{n}"))
                    .map(|(_, v)| v.clone())
                    .collect(),
            };
            if picked.is_empty() || picked.iter().any(|p| p == "blank") {
                format!("{n}=blank")
            } else {
                format!("{n}={}", picked.join(","))
            }
        })
        .collect()
}

fn in_words(m: &Manifest, choices: &[Choice]) -> ChoicesInWords {
    m.contests
        .iter()
        .zip(choices)
        .map(|(c, ch)| {
            let name = |i: &usize| c.candidates.get(*i).cloned().unwrap_or_default();
            let words = match ch {
                Choice::Single(None) => "(blank)".to_string(),
                Choice::Single(Some(i)) => name(i),
                Choice::Approval(v) if v.is_empty() => "(blank)".to_string(),
                Choice::Approval(v) => v.iter().map(name).collect::<Vec<_>>().join(", "),
                Choice::Ranking(v) if v.is_empty() => "(blank)".to_string(),
                Choice::Ranking(v) => v
                    .iter()
                    .enumerate()
                    .map(|(k, i)| format!("{}. {}", k + 1, name(i)))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            (c.title.clone(), words)
        })
        .collect()
}

async fn seal(State(b): State<Shared>, Form(fields): Form<Vec<(String, String)>>) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !b.local.csrf_ok(csrf) {
        return local_web::forged();
    }
    let credential = {
        let s = lock(&b);
        match s.voter.as_ref() {
            Some(v) if !s.used => v.credential.clone(),
            _ => return Redirect::to("/").into_response(),
        }
    };
    let chain = match election(&b).await {
        Ok(c) => c,
        Err(e) => return unreachable_node(&e),
    };
    let Some(m) = chain.state.manifest().cloned() else {
        return Redirect::to("/").into_response();
    };
    if chain.state.phase() != Some(Phase::Open) {
        return render_ballot(
            &b,
            Some(format!(
                "Voting is not open (the election is {}).",
                chain.phase().replace('_', " ")
            )),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let args = choice_args(&m, &fields);
    let choices = match parse_choices(&m.contests, &args) {
        Ok(c) => c,
        Err(e) => {
            return render_ballot(&b, Some(format!("{e}.")), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
    let id = b.id.clone();
    let for_encrypt = choices.clone();
    let encrypted =
        local_web::blocking(move || encrypt(&chain, &id, credential, &for_encrypt)).await;
    let (payload, secrets) = match encrypted {
        Ok(x) => x,
        Err(e) => {
            return render_ballot(
                &b,
                Some(format!("{e:#}.")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let tracker = ballot::tracker(&payload).to_hex();
    let words = in_words(&m, &choices);
    lock(&b).sealed = Some(Sealed {
        tracker: tracker.clone(),
        payload,
        secrets,
        choices,
    });
    local_web::page(
        StatusCode::OK,
        SealedPage {
            h: header_of(&b, Some(&m)),
            tracker,
            choices: words,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct TrackerForm {
    csrf: String,
    tracker: String,
}

/// Takes the sealed ballot the form names, if it is still the pending one.
fn take_sealed(b: &Booth, tracker: &str) -> Option<Sealed> {
    let mut s = lock(b);
    match &s.sealed {
        Some(x) if x.tracker == tracker => s.sealed.take(),
        _ => None,
    }
}

fn not_pending() -> Response {
    local_web::message(
        StatusCode::CONFLICT,
        "No such ballot",
        "This ballot is no longer waiting: it was already cast or audited, or another one was encrypted since. Nothing was done.",
        Some(("/ballot", "Back to the ballot")),
    )
}

async fn cast(State(b): State<Shared>, Form(f): Form<TrackerForm>) -> Response {
    if !b.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    let Some(sealed) = take_sealed(&b, &f.tracker) else {
        return not_pending();
    };
    let (signer, wallet) = {
        let s = lock(&b);
        match s.voter.as_ref() {
            Some(v) => (v.signer.clone(), v.wallet.clone()),
            None => {
                drop(s);
                lock(&b).sealed = Some(sealed);
                return Redirect::to("/").into_response();
            }
        }
    };
    let client = b.common.client();
    let id = b.id.clone();
    let keystore = b.common.keystore.clone();
    let payload = sealed.payload.clone();
    let result = local_web::blocking(move || {
        let ballot = ballot::sign_ballot(payload, &signer, &mut OsRng);
        let receipt = submit(&client, Envelope::Ballot(ballot))?;
        if let Some((name, pass)) = wallet {
            keep_receipt(&Keystore::open(&keystore)?, &name, &pass, &receipt)?;
        }
        let found = client.ballot(id.as_str(), &receipt.to_hex());
        Ok((receipt, found))
    })
    .await;
    let (receipt, found) = match result {
        Ok(x) => x,
        Err(e) => {
            // Not cast: keep it pending so the voter can try again or audit it.
            lock(&b).sealed = Some(sealed);
            return local_web::message(
                StatusCode::BAD_GATEWAY,
                "Not cast",
                &format!("The ballot was not accepted: {e:#}"),
                Some(("/ballot", "Back to the ballot")),
            );
        }
    };
    let kiosk = b.kiosk.is_some();
    {
        let mut s = lock(&b);
        s.cast.push(receipt.to_hex());
        if kiosk {
            s.used = true;
            s.voter = None;
        }
    }
    let (height, status) = match found {
        Ok(l) if l.counted => (l.height.0, Ok("On the chain and counted".to_string())),
        Ok(l) => (
            l.height.0,
            Err("On the chain, but not counted: a later ballot replaced it.".to_string()),
        ),
        Err(e) => (
            0,
            Err(format!("The node does not show the ballot yet: {e}")),
        ),
    };
    let node = b.common.node.trim_end_matches('/');
    local_web::page(
        StatusCode::OK,
        CastPage {
            h: header_of(&b, None),
            receipt: receipt.to_hex(),
            height,
            status,
            node_receipt_url: format!("{node}/elections/{}/receipt?r={receipt}", b.id),
            can_vote_again: !kiosk,
        }
        .render(),
    )
}

async fn audit(State(b): State<Shared>, Form(f): Form<TrackerForm>) -> Response {
    if !b.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    let Some(sealed) = take_sealed(&b, &f.tracker) else {
        return not_pending();
    };
    let chain = match election(&b).await {
        Ok(c) => c,
        Err(e) => return unreachable_node(&e),
    };
    let (Some(m), Some(key)) = (chain.state.manifest(), chain.state.election_key()) else {
        return not_pending();
    };
    let audited = match AuditedBallot::new(sealed.payload, &sealed.secrets, sealed.choices) {
        Ok(a) => a,
        Err(e) => {
            return local_web::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Audit failed",
                &e.to_string(),
                Some(("/ballot", "Back to the ballot")),
            )
        }
    };
    let check = check_audited(m, key, &audited)
        .map(|r| {
            r.contests
                .iter()
                .map(|c| (c.title.clone(), c.in_words()))
                .collect()
        })
        .map_err(|e| e.to_string());
    if let Ok(json) = serde_json::to_string_pretty(&audited) {
        lock(&b).audits.insert(sealed.tracker.clone(), json);
    }
    let node = b.common.node.trim_end_matches('/').to_string();
    local_web::page(
        StatusCode::OK,
        AuditedPage {
            h: header_of(&b, Some(m)),
            tracker: sealed.tracker,
            check,
            node_audit_url: format!("{node}/elections/{}/audit", b.id),
            node_url: node,
        }
        .render(),
    )
}

async fn audit_file(State(b): State<Shared>, UrlPath(file): UrlPath<String>) -> Response {
    let tracker = file.strip_suffix(".json").unwrap_or(&file);
    let Some(json) = lock(&b).audits.get(tracker).cloned() else {
        return local_web::message(
            StatusCode::NOT_FOUND,
            "No such audit",
            "No ballot with this tracker was audited in this session.",
            Some(("/ballot", "Back to the ballot")),
        );
    };
    let name = format!("audit-{}.json", &tracker[..tracker.len().min(8)]);
    (
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        json,
    )
        .into_response()
}

#[derive(Deserialize)]
struct RegisterForm {
    csrf: String,
    wallet: String,
    passphrase: String,
    #[serde(default)]
    identity: String,
    #[serde(default)]
    response: String,
}

/// Remote registration's two steps, by `tabella voter register` (module docs of
/// [`crate::roles::files`]): the blinded request for the identity validator, then the anonymous
/// note for the registrar. The files are written in the current directory and shown to copy.
async fn register(State(b): State<Shared>, Form(f): Form<RegisterForm>) -> Response {
    if !b.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    if b.kiosk.is_some() {
        return Redirect::to("/").into_response();
    }
    let wallet = f.wallet.trim().to_string();
    let pass = zeroize::Zeroizing::new(f.passphrase);
    let id = b.id.to_string();
    let safe = !wallet.is_empty()
        && wallet
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let outcome = if !safe {
        Err("a wallet name is letters, digits, - and _.".to_string())
    } else if f.response.trim().is_empty() {
        let out = format!("request-{wallet}.json");
        let args = [
            "voter",
            "register",
            "--election",
            &id,
            "--wallet",
            &wallet,
            "--identity",
            f.identity.trim(),
            "--out",
            &out,
        ];
        run_step(
            &b,
            &args,
            pass,
            &out,
            "Your request: give it to the identity validator",
        )
        .await
    } else {
        let resp = format!("response-{wallet}.json");
        let out = format!("note-{wallet}.json");
        match std::fs::write(&resp, f.response.as_bytes()) {
            Err(e) => Err(format!("cannot write {resp}: {e}")),
            Ok(()) => {
                let args = [
                    "voter",
                    "register",
                    "--election",
                    &id,
                    "--wallet",
                    &wallet,
                    "--response",
                    &resp,
                    "--out",
                    &out,
                ];
                run_step(
                    &b,
                    &args,
                    pass,
                    &out,
                    "Your anonymous note: give it to the registrar (it names no one)",
                )
                .await
            }
        }
    };
    lock(&b).flash = Some(outcome);
    Redirect::to("/").into_response()
}

async fn run_step(
    b: &Booth,
    args: &[&str],
    pass: zeroize::Zeroizing<String>,
    out: &str,
    label: &str,
) -> Result<String, String> {
    let args = args.iter().map(|s| s.to_string()).collect();
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let said = local_web::run_self(&b.common, &cwd, args, pass).await?;
    if let Ok(text) = std::fs::read_to_string(cwd.join(out)) {
        lock(b).output = Some((label.to_string(), text));
    }
    Ok(said)
}
