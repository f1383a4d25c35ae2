//! The node's public web pages (issue 16), under `/` on the API's port: the elections on the
//! chain; each election's page (phase, key ceremony, registration, table quotas, ballots per
//! block, results with charts); the ballot-receipt lookup; the validators' verdicts; the
//! verifier run on the node's own record; and the block explorer (blocks, transactions with
//! their Merkle receipts, the light-client path from genesis). Views come from `tabella-web`;
//! this module only reads the node's state (under its lock, briefly: rendering and the
//! verifier run outside it) and serves HTML with the security headers. Paths under `/v1/`
//! keep the API's JSON answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;
use tabella_election::action::Envelope;
use tabella_election::ids::{Digest32, ElectionId};
use tabella_election::record::Record;
use tabella_election::verify::verify_record;
use tabella_ledger::block::Block;
use tabella_ledger::light::Link;
use tabella_ledger::merkle::Receipt;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{Height, TxId};
use tabella_web::chart;
use tabella_web::explorer::{
    verdict_cells, AuditCheckPage, BlockPage, BlockRow, BlocksPage, CheckView, LightPage,
    ReceiptOutcome, ReceiptPage, ReceiptView, StepView, TxPage, TxRow, VerdictRow, VerdictsPage,
    VerifyPage,
};
use tabella_web::views::{election_page, ElectionRow, IndexPage, NodeView, NotFoundPage};

use crate::api::SharedApp;
use crate::wire::{CommittedVerdicts, TxStatus};

/// Blocks per page of `/blocks`.
const BLOCKS_PER_PAGE: u64 = 50;

/// The verifier's last run per election, kept while the election's record is unchanged (same
/// number of accepted envelopes), and a lock so that one run at a time uses the cores.
#[derive(Default)]
struct VerifyCache {
    runs: Mutex<HashMap<ElectionId, (usize, Arc<VerifyPage>)>>,
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// The pages' routes (merged into the API router).
pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/", get(index))
        .route("/elections/{id}", get(election))
        .route("/elections/{id}/receipt", get(receipt))
        .route("/elections/{id}/verdicts", get(verdicts))
        .route("/elections/{id}/verify", get(verify))
        .route("/elections/{id}/audit", get(audit_form).post(audit_check))
        .route("/blocks", get(blocks))
        .route("/blocks/{h}", get(block))
        .route("/tx/{id}", get(tx))
        .route("/light/{h}", get(light))
        .route("/static/tabella.css", get(css))
        .layer(Extension(Arc::new(VerifyCache::default())))
}

fn html(status: StatusCode, page: Result<String, askama::Error>) -> Response {
    let (status, body) = match page {
        Ok(b) => (status, b),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "<!doctype html><title>Error</title><p>The page could not be rendered: {e}</p>"
            ),
        ),
    };
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    for (k, v) in tabella_web::SECURITY_HEADERS {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(k, v);
        }
    }
    r
}

/// The HTML "not found" page.
pub fn not_found_page(what: &str) -> Response {
    html(
        StatusCode::NOT_FOUND,
        NotFoundPage {
            what: what.to_string(),
        }
        .render(),
    )
}

fn unavailable() -> Response {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        Ok("<!doctype html><title>Error</title><p>The node's state is unavailable; restart the node.</p>".into()),
    )
}

async fn index(State(app): State<SharedApp>) -> Response {
    let page = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        let s = a.status();
        IndexPage {
            node: NodeView {
                height: s.height.0,
                genesis: s.genesis_hash.to_string(),
                validators: s.roster.len(),
            },
            elections: a
                .elections()
                .into_iter()
                .map(|e| ElectionRow {
                    id: e.election_id,
                    title: e.title.unwrap_or_else(|| "(no manifest yet)".into()),
                    phase: e.phase.unwrap_or_else(|| "none".into()).replace('_', " "),
                    accepted: e.accepted,
                    last_height: e.last_height.0,
                })
                .collect(),
        }
    };
    html(StatusCode::OK, page.render())
}

