//! The embedded SMTP receiver, driven by lettre (a real client) and by hand.

use std::collections::HashMap;

use tabella_vortex_mail::maildir::Maildir;
use tabella_vortex_mail::smtp::SmtpClient;
use tabella_vortex_mail::smtpd::{Limits, Smtpd};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn tempdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tabella-smtp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

async fn server(tag: &str, limits: Limits) -> (Smtpd, Maildir, std::path::PathBuf) {
    let dir = tempdir(tag);
    let md = Maildir::open(dir.join("node1")).unwrap();
    let mut boxes = HashMap::new();
    boxes.insert("Node1@vortex.test".to_string(), md.clone());
    let s = Smtpd::start("127.0.0.1:0", "mx.vortex.test", boxes, limits)
        .await
        .unwrap();
    (s, md, dir)
}

#[tokio::test]
async fn lettre_delivers_into_the_maildir_byte_for_byte() {
    let (s, md, dir) = server("lettre", Limits::default()).await;
    let client = SmtpClient::plain("127.0.0.1", s.addr().port(), "node2.vortex.test");
    // Lines starting with a dot must survive dot-stuffing; a long body too.
    let mut mail = b"From: a@vortex.test\r\nTo: node1@vortex.test\r\nSubject: t\r\n\r\n.leading dot\r\n..two\r\n.\r\nend\r\n".to_vec();
    for i in 0..20_000 {
        mail.extend_from_slice(format!("line {i}\r\n").as_bytes());
    }
    client
        .send("node2@vortex.test", "node1@vortex.test", &mail)
        .await
        .unwrap();
    let names = md.list_new().unwrap();
    assert_eq!(names.len(), 1);
    let stored = md.read_new(&names[0]).unwrap();
    assert!(stored.starts_with(b"Return-Path: <node2@vortex.test>\r\nReceived: from "));
    // The mail follows the trace headers unchanged (lettre ends the data with CRLF . CRLF
    // after the mail's own last CRLF, which adds one empty line, as with any server).
    let at = stored.windows(6).position(|w| w == b"From: ").unwrap();
    let mut expected = mail.clone();
    expected.extend_from_slice(b"\r\n");
    assert!(stored[at..] == mail[..] || stored[at..] == expected[..]);
    // Relaying is refused.
    let err = client
        .send("node2@vortex.test", "someone@example.com", &mail)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("550"), "{err}");
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

/// Sends each line; reads a (multi-line) reply after the lines marked `true`.
async fn talk(port: u16, lines: &[(&str, bool)]) -> Vec<String> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::new(r);
    let mut out = Vec::new();
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    out.push(line.trim_end().to_string());
    for (l, answered) in lines {
        w.write_all(format!("{l}\r\n").as_bytes()).await.unwrap();
        if !answered {
            continue;
        }
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap() == 0 {
                return out;
            }
            out.push(line.trim_end().to_string());
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        }
    }
    out
}

fn codes(r: &[String]) -> Vec<&str> {
    r.iter()
        .filter(|l| l.as_bytes().get(3) != Some(&b'-'))
        .map(|l| &l[..3])
        .collect()
}

#[tokio::test]
async fn protocol_errors_and_limits() {
    let limits = Limits {
        max_mail: 100,
        ..Limits::default()
    };
    let (s, md, dir) = server("proto", limits).await;
    let port = s.addr().port();
    let r = talk(
        port,
        &[
            ("RCPT TO:<node1@vortex.test>", true),
            ("DATA", true),
            ("EHLO x", true),
            ("MAIL FROM bad", true),
            ("MAIL FROM:<a@b>", true),
            ("RCPT TO:<nobody@vortex.test>", true),
            ("BOGUS", true),
            ("QUIT", true),
        ],
    )
    .await;
    assert_eq!(
        codes(&r),
        ["220", "503", "503", "250", "501", "250", "550", "502", "221"]
    );
    // A mail over the size limit is refused and nothing is stored; a small one is stored.
    let big = "x".repeat(90);
    let r = talk(
        port,
        &[
            ("HELO x", true),
            ("MAIL FROM:<a@b>", true),
            ("RCPT TO:<node1@vortex.test>", true),
            ("DATA", true),
            (&big, false),
            (&big, false),
            (".", true),
            ("MAIL FROM:<a@b>", true),
            ("RCPT TO:<node1@vortex.test>", true),
            ("DATA", true),
            ("small", false),
            (".", true),
            ("QUIT", true),
        ],
    )
    .await;
    assert_eq!(
        codes(&r),
        ["220", "250", "250", "250", "354", "552", "250", "250", "354", "250", "221"]
    );
    let names = md.list_new().unwrap();
    assert_eq!(names.len(), 1);
    assert!(md.read_new(&names[0]).unwrap().ends_with(b"small\r\n"));
    // A line longer than the limit ends the connection without a crash; the server still serves.
    let long = "y".repeat(10_000);
    let _ = talk(port, &[(&long, true)]).await;
    let r = talk(port, &[("NOOP", true), ("QUIT", true)]).await;
    assert_eq!(codes(&r), ["220", "250", "221"]);
    s.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}
