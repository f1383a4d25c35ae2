//! The relay: forwards sealed messages among the members of a room, and tells them who is present.
//!
//! It sees only ciphertext (no pad, no keys). Against seed 002 §5.2's open relay it adds: admission
//! by a room token (compared in constant time), a 1 MiB frame limit, a per-connection rate limit
//! (token bucket; over the limit the relay simply stops reading for a while), a deadline for the
//! first frame, and isolation of faults: a malformed frame or an abrupt disconnect ends only that
//! connection. A member that cannot keep up (its queue is full) is disconnected rather than
//! allowed to stall the room; receivers then see the loss as a gap.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use subtle::ConstantTimeEq;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::frame::{Frame, Member};

/// Default relay port.
pub const DEFAULT_PORT: u16 = 8080;

/// A room token: whoever presents it joins that room. Zeroized, never printed.
#[derive(Clone)]
pub struct RoomToken(Zeroizing<Vec<u8>>);

impl RoomToken {
    /// Wraps token bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        RoomToken(Zeroizing::new(bytes.into()))
    }
    /// The token bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for RoomToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoomToken(<secret>)")
    }
}

/// Per-connection rate limit.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    /// Sustained frames per second.
    pub frames_per_second: u32,
    /// Burst of frames allowed above the sustained rate.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            frames_per_second: 5_000,
            burst: 10_000,
        }
    }
}

/// Relay settings.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Tokens of the rooms this relay serves (one room per token).
    pub rooms: Vec<RoomToken>,
    /// Per-connection rate limit.
    pub rate: RateLimit,
    /// Time a new connection has to send its hello.
    pub hello_timeout: Duration,
    /// Frames queued for one member before it is considered too slow and dropped.
    pub queue_len: usize,
    /// Send presence frames when members join or leave.
    pub presence: bool,
    /// Also listen here for presence-only watchers (the seed's presence server, port 8081):
    /// they present a room token and receive the member list, nothing else.
    pub presence_listen: Option<SocketAddr>,
    /// Most simultaneous connections; further ones are refused.
    pub max_connections: usize,
}

impl RelayConfig {
    /// A configuration for the given room tokens with default limits.
    pub fn new(rooms: Vec<RoomToken>) -> Self {
        RelayConfig {
            rooms,
            rate: RateLimit::default(),
            hello_timeout: Duration::from_secs(10),
            queue_len: 8192,
            presence: true,
            presence_listen: None,
            max_connections: 1024,
        }
    }
}

type Outbox = mpsc::Sender<Arc<Vec<u8>>>;

struct Conn {
    member: Member,
    outbox: Outbox,
    /// A presence-only watcher: not listed, gets no data, may send none.
    watcher: bool,
}

#[derive(Default)]
struct Rooms {
    rooms: HashMap<usize, HashMap<u64, Conn>>,
}

struct Shared {
    config: RelayConfig,
    rooms: Mutex<Rooms>,
    next_id: AtomicU64,
    stats: RelayStats,
    slots: Arc<tokio::sync::Semaphore>,
}

/// Counters, for tests and benchmarks.
#[derive(Default, Debug)]
pub struct RelayStats {
    /// Data frames received from members.
    pub frames_in: AtomicU64,
    /// Data frames queued to members.
    pub frames_out: AtomicU64,
    /// Connections closed because of a protocol error.
    pub rejected: AtomicU64,
}

/// A running relay. [`RelayHandle::shutdown`] stops it and waits; dropping the handle also stops
/// it, without waiting.
pub struct RelayHandle {
    addr: SocketAddr,
    presence_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    shared: Arc<Shared>,
}

impl RelayHandle {
    /// The address the relay listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
    /// The presence-only listener's address, if one was configured.
    pub fn presence_addr(&self) -> Option<SocketAddr> {
        self.presence_addr
    }
    /// The relay's counters.
    pub fn stats(&self) -> &RelayStats {
        &self.shared.stats
    }
    /// Stops accepting, closes every connection, and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        if let Ok(mut rooms) = self.shared.rooms.lock() {
            rooms.rooms.clear();
        }
    }
}

