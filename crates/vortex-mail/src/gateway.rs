//! Ballots over vortex: the last node of a vortex path, configured as a gateway to a ledger
//! node, submits the ledger transaction a letter carries and answers with the ledger's status
//! through the reply block that came with it. The ledger node sees the gateway's address, never
//! the voter's; the gateway sees a transaction and a reply block, never the voter's address.
//!
//! Letters: `TABELLA-TX/1\n` followed by the transaction's JSON (as `POST /v1/tx` takes it);
//! answers: `TABELLA-RECEIPT/1\n` followed by a JSON [`GatewayReceipt`].
//!
//! The HTTP exchange is a minimal HTTP/1.1 client (one request per connection) so that the
//! gateway can choose its source address (`bind`): on one machine, a test gives the gateway its
//! own loopback address (127.0.0.2) and checks that the ledger's log shows only that one.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::error::{Error, Result};

/// The start of a letter carrying a ledger transaction.
pub const TX_PREFIX: &[u8] = b"TABELLA-TX/1\n";
/// The start of the gateway's answer.
pub const RECEIPT_PREFIX: &[u8] = b"TABELLA-RECEIPT/1\n";
/// Largest HTTP response read (bytes).
const MAX_RESPONSE: usize = 4 << 20;

/// A ledger node's API, as the gateway reaches it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gateway {
    /// The API's address.
    pub ledger: SocketAddr,
    /// The source address to connect from (default: the system's choice).
    pub bind: Option<IpAddr>,
    /// How long to wait for the transaction to be committed.
    pub timeout: Duration,
}

/// What the gateway answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayReceipt {
    /// Which letter this answers: [`request_id`] of the transaction it carried (the voter
    /// matches answers by it, errors included).
    pub request: String,
    /// The transaction id the ledger gave (hex), if it accepted the transaction.
    pub tx_id: Option<String>,
    /// The ledger's `GET /v1/tx/{id}` answer once committed (with the Merkle receipt).
    pub status: Option<serde_json::Value>,
    /// Why it failed (rejected, not committed in time, unreachable).
    pub error: Option<String>,
}

impl GatewayReceipt {
    /// The block height the ledger's receipt names (`?` if none).
    pub fn height(&self) -> String {
        self.status
            .as_ref()
            .and_then(|s| s.pointer("/receipt/height"))
            .map_or_else(|| "?".to_string(), |h| h.to_string())
    }
}

/// The identifier of a transaction letter: SHA3-256 of the transaction's bytes, hex.
pub fn request_id(tx_json: &[u8]) -> String {
    use sha3::{Digest, Sha3_256};
    hex::encode(Sha3_256::digest(tx_json))
}

/// The letter text of a transaction.
pub fn tx_letter(tx_json: &[u8]) -> Vec<u8> {
    let mut v = TX_PREFIX.to_vec();
    v.extend_from_slice(tx_json);
    v
}

/// The receipt in a letter, if it is one.
pub fn read_receipt(letter: &[u8]) -> Option<GatewayReceipt> {
    let body = letter.strip_prefix(RECEIPT_PREFIX)?;
    serde_json::from_slice(body).ok()
}

