//! `tabella console --as NAME`: an official's console as a local web page, served by the
//! official's own binary on 127.0.0.1 with their keystore (issue 16). One page per role — council
//! (create, key ceremony / open, close, publish), trustee (key ceremony, decryption), identity
//! validator (check an identity, sign the blinded request), registrar (queue notes, enable keys,
//! close registration), juror (authorize the next voter at a table, start the kiosk booth) —
//! with the election's state from the node.
//!
//! Each action runs this same binary's command in a child process (`tabella election open
//! --as NAME …`), so the console has exactly the command line's checks, messages and
//! pre-submission refusals: a mistake is explained and nothing is submitted. The passphrase
//! reaches the child through its environment, never the page or the disk. The session's guards
//! against other sites and DNS rebinding are in [`crate::local_web`].

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Context};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use clap::Args;
use serde::Deserialize;
use tabella_web::console::{ConsolePage, ConsoleStatus};
use zeroize::Zeroizing;

use crate::keystore::{Keystore, Passphrase};
use crate::local_web::{self, LocalSession};
use crate::roles::{election_id, load, Common, Official, OfficialPublic, Role};

/// `tabella console`.
#[derive(Args, Debug)]
pub struct ConsoleArgs {
    #[command(flatten)]
    common: Common,
    /// The official's key name in the keystore (its role chooses the console).
    #[arg(long = "as")]
    as_: String,
    /// The election to start with (it can be chosen on the page).
    #[arg(long)]
    election: Option<String>,
    /// Where to listen: a loopback address only (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The directory for the files the commands read and write (the council's whitelist, the
    /// registrar's queue, the juror's booth files).
    #[arg(long, default_value = ".")]
    workdir: PathBuf,
}

#[derive(Default)]
struct Session {
    passphrase: Option<Zeroizing<String>>,
    election: String,
    flash: Option<Result<String, String>>,
    output: Option<(String, String)>,
    kiosks: Vec<String>,
    /// Booth files named so far (only grows, so a name is never reused while its file waits).
    booths_named: u32,
    /// Links to kiosk booths started: (href, text).
    links: Vec<(String, String)>,
    /// Kiosk booths started from this console (stopped with it).
    children: Vec<Child>,
}

impl Drop for Session {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

struct Console {
    name: String,
    role: Role,
    common: Common,
    workdir: PathBuf,
    local: Arc<LocalSession>,
    session: Mutex<Session>,
}

type Shared = Arc<Console>;

/// Runs `tabella console`.
pub fn run(a: ConsoleArgs) -> anyhow::Result<()> {
    local_web::loopback_only(a.listen, "console")?;
    let ks = a.common.keystore()?;
    let public: OfficialPublic = ks.public(&a.as_, "key").with_context(|| {
        format!(
            "no official key '{}' in {}; create it with `tabella keys new --role ROLE --name {}`",
            a.as_,
            ks.dir().display(),
            a.as_
        )
    })?;
    if let Some(e) = &a.election {
        election_id(e)?;
    }
    std::fs::create_dir_all(&a.workdir)
        .with_context(|| format!("cannot create {}", a.workdir.display()))?;
    let what = format!("{} console for '{}'", public.role.name(), a.as_);
    local_web::run(a.listen, &what, move |local| {
        let console = Arc::new(Console {
            name: a.as_,
            role: public.role,
            common: a.common,
            workdir: a.workdir,
            local,
            session: Mutex::new({
                let mut s = Session::default();
                s.election = a.election.unwrap_or_default();
                s
            }),
        });
        Router::new()
            .route("/", get(home))
            .route("/login", post(login))
            .route("/election", post(choose))
            .route("/act", post(act))
            .route("/kiosk", post(kiosk))
            .with_state(console)
    })
}

fn lock(c: &Console) -> std::sync::MutexGuard<'_, Session> {
    c.session.lock().unwrap_or_else(|p| p.into_inner())
}

