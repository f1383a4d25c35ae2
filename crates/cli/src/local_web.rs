//! The shell shared by the pages a user's own binary serves on this computer: the voter's booth
//! (`tabella booth`) and the officials' consoles (`tabella console`). The threat is the local web
//! attacker (docs/SECURITY.md): any page in any tab may send requests to 127.0.0.1, and a DNS
//! name may be rebound to it. So:
//!
//! * the server listens on a loopback address only;
//! * the first request must carry the random token printed on the terminal (`/start?token=`),
//!   which becomes an `HttpOnly`, `SameSite=Strict` cookie; any other request without it is
//!   refused (tokens compared in constant time);
//! * every request must name this server in `Host` (127.0.0.1:PORT or localhost:PORT), which
//!   defeats DNS rebinding;
//! * every form post must come from this origin (`Origin`, `Sec-Fetch-Site`) and carry the
//!   session's anti-forgery token;
//! * pages run no script, carry the same CSP as the node's pages, and are never cached.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context};
use askama::Template;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use rand_core::{OsRng, RngCore};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tabella_web::booth::MessagePage;
use zeroize::Zeroizing;

/// One local server's session secrets and the names it answers to.
pub struct LocalSession {
    token: Zeroizing<String>,
    csrf: Zeroizing<String>,
    /// `host:port` values accepted in `Host` and `Origin`.
    hosts: [String; 2],
    /// The cookie's name, with the port in it: browsers share cookies across the ports of a
    /// host, and a booth and a console may run side by side.
    cookie: String,
}

fn random_hex() -> Zeroizing<String> {
    let mut b = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(b.as_mut());
    Zeroizing::new(hex::encode(b.as_ref()))
}

impl LocalSession {
    /// The token of the start link.
    pub fn token(&self) -> &str {
        &self.token
    }
    /// The anti-forgery token every form carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }
    /// Whether a posted anti-forgery token is this session's.
    pub fn csrf_ok(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.csrf.as_bytes()))
    }
    fn token_ok(&self, given: &str) -> bool {
        bool::from(given.as_bytes().ct_eq(self.token.as_bytes()))
    }
    fn has_cookie(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| {
                kv.trim()
                    .strip_prefix(self.cookie.as_str())?
                    .strip_prefix('=')
            })
            .any(|t| self.token_ok(t))
    }
}

/// Refuses a non-loopback `--listen`.
pub fn loopback_only(listen: SocketAddr, what: &str) -> anyhow::Result<()> {
    if !listen.ip().is_loopback() {
        bail!(
            "--listen {listen}: the {what} serves this computer only; use a loopback address such as 127.0.0.1:0"
        );
    }
    Ok(())
}

/// Binds `listen` (loopback) and makes the session for the port it got.
pub async fn bind(
    listen: SocketAddr,
) -> anyhow::Result<(tokio::net::TcpListener, Arc<LocalSession>)> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let port = listener.local_addr()?.port();
    Ok((
        listener,
        Arc::new(LocalSession {
            token: random_hex(),
            csrf: random_hex(),
            hosts: [format!("127.0.0.1:{port}"), format!("localhost:{port}")],
            cookie: format!("tabella_{port}"),
        }),
    ))
}

/// Wraps an application's routes with `/start`, the stylesheet and the guard.
pub fn shell(session: Arc<LocalSession>, app: Router) -> Router {
    Router::new()
        .route("/start", get(start))
        .route("/static/tabella.css", get(css))
        .with_state(session.clone())
        .merge(app)
        .layer(middleware::from_fn_with_state(session, guard))
}

/// Serves `what` (e.g. "booth for election 'e1'") on `listen` until Ctrl-C: binds, builds the
/// application's routes for the session, prints the start link and serves them inside
/// [`shell`].
pub fn run(
    listen: SocketAddr,
    what: &str,
    app: impl FnOnce(Arc<LocalSession>) -> Router + Send + 'static,
) -> anyhow::Result<()> {
    loopback_only(listen, what)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (listener, local) = bind(listen).await?;
        let addr = listener.local_addr()?;
        let routes = app(local.clone());
        println!(
            "{what} open at http://{addr}/start?token={} (this computer only; the link holds this session's key, do not share it)",
            local.token()
        );
        println!("press Ctrl-C to close it");
        serve(listener, shell(local, routes)).await
    })
}

/// Serves until Ctrl-C.
async fn serve(listener: tokio::net::TcpListener, app: Router) -> anyhow::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the local web server stopped")
}