async fn election(State(app): State<SharedApp>, Path(id): Path<String>) -> Response {
    let Ok(eid) = ElectionId::try_from(id.clone()) else {
        return not_found_page("such election");
    };
    let page = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        let by_height = a.ballots_by_height(&eid);
        a.state()
            .election(&eid)
            .and_then(|e| election_page(eid.as_str(), e.state()))
            .map(|mut p| {
                if !by_height.is_empty() {
                    let mut total = 0u64;
                    let points: Vec<(u64, u64)> = by_height
                        .iter()
                        .map(|(h, n)| {
                            total += u64::from(*n);
                            (h.0, total)
                        })
                        .collect();
                    p.ballots_chart = Some(chart::cumulative(
                        "ballots",
                        "Ballots committed by block height",
                        &points,
                        "ballots",
                    ));
                }
                p
            })
    };
    match page {
        Some(p) => html(StatusCode::OK, p.render()),
        None => not_found_page("such election"),
    }
}

/// Why an election's page cannot be shown.
enum Miss {
    /// No such election here (or not an election id).
    Election,
    /// The node's state lock is poisoned.
    Unavailable,
}

impl Miss {
    fn page(self) -> Response {
        match self {
            Miss::Election => not_found_page("such election"),
            Miss::Unavailable => unavailable(),
        }
    }
}

/// The election's id and title, if the node hosts it.
fn hosted(app: &SharedApp, id: String) -> Result<(ElectionId, String), Miss> {
    let id = ElectionId::try_from(id).map_err(|_| Miss::Election)?;
    let a = app.lock().map_err(|_| Miss::Unavailable)?;
    let title = a
        .state()
        .election(&id)
        .ok_or(Miss::Election)?
        .state()
        .manifest()
        .map_or_else(|| id.to_string(), |m| m.title.clone());
    Ok((id, title))
}

/// A Merkle receipt as the page shows it, checked against the block's transaction root.
fn receipt_view(r: &Receipt, block: Option<&Block>) -> ReceiptView {
    let verified = match block {
        Some(b) => r.verify(&b.header.tx_root).map_err(|e| e.to_string()),
        None => Err(format!("block {} is not on this node", r.height)),
    };
    ReceiptView {
        tx_id: r.tx_id.to_string(),
        height: r.height.0,
        index: r.proof.index,
        tree_size: r.proof.tree_size,
        path: r.proof.path.iter().map(hex::encode).collect(),
        tx_root: block.map_or_else(String::new, |b| b.header.tx_root.to_string()),
        verified,
    }
}

#[derive(Deserialize)]
struct ReceiptQuery {
    r: Option<String>,
}

async fn receipt(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    Query(q): Query<ReceiptQuery>,
) -> Response {
    let (eid, title) = match hosted(&app, id) {
        Ok(x) => x,
        Err(m) => return m.page(),
    };
    let asked = q.r.unwrap_or_default().trim().to_ascii_lowercase();
    let outcome = if asked.is_empty() {
        None
    } else {
        Some(match Digest32::from_hex(&asked) {
            Err(_) => ReceiptOutcome::Malformed(format!(
                "This is not a receipt: a receipt is 64 hexadecimal characters (0-9, a-f); this has {} characters.",
                asked.chars().count()
            )),
            Ok(d) => {
                let Ok(a) = app.lock() else {
                    return unavailable();
                };
                match a.ballot(&d) {
                    Some(b) if b.election_id == eid.as_str() => {
                        let block = a.block_at(b.height).map(|x| x.block);
                        ReceiptOutcome::Found {
                            counted: b.counted,
                            receipt: receipt_view(&b.receipt, block.as_ref()),
                        }
                    }
                    _ => ReceiptOutcome::Missing,
                }
            }
        })
    };
    html(
        StatusCode::OK,
        ReceiptPage {
            id: eid.to_string(),
            title,
            asked,
            outcome,
        }
        .render(),
    )
}

fn verdict_row(v: &CommittedVerdicts) -> VerdictRow {
    let b = &v.bitmap.bitmap;
    let values: Vec<u8> = (0..b.proofs.len())
        .filter_map(|i| b.verdict(i))
        .map(|x| x as u8)
        .collect();
    let (cells, [invalid, valid, skipped, missing]) = verdict_cells(&values);
    let per_million = u32::from(b.rate);
    VerdictRow {
        judged: v.judged_height.0,
        committed_at: v.committed_at.0,
        validator: hex::encode(b.node.to_bytes()),
        rate: if per_million >= 1_000_000 {
            "every proof".into()
        } else {
            format!("{:.1}% of proofs", f64::from(per_million) / 10_000.0)
        },
        cells,
        valid,
        invalid,
        skipped,
        missing,
    }
}

