//! The node's HTTP API (axum, JSON). Every error is a 4xx/5xx status with an
//! [`ApiError`](crate::wire::ApiError) body naming the problem; a bad request never disturbs
//! the node. The OpenAPI document is served at `GET /v1/openapi.json`.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Serialize;
use tabella_election::ids::ElectionId;
use tabella_ledger::state::decode_ballots;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};

use crate::node_app::NodeApp;
use crate::wire::{ApiError, ElectionEnvelopes, Submitted};

/// The application shared between the engine and the API.
pub type SharedApp = Arc<Mutex<NodeApp>>;

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 << 20;

struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(ApiError { error: self.1 })).into_response()
    }
}

type Reply<T> = Result<Json<T>, Failure>;

fn bad(msg: impl Into<String>) -> Failure {
    Failure(StatusCode::BAD_REQUEST, msg.into())
}

fn not_found(msg: impl Into<String>) -> Failure {
    Failure(StatusCode::NOT_FOUND, msg.into())
}

fn lock(app: &SharedApp) -> Result<MutexGuard<'_, NodeApp>, Failure> {
    app.lock().map_err(|_| {
        Failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the node's state is poisoned by an earlier failure; restart the node".into(),
        )
    })
}

fn election_id(s: &str) -> Result<ElectionId, Failure> {
    ElectionId::try_from(s.to_string())
        .map_err(|e| bad(format!("{s:?} is not an election id: {e}")))
}

