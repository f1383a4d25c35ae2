//! The embedded mail receiver: a small SMTP server (RFC 5321) that stores each mail in the
//! Maildir of its recipient. With it, `tabella vortex demo` and the tests run on a machine
//! with no mail server installed; with Postfix and Dovecot (`scripts/mail-testbed`) the same
//! nodes use real servers instead.
//!
//! It speaks the minimum a client such as lettre or Postfix's smtp(8) needs: EHLO/HELO, MAIL,
//! RCPT, DATA (dot-unstuffed, size-limited), RSET, NOOP, QUIT. It accepts mail for its own
//! mailboxes only (relaying is refused with 550), listens where it is told (127.0.0.1 in tests)
//! and bounds every line, mail and idle time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::carrier::rfc5322_date;
use crate::error::{Error, Result};
use crate::maildir::Maildir;

/// Limits of the receiver.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest mail (bytes), advertised with SIZE.
    pub max_mail: usize,
    /// Longest command or text line (bytes).
    pub max_line: usize,
    /// Recipients per mail.
    pub max_recipients: usize,
    /// A connection idle for this long is closed.
    pub idle: Duration,
    /// Connections served at once (more wait for their turn).
    pub connections: usize,
    /// A whole session may last this long.
    pub session: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_mail: 40 << 20,
            max_line: 4096,
            max_recipients: 32,
            idle: Duration::from_secs(120),
            connections: 64,
            session: Duration::from_secs(600),
        }
    }
}

/// A running receiver; dropped or [`Smtpd::stop`]ped, it stops listening.
pub struct Smtpd {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Smtpd {
    /// Listens on `bind` (e.g. `127.0.0.1:0`) and delivers to `mailboxes` (address → Maildir;
    /// addresses compared in lower case).
    pub async fn start(
        bind: &str,
        hostname: &str,
        mailboxes: HashMap<String, Maildir>,
        limits: Limits,
    ) -> Result<Self> {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| Error::Transport(format!("cannot listen on {bind}: {e}")))?;
        let addr = listener.local_addr()?;
        let (stop, mut stopped) = watch::channel(false);
        let shared = Arc::new(Shared {
            hostname: hostname.to_string(),
            mailboxes: mailboxes
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            limits,
        });
        let slots = Arc::new(tokio::sync::Semaphore::new(
            shared.limits.connections.max(1),
        ));
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((stream, peer)) = accepted else { continue };
                        let shared = shared.clone();
                        let Ok(slot) = slots.clone().acquire_owned().await else { break };
                        tokio::spawn(async move {
                            let _slot = slot;
                            // A failed or overlong session only ends that connection.
                            let limit = shared.limits.session;
                            let _ = tokio::time::timeout(limit, session(stream, peer, &shared)).await;
                        });
                    }
                }
            }
        });
        Ok(Smtpd { addr, stop, task })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening (sessions in progress finish).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Shared {
    hostname: String,
    mailboxes: HashMap<String, Maildir>,
    limits: Limits,
}

/// `<addr>` of `MAIL FROM:<addr> …` / `RCPT TO:<addr>`.
fn path_arg(rest: &str) -> Option<String> {
    let rest = rest.trim_start();
    let start = rest.find('<')?;
    let end = rest[start..].find('>')? + start;
    Some(rest[start + 1..end].to_string())
}

async fn read_line(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
    buf: &mut Vec<u8>,
    limits: &Limits,
) -> Result<bool> {
    buf.clear();
    let n = tokio::time::timeout(limits.idle, async {
        // Read at most max_line + 2 bytes of one line.
        let mut total = 0;
        loop {
            let available = r.fill_buf().await?;
            if available.is_empty() {
                return Ok::<usize, std::io::Error>(total);
            }
            let take = match available.iter().position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => available.len(),
            };
            let room = (limits.max_line + 2).saturating_sub(buf.len());
            buf.extend_from_slice(&available[..take.min(room)]);
            r.consume(take);
            total += take;
            if buf.ends_with(b"\n") || buf.len() >= limits.max_line + 2 {
                return Ok(total);
            }
        }
    })
    .await
    .map_err(|_| Error::Transport("idle timeout".into()))??;
    if n == 0 {
        return Ok(false);
    }
    if !buf.ends_with(b"\n") {
        return Err(Error::Transport("line too long".into()));
    }
    Ok(true)
}