async fn verdicts(State(app): State<SharedApp>, Path(id): Path<String>) -> Response {
    let (eid, title) = match hosted(&app, id) {
        Ok(x) => x,
        Err(m) => return m.page(),
    };
    let rows = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        a.verdicts_for_election(&eid).unwrap_or_default()
    };
    html(
        StatusCode::OK,
        VerdictsPage {
            id: eid.to_string(),
            title,
            rows: rows.iter().map(verdict_row).collect(),
        }
        .render(),
    )
}

async fn verify(
    State(app): State<SharedApp>,
    Extension(cache): Extension<Arc<VerifyCache>>,
    Path(id): Path<String>,
) -> Response {
    let Ok(eid) = ElectionId::try_from(id) else {
        return not_found_page("such election");
    };
    let snapshot = || -> Option<(Vec<Envelope>, tabella_election::state::ElectionState)> {
        let a = app.lock().ok()?;
        let state = a.state().election(&eid)?.state().clone();
        Some((a.envelopes(&eid).unwrap_or_default().to_vec(), state))
    };
    let cached = |n: usize| {
        cache
            .runs
            .lock()
            .ok()
            .and_then(|m| m.get(&eid).filter(|(k, _)| *k == n).map(|(_, p)| p.clone()))
    };
    let Some((log, state)) = snapshot() else {
        return not_found_page("such election");
    };
    let page = if let Some(p) = cached(log.len()) {
        p
    } else {
        let _turn = cache.one_at_a_time.lock().await;
        // Another request may have run it while this one waited.
        if let Some(p) = cached(log.len()) {
            p
        } else {
            let n = log.len();
            let id = eid.to_string();
            let run = tokio::task::spawn_blocking(move || run_verifier(id, log, state)).await;
            let Ok(page) = run else {
                return unavailable();
            };
            let page = Arc::new(page);
            if let Ok(mut m) = cache.runs.lock() {
                m.insert(eid.clone(), (n, page.clone()));
            }
            page
        }
    };
    html(StatusCode::OK, page.render())
}

fn run_verifier(
    id: String,
    log: Vec<Envelope>,
    state: tabella_election::state::ElectionState,
) -> VerifyPage {
    let title = state
        .manifest()
        .map_or_else(|| id.clone(), |m| m.title.clone());
    let envelopes = log.len() as u64;
    let start = std::time::Instant::now();
    let mut page = VerifyPage {
        id,
        title,
        envelopes,
        checks: Vec::new(),
        ballots_verified: 0,
        seconds: 0.0,
        ok: false,
        error: None,
    };
    match Record::from_state(log, &state) {
        Err(e) => page.error = Some(e.to_string()),
        Ok(record) => {
            let report = verify_record(&record);
            page.ok = report.ok();
            page.ballots_verified = report.ballots_verified;
            page.checks = report
                .checks
                .iter()
                .map(|c| CheckView {
                    name: c.name.to_string(),
                    passed: c.passed,
                    failures: c.failures.iter().take(20).cloned().collect(),
                    failed: c.failures.len(),
                })
                .collect();
        }
    }
    page.seconds = start.elapsed().as_secs_f64();
    page
}

