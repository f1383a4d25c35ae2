//! The node's HTTP API (axum, JSON). Every error is a 4xx/5xx status with an
//! [`ApiError`](crate::wire::ApiError) body naming the problem; a bad request never disturbs
//! the node. The OpenAPI document is served at `GET /v1/openapi.json`.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde::Serialize;
use tabella_election::ids::ElectionId;
use tabella_ledger::state::decode_ballots;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height, TxId};

use crate::node_app::NodeApp;
use crate::wire::{
    ApiError, BallotLookup, BlockWithCommit, CommittedVerdicts, ElectionEnvelopes, ElectionSummary,
    NodeStatus, Submitted, TxStatus,
};

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

/// `Path<T>` whose rejection is a JSON [`ApiError`] (400), like every other error.
struct P<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for P<T> {
    type Rejection = Failure;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(t)| P(t))
            .map_err(|e| bad(e.body_text()))
    }
}

/// `Query<T>` whose rejection is a JSON [`ApiError`] (400).
struct Q<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for Q<T> {
    type Rejection = Failure;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Failure> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Q(t))
            .map_err(|e| bad(e.body_text()))
    }
}

/// The request body as bytes; too large a body is a JSON [`ApiError`] with status 413.
struct Body(Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Failure;
    async fn from_request(req: Request, state: &S) -> Result<Self, Failure> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|e| Failure(e.status(), e.body_text()))
    }
}

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

/// The API's OpenAPI description: the operations come from the handlers' `#[utoipa::path]`
/// annotations, the schemas from the request and response types (`utoipa::ToSchema`).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tabella node API",
        description = "The HTTP API of a Tabella validator node: submit transactions (election \
            envelopes, statistics messages), read the chain (blocks, commit certificates, \
            light-client proofs, verdict bitmaps) and the elections' and queries' public state. \
            Every error is a 4xx/5xx status with an `ApiError` JSON body. Transactions are \
            checked in full (signatures, proofs, phase rules) when submitted; a body that fits \
            the schema but fails those checks is answered 422.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "chain", description = "Node status, blocks, transactions and light-client proofs."),
        (name = "elections", description = "Elections' public state, envelopes and results."),
        (name = "stats", description = "Private-statistics consortia and queries."),
    ),
    components(schemas(
        ApiError,
        tabella_election::ids::ElectionIdText,
        tabella_crypto::api_schema::Hash32Hex
    ))
)]
struct ApiDoc;

/// The routes and their description, built together so that they cannot diverge.
fn routes() -> (Router<SharedApp>, utoipa::openapi::OpenApi) {
    use utoipa::OpenApi as _;
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(status))
        .routes(routes!(openapi))
        .routes(routes!(submit))
        .routes(routes!(submit_batch))
        .routes(routes!(tx_status))
        .routes(routes!(latest))
        .routes(routes!(block))
        .routes(routes!(block_by_hash))
        .routes(routes!(block_verdicts))
        .routes(routes!(light))
        .routes(routes!(elections))
        .routes(routes!(election))
        .routes(routes!(envelopes))
        .routes(routes!(results))
        .routes(routes!(election_verdicts))
        .routes(routes!(ballot_lookup))
        .routes(routes!(link_signature))
        .routes(routes!(consortia))
        .routes(routes!(consortium))
        .routes(routes!(queries))
        .routes(routes!(query))
        .routes(routes!(query_proofs))
        .routes(routes!(query_verdicts))
        .split_for_parts()
}

/// The OpenAPI 3.1 document of this API, as served at `GET /v1/openapi.json` (pretty JSON; the
/// checked-in copy is `docs/openapi.json`).
pub fn openapi_json() -> String {
    render(&routes().1)
}

fn render(doc: &utoipa::openapi::OpenApi) -> String {
    let mut s = doc
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot write the OpenAPI document: {e}\"}}"));
    s.push('\n');
    s
}