async fn session(stream: TcpStream, peer: SocketAddr, shared: &Shared) -> Result<()> {
    let limits = &shared.limits;
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    w.write_all(format!("220 {} ESMTP tabella\r\n", shared.hostname).as_bytes())
        .await?;
    let mut helo = String::new();
    let mut from: Option<String> = None;
    let mut rcpts: Vec<String> = Vec::new();
    let mut line = Vec::new();
    loop {
        if !read_line(&mut r, &mut line, limits).await? {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = text.to_ascii_uppercase();
        let verb = upper.split(' ').next().unwrap_or("").to_string();
        let answer = match verb.as_str() {
            "EHLO" | "HELO" => {
                helo = text.get(5..).unwrap_or("").trim().to_string();
                from = None;
                rcpts.clear();
                if verb == "EHLO" {
                    format!(
                        "250-{}\r\n250-SIZE {}\r\n250-8BITMIME\r\n250 SMTPUTF8",
                        shared.hostname, limits.max_mail
                    )
                } else {
                    format!("250 {}", shared.hostname)
                }
            }
            "MAIL" if upper.starts_with("MAIL FROM:") => match path_arg(&text[10..]) {
                Some(p) => {
                    from = Some(p);
                    rcpts.clear();
                    "250 2.1.0 Ok".into()
                }
                None => "501 5.5.4 Syntax: MAIL FROM:<address>".into(),
            },
            "RCPT" if upper.starts_with("RCPT TO:") => match (&from, path_arg(&text[8..])) {
                (None, _) => "503 5.5.1 MAIL first".into(),
                (_, None) => "501 5.5.4 Syntax: RCPT TO:<address>".into(),
                (_, Some(_)) if rcpts.len() >= limits.max_recipients => {
                    "452 4.5.3 Too many recipients".into()
                }
                (_, Some(to)) => {
                    let to = to.to_ascii_lowercase();
                    if shared.mailboxes.contains_key(&to) {
                        rcpts.push(to);
                        "250 2.1.5 Ok".into()
                    } else {
                        "550 5.1.1 No such mailbox here (relaying is refused)".into()
                    }
                }
            },
            "DATA" => {
                if from.is_none() || rcpts.is_empty() {
                    "503 5.5.1 MAIL and RCPT first".into()
                } else {
                    w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let mut mail = Vec::new();
                    let mut too_big = false;
                    loop {
                        if !read_line(&mut r, &mut line, limits).await? {
                            return Ok(());
                        }
                        if line == b".\r\n" || line == b".\n" {
                            break;
                        }
                        let body: &[u8] = line.strip_prefix(b".").unwrap_or(&line);
                        if mail.len() + body.len() > limits.max_mail {
                            too_big = true;
                        } else {
                            mail.extend_from_slice(body);
                        }
                    }
                    if too_big {
                        "552 5.3.4 Message too big".into()
                    } else {
                        // Client-supplied text goes into our headers: printable ASCII only.
                        let clean = |t: &str| -> String {
                            t.chars()
                                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                                .take(200)
                                .collect()
                        };
                        let helo = clean(&helo);
                        let stamp = format!(
                            "Return-Path: <{}>\r\nReceived: from {} ([{}])\r\n\tby {} (tabella) with ESMTP; {}\r\n",
                            clean(from.as_deref().unwrap_or("")),
                            if helo.is_empty() { "unknown" } else { &helo },
                            peer.ip(),
                            shared.hostname,
                            rfc5322_date(
                                std::time::SystemTime::now()
                                    .duration_since(std::time::UNIX_EPOCH)
                                    .map(|d| d.as_secs())
                                    .unwrap_or(0)
                            )
                        );
                        let mut stored = stamp.into_bytes();
                        stored.extend_from_slice(&mail);
                        let mut failed = None;
                        for to in &rcpts {
                            if let Some(md) = shared.mailboxes.get(to) {
                                if let Err(e) = md.deliver(&stored) {
                                    failed = Some(e);
                                }
                            }
                        }
                        from = None;
                        rcpts.clear();
                        match failed {
                            None => "250 2.0.0 Ok: queued".into(),
                            Some(e) => format!("451 4.3.0 Cannot store the mail: {e}"),
                        }
                    }
                }
            }
            "MAIL" => "501 5.5.4 Syntax: MAIL FROM:<address>".into(),
            "RCPT" => "501 5.5.4 Syntax: RCPT TO:<address>".into(),
            "RSET" => {
                from = None;
                rcpts.clear();
                "250 2.0.0 Ok".into()
            }
            "NOOP" => "250 2.0.0 Ok".into(),
            "VRFY" => "252 2.0.0 Cannot VRFY".into(),
            "QUIT" => {
                w.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 Command not recognized".into(),
        };
        w.write_all(format!("{answer}\r\n").as_bytes()).await?;
    }
}
