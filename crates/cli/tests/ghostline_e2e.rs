//! GhostLine end to end through the real `tabella` binary: pads, a relay on 127.0.0.1, line-mode
//! send/recv, and the terminal chat driven through tmux (send-keys / capture-pane).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tabella");
const TOKEN: &str = "e2e-room-token";

struct Relay {
    child: Child,
    addr: String,
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn relay() -> Relay {
    let mut child = Command::new(BIN)
        .args([
            "ghostline",
            "relay",
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("relay listening on ")
        .unwrap_or_else(|| panic!("unexpected relay output {line:?}"))
        .to_string();
    Relay { child, addr }
}

fn tabella(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn pads(dir: &Path, n: &str) {
    let out = tabella(&[
        "ghostline",
        "pad",
        "new",
        "--participants",
        n,
        "--size",
        "256K",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pad(dir: &Path, i: u16) -> String {
    dir.join(format!("pad-{i}.ghostpad"))
        .to_str()
        .unwrap()
        .to_string()
}

/// Starts `tabella ghostline recv` as bob (participant 1), stopping after `count` messages.
fn bob_receives(
    dir: &std::path::Path,
    relay: &str,
    count: &str,
    stderr: Stdio,
) -> std::process::Child {
    Command::new(BIN)
        .args([
            "ghostline",
            "recv",
            "--pad",
            &pad(dir, 1),
            "--relay",
            relay,
            "--token",
            TOKEN,
            "--nick",
            "bob",
            "--count",
            count,
            "--idle-timeout",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the tabella binary runs")
}

#[test]
fn line_mode_send_and_recv_through_a_relay() {
    let dir = tempfile::tempdir().unwrap();
    pads(dir.path(), "3");
    let relay = relay();
    let mut bob = bob_receives(dir.path(), &relay.addr, "3", Stdio::piped());
    // Wait until bob is in the room (his stderr says so), then send.
    let mut err = BufReader::new(bob.stderr.take().unwrap());
    let mut line = String::new();
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with("connected"), "{line}");
    let a = tabella(&[
        "ghostline",
        "send",
        "--pad",
        &pad(dir.path(), 0),
        "--relay",
        &relay.addr,
        "--token",
        TOKEN,
        "--nick",
        "alice",
        "hello bob",
        "second",
    ]);
    assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
    let c = tabella(&[
        "ghostline",
        "send",
        "--pad",
        &pad(dir.path(), 2),
        "--relay",
        &relay.addr,
        "--token",
        TOKEN,
        "--nick",
        "carol",
        "hi from carol",
    ]);
    assert!(c.status.success());
    let mut out = String::new();
    let mut stdout = BufReader::new(bob.stdout.take().unwrap());
    for _ in 0..3 {
        stdout.read_line(&mut out).unwrap();
    }
    assert_eq!(
        out,
        "alice: hello bob\nalice: second\ncarol: hi from carol\n"
    );
    assert!(bob.wait().unwrap().success());

    // Errors are one clear line and a non-zero exit.
    let bad = tabella(&[
        "ghostline",
        "send",
        "--pad",
        &pad(dir.path(), 2),
        "--relay",
        &relay.addr,
        "--token",
        "wrong",
        "x",
    ]);
    assert!(!bad.status.success());
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(msg.lines().count(), 1, "{msg}");
    assert!(msg.contains("unknown room token"), "{msg}");
    let info = tabella(&["ghostline", "pad", "info", &pad(dir.path(), 0)]);
    assert!(String::from_utf8_lossy(&info.stdout).contains("sender 0:"));
}

fn tmux(sock: &str, args: &[&str]) -> Output {
    Command::new("tmux")
        .arg("-L")
        .arg(sock)
        .args(args)
        .output()
        .unwrap()
}

fn wait_for_screen(sock: &str, what: &str) -> String {
    let start = Instant::now();
    loop {
        let out = tmux(sock, &["capture-pane", "-p", "-t", "chat"]);
        let screen = String::from_utf8_lossy(&out.stdout).to_string();
        if screen.contains(what) {
            return screen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "screen never showed {what:?}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn terminal_chat_driven_through_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("tmux not installed; skipping the TUI test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    pads(dir.path(), "2");
    let relay = relay();
    let sock = format!("ghostline-e2e-{}", std::process::id());
    let cmd = format!(
        "{BIN} ghostline chat --pad {} --relay {} --token {TOKEN} --nick alice",
        pad(dir.path(), 0),
        relay.addr
    );
    let started = tmux(
        &sock,
        &[
            "new-session",
            "-d",
            "-s",
            "chat",
            "-x",
            "100",
            "-y",
            "30",
            &cmd,
        ],
    );
    assert!(started.status.success());
    let result = std::panic::catch_unwind(|| {
        wait_for_screen(&sock, "alice (0)");
        wait_for_screen(&sock, "Pad left");
        // Bob (line mode) says hello; the chat shows it.
        let b = tabella(&[
            "ghostline",
            "send",
            "--pad",
            &pad(dir.path(), 1),
            "--relay",
            &relay.addr,
            "--token",
            TOKEN,
            "--nick",
            "bob",
            "hello alice",
        ]);
        assert!(b.status.success());
        wait_for_screen(&sock, "hello alice");
        // Bob listens; Alice types a reply in the chat.
        let bob = bob_receives(dir.path(), &relay.addr, "1", Stdio::null());
        wait_for_screen(&sock, "bob (1)");
        tmux(&sock, &["send-keys", "-t", "chat", "-l", "hi bob"]);
        tmux(&sock, &["send-keys", "-t", "chat", "Enter"]);
        let screen = wait_for_screen(&sock, "alice: hi bob");
        assert!(screen.contains("you (0)"), "{screen}");
        let out = bob.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "alice: hi bob\n");
        // Esc quits.
        tmux(&sock, &["send-keys", "-t", "chat", "Escape"]);
        let start = Instant::now();
        while tmux(&sock, &["has-session", "-t", "chat"]).status.success() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "chat did not quit"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let _ = tmux(&sock, &["kill-server"]);
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