async fn audit_form(State(app): State<SharedApp>, Path(id): Path<String>) -> Response {
    let (eid, title) = match hosted(&app, id) {
        Ok(x) => x,
        Err(m) => return m.page(),
    };
    html(
        StatusCode::OK,
        AuditCheckPage {
            id: eid.to_string(),
            title,
            pasted: String::new(),
            result: None,
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct AuditForm {
    audit: String,
}

/// Checks a pasted audit file against this node's manifest and election key (stateless: nothing
/// is stored or submitted).
async fn audit_check(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    axum::Form(f): axum::Form<AuditForm>,
) -> Response {
    let (eid, title) = match hosted(&app, id) {
        Ok(x) => x,
        Err(m) => return m.page(),
    };
    let election = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        a.state().election(&eid).and_then(|e| {
            let st = e.state();
            Some((st.manifest()?.clone(), st.election_key()?.clone()))
        })
    };
    let result = match (
        serde_json::from_str::<tabella_election::audit::AuditedBallot>(&f.audit),
        election,
    ) {
        (Err(e), _) => Err(format!("this is not an audit file: {e}")),
        (_, None) => Err("this election has no election key yet".into()),
        (Ok(a), Some((m, key))) => tabella_election::audit::check_audited(&m, &key, &a)
            .map(|r| {
                (
                    r.tracker.to_string(),
                    r.contests
                        .iter()
                        .map(|c| (c.title.clone(), c.in_words()))
                        .collect(),
                )
            })
            .map_err(|e| e.to_string()),
    };
    let status = if result.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(
        status,
        AuditCheckPage {
            id: eid.to_string(),
            title,
            pasted: f.audit,
            result: Some(result),
        }
        .render(),
    )
}

#[derive(Deserialize)]
struct BlocksQuery {
    from: Option<u64>,
}

async fn blocks(State(app): State<SharedApp>, Query(q): Query<BlocksQuery>) -> Response {
    let page = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        let tip = a.chain().height().0;
        let from = q.from.unwrap_or(tip).min(tip);
        let last = from.saturating_sub(BLOCKS_PER_PAGE - 1);
        let rows = (last..=from)
            .rev()
            .filter_map(|h| a.chain().block(Height(h)))
            .map(|b| BlockRow {
                height: b.header.height.0,
                hash: b.header.hash().to_string(),
                tx_count: b.header.tx_count,
                roster_change: b.header.roster_hash != b.header.next_roster_hash,
            })
            .collect();
        BlocksPage {
            tip,
            rows,
            newer: (from < tip).then(|| (from + BLOCKS_PER_PAGE).min(tip)),
            older: (last > 0).then(|| last - 1),
        }
    };
    html(StatusCode::OK, page.render())
}

fn tx_row(index: usize, tx: &Transaction) -> TxRow {
    let id = tx.id().map_or_else(|e| format!("({e})"), |i| i.to_string());
    let (kind, election, detail) = match tx {
        Transaction::Election {
            election_id,
            envelope,
        } => match envelope {
            Envelope::Ballot(b) => (
                "ballot".to_string(),
                Some(election_id.to_string()),
                format!("receipt {}", b.hash()),
            ),
            Envelope::Official(a) => (
                a.open()
                    .map_or_else(|_| "official action".into(), |b| b.action.name().into()),
                Some(election_id.to_string()),
                format!("signed by {}", hex::encode(a.signer.0.as_bytes())),
            ),
        },
        Transaction::Verdicts { judged, bitmaps } => (
            "verdicts".to_string(),
            None,
            format!(
                "{} bitmap{} on block {judged}",
                bitmaps.len(),
                if bitmaps.len() == 1 { "" } else { "s" }
            ),
        ),
        Transaction::Governance(c) => (
            "roster change".to_string(),
            None,
            format!("epoch {}: {} validators", c.epoch, c.to.len()),
        ),
        Transaction::Stats(_) => ("private statistics".to_string(), None, String::new()),
    };
    TxRow {
        index,
        id,
        kind,
        election,
        detail,
    }
}

async fn block(State(app): State<SharedApp>, Path(h): Path<String>) -> Response {
    let Ok(h) = h.parse::<u64>() else {
        return not_found_page("such block (a block is named by its height)");
    };
    let (b, tip, verdicts) = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        let Some(b) = a.block_at(Height(h)) else {
            return not_found_page("such block");
        };
        (b, a.chain().height().0, a.verdicts_at(Height(h)))
    };
    let hd = &b.block.header;
    let span = |l: usize| {
        u32::try_from(l)
            .ok()
            .and_then(|l| hd.params.span(l))
            .map_or(0, |s| h.saturating_sub(s))
    };
    let page = BlockPage {
        height: h,
        tip,
        hash: hd.hash().to_string(),
        fields: vec![
            ("State root".into(), hd.state_root.to_string()),
            ("Transaction root".into(), hd.tx_root.to_string()),
            ("Transactions".into(), hd.tx_count.to_string()),
            ("Roster".into(), hd.roster_hash.to_string()),
            (
                "Next roster".into(),
                if hd.next_roster_hash == hd.roster_hash {
                    "the same".into()
                } else {
                    hd.next_roster_hash.to_string()
                },
            ),
            (
                "Skipchain".into(),
                format!(
                    "base {}, up to {} levels",
                    hd.params.base, hd.params.max_height
                ),
            ),
        ],
        back_links: hd
            .back_links
            .iter()
            .enumerate()
            .map(|(l, x)| (span(l), x.to_string()))
            .collect(),
        commit: b.commit.as_ref().map(|c| {
            (
                c.round,
                c.signatures
                    .iter()
                    .map(|s| hex::encode(s.validator.to_bytes()))
                    .collect(),
            )
        }),
        txs: b
            .block
            .txs
            .iter()
            .enumerate()
            .map(|(i, t)| tx_row(i, t))
            .collect(),
        verdicts: verdicts.iter().map(verdict_row).collect(),
    };
    html(StatusCode::OK, page.render())
}

