//! End-to-end through a real relay on 127.0.0.1: a 3-party chat with concurrent senders, presence,
//! admission, and a relay that survives malformed frames and abrupt disconnects.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tabella_ghostline::client::{connect, Event};
use tabella_ghostline::relay::{start, RelayConfig, RoomToken};
use tabella_ghostline::store::{create_pad_set, PadStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const PER_SENDER: usize = 25;

fn localhost() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_party_chat_with_concurrent_senders() {
    let dir = tempfile::tempdir().unwrap();
    let pads = create_pad_set(dir.path(), 3, 3 * 64 * 1024).unwrap();
    let token = RoomToken::new(b"trustees-room".to_vec());
    let relay = start(localhost(), RelayConfig::new(vec![token.clone()]))
        .await
        .unwrap();
    let addr = relay.local_addr();
    let names = ["alice", "bob", "carol"];

    // Everyone joins first and waits until presence shows all three.
    let mut conns = Vec::new();
    for (i, name) in names.iter().enumerate() {
        conns.push(connect(addr, &token, i as u16, name).await.unwrap());
    }
    let mut receivers = Vec::new();
    let mut senders = Vec::new();
    for (tx, mut rx) in conns {
        timeout(Duration::from_secs(10), async {
            loop {
                if let Some(Event::Presence(m)) = rx.next().await.unwrap() {
                    if m.len() == 3 {
                        return m;
                    }
                }
            }
        })
        .await
        .expect("presence shows the three members");
        receivers.push(rx);
        senders.push(tx);
    }

    let stores: Vec<_> = pads
        .iter()
        .map(|p| Arc::new(Mutex::new(PadStore::open(p).unwrap())))
        .collect();

    let mut tasks = Vec::new();
    let mut send_tasks = Vec::new();
    // Receivers: each expects PER_SENDER messages from each of the two others, in order.
    for (i, mut rx) in receivers.into_iter().enumerate() {
        let store = stores[i].clone();
        tasks.push(tokio::spawn(async move {
            let mut got: HashMap<u16, Vec<String>> = HashMap::new();
            let mut total = 0;
            while total < 2 * PER_SENDER {
                let ev = timeout(Duration::from_secs(30), rx.next())
                    .await
                    .expect("message in time")
                    .unwrap()
                    .expect("relay open");
                if let Event::Data(d) = ev {
                    let r = store.lock().unwrap().open_message(&d).unwrap();
                    assert_eq!(r.gap, 0, "no gap expected");
                    got.entry(r.sender.0)
                        .or_default()
                        .push(String::from_utf8(r.plaintext.0.to_vec()).unwrap());
                    total += 1;
                }
            }
            (i, got)
        }));
    }
    // Senders: all three at once.
    for (i, mut tx) in senders.into_iter().enumerate() {
        let store = stores[i].clone();
        send_tasks.push(tokio::spawn(async move {
            for k in 0..PER_SENDER {
                let text = format!("message {k} from {i}");
                let wire = store.lock().unwrap().seal(text.as_bytes()).unwrap();
                tx.send(&wire.message.encode()).await.unwrap();
                tx.flush().await.unwrap();
                if k % 5 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            // Closing the sending half means leaving the room: keep it until the receivers are done.
            tx
        }));
    }
    let mut open_senders = Vec::new();
    for t in send_tasks {
        open_senders.push(timeout(Duration::from_secs(60), t).await.unwrap().unwrap());
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(timeout(Duration::from_secs(60), t).await.unwrap().unwrap());
    }
    drop(open_senders);
    for (i, got) in results {
        for s in 0..3u16 {
            if usize::from(s) == i {
                assert!(!got.contains_key(&s));
                continue;
            }
            let expected: Vec<String> = (0..PER_SENDER)
                .map(|k| format!("message {k} from {s}"))
                .collect();
            assert_eq!(got[&s], expected, "receiver {i}, sender {s}");
        }
    }
    assert_eq!(
        relay
            .stats()
            .frames_in
            .load(std::sync::atomic::Ordering::Relaxed),
        3 * PER_SENDER as u64
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_requires_the_room_token() {
    let relay = start(
        localhost(),
        RelayConfig::new(vec![RoomToken::new(b"right".to_vec())]),
    )
    .await
    .unwrap();
    let err = connect(
        relay.local_addr(),
        &RoomToken::new(b"wrong".to_vec()),
        0,
        "eve",
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("unknown room token"), "{err}");
    assert!(connect(
        relay.local_addr(),
        &RoomToken::new(b"right".to_vec()),
        0,
        "a"
    )
    .await
    .is_ok());
    relay.shutdown().await;
}

async fn raw(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(bytes).await;
    let _ = s.shutdown().await;
    let mut out = Vec::new();
    let _ = timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_survives_malformed_frames_and_abrupt_disconnects() {
    let token = RoomToken::new(b"room".to_vec());
    let relay = start(localhost(), RelayConfig::new(vec![token.clone()]))
        .await
        .unwrap();
    let addr = relay.local_addr();
    // Oversized length prefix, unknown kind, garbage, empty frame, truncated hello.
    raw(addr, &[0xff, 0xff, 0xff, 0xff, 1, 2, 3]).await;
    raw(addr, &[0, 0, 0, 1, 200]).await;
    raw(addr, b"GET / HTTP/1.1\r\n\r\n").await;
    raw(addr, &[0, 0, 0, 0]).await;
    raw(addr, &[0, 0, 0, 10, 1, 0]).await;
    // Connect and vanish mid-frame.
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(&[0, 0, 1, 0, 3, 1, 2]).await.unwrap();
    }
    // A member that sends garbage after a valid hello is dropped, the others stay.
    let (mut a_tx, mut a_rx) = connect(addr, &token, 0, "a").await.unwrap();
    let (mut b_tx, mut b_rx) = connect(addr, &token, 1, "b").await.unwrap();
    {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let hello = tabella_ghostline::frame::Frame::Hello {
            token: b"room".to_vec(),
            sender: 2,
            nick: "mallory".into(),
        };
        s.write_all(&hello.encode()).await.unwrap();
        s.write_all(&[0, 0, 0, 3, 99, 99, 99]).await.unwrap();
        let mut buf = Vec::new();
        let _ = timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
    }
    a_tx.send(b"opaque ciphertext").await.unwrap();
    a_tx.flush().await.unwrap();
    let got = timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Event::Data(d)) = b_rx.next().await.unwrap() {
                return d;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got, b"opaque ciphertext");
    b_tx.send(b"and back").await.unwrap();
    b_tx.flush().await.unwrap();
    let back = timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Event::Data(d)) = a_rx.next().await.unwrap() {
                return d;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(back, b"and back");
    assert!(
        relay
            .stats()
            .rejected
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 5
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_bench_smoke() {
    let fig = tabella_ghostline::bench::relay_figure(3, 300)
        .await
        .unwrap();
    assert_eq!(fig.messages, 900);
    assert!(fig.messages_per_s > 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_listener_serves_watchers_only() {
    use tabella_ghostline::client::PresenceWatcher;
    let token = RoomToken::new(b"room".to_vec());
    let mut config = RelayConfig::new(vec![token.clone()]);
    config.presence_listen = Some(localhost());
    let relay = start(localhost(), config).await.unwrap();
    let paddr = relay.presence_addr().unwrap();
    let mut watcher = PresenceWatcher::connect(paddr, &token).await.unwrap();
    // The watcher itself is not listed.
    let first = timeout(Duration::from_secs(5), watcher.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.is_empty(), "{first:?}");
    let (mut a_tx, _a_rx) = connect(relay.local_addr(), &token, 0, "alice")
        .await
        .unwrap();
    let seen = timeout(Duration::from_secs(5), watcher.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].nick, "alice");
    // Data from members does not reach watchers; the member list does.
    a_tx.send(b"not for watchers").await.unwrap();
    a_tx.flush().await.unwrap();
    drop(a_tx);
    let after = timeout(Duration::from_secs(5), watcher.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(after.is_empty());
    // A wrong token is refused on the presence listener too.
    assert!(
        PresenceWatcher::connect(paddr, &RoomToken::new(b"nope".to_vec()))
            .await
            .is_err()
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_refused() {
    let token = RoomToken::new(b"room".to_vec());
    let mut config = RelayConfig::new(vec![token.clone()]);
    config.max_connections = 2;
    let relay = start(localhost(), config).await.unwrap();
    let _a = connect(relay.local_addr(), &token, 0, "a").await.unwrap();
    let _b = connect(relay.local_addr(), &token, 1, "b").await.unwrap();
    let err = connect(relay.local_addr(), &token, 2, "c")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("relay full"), "{err}");
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_slows_a_flooding_connection() {
    use tabella_ghostline::relay::RateLimit;
    let token = RoomToken::new(b"room".to_vec());
    let mut config = RelayConfig::new(vec![token.clone()]);
    config.rate = RateLimit {
        frames_per_second: 200,
        burst: 10,
    };
    let relay = start(localhost(), config).await.unwrap();
    let (mut a_tx, _a_rx) = connect(relay.local_addr(), &token, 0, "a").await.unwrap();
    let (_b_tx, mut b_rx) = connect(relay.local_addr(), &token, 1, "b").await.unwrap();
    let start_t = std::time::Instant::now();
    for _ in 0..60 {
        a_tx.send(b"flood").await.unwrap();
    }
    a_tx.flush().await.unwrap();
    let mut got = 0;
    while got < 60 {
        if let Event::Data(_) = timeout(Duration::from_secs(10), b_rx.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            got += 1;
        }
    }
    // 10 frames of burst, then 50 at 200/s: at least ~0.25 s.
    assert!(
        start_t.elapsed() >= Duration::from_millis(200),
        "{:?}",
        start_t.elapsed()
    );
    relay.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frame_limit_is_one_mebibyte() {
    use tabella_ghostline::frame::MAX_FRAME;
    let token = RoomToken::new(b"room".to_vec());
    let relay = start(localhost(), RelayConfig::new(vec![token.clone()]))
        .await
        .unwrap();
    let (mut a_tx, a_rx) = connect(relay.local_addr(), &token, 0, "a").await.unwrap();
    let (_b_tx, mut b_rx) = connect(relay.local_addr(), &token, 1, "b").await.unwrap();
    // The largest allowed frame (kind byte + body = 1 MiB) goes through.
    let big = vec![0x42u8; MAX_FRAME - 1];
    a_tx.send(&big).await.unwrap();
    a_tx.flush().await.unwrap();
    let got = timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Event::Data(d)) = b_rx.next().await.unwrap() {
                return d;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(got.len(), MAX_FRAME - 1);
    // The client refuses to send more.
    assert!(a_tx.send(&vec![0u8; MAX_FRAME]).await.is_err());
    drop(a_rx);
    // A raw oversized frame: the sender is told why and disconnected.
    let mut s = TcpStream::connect(relay.local_addr()).await.unwrap();
    let hello = tabella_ghostline::frame::Frame::Hello {
        token: b"room".to_vec(),
        sender: 2,
        nick: "big".into(),
    };
    s.write_all(&hello.encode()).await.unwrap();
    let mut oversized = ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec();
    oversized.push(3);
    s.write_all(&oversized).await.unwrap();
    let mut buf = Vec::new();
    let _ = timeout(Duration::from_secs(10), s.read_to_end(&mut buf)).await;
    let text = String::from_utf8_lossy(&buf);
    assert!(text.contains("exceeds the 1048576-byte limit"), "{text}");
    relay.shutdown().await;
}