fn rejected(e: crate::Error) -> Failure {
    let msg = e.to_string();
    let status = match &e {
        crate::Error::Ledger(tabella_ledger::Error::MempoolFull(_)) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        crate::Error::Ledger(tabella_ledger::Error::DuplicateTx(_)) => StatusCode::CONFLICT,
        crate::Error::Task { .. } | crate::Error::Poisoned(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    Failure(status, format!("transaction rejected: {msg}"))
}

/// The API router over `app`.
pub fn router(app: SharedApp) -> Router {
    Router::new()
        .route("/v1/status", get(status))
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/tx", post(submit))
        .route("/v1/txs", post(submit_batch))
        .route("/v1/tx/{id}", get(tx_status))
        .route("/v1/blocks/latest", get(latest))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/blocks/hash/{hash}", get(block_by_hash))
        .route("/v1/blocks/{height}/verdicts", get(block_verdicts))
        .route("/v1/light/{height}", get(light))
        .route("/v1/elections", get(elections))
        .route("/v1/elections/{id}", get(election))
        .route("/v1/elections/{id}/envelopes", get(envelopes))
        .route("/v1/elections/{id}/results", get(results))
        .route("/v1/elections/{id}/verdicts", get(election_verdicts))
        .route("/v1/elections/{id}/ballots/{hash}", get(ballot_lookup))
        .route("/v1/forward-links/{height}/{level}", post(link_signature))
        .route("/v1/stats/consortia", get(consortia))
        .route("/v1/stats/consortia/{id}", get(consortium))
        .route("/v1/stats/queries", get(queries))
        .route("/v1/stats/queries/{id}", get(query))
        .route("/v1/stats/queries/{id}/proofs", get(query_proofs))
        .route("/v1/stats/queries/{id}/verdicts", get(query_verdicts))
        .merge(crate::pages::router())
        // Under /v1/ a JSON error (API clients); elsewhere the HTML page (browsers).
        .fallback(|uri: axum::http::Uri| async move {
            if uri.path().starts_with("/v1/") || uri.path() == "/v1" {
                not_found("no such endpoint; see GET /v1/openapi.json").into_response()
            } else {
                crate::pages::not_found_page("such page")
            }
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// Longest wait a client may ask of `GET /v1/status?after=H`.
pub const MAX_STATUS_WAIT_MS: u64 = 30_000;

/// `?after=H&wait_ms=W`: answer once the chain is past height `H`, or after `W` ms.
#[derive(serde::Deserialize)]
struct StatusWait {
    after: Option<u64>,
    #[serde(default)]
    wait_ms: u64,
}

async fn status(
    State(app): State<SharedApp>,
    axum::extract::Query(w): axum::extract::Query<StatusWait>,
) -> Reply<crate::wire::NodeStatus> {
    if let Some(after) = w.after {
        let mut rx = lock(&app)?.watch_height();
        let wait = std::time::Duration::from_millis(w.wait_ms.min(MAX_STATUS_WAIT_MS));
        // A timeout or a stopped node both answer with the status as it is.
        let _ = tokio::time::timeout(wait, rx.wait_for(|h| h.0 > after)).await;
    }
    Ok(Json(lock(&app)?.status()))
}

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

fn parse_tx(body: &[u8]) -> Result<Transaction, Failure> {
    serde_json::from_slice(body).map_err(|e| bad(format!("the body is not a transaction: {e}")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("request handler failed: {e}"),
        )
    })?
}

/// Marks a submission relayed by another validator (admitted, not relayed again).
pub const RELAYED_HEADER: &str = "x-tabella-relayed";

fn relayed(headers: &HeaderMap) -> bool {
    headers.contains_key(RELAYED_HEADER)
}

/// The client's address, when the server was started with connection info (`tabella node
/// run`); tests that call the router directly have none. Logged only at debug level under
/// the `tabella_node::access` target (`TABELLA_LOG=tabella_node::access=debug`): an address
/// next to a ballot's transaction id links a direct voter to a ballot, so it is off unless an
/// operator asks for it (docs/SECURITY.md).
type Peer = Option<Extension<ConnectInfo<std::net::SocketAddr>>>;

fn peer_name(peer: &Peer) -> String {
    peer.as_ref().map_or_else(
        || "unknown".to_string(),
        |Extension(ConnectInfo(a))| a.ip().to_string(),
    )
}

async fn submit(
    State(app): State<SharedApp>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let tx = parse_tx(&body)?;
    let relay = !relayed(&headers);
    let id = blocking(move || admit(&app, vec![tx], relay))
        .await?
        .pop()
        .unwrap_or_else(|| {
            Err(crate::Error::Task {
                task: "admission",
                reason: "it returned no result".into(),
            })
        })
        .map_err(rejected)?;
    // What an operator sees of a submission: the address it came from and the transaction.
    tracing::debug!(target: "tabella_node::access", from = %peer_name(&peer), tx = %id, "transaction submitted");
    Ok((StatusCode::ACCEPTED, Json(Submitted { tx_id: id })).into_response())
}

/// Admits transactions to the mempool. Decoding and proof verification run without the
/// node's lock, so blocks keep being produced and queries answered meanwhile; only the short
/// planning and admission steps take it. With `relay`, those admitted are relayed to the
/// other validators, so that whichever proposes next includes them.
fn admit(
    app: &SharedApp,
    txs: Vec<Transaction>,
    relay: bool,
) -> Result<Vec<Result<TxId, crate::Error>>, Failure> {
    let decoded = decode_ballots(&txs);
    let plan = lock(app)?.verification_plan(&txs, decoded);
    let verified = plan.verify(&txs);
    let copies = relay.then(|| txs.clone());
    let mut a = lock(app)?;
    let results = a.submit_verified(txs, verified);
    if let Some(copies) = copies {
        let admitted: Vec<Transaction> = copies
            .into_iter()
            .zip(&results)
            .filter(|(_, r)| r.is_ok())
            .map(|(t, _)| t)
            .collect();
        a.relay(admitted);
    }
    Ok(results)
}

/// One result of `POST /v1/txs`.
#[derive(Serialize)]
struct BatchItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_id: Option<TxId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn submit_batch(
    State(app): State<SharedApp>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Failure> {
    let txs: Vec<Transaction> = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("the body is not a JSON array of transactions: {e}")))?;
    let relay = !relayed(&headers);
    let out = blocking(move || admit(&app, txs, relay)).await?;
    tracing::debug!(
        target: "tabella_node::access",
        from = %peer_name(&peer),
        admitted = out.iter().filter(|r| r.is_ok()).count(),
        "transaction batch submitted"
    );
    let items: Vec<BatchItem> = out
        .into_iter()
        .map(|r| match r {
            Ok(id) => BatchItem {
                tx_id: Some(id),
                error: None,
            },
            Err(e) => BatchItem {
                tx_id: None,
                error: Some(e.to_string()),
            },
        })
        .collect();
    Ok((StatusCode::ACCEPTED, Json(items)).into_response())
}

async fn tx_status(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<crate::wire::TxStatus> {
    let id = TxId::from_hex(&id).map_err(|e| bad(format!("bad transaction id: {e}")))?;
    lock(&app)?.tx_status(&id).map(Json).ok_or_else(|| {
        not_found(format!(
            "transaction {id} is neither pending nor committed here"
        ))
    })
}

fn parse_height(s: &str) -> Result<Height, Failure> {
    s.parse::<u64>()
        .map(Height)
        .map_err(|_| bad(format!("{s:?} is not a block height")))
}

async fn latest(State(app): State<SharedApp>) -> Reply<crate::wire::BlockWithCommit> {
    let a = lock(&app)?;
    let h = a.chain().height();
    a.block_at(h).map(Json).ok_or_else(|| not_found("no block"))
}

async fn block(
    State(app): State<SharedApp>,
    Path(h): Path<String>,
) -> Reply<crate::wire::BlockWithCommit> {
    let h = parse_height(&h)?;
    let a = lock(&app)?;
    a.block_at(h).map(Json).ok_or_else(|| {
        not_found(format!(
            "no block {h} yet (the chain is at {})",
            a.chain().height()
        ))
    })
}

async fn block_by_hash(
    State(app): State<SharedApp>,
    Path(hash): Path<String>,
) -> Reply<crate::wire::BlockWithCommit> {
    let hash = BlockHash::from_hex(&hash).map_err(|e| bad(format!("bad block hash: {e}")))?;
    lock(&app)?
        .block_by_hash(&hash)
        .map(Json)
        .ok_or_else(|| not_found(format!("no committed block has hash {hash}")))
}

async fn block_verdicts(
    State(app): State<SharedApp>,
    Path(h): Path<String>,
) -> Reply<Vec<crate::wire::CommittedVerdicts>> {
    let h = parse_height(&h)?;
    Ok(Json(lock(&app)?.verdicts_at(h)))
}

async fn light(
    State(app): State<SharedApp>,
    Path(h): Path<String>,
) -> Reply<tabella_ledger::light::LightProof> {
    let h = parse_height(&h)?;
    lock(&app)?
        .light_proof(h)
        .map(Json)
        .map_err(|e| not_found(e.to_string()))
}

async fn elections(State(app): State<SharedApp>) -> Reply<Vec<crate::wire::ElectionSummary>> {
    Ok(Json(lock(&app)?.elections()))
}

fn unknown(id: &ElectionId) -> Failure {
    not_found(format!(
        "unknown election {id:?} on this node (list them with GET /v1/elections)"
    ))
}

async fn election(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<crate::wire::ElectionSummary> {
    let id = election_id(&id)?;
    lock(&app)?
        .election(&id)
        .map(Json)
        .ok_or_else(|| unknown(&id))
}

async fn envelopes(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<ElectionEnvelopes> {
    let id = election_id(&id)?;
    let a = lock(&app)?;
    let envs = a.envelopes(&id).ok_or_else(|| unknown(&id))?;
    Ok(Json(ElectionEnvelopes {
        election_id: id.to_string(),
        envelopes: envs.to_vec(),
    }))
}

async fn results(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<tabella_election::tally::Results> {
    let id = election_id(&id)?;
    let a = lock(&app)?;
    match a.results(&id) {
        None => Err(unknown(&id)),
        Some(None) => Err(not_found(format!(
            "election {id} has no published results yet"
        ))),
        Some(Some(r)) => Ok(Json(r.clone())),
    }
}

async fn election_verdicts(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<Vec<crate::wire::CommittedVerdicts>> {
    let id = election_id(&id)?;
    lock(&app)?
        .verdicts_for_election(&id)
        .map(Json)
        .ok_or_else(|| unknown(&id))
}

async fn ballot_lookup(
    State(app): State<SharedApp>,
    Path((id, hash)): Path<(String, String)>,
) -> Reply<crate::wire::BallotLookup> {
    let id = election_id(&id)?;
    let receipt = tabella_election::ids::Digest32::from_hex(&hash)
        .map_err(|_| bad("a ballot receipt is 64 hex characters".to_string()))?;
    let a = lock(&app)?;
    if a.election(&id).is_none() {
        return Err(unknown(&id));
    }
    match a.ballot(&receipt) {
        Some(b) if b.election_id == id.as_str() => Ok(Json(b)),
        _ => Err(not_found(format!(
            "no committed ballot of election {id} has the receipt {receipt}"
        ))),
    }
}

async fn link_signature(
    State(app): State<SharedApp>,
    Path((h, level)): Path<(String, u32)>,
    body: Bytes,
) -> Result<Response, Failure> {
    let h = parse_height(&h)?;
    let sig: tabella_ledger::roster::ValidatorSignature = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("the body is not a validator signature: {e}")))?;
    lock(&app)?
        .add_link_signature(h, level, sig)
        .map_err(|e| bad(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn consortia(
    State(app): State<SharedApp>,
) -> Reply<Vec<tabella_ledger::stats::ConsortiumEntry>> {
    let a = lock(&app)?;
    Ok(Json(a.state().stats().consortia().cloned().collect()))
}

async fn consortium(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<tabella_ledger::stats::ConsortiumEntry> {
    let id = tabella_ledger::types::ConsortiumId::from_hex(&id)
        .map_err(|e| bad(format!("not a consortium id: {e}")))?;
    lock(&app)?
        .state()
        .stats()
        .consortium(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| {
            not_found(format!(
                "unknown consortium {id} (list them with GET /v1/stats/consortia)"
            ))
        })
}

async fn queries(State(app): State<SharedApp>) -> Reply<Vec<tabella_ledger::stats::QueryView>> {
    let a = lock(&app)?;
    Ok(Json(
        a.state()
            .stats()
            .queries()
            .map(|(id, q)| q.view(*id))
            .collect(),
    ))
}

fn query_id(s: &str) -> Result<tabella_stats::params::QueryId, Failure> {
    let v = hex::decode(s).map_err(|e| bad(format!("{s:?} is not a query id: {e}")))?;
    let a: [u8; 32] = v
        .try_into()
        .map_err(|_| bad(format!("{s:?} is not a query id (64 hex characters)")))?;
    Ok(tabella_stats::params::QueryId(a))
}

fn with_query<T>(
    app: &SharedApp,
    id: &str,
    f: impl FnOnce(tabella_stats::params::QueryId, &tabella_ledger::stats::QueryEntry) -> T,
) -> Reply<T> {
    let id = query_id(id)?;
    let a = lock(app)?;
    let q = a.state().stats().query(&id).ok_or_else(|| {
        not_found(format!(
            "unknown query {id} (list them with GET /v1/stats/queries)"
        ))
    })?;
    Ok(Json(f(id, q)))
}

async fn query(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<tabella_ledger::stats::QueryView> {
    with_query(&app, &id, |id, q| q.view(id))
}

/// `?from=N`: only the proofs from position `N` on (the events always in full).
#[derive(serde::Deserialize)]
struct From {
    #[serde(default)]
    from: usize,
}

async fn query_proofs(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
    axum::extract::Query(f): axum::extract::Query<From>,
) -> Reply<tabella_ledger::stats::QueryProofs> {
    with_query(&app, &id, |id, q| q.proof_list_from(id, f.from))
}

async fn query_verdicts(
    State(app): State<SharedApp>,
    Path(id): Path<String>,
) -> Reply<tabella_ledger::stats::QueryVerdicts> {
    with_query(&app, &id, |id, q| q.verdict_list(id))
}

/// The OpenAPI 3.1 document of this API.
pub const OPENAPI: &str = include_str!("openapi.json");