/// Binds `addr` and starts the relay in the current tokio runtime.
pub async fn start(addr: SocketAddr, config: RelayConfig) -> Result<RelayHandle> {
    if config.rooms.is_empty() {
        return Err(Error::InvalidArgument(
            "the relay needs at least one room token".into(),
        ));
    }
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| Error::io(format!("binding relay to {addr}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::io("reading relay address", e))?;
    let presence_listener = match config.presence_listen {
        Some(p) => Some(
            TcpListener::bind(p)
                .await
                .map_err(|e| Error::io(format!("binding presence listener to {p}"), e))?,
        ),
        None => None,
    };
    let presence_addr = match &presence_listener {
        Some(l) => Some(
            l.local_addr()
                .map_err(|e| Error::io("reading presence address", e))?,
        ),
        None => None,
    };
    let (stop, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        slots: Arc::new(tokio::sync::Semaphore::new(config.max_connections.max(1))),
        config,
        rooms: Mutex::new(Rooms::default()),
        next_id: AtomicU64::new(0),
        stats: RelayStats::default(),
    });
    let main = accept_loop(listener, shared.clone(), stop_rx.clone(), false);
    let task = match presence_listener {
        Some(pl) => {
            let watchers = accept_loop(pl, shared.clone(), stop_rx, true);
            tokio::spawn(async move {
                tokio::join!(main, watchers);
            })
        }
        None => tokio::spawn(main),
    };
    Ok(RelayHandle {
        addr: local,
        presence_addr,
        stop,
        task,
        shared,
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    watchers: bool,
) {
    let mut conns = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                if let Ok((mut stream, _peer)) = accepted {
                    let _ = stream.set_nodelay(true);
                    let Ok(slot) = shared.slots.clone().try_acquire_owned() else {
                        reject(&mut stream, &shared, "relay full").await;
                        continue;
                    };
                    let s = shared.clone();
                    let st = stop.clone();
                    conns.spawn(async move {
                        handle(stream, s, st, watchers).await;
                        drop(slot);
                    });
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

/// Reads one frame; `Ok(None)` on a clean end of stream before a frame starts.
pub(crate) async fn read_frame<R: AsyncReadExt + Unpin>(r: &mut R) -> Result<Option<Frame>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(Error::io("reading frame", e)),
    }
    let n = Frame::check_len(u32::from_be_bytes(len))?;
    let mut body = vec![0u8; n];
    r.read_exact(&mut body)
        .await
        .map_err(|e| Error::io("reading frame body", e))?;
    Frame::decode_body(&body).map(Some)
}

struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    fn new(limit: RateLimit) -> Self {
        Bucket {
            tokens: f64::from(limit.burst),
            last: Instant::now(),
            rate: f64::from(limit.frames_per_second.max(1)),
            burst: f64::from(limit.burst.max(1)),
        }
    }
    /// Takes one token; returns how long to wait first if there is none.
    fn take(&mut self) -> Option<Duration> {
        let now = Instant::now();
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate).min(self.burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            None
        } else {
            Some(Duration::from_secs_f64(-self.tokens / self.rate))
        }
    }
}

fn find_room(config: &RelayConfig, token: &[u8]) -> Option<usize> {
    let mut found = None;
    for (i, t) in config.rooms.iter().enumerate() {
        if bool::from(t.as_bytes().ct_eq(token)) {
            found = Some(i);
        }
    }
    found
}

fn presence_frame(room: &HashMap<u64, Conn>) -> Arc<Vec<u8>> {
    let mut members: Vec<Member> = room
        .values()
        .filter(|c| !c.watcher)
        .map(|c| c.member.clone())
        .collect();
    members.sort_by(|a, b| (a.sender, &a.nick).cmp(&(b.sender, &b.nick)));
    Arc::new(Frame::Presence(members).encode())
}

fn announce(shared: &Shared, room_id: usize) {
    if !shared.config.presence {
        return;
    }
    if let Ok(rooms) = shared.rooms.lock() {
        if let Some(room) = rooms.rooms.get(&room_id) {
            let f = presence_frame(room);
            for c in room.values() {
                let _ = c.outbox.try_send(f.clone());
            }
        }
    }
}

async fn reject(stream: &mut TcpStream, shared: &Shared, why: &str) {
    shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
    let _ = stream
        .write_all(&Frame::Error(why.to_string()).encode())
        .await;
    let _ = stream.shutdown().await;
}

async fn handle(
    mut stream: TcpStream,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    watcher: bool,
) {
    let hello = tokio::time::timeout(shared.config.hello_timeout, read_frame(&mut stream)).await;
    let (token, sender, nick) = match hello {
        Ok(Ok(Some(Frame::Hello {
            token,
            sender,
            nick,
        }))) => (Zeroizing::new(token), sender, nick),
        Ok(Ok(None)) => return,
        Ok(Ok(Some(_))) => return reject(&mut stream, &shared, "expected hello").await,
        Ok(Err(e)) => return reject(&mut stream, &shared, &e.to_string()).await,
        Err(_) => return reject(&mut stream, &shared, "no hello in time").await,
    };
    let Some(room_id) = find_room(&shared.config, &token) else {
        return reject(&mut stream, &shared, "unknown room token").await;
    };
    drop(token);
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel::<Arc<Vec<u8>>>(shared.config.queue_len.max(1));
    let (read_half, write_half) = stream.into_split();
    // Queue the welcome first so it precedes any presence or data.
    let _ = tx.try_send(Arc::new(Frame::Welcome.encode()));
    if let Ok(mut rooms) = shared.rooms.lock() {
        rooms.rooms.entry(room_id).or_default().insert(
            id,
            Conn {
                member: Member { sender, nick },
                outbox: tx,
                watcher,
            },
        );
    }
    announce(&shared, room_id);

    let writer = tokio::spawn(async move {
        let mut w = BufWriter::with_capacity(64 * 1024, write_half);
        while let Some(frame) = rx.recv().await {
            if w.write_all(&frame).await.is_err() {
                return;
            }
            // Batch whatever is already queued, then flush once.
            while let Ok(more) = rx.try_recv() {
                if w.write_all(&more).await.is_err() {
                    return;
                }
            }
            if w.flush().await.is_err() {
                return;
            }
        }
        let _ = w.shutdown().await;
    });

    tokio::select! {
        _ = read_loop(read_half, &shared, room_id, id, watcher) => {}
        _ = stop.changed() => {}
    }

    let now_empty = match shared.rooms.lock() {
        Ok(mut rooms) => {
            if let Some(room) = rooms.rooms.get_mut(&room_id) {
                room.remove(&id);
                room.is_empty()
            } else {
                true
            }
        }
        Err(_) => true,
    };
    if !now_empty {
        announce(&shared, room_id);
    }
    // The outbox sender was dropped with the Conn; the writer drains and ends.
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
}

async fn read_loop(
    read_half: OwnedReadHalf,
    shared: &Shared,
    room_id: usize,
    id: u64,
    watcher: bool,
) {
    let mut r = BufReader::with_capacity(64 * 1024, read_half);
    let mut bucket = Bucket::new(shared.config.rate);
    loop {
        let frame = match read_frame(&mut r).await {
            Ok(Some(f)) => f,
            Ok(None) => return,
            Err(e) => {
                shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
                send_to(shared, room_id, id, Frame::Error(e.to_string()));
                return;
            }
        };
        if watcher {
            shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
            send_to(
                shared,
                room_id,
                id,
                Frame::Error("presence watchers may not send".into()),
            );
            return;
        }
        let Frame::Data(_) = &frame else {
            shared.stats.rejected.fetch_add(1, Ordering::Relaxed);
            send_to(
                shared,
                room_id,
                id,
                Frame::Error("only data frames after hello".into()),
            );
            return;
        };
        if let Some(wait) = bucket.take() {
            tokio::time::sleep(wait).await;
        }
        shared.stats.frames_in.fetch_add(1, Ordering::Relaxed);
        let wire = Arc::new(frame.encode());
        let mut too_slow = Vec::new();
        if let Ok(rooms) = shared.rooms.lock() {
            if let Some(room) = rooms.rooms.get(&room_id) {
                for (other, c) in room {
                    if *other == id || c.watcher {
                        continue;
                    }
                    match c.outbox.try_send(wire.clone()) {
                        Ok(()) => {
                            shared.stats.frames_out.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(mpsc::error::TrySendError::Full(_)) => too_slow.push(*other),
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
            }
        }
        if !too_slow.is_empty() {
            if let Ok(mut rooms) = shared.rooms.lock() {
                if let Some(room) = rooms.rooms.get_mut(&room_id) {
                    for slow in too_slow {
                        room.remove(&slow);
                    }
                }
            }
            announce(shared, room_id);
        }
    }
}

fn send_to(shared: &Shared, room_id: usize, id: u64, frame: Frame) {
    if let Ok(rooms) = shared.rooms.lock() {
        if let Some(c) = rooms.rooms.get(&room_id).and_then(|r| r.get(&id)) {
            let _ = c.outbox.try_send(Arc::new(frame.encode()));
        }
    }
}