/// A page with a status.
pub fn page(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    let (status, body) = match body {
        Ok(b) => (status, b),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!(
                "<!doctype html><title>Error</title><p>The page could not be rendered: {e}</p>"
            ),
        ),
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// A refusal or an error page.
pub fn message(
    status: StatusCode,
    heading: &str,
    text: &str,
    back: Option<(&str, &str)>,
) -> Response {
    page(
        status,
        MessagePage {
            heading: heading.into(),
            message: text.into(),
            back: back.map(|(a, b)| (a.into(), b.into())),
        }
        .render(),
    )
}

/// The answer to a form without this session's anti-forgery token.
pub fn forged() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Refused",
        "This form is not from this session (its anti-forgery token is wrong); nothing was done.",
        Some(("/", "Start again")),
    )
}

/// Runs blocking work (node requests, the keystore's KDF, encryption) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| anyhow!("the worker failed: {e}"))?
}

async fn guard(State(s): State<Arc<LocalSession>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !s.hosts.iter().any(|h| h == host) {
        return message(
            StatusCode::FORBIDDEN,
            "Wrong address",
            "This page answers only at the 127.0.0.1 address it printed.",
            None,
        );
    }
    if req.method() == Method::POST {
        // Browsers send `Sec-Fetch-Site`; with it, an opaque `Origin: null` (which a
        // no-referrer policy can cause) is accepted only for a same-origin request.
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let site_ok = site.is_none_or(|v| v == "same-origin" || v == "none");
        let origin_ok = match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
            None => true,
            Some("null") => site == Some("same-origin"),
            Some(o) => s.hosts.iter().any(|h| o == format!("http://{h}")),
        };
        if !origin_ok || !site_ok {
            return message(
                StatusCode::FORBIDDEN,
                "Refused",
                "A form from another site cannot act here.",
                None,
            );
        }
    }
    if req.uri().path() != "/start" && !s.has_cookie(headers) {
        return message(
            StatusCode::FORBIDDEN,
            "Open the printed link",
            "Open the link that tabella printed in your terminal; it holds this session's key.",
            None,
        );
    }
    let mut r = next.run(req).await;
    for (k, v) in tabella_web::SECURITY_HEADERS {
        if let Ok(v) = v.parse() {
            r.headers_mut().insert(k, v);
        }
    }
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    // Same-origin referrers, so the browser names this origin in its form posts' `Origin`.
    r.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    r
}

#[derive(Deserialize)]
struct StartQuery {
    token: Option<String>,
}

async fn start(State(s): State<Arc<LocalSession>>, Query(q): Query<StartQuery>) -> Response {
    if !q.token.as_deref().is_some_and(|t| s.token_ok(t)) {
        return message(
            StatusCode::FORBIDDEN,
            "Wrong link",
            "This link does not open this session. Copy the whole link that tabella printed.",
            None,
        );
    }
    let mut r = Redirect::to("/").into_response();
    if let Ok(v) = format!(
        "{}={}; HttpOnly; SameSite=Strict; Path=/",
        s.cookie,
        s.token()
    )
    .parse()
    {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        tabella_web::CSS,
    )
        .into_response()
}

/// Runs `tabella ARGS` (this binary) in `workdir` against the same node and keystore, the
/// passphrase in its environment (never on disk or in the page): `Ok(what it printed)` or
/// `Err(its error line)`. The consoles and the booth's registration run the command line's own
/// code this way, with its checks and messages.
pub async fn run_self(
    common: &crate::roles::Common,
    workdir: &std::path::Path,
    args: Vec<String>,
    pass: Zeroizing<String>,
) -> Result<String, String> {
    let node = common.node.clone();
    let keystore = std::path::absolute(&common.keystore).unwrap_or(common.keystore.clone());
    let workdir = workdir.to_path_buf();
    blocking(move || {
        let exe = std::env::current_exe().context("cannot find the tabella binary")?;
        let out = std::process::Command::new(exe)
            .args(&args)
            .arg("--node")
            .arg(&node)
            .arg("--keystore")
            .arg(&keystore)
            .env("TABELLA_PASSPHRASE", pass.as_str())
            .current_dir(&workdir)
            .output()
            .context("cannot run tabella")?;
        Ok(out)
    })
    .await
    .map_err(|e| format!("{e:#}."))
    .and_then(|out| {
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(stderr
                .strip_prefix("error: ")
                .unwrap_or(&stderr)
                .to_string())
        }
    })
}