/// The API router over `app`.
pub fn router(app: SharedApp) -> Router {
    let (api, doc) = routes();
    let doc = Arc::new(render(&doc));
    api.layer(Extension(OpenApiText(doc)))
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

/// The served OpenAPI document.
#[derive(Clone)]
struct OpenApiText(Arc<String>);

/// Longest wait a client may ask of `GET /v1/status?after=H`.
pub const MAX_STATUS_WAIT_MS: u64 = 30_000;

/// `?after=H&wait_ms=W`: answer once the chain is past height `H`, or after `W` ms.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct StatusWait {
    /// Answer once the chain is past this height (long poll) …
    #[param(value_type = Option<Height>)]
    after: Option<Height>,
    /// … or after this many milliseconds, at most 30000 (default 0).
    #[serde(default)]
    #[param(minimum = 0, maximum = 30000)]
    wait_ms: u64,
}

/// The node's status: its chain, tip, roster and mempool.
#[utoipa::path(get, path = "/v1/status", tag = "chain", params(StatusWait),
    responses((status = 200, description = "The status.", body = NodeStatus), (status = 400, description = "A malformed parameter.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn status(State(app): State<SharedApp>, Q(w): Q<StatusWait>) -> Reply<NodeStatus> {
    if w.wait_ms > MAX_STATUS_WAIT_MS {
        return Err(bad(format!(
            "wait_ms is at most {MAX_STATUS_WAIT_MS}, not {}",
            w.wait_ms
        )));
    }
    if let Some(Height(after)) = w.after {
        let mut rx = lock(&app)?.watch_height();
        let wait = std::time::Duration::from_millis(w.wait_ms.min(MAX_STATUS_WAIT_MS));
        // A timeout or a stopped node both answer with the status as it is.
        let _ = tokio::time::timeout(wait, rx.wait_for(|h| h.0 > after)).await;
    }
    Ok(Json(lock(&app)?.status()))
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "chain",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.",
        content_type = "application/json", body = Object)))]
async fn openapi(Extension(OpenApiText(doc)): Extension<OpenApiText>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        doc.as_str().to_owned(),
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

/// Submits one transaction; it is checked in full (signatures, proofs, phase rules), queued
/// and relayed to the other validators.
#[utoipa::path(post, path = "/v1/tx", tag = "chain",
    request_body(content = Transaction, content_type = "application/json"),
    responses((status = 202, description = "Checked and queued; poll `GET /v1/tx/{id}`.", body = Submitted),
        (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 409, description = "The transaction is already pending or committed.", body = ApiError),
        (status = 413, description = "The body is larger than 64 MiB.", body = ApiError),
        (status = 422, description = "The transaction fits the schema but fails the node's checks (signature, proof, phase, quota...).", body = ApiError),
        (status = 500, description = "The node failed; restart it.", body = ApiError),
        (status = 503, description = "The mempool is full; retry later.", body = ApiError)))]