impl Gateway {
    async fn http(&self, method: &str, path: &str, body: &[u8]) -> Result<(u16, Vec<u8>)> {
        let socket = match self.ledger {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = self.bind {
            socket
                .bind(SocketAddr::new(ip, 0))
                .map_err(|e| Error::Transport(format!("gateway: cannot bind to {ip}: {e}")))?;
        }
        let mut stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(self.ledger))
            .await
            .map_err(|_| Error::Transport(format!("ledger {}: connect timed out", self.ledger)))?
            .map_err(|e| Error::Transport(format!("ledger {}: {e}", self.ledger)))?;
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.ledger,
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut raw = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(30), async {
            let mut buf = [0u8; 16 * 1024];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 || raw.len() + n > MAX_RESPONSE {
                    return Ok::<(), std::io::Error>(());
                }
                raw.extend_from_slice(&buf[..n]);
            }
        })
        .await;
        read.map_err(|_| Error::Transport("ledger: response timed out".into()))??;
        parse_response(&raw)
    }

    /// Submits `tx_json` and waits until it is committed (or fails): the answer to send back.
    pub async fn submit(&self, tx_json: &[u8]) -> GatewayReceipt {
        let request = request_id(tx_json);
        let fail = |e: String| GatewayReceipt {
            request: request.clone(),
            tx_id: None,
            status: None,
            error: Some(e),
        };
        let (code, body) = match self.http("POST", "/v1/tx", tx_json).await {
            Ok(r) => r,
            Err(e) => return fail(e.to_string()),
        };
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if code != 202 && code != 200 {
            let why = json
                .get("error")
                .and_then(|e| e.as_str())
                .map_or_else(|| format!("HTTP {code}"), |e| format!("HTTP {code}: {e}"));
            return fail(format!("the ledger refused the transaction: {why}"));
        }
        let Some(id) = json
            .get("tx_id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
        else {
            return fail("the ledger's answer has no tx_id".into());
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return fail(format!("the ledger's tx_id {id:?} is not hex"));
        }
        let start = Instant::now();
        let mut pause = Duration::from_millis(50);
        loop {
            if let Ok((200, body)) = self.http("GET", &format!("/v1/tx/{id}"), b"").await {
                let status: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                if status.get("status").and_then(|s| s.as_str()) == Some("committed") {
                    return GatewayReceipt {
                        request,
                        tx_id: Some(id),
                        status: Some(status),
                        error: None,
                    };
                }
            }
            if start.elapsed() > self.timeout {
                return GatewayReceipt {
                    request,
                    tx_id: Some(id),
                    status: None,
                    error: Some(format!("not committed within {} s", self.timeout.as_secs())),
                };
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }
}

/// Status code and body of an HTTP/1.1 response (Content-Length, chunked, or to the end).
fn parse_response(raw: &[u8]) -> Result<(u16, Vec<u8>)> {
    let bad = |why: &str| Error::malformed("HTTP response", why);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| bad("headers are not UTF-8"))?;
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().ok_or_else(|| bad("no status line"))?;
    let code: u16 = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status code"))?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim();
            if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            } else if k == "content-length" {
                length = v.parse::<usize>().ok();
            }
        }
    }
    if chunked {
        let mut out = Vec::new();
        let mut rest = body;
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("truncated chunk"))?;
            let size_text = std::str::from_utf8(&rest[..eol]).map_err(|_| bad("chunk size"))?;
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| bad("chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                return Ok((code, out));
            }
            if size > MAX_RESPONSE || rest.len() < size.saturating_add(2) {
                return Err(bad("truncated chunk"));
            }
            out.extend_from_slice(&rest[..size]);
            rest = &rest[size + 2..];
        }
    }
    match length {
        Some(n) if body.len() >= n => Ok((code, body[..n].to_vec())),
        Some(_) => Err(bad("truncated body")),
        None => Ok((code, body.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let r = b"HTTP/1.1 202 Accepted\r\ncontent-length: 5\r\n\r\nhello+junk";
        assert_eq!(parse_response(r).unwrap(), (202, b"hello".to_vec()));
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(r).unwrap(), (200, b"abcde".to_vec()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nshort").is_err());
        assert!(parse_response(b"garbage").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        // A hostile chunk size is an error, not an overflow.
        assert!(parse_response(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nab\r\n"
        )
        .is_err());
    }

    #[test]
    fn letters() {
        let l = tx_letter(b"{\"a\":1}");
        assert!(l.starts_with(TX_PREFIX));
        let r = GatewayReceipt {
            request: request_id(b"{}"),
            tx_id: Some("ab".into()),
            status: None,
            error: None,
        };
        let mut letter = RECEIPT_PREFIX.to_vec();
        letter.extend_from_slice(&serde_json::to_vec(&r).unwrap());
        assert_eq!(read_receipt(&letter), Some(r));
        assert_eq!(read_receipt(b"hello"), None);
    }
}
