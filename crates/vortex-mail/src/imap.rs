//! Receiving with IMAP (RFC 3501) and IDLE (RFC 2177) through async-imap: the daemon fetches
//! unseen mail by UID, acknowledges what it has journaled (flagged `\Seen`),
//! and waits in IDLE until the server reports new mail or the timeout passes. A dropped
//! connection is re-established on the next call.

use std::time::Duration;

use async_imap::Session;
use futures_util::TryStreamExt;
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// Where and as whom to log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImapConfig {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// A logged-in IMAP mailbox (INBOX).
pub struct ImapSource {
    config: ImapConfig,
    session: Option<Session<TcpStream>>,
}

fn imap_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Transport(format!("IMAP {what}: {e}"))
}

async fn login(c: &ImapConfig) -> Result<Session<TcpStream>> {
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        TcpStream::connect((c.host.as_str(), c.port)),
    )
    .await
    .map_err(|_| imap_err("connect", format!("{}:{} timed out", c.host, c.port)))?
    .map_err(|e| imap_err("connect", format!("{}:{}: {e}", c.host, c.port)))?;
    let mut client = async_imap::Client::new(stream);
    // The server speaks first (its greeting); async-imap wants it read before LOGIN.
    client
        .read_response()
        .await
        .map_err(|e| imap_err("greeting", e))?
        .ok_or_else(|| imap_err("greeting", "the server closed the connection"))?;
    let mut session = client
        .login(&c.user, &c.password)
        .await
        .map_err(|(e, _)| imap_err(&format!("login as {}", c.user), e))?;
    session
        .select("INBOX")
        .await
        .map_err(|e| imap_err("select INBOX", e))?;
    Ok(session)
}

fn check_uid(uid: &str) -> Result<()> {
    if uid.is_empty() || uid.len() > 10 || !uid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::BadParameters(format!("IMAP UID {uid:?}")));
    }
    Ok(())
}

impl ImapSource {
    /// Connects, logs in and selects INBOX.
    pub async fn connect(config: ImapConfig) -> Result<Self> {
        let session = login(&config).await?;
        Ok(ImapSource {
            config,
            session: Some(session),
        })
    }

    async fn session(&mut self) -> Result<&mut Session<TcpStream>> {
        if self.session.is_none() {
            self.session = Some(login(&self.config).await?);
        }
        self.session
            .as_mut()
            .ok_or_else(|| imap_err("session", "not connected"))
    }

    /// The UIDs of the mails not yet acknowledged, oldest first.
    pub async fn unseen(&mut self) -> Result<Vec<String>> {
        let r = async {
            let s = self.session().await?;
            while s.unsolicited_responses.try_recv().is_ok() {}
            let mut uids: Vec<u32> = s
                .uid_search("UNSEEN")
                .await
                .map_err(|e| imap_err("search", e))?
                .into_iter()
                .collect();
            uids.sort_unstable();
            Ok(uids.into_iter().map(|u| u.to_string()).collect())
        }
        .await;
        if r.is_err() {
            // Reconnect next time.
            self.session = None;
        }
        r
    }

    /// Mail `uid`'s bytes; `None` if it is gone or larger than [`crate::carrier::MAX_MAIL`]
    /// (its size is asked first, so a huge mail is never downloaded).
    pub async fn fetch(&mut self, uid: &str) -> Result<Option<Vec<u8>>> {
        check_uid(uid)?;
        let r = async {
            let s = self.session().await?;
            let sizes: Vec<_> = s
                .uid_fetch(uid, "(UID RFC822.SIZE)")
                .await
                .map_err(|e| imap_err("fetch", e))?
                .try_collect()
                .await
                .map_err(|e| imap_err("fetch", e))?;
            let Some(size) = sizes.iter().find_map(|f| f.size) else {
                return Ok(None);
            };
            if size as usize > crate::carrier::MAX_MAIL {
                return Ok(None);
            }
            let fetches: Vec<_> = s
                .uid_fetch(uid, "(UID BODY.PEEK[])")
                .await
                .map_err(|e| imap_err("fetch", e))?
                .try_collect()
                .await
                .map_err(|e| imap_err("fetch", e))?;
            Ok(fetches.iter().find_map(|f| f.body().map(<[u8]>::to_vec)))
        }
        .await;
        if r.is_err() {
            self.session = None;
        }
        r
    }

    /// Acknowledges mail `uid` (it was journaled): flagged seen. The mail stays in the mailbox,
    /// as ordinary mail would; the operator's retention policy removes it.
    pub async fn ack(&mut self, uid: &str) -> Result<()> {
        check_uid(uid)?;
        let r = async {
            let s = self.session().await?;
            let _: Vec<_> = s
                .uid_store(uid, "+FLAGS.SILENT (\\Seen)")
                .await
                .map_err(|e| imap_err("store", e))?
                .try_collect()
                .await
                .map_err(|e| imap_err("store", e))?;
            Ok(())
        }
        .await;
        if r.is_err() {
            self.session = None;
        }
        r
    }

    /// Waits in IDLE until the server reports something or `timeout` passes.
    pub async fn wait(&mut self, timeout: Duration) -> Result<()> {
        self.session().await?;
        let Some(session) = self.session.take() else {
            return Ok(());
        };
        let mut idle = session.idle();
        idle.init().await.map_err(|e| imap_err("IDLE", e))?;
        let (wait, _interrupt) = idle.wait_with_timeout(timeout);
        wait.await.map_err(|e| imap_err("IDLE", e))?;
        let session = idle.done().await.map_err(|e| imap_err("DONE", e))?;
        self.session = Some(session);
        Ok(())
    }
}