async fn submit(
    State(app): State<SharedApp>,
    peer: Peer,
    headers: HeaderMap,
    Body(body): Body,
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

/// One result of `POST /v1/txs`: the transaction's id, or why it was refused.
#[derive(Serialize, utoipa::ToSchema)]
struct BatchItem {
    #[serde(skip_serializing_if = "Option::is_none")]
    tx_id: Option<TxId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Submits a batch of transactions; each is checked and queued on its own, and the reply says
/// for each whether it was admitted.
#[utoipa::path(post, path = "/v1/txs", tag = "chain",
    request_body(content = Vec<Transaction>, content_type = "application/json"),
    responses((status = 202, description = "One result per transaction, in order.", body = Vec<BatchItem>),
        (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 413, description = "The body is larger than 64 MiB.", body = ApiError),
        (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn submit_batch(
    State(app): State<SharedApp>,
    peer: Peer,
    headers: HeaderMap,
    Body(body): Body,
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

/// A transaction's status: pending, or committed with its inclusion receipt.
#[utoipa::path(get, path = "/v1/tx/{id}", tag = "chain",
    params(("id" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The transaction id.")),
    responses((status = 200, description = "Pending or committed.", body = TxStatus), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Neither pending nor committed on this node.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn tx_status(State(app): State<SharedApp>, P(id): P<String>) -> Reply<TxStatus> {
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

/// The last committed block with its commit certificate.
#[utoipa::path(get, path = "/v1/blocks/latest", tag = "chain",
    responses((status = 200, description = "The tip.", body = BlockWithCommit), (status = 404, description = "No block.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn latest(State(app): State<SharedApp>) -> Reply<BlockWithCommit> {
    let a = lock(&app)?;
    let h = a.chain().height();
    a.block_at(h).map(Json).ok_or_else(|| not_found("no block"))
}

/// A committed block with its commit certificate.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain", params(("height" = Height, Path, description = "A block height (genesis is 0).")),
    responses((status = 200, description = "The block.", body = BlockWithCommit), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "No block at that height yet.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn block(State(app): State<SharedApp>, P(h): P<String>) -> Reply<BlockWithCommit> {
    let h = parse_height(&h)?;
    let a = lock(&app)?;
    a.block_at(h).map(Json).ok_or_else(|| {
        not_found(format!(
            "no block {h} yet (the chain is at {})",
            a.chain().height()
        ))
    })
}

/// A committed block found by its hash.
#[utoipa::path(get, path = "/v1/blocks/hash/{hash}", tag = "chain",
    params(("hash" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The block hash.")),
    responses((status = 200, description = "The block.", body = BlockWithCommit), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "No committed block has that hash.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn block_by_hash(State(app): State<SharedApp>, P(hash): P<String>) -> Reply<BlockWithCommit> {
    let hash = BlockHash::from_hex(&hash).map_err(|e| bad(format!("bad block hash: {e}")))?;
    lock(&app)?
        .block_by_hash(&hash)
        .map(Json)
        .ok_or_else(|| not_found(format!("no committed block has hash {hash}")))
}

/// The verdict bitmaps committed for the block at a height (empty when none yet).
#[utoipa::path(get, path = "/v1/blocks/{height}/verdicts", tag = "chain", params(("height" = Height, Path, description = "A block height (genesis is 0).")),
    responses((status = 200, description = "The bitmaps.", body = Vec<CommittedVerdicts>), (status = 400, description = "A malformed parameter.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn block_verdicts(
    State(app): State<SharedApp>,
    P(h): P<String>,
) -> Reply<Vec<CommittedVerdicts>> {
    let h = parse_height(&h)?;
    Ok(Json(lock(&app)?.verdicts_at(h)))
}

/// The light-client proof from genesis to a height (forward links and roster changes).
#[utoipa::path(get, path = "/v1/light/{height}", tag = "chain", params(("height" = Height, Path, description = "A block height (genesis is 0).")),
    responses((status = 200, description = "The proof.", body = tabella_ledger::light::LightProof), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "No block at that height yet.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn light(
    State(app): State<SharedApp>,
    P(h): P<String>,
) -> Reply<tabella_ledger::light::LightProof> {
    let h = parse_height(&h)?;
    lock(&app)?
        .light_proof(h)
        .map(Json)
        .map_err(|e| not_found(e.to_string()))
}

/// The elections on the chain.
#[utoipa::path(get, path = "/v1/elections", tag = "elections",
    responses((status = 200, description = "Every election.", body = Vec<ElectionSummary>), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn elections(State(app): State<SharedApp>) -> Reply<Vec<ElectionSummary>> {
    Ok(Json(lock(&app)?.elections()))
}

fn unknown(id: &ElectionId) -> Failure {
    not_found(format!(
        "unknown election {id:?} on this node (list them with GET /v1/elections)"
    ))
}

/// One election's summary: phase, counts.
#[utoipa::path(get, path = "/v1/elections/{id}", tag = "elections", params(("id" = tabella_election::ids::ElectionIdText, Path, description = "The election id.")),
    responses((status = 200, description = "The election.", body = ElectionSummary), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown election.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn election(State(app): State<SharedApp>, P(id): P<String>) -> Reply<ElectionSummary> {
    let id = election_id(&id)?;
    lock(&app)?
        .election(&id)
        .map(Json)
        .ok_or_else(|| unknown(&id))
}

/// Every accepted envelope of an election, in order: the raw material of its record.
#[utoipa::path(get, path = "/v1/elections/{id}/envelopes", tag = "elections", params(("id" = tabella_election::ids::ElectionIdText, Path, description = "The election id.")),
    responses((status = 200, description = "The envelopes.", body = ElectionEnvelopes), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown election.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn envelopes(State(app): State<SharedApp>, P(id): P<String>) -> Reply<ElectionEnvelopes> {
    let id = election_id(&id)?;
    let a = lock(&app)?;
    let envs = a.envelopes(&id).ok_or_else(|| unknown(&id))?;
    Ok(Json(ElectionEnvelopes {
        election_id: id.to_string(),
        envelopes: envs.to_vec(),
    }))
}

/// An election's published results.
#[utoipa::path(get, path = "/v1/elections/{id}/results", tag = "elections", params(("id" = tabella_election::ids::ElectionIdText, Path, description = "The election id.")),
    responses((status = 200, description = "The results.", body = tabella_election::tally::Results), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown election, or no results published yet.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn results(
    State(app): State<SharedApp>,
    P(id): P<String>,
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

/// The verdict bitmaps of the blocks that carried an election's envelopes.
#[utoipa::path(get, path = "/v1/elections/{id}/verdicts", tag = "elections", params(("id" = tabella_election::ids::ElectionIdText, Path, description = "The election id.")),
    responses((status = 200, description = "The bitmaps.", body = Vec<CommittedVerdicts>), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown election.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn election_verdicts(
    State(app): State<SharedApp>,
    P(id): P<String>,
) -> Reply<Vec<CommittedVerdicts>> {
    let id = election_id(&id)?;
    lock(&app)?
        .verdicts_for_election(&id)
        .map(Json)
        .ok_or_else(|| unknown(&id))
}

/// A committed ballot found by the receipt its voter holds (the ballot hash).
#[utoipa::path(get, path = "/v1/elections/{id}/ballots/{hash}", tag = "elections",
    params(("id" = tabella_election::ids::ElectionIdText, Path, description = "The election id."), ("hash" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The ballot receipt (ballot hash).")),
    responses((status = 200, description = "The ballot's block, Merkle receipt and whether it is counted.", body = BallotLookup), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown election, or no committed ballot with that receipt.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn ballot_lookup(
    State(app): State<SharedApp>,
    P((id, hash)): P<(String, String)>,
) -> Reply<BallotLookup> {
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

/// A validator's signature on a forward link (validators call this on each other).
#[utoipa::path(post, path = "/v1/forward-links/{height}/{level}", tag = "chain",
    params(("height" = Height, Path, description = "A block height (genesis is 0)."), ("level" = u32, Path, description = "The skipchain level.", minimum = 0)),
    request_body(content = tabella_ledger::roster::ValidatorSignature, content_type = "application/json"),
    responses((status = 204, description = "Recorded."),
        (status = 400, description = "A malformed parameter or body, or a signature that does not verify.", body = ApiError),
        (status = 413, description = "The body is larger than 64 MiB.", body = ApiError),
        (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn link_signature(
    State(app): State<SharedApp>,
    P((h, level)): P<(String, u32)>,
    Body(body): Body,
) -> Result<Response, Failure> {
    let h = parse_height(&h)?;
    let sig: tabella_ledger::roster::ValidatorSignature = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("the body is not a validator signature: {e}")))?;
    lock(&app)?
        .add_link_signature(h, level, sig)
        .map_err(|e| bad(e.to_string()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The private-statistics consortia on the chain.
#[utoipa::path(get, path = "/v1/stats/consortia", tag = "stats",
    responses((status = 200, description = "Every consortium.", body = Vec<tabella_ledger::stats::ConsortiumEntry>), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn consortia(
    State(app): State<SharedApp>,
) -> Reply<Vec<tabella_ledger::stats::ConsortiumEntry>> {
    let a = lock(&app)?;
    Ok(Json(a.state().stats().consortia().cloned().collect()))
}

/// One consortium.
#[utoipa::path(get, path = "/v1/stats/consortia/{id}", tag = "stats",
    params(("id" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The consortium id.")),
    responses((status = 200, description = "The consortium.", body = tabella_ledger::stats::ConsortiumEntry), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown consortium.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn consortium(
    State(app): State<SharedApp>,
    P(id): P<String>,
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

/// The statistics queries on the chain.
#[utoipa::path(get, path = "/v1/stats/queries", tag = "stats",
    responses((status = 200, description = "Every query.", body = Vec<tabella_ledger::stats::QueryView>), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
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

/// One query: its request, status and answer.
#[utoipa::path(get, path = "/v1/stats/queries/{id}", tag = "stats", params(("id" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The query id.")),
    responses((status = 200, description = "The query.", body = tabella_ledger::stats::QueryView), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown query.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn query(
    State(app): State<SharedApp>,
    P(id): P<String>,
) -> Reply<tabella_ledger::stats::QueryView> {
    with_query(&app, &id, |id, q| q.view(id))
}

/// Largest `from` of `GET /v1/stats/queries/{id}/proofs` (as documented).
const MAX_FROM: u32 = i32::MAX as u32;

/// `?from=N`: only the proofs from position `N` on (the events always in full).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct From {
    /// The first proof to return (0: all).
    #[serde(default)]
    #[param(minimum = 0, maximum = 2147483647)]
    from: u32,
}

/// A query's events and proofs (from a position on).
#[utoipa::path(get, path = "/v1/stats/queries/{id}/proofs", tag = "stats", params(("id" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The query id."), From),
    responses((status = 200, description = "The events and proofs.", body = tabella_ledger::stats::QueryProofs), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown query.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn query_proofs(
    State(app): State<SharedApp>,
    P(id): P<String>,
    Q(f): Q<From>,
) -> Reply<tabella_ledger::stats::QueryProofs> {
    if f.from > MAX_FROM {
        return Err(bad(format!("from is at most {MAX_FROM}, not {}", f.from)));
    }
    with_query(&app, &id, |id, q| q.proof_list_from(id, f.from as usize))
}

/// The validators' verdicts on a query's proofs.
#[utoipa::path(get, path = "/v1/stats/queries/{id}/verdicts", tag = "stats", params(("id" = tabella_crypto::api_schema::Hash32Hex, Path, description = "The query id.")),
    responses((status = 200, description = "The verdicts.", body = tabella_ledger::stats::QueryVerdicts), (status = 400, description = "A malformed parameter.", body = ApiError),
        (status = 404, description = "Unknown query.", body = ApiError), (status = 500, description = "The node failed; restart it.", body = ApiError)))]
async fn query_verdicts(
    State(app): State<SharedApp>,
    P(id): P<String>,
) -> Reply<tabella_ledger::stats::QueryVerdicts> {
    with_query(&app, &id, |id, q| q.verdict_list(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The served document is generated from the types; `docs/openapi.json` is its checked-in
    /// copy, which API clients and reviewers read. Regenerate it with
    /// `TABELLA_UPDATE_OPENAPI=1 cargo test -p tabella-node --lib openapi`.
    #[test]
    fn openapi_document_is_checked_in() {
        let doc = openapi_json();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
        if std::env::var_os("TABELLA_UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &doc).unwrap();
        }
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == doc,
            "docs/openapi.json differs from the generated document; if the API change is \
             intended, run TABELLA_UPDATE_OPENAPI=1 cargo test -p tabella-node --lib openapi"
        );
    }

    /// Every schema the document refers to is defined, and every operation documents its
    /// error body.
    #[test]
    fn openapi_document_is_complete() {
        let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut rest = text.as_str();
        while let Some(i) = rest.find("#/components/schemas/") {
            rest = &rest[i + "#/components/schemas/".len()..];
            let name: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "undefined schema {name}");
        }
        for (path, item) in doc["paths"].as_object().unwrap() {
            if path == "/v1/openapi.json" {
                continue;
            }
            for (method, op) in item.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                assert!(responses.contains_key("500"), "{method} {path}: no 500");
                for (status, r) in responses {
                    let schema = &r["content"]["application/json"]["schema"];
                    assert!(
                        status == "204"
                            || schema.get("$ref").is_some()
                            || schema.get("type").is_some(),
                        "{method} {path} {status}: no schema"
                    );
                    assert_ne!(
                        schema,
                        &serde_json::json!({"type": "object"}),
                        "{method} {path} {status}: an untyped object"
                    );
                }
            }
        }
    }
}
