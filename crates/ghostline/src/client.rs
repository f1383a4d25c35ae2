//! A relay client: joins a room and exchanges opaque sealed messages and presence events.
//!
//! Pad handling stays with the caller ([`crate::store::PadStore`]); this module only moves frames.

use std::net::SocketAddr;

use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::error::{Error, Result};
use crate::frame::{Frame, Member, MAX_FRAME};
use crate::relay::{read_frame, RoomToken};

/// Something the relay told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A sealed message from another member (still to be opened with the pad).
    Data(Vec<u8>),
    /// The room's members now.
    Presence(Vec<Member>),
}

/// The sending half of a relay connection.
#[derive(Debug)]
pub struct ClientSender {
    w: BufWriter<OwnedWriteHalf>,
}

/// The receiving half of a relay connection.
#[derive(Debug)]
pub struct ClientReceiver {
    r: BufReader<OwnedReadHalf>,
}

/// Connects to the relay at `addr`, presents `token` and waits for admission.
pub async fn connect(
    addr: SocketAddr,
    token: &RoomToken,
    sender: u16,
    nick: &str,
) -> Result<(ClientSender, ClientReceiver)> {
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| Error::io(format!("connecting to relay {addr}"), e))?;
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    let mut tx = ClientSender {
        w: BufWriter::with_capacity(64 * 1024, w),
    };
    let mut rx = ClientReceiver {
        r: BufReader::with_capacity(64 * 1024, r),
    };
    tx.send_frame(&Frame::Hello {
        token: token.as_bytes().to_vec(),
        sender,
        nick: nick.to_string(),
    })
    .await?;
    tx.flush().await?;
    match read_frame(&mut rx.r).await? {
        Some(Frame::Welcome) => Ok((tx, rx)),
        Some(Frame::Error(e)) => Err(Error::Relay(format!("refused: {e}"))),
        Some(other) => Err(Error::Relay(format!("unexpected answer {other:?}"))),
        None => Err(Error::Relay("closed the connection".into())),
    }
}

/// A presence-only connection (to a relay's presence listener).
#[derive(Debug)]
pub struct PresenceWatcher {
    // Kept open: closing our sending direction would mean leaving.
    _tx: ClientSender,
    rx: ClientReceiver,
}

impl PresenceWatcher {
    /// Connects to `addr` (a relay's presence listener) with a room token.
    pub async fn connect(addr: SocketAddr, token: &RoomToken) -> Result<Self> {
        let (tx, rx) = connect(addr, token, u16::MAX, "").await?;
        Ok(PresenceWatcher { _tx: tx, rx })
    }

    /// Waits for the next member list; `Ok(None)` when the relay closed the connection.
    pub async fn next(&mut self) -> Result<Option<Vec<Member>>> {
        loop {
            match self.rx.next().await? {
                None => return Ok(None),
                Some(Event::Presence(m)) => return Ok(Some(m)),
                Some(Event::Data(_)) => continue,
            }
        }
    }
}

impl ClientSender {
    async fn send_frame(&mut self, f: &Frame) -> Result<()> {
        self.w
            .write_all(&f.encode())
            .await
            .map_err(|e| Error::io("sending to relay", e))
    }

    /// Queues a sealed message (call [`ClientSender::flush`] to push it out).
    pub async fn send(&mut self, sealed: &[u8]) -> Result<()> {
        if sealed.len() >= MAX_FRAME {
            return Err(Error::MessageTooLong {
                len: sealed.len(),
                max: MAX_FRAME - 1,
            });
        }
        let mut head = [0u8; 5];
        head[..4].copy_from_slice(&((sealed.len() + 1) as u32).to_be_bytes());
        head[4] = 3;
        self.w
            .write_all(&head)
            .await
            .map_err(|e| Error::io("sending to relay", e))?;
        self.w
            .write_all(sealed)
            .await
            .map_err(|e| Error::io("sending to relay", e))
    }

    /// Flushes queued messages.
    pub async fn flush(&mut self) -> Result<()> {
        self.w
            .flush()
            .await
            .map_err(|e| Error::io("sending to relay", e))
    }

    /// Flushes and closes the sending direction.
    pub async fn close(mut self) -> Result<()> {
        self.flush().await?;
        self.w
            .shutdown()
            .await
            .map_err(|e| Error::io("closing relay connection", e))
    }
}

impl ClientReceiver {
    /// Waits for the next event; `Ok(None)` when the relay closed the connection.
    pub async fn next(&mut self) -> Result<Option<Event>> {
        loop {
            match read_frame(&mut self.r).await? {
                None => return Ok(None),
                Some(Frame::Data(d)) => return Ok(Some(Event::Data(d))),
                Some(Frame::Presence(m)) => return Ok(Some(Event::Presence(m))),
                Some(Frame::Error(e)) => return Err(Error::Relay(e)),
                Some(Frame::Welcome) | Some(Frame::Hello { .. }) => continue,
            }
        }
    }
}
