//! Five node daemons on the embedded transport (SMTP receiver + Maildirs on 127.0.0.1):
//! identity set-up, 20 messages over 3-hop paths with redundancy 2/4, one node killed in the
//! middle of the run and restarted from its home, nothing lost; a reply through a reply block;
//! every mail on disk is an ordinary MIME mail.
//!
//! With `TABELLA_MAIL_TESTBED=BASE` (a running `scripts/mail-testbed start --base BASE`), the
//! same run goes through Postfix and Dovecot (SMTP, IMAP IDLE) instead.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tabella_vortex_mail::carrier;
use tabella_vortex_mail::localnet::{LocalNet, NetConfig, Testbed, Transport};
use tabella_vortex_mail::maildir::Maildir;
use tabella_vortex_mail::station::{SendRequest, Target};

fn request(to: &str, text: &str, reply: bool) -> SendRequest {
    SendRequest {
        to: Target::Address(to.to_string()),
        text: text.as_bytes().to_vec(),
        hops: 3,
        redundancy: Some((2, 4)),
        decoys: 0,
        reply,
        delay: (0, 2),
    }
}

async fn run(transport: Transport, dir: PathBuf, maildirs: Vec<PathBuf>) {
    let _ = std::fs::remove_dir_all(&dir);
    // Every other node takes F5 JPEG carriers, the others PLAIN at offset 0 or 256.
    let config = NetConfig {
        f5: Some("vortex test words".into()),
        ..NetConfig::default()
    };
    let mut net = LocalNet::create(&dir, &config, transport).await.unwrap();
    net.start_all().await.unwrap();
    let t = Instant::now();
    assert!(
        net.wait_until(Duration::from_secs(120), |n| (0..n.len())
            .all(|i| n.setup_done(i)))
            .await
            .unwrap(),
        "identity set-up did not finish"
    );
    eprintln!("set-up: {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let mut sent = Vec::new();
    for m in 0..20 {
        let from = m % 5;
        let to = (from + 1 + m / 5) % 5;
        let text = format!(
            "message {m} from {} to {}",
            net.address(from),
            net.address(to)
        );
        let to_address = net.address(to).to_string();
        net.send(from, &request(&to_address, &text, m == 0))
            .unwrap();
        sent.push((to, text));
        if m == 9 {
            // Node 3 dies with messages in flight and combos waiting, then comes back.
            tokio::time::sleep(Duration::from_millis(700)).await;
            net.kill(2).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            net.start(2).await.unwrap();
        }
    }
    let all = |n: &LocalNet| {
        sent.iter().all(|(to, text)| {
            n.inbox(*to)
                .unwrap()
                .iter()
                .any(|l| l.text == text.as_bytes())
        })
    };
    let ok = net.wait_until(Duration::from_secs(180), all).await.unwrap();
    let missing: Vec<&String> = sent
        .iter()
        .filter(|(to, text)| {
            !net.inbox(*to)
                .unwrap()
                .iter()
                .any(|l| l.text == text.as_bytes())
        })
        .map(|(_, t)| t)
        .collect();
    assert!(ok, "not delivered: {missing:?}");
    eprintln!("20 messages: {:.1} s", t.elapsed().as_secs_f64());
    // The restarted node rebuilt itself from its journal.
    let log = std::fs::read_to_string(net.home(2).join("node.log")).unwrap();
    let starts: Vec<&str> = log.lines().filter(|l| l.contains("started: ")).collect();
    assert_eq!(starts.len(), 2, "{log}");
    assert!(!starts[1].contains("started: 0 inputs"), "{}", starts[1]);
    eprintln!("restart: {}", starts[1]);
    // Each letter arrived once.
    for i in 0..5 {
        let inbox = net.inbox(i).unwrap();
        for l in &inbox {
            assert_eq!(inbox.iter().filter(|x| x.text == l.text).count(), 1);
        }
    }
    // The first recipient answers through the attached reply block.
    let (to0, _) = &sent[0];
    let letter = net
        .inbox(*to0)
        .unwrap()
        .into_iter()
        .find(|l| l.text.starts_with(b"message 0 "))
        .unwrap();
    let block = hex::encode(letter.reply_block.expect("a reply block"));
    net.send(
        *to0,
        &SendRequest {
            to: Target::ReplyBlock(block),
            hops: 1,
            redundancy: None,
            ..request("", "the answer", false)
        },
    )
    .unwrap();
    assert!(net
        .wait_until(Duration::from_secs(60), |n| n
            .inbox(0)
            .unwrap()
            .iter()
            .any(|l| l.text == b"the answer"))
        .await
        .unwrap());
    net.shutdown().await.unwrap();
    // Every mail that crossed the transport parses as a MIME mail with a text and an attachment.
    let mut mails = 0;
    let mut jpegs = 0;
    for md in maildirs {
        let md = Maildir::open(md).unwrap();
        for f in md.all_files().unwrap() {
            let parts = carrier::parts(&std::fs::read(&f).unwrap()).unwrap();
            assert!(parts.len() >= 2, "{}", f.display());
            mails += 1;
            jpegs += parts.iter().filter(|p| p.is_jpeg()).count();
        }
    }
    eprintln!("{mails} mails checked, {jpegs} F5 JPEG carriers");
    assert!(mails >= 60);
    assert!(jpegs >= 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_daemons_on_the_embedded_transport() {
    let dir = std::env::temp_dir().join(format!("tabella-localnet-{}", std::process::id()));
    let maildirs = (1..=5)
        .map(|i| dir.join("mail").join(format!("node{i}@vortex.test")))
        .collect();
    run(Transport::Embedded, dir.clone(), maildirs).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_daemons_through_postfix_and_dovecot() {
    let Ok(base) = std::env::var("TABELLA_MAIL_TESTBED") else {
        // scripts/test starts the testbed and sets both variables; a run that asked for the
        // testbed must not pass without it.
        assert!(
            std::env::var("TABELLA_REQUIRE_MAIL_TESTBED").is_err(),
            "TABELLA_REQUIRE_MAIL_TESTBED is set but TABELLA_MAIL_TESTBED is not"
        );
        eprintln!("TABELLA_MAIL_TESTBED is not set: the Postfix + Dovecot run is skipped");
        return;
    };
    let tb = Testbed::load(std::path::Path::new(&base)).unwrap();
    let maildirs = tb.accounts[..5]
        .iter()
        .filter_map(|a| tb.maildirs.get(&a.address).cloned())
        .collect();
    let dir = std::env::temp_dir().join(format!("tabella-postfix-net-{}", std::process::id()));
    run(Transport::Testbed(tb), dir.clone(), maildirs).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
