//! The node's public web pages (issue 16, in progress), under `/` on the API's port: the
//! elections on the chain and each election's page with its results and charts. Views come
//! from `tabella-web`; this module only reads the node's state (under its lock, briefly) and
//! serves HTML with the security headers. Paths under `/v1/` keep the API's JSON answers.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tabella_election::ids::ElectionId;
use tabella_web::views::{election_page, ElectionRow, IndexPage, NodeView, NotFoundPage};

use crate::api::SharedApp;

/// The pages' routes (merged into the API router).
pub fn router() -> Router<SharedApp> {
    Router::new()
        .route("/", get(index))
        .route("/elections/{id}", get(election))
        .route("/static/tabella.css", get(css))
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
        a.state()
            .election(&eid)
            .and_then(|e| election_page(eid.as_str(), e.state()))
    };
    match page {
        Some(p) => html(StatusCode::OK, p.render()),
        None => not_found_page("such election"),
    }
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