async fn home(State(c): State<Shared>) -> Response {
    let (election, signed_in, flash, output, kiosks, links) = {
        let mut s = lock(&c);
        (
            s.election.clone(),
            s.passphrase.is_some(),
            s.flash.take(),
            s.output.take(),
            s.kiosks.clone(),
            s.links.clone(),
        )
    };
    let status = if election.is_empty() || !signed_in {
        None
    } else {
        let client = c.common.client();
        let e = election.clone();
        local_web::blocking(move || {
            let id = election_id(&e)?;
            let chain = load(&client, &id)?;
            Ok(status_of(&chain))
        })
        .await
        .ok()
        .flatten()
    };
    let status_code = match &flash {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    local_web::page(
        status_code,
        ConsolePage {
            name: c.name.clone(),
            role: c.role.name().to_string(),
            csrf: c.local.csrf().to_string(),
            signed_in,
            election,
            status,
            flash,
            output,
            kiosks,
            links,
            node_url: c.common.node.trim_end_matches('/').to_string(),
        }
        .render(),
    )
}

fn status_of(chain: &crate::roles::ElectionView) -> Option<ConsoleStatus> {
    let m = chain.state.manifest()?;
    let counts = chain.state.counts();
    Some(ConsoleStatus {
        title: m.title.clone(),
        phase: chain
            .state
            .phase()
            .map_or("not created", tabella_web::views::phase_label)
            .to_string(),
        ceremony: chain.state.ceremony_progress().summary(),
        decryptions: (chain.state.decryptions().count(), m.threshold),
        registration_closed: chain.state.registration_closed(),
        registered: (counts.validated, counts.enabled_keys),
        ballots: counts.ballots_accepted,
        tables: tabella_web::views::tables_of(m, &counts),
    })
}

/// Shows `outcome` on the next page view (post/redirect/get, so a reload repeats nothing).
fn done(c: &Console, outcome: Result<String, String>) -> Response {
    // Sentences end with a full stop before the page adds "Nothing was submitted."
    let outcome = outcome.map_err(|mut e| {
        if !e.ends_with(['.', '!', '?']) {
            e.push('.');
        }
        e
    });
    lock(c).flash = Some(outcome);
    Redirect::to("/").into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    passphrase: String,
}

async fn login(State(c): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    if !c.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    let text = Zeroizing::new(f.passphrase);
    let keystore = c.common.keystore.clone();
    let (name, role) = (c.name.clone(), c.role);
    let check = text.to_string();
    let opened = local_web::blocking(move || {
        let pass = Passphrase::new(check).map_err(|e| anyhow!("{e}"))?;
        Official::open(&Keystore::open(&keystore)?, &name, role, &pass)?;
        Ok(())
    })
    .await;
    match opened {
        Ok(()) => {
            lock(&c).passphrase = Some(text);
            done(&c, Ok(format!("key '{}' opened", c.name)))
        }
        Err(e) => {
            lock(&c).flash = Some(Err(format!("{e:#}.")));
            Redirect::to("/").into_response()
        }
    }
}

#[derive(Deserialize)]
struct ElectionForm {
    csrf: String,
    election: String,
}

async fn choose(State(c): State<Shared>, Form(f): Form<ElectionForm>) -> Response {
    if !c.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    let e = f.election.trim().to_string();
    match election_id(&e) {
        Ok(_) => {
            lock(&c).election = e;
            Redirect::to("/").into_response()
        }
        Err(err) => done(&c, Err(format!("{err:#}."))),
    }
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    manifest: String,
    #[serde(default)]
    identity: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    table: String,
    #[serde(default)]
    close_registration: Option<String>,
}

/// Writes text a command reads (a pasted manifest, request or note) to a file in the workdir.
fn pasted(c: &Console, name: &str, text: &str) -> Result<String, String> {
    if text.trim().is_empty() {
        return Err("paste the file's content first.".into());
    }
    let path = c.workdir.join(name);
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(name.to_string())
}

async fn act(State(c): State<Shared>, Form(f): Form<ActForm>) -> Response {
    if !c.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    let (pass, election) = {
        let s = lock(&c);
        (s.passphrase.clone(), s.election.clone())
    };
    let Some(pass) = pass else {
        return done(&c, Err("open your key first.".into()));
    };
    let name = c.name.clone();
    let needs_election = f.action != "create";
    if needs_election && election.is_empty() {
        return done(&c, Err("choose the election first.".into()));
    }
    let e = election.as_str();
    let n = name.as_str();
    let args: Result<Vec<String>, String> = match (c.role, f.action.as_str()) {
        (Role::Council, "create") => pasted(&c, "console-manifest.json", &f.manifest)
            .map(|m| argv(&["election", "create", "--manifest", &m, "--as", n])),
        (Role::Council, a @ ("open" | "close" | "publish")) => {
            Ok(argv(&["election", a, "--election", e, "--as", n]))
        }
        (Role::Trustee, a @ ("dkg" | "decrypt")) => {
            Ok(argv(&["trustee", a, "--election", e, "--as", n]))
        }
        (Role::IdentityValidator, "issue") => {
            pasted(&c, "console-request.json", &f.request).map(|r| {
                argv(&[
                    "identity-validator",
                    "issue",
                    "--election",
                    e,
                    "--as",
                    n,
                    "--identity",
                    f.identity.trim(),
                    "--request",
                    &r,
                    "--out",
                    "console-response.json",
                ])
            })
        }
        (Role::Registrar, "enable") => pasted(&c, "console-note.json", &f.note).map(|p| {
            argv(&[
                "registrar",
                "enable",
                "--election",
                e,
                "--as",
                n,
                "--note",
                &p,
            ])
        }),
        (Role::Registrar, "flush") => {
            let mut a = argv(&["registrar", "flush", "--election", e, "--as", n]);
            if f.close_registration.is_some() {
                a.push("--close-registration".into());
            }
            Ok(a)
        }
        (Role::Juror, "authorize") => match f.table.trim().parse::<u16>() {
            Ok(t) => {
                let file = next_booth_file(&mut lock(&c).booths_named, &c.workdir);
                Ok(argv(&[
                    "table",
                    "authorize",
                    "--election",
                    e,
                    "--as",
                    n,
                    "--table",
                    &t.to_string(),
                    "--out",
                    &file,
                ]))
            }
            Err(_) => Err(format!("{:?} is not a table number.", f.table.trim())),
        },
        (role, a) => Err(format!("a {} console has no action {a:?}.", role.name())),
    };
    let args = match args {
        Ok(a) => a,
        Err(e) => return done(&c, Err(e)),
    };
    let outcome = local_web::run_self(&c.common, &c.workdir, args.clone(), pass).await;
    if outcome.is_ok() {
        match (c.role, f.action.as_str()) {
            (Role::Council, "create") => {
                if let Ok(m) = std::fs::read_to_string(c.workdir.join("console-manifest.json")) {
                    if let Some(id) = serde_json::from_str::<serde_json::Value>(&m)
                        .ok()
                        .and_then(|v| v["election_id"].as_str().map(str::to_string))
                    {
                        lock(&c).election = id;
                    }
                }
            }
            (Role::IdentityValidator, "issue") => {
                if let Ok(r) = std::fs::read_to_string(c.workdir.join("console-response.json")) {
                    lock(&c).output = Some(("Response for the voter".into(), r));
                }
            }
            (Role::Juror, "authorize") => {
                if let Some(f) = args.last() {
                    lock(&c).kiosks.push(f.clone());
                }
            }
            _ => {}
        }
    }
    done(&c, outcome)
}

/// The next unused booth file name in `workdir`: `booth-N.json` with N above every name this
/// console gave before and no file of that name on disk (a file from an earlier console may still
/// hold an unused authorization).
fn next_booth_file(named: &mut u32, workdir: &Path) -> String {
    loop {
        *named += 1;
        let file = format!("booth-{named}.json");
        if !workdir.join(&file).exists() {
            return file;
        }
    }
}

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[derive(Deserialize)]
struct KioskForm {
    csrf: String,
    file: String,
}

/// Juror: starts the kiosk booth (`tabella booth --booth FILE`) for a booth file this console
/// wrote, and sends the browser to it.
async fn kiosk(State(c): State<Shared>, Form(f): Form<KioskForm>) -> Response {
    if !c.local.csrf_ok(&f.csrf) {
        return local_web::forged();
    }
    let (known, election) = {
        let s = lock(&c);
        (s.kiosks.contains(&f.file), s.election.clone())
    };
    if !known {
        return done(&c, Err("no such booth file from this console.".into()));
    }
    let node = c.common.node.clone();
    let workdir = c.workdir.clone();
    let file = f.file.clone();
    let started = local_web::blocking(move || {
        let exe = std::env::current_exe().context("cannot find the tabella binary")?;
        let mut child = Command::new(exe)
            .args([
                "booth",
                "--election",
                &election,
                "--booth",
                &file,
                "--node",
                &node,
                "--until-stdin-closes",
            ])
            .stdin(Stdio::piped())
            .current_dir(&workdir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start the kiosk booth")?;
        let stdout = child.stdout.take().context("no output from the booth")?;
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .context("the booth did not start")?;
        // Keep reading what it prints, so it never blocks on a full pipe.
        std::thread::spawn(move || reader.lines().for_each(drop));

        let link = line
            .split_whitespace()
            .find(|w| w.contains("/start?token="))
            .map(str::to_string);
        match link {
            Some(l) => {
                if let Some(e) = child.stderr.take() {
                    std::thread::spawn(move || BufReader::new(e).lines().for_each(drop));
                }
                Ok((child, l))
            }
            None => {
                let _ = child.kill();
                let mut err = String::new();
                if let Some(e) = child.stderr.take() {
                    let _ = BufReader::new(e).read_line(&mut err);
                }
                Err(anyhow!("the kiosk booth did not start: {}", err.trim()))
            }
        }
    })
    .await;
    match started {
        Ok((child, link)) => {
            let mut s = lock(&c);
            s.children.push(child);
            s.kiosks.retain(|k| *k != f.file);
            s.links
                .push((link, format!("Open the kiosk booth ({})", f.file)));
            drop(s);
            done(
                &c,
                Ok(format!(
                    "kiosk booth started for {}; open it below (on the kiosk's screen)",
                    f.file
                )),
            )
        }
        Err(e) => done(&c, Err(format!("{e:#}."))),
    }
}