async fn tx(State(app): State<SharedApp>, Path(id): Path<String>) -> Response {
    let Ok(tx_id) = TxId::from_hex(&id) else {
        return not_found_page("such transaction (an id is 64 hexadecimal characters)");
    };
    let page = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        match a.tx_status(&tx_id) {
            Some(TxStatus::Committed { receipt }) => {
                let block = a.block_at(receipt.height).map(|x| x.block);
                TxPage {
                    id: tx_id.to_string(),
                    status: "committed".into(),
                    receipt: Some(receipt_view(&receipt, block.as_ref())),
                }
            }
            Some(TxStatus::Pending) => TxPage {
                id: tx_id.to_string(),
                status: "pending".into(),
                receipt: None,
            },
            None => TxPage {
                id: tx_id.to_string(),
                status: "unknown".into(),
                receipt: None,
            },
        }
    };
    html(StatusCode::OK, page.render())
}

async fn light(
    State(app): State<SharedApp>,
    headers: HeaderMap,
    Path(h): Path<String>,
) -> Response {
    let Ok(h) = h.parse::<u64>() else {
        return not_found_page("such block (a block is named by its height)");
    };
    let (proof, genesis) = {
        let Ok(a) = app.lock() else {
            return unavailable();
        };
        if h > a.chain().height().0 {
            return not_found_page("such block");
        }
        (a.light_proof(Height(h)), a.chain().genesis_hash())
    };
    let proof = match proof {
        Ok(p) => p,
        Err(e) => return not_found_page(&format!("light-client path to block {h} ({e})")),
    };
    let verified = proof
        .rosters
        .iter()
        .find(|r| r.hash() == proof.genesis.next_roster_hash)
        .ok_or_else(|| "the proof lacks the genesis roster".to_string())
        .and_then(|roster| {
            tabella_ledger::light::verify(&genesis, roster, &proof, Height(h))
                .map(|v| (v.hash.to_string(), v.links_used))
                .map_err(|e| e.to_string())
        });
    let mut from = 0u64;
    let steps = proof
        .steps
        .iter()
        .map(|s| {
            let (link, signatures) = match &s.link {
                Link::Commit(c) => ("commit certificate".to_string(), c.signatures.len()),
                Link::Forward(f) => (
                    format!("forward link, level {}", f.level),
                    f.signatures.len(),
                ),
            };
            let v = StepView {
                link,
                from,
                to: s.header.height.0,
                signatures,
            };
            from = s.header.height.0;
            v
        })
        .collect();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".:-[]".contains(c))
        })
        .unwrap_or("127.0.0.1:7400");
    let page = LightPage {
        height: h,
        genesis: genesis.to_string(),
        steps,
        rosters: proof.rosters.len(),
        verified,
        node_url: format!("http://{host}"),
    };
    html(StatusCode::OK, page.render())
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        tabella_web::CSS,
    )
        .into_response()
}
