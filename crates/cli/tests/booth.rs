//! `tabella booth` through HTTP as a browser speaks it: the session's guards refuse a wrong
//! link, a foreign Host (DNS rebinding), a foreign Origin and a forged form; a remote voter
//! signs in (a wrong passphrase and an invalid ballot are explained, nothing is sent), audits an
//! encrypted ballot (checked here, by `tabella verify-ballot` and by the node's audit page), then
//! casts a fresh one whose receipt is the tracker shown and is counted; a polling-table kiosk
//! votes once with the juror's authorization.

mod support;

use support::{
    fails_with, form, http, officials_and_manifest, run_ok, start_node, tabella, Local, PW,
};

fn tracker_of(body: &str) -> String {
    let i = body.find("id=\"tracker\">").expect("a tracker") + 13;
    body[i..i + 64].to_string()
}

#[test]
fn a_remote_voter_audits_then_casts_and_a_kiosk_votes_once() {
    let node = start_node();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let run = |args: &[&str]| run_ok(p, &node.url, args);
    officials_and_manifest(p, &node.url, &["--min-group-size", "1"]);
    run(&[
        "election",
        "create",
        "--manifest",
        "manifest.json",
        "--as",
        "c",
    ]);
    for args in [
        &[
            "voter",
            "register",
            "--election",
            "e1",
            "--wallet",
            "w",
            "--identity",
            "ann@example.org",
        ][..],
        &[
            "identity-validator",
            "issue",
            "--election",
            "e1",
            "--as",
            "v",
            "--identity",
            "ann@example.org",
            "--request",
            "request.json",
            "--out",
            "resp.json",
        ],
        &[
            "voter",
            "register",
            "--election",
            "e1",
            "--wallet",
            "w",
            "--response",
            "resp.json",
        ],
        &[
            "registrar",
            "enable",
            "--election",
            "e1",
            "--as",
            "r",
            "--note",
            "note.json",
        ],
        &[
            "registrar",
            "flush",
            "--election",
            "e1",
            "--as",
            "r",
            "--close-registration",
        ],
        &["election", "open", "--election", "e1", "--as", "c"],
    ] {
        run(args);
    }
    // Before voting opens, the booth says so and offers no form.
    let early = Local::start(
        p,
        &node.url,
        &["booth", "--election", "e1", "--wallet", "w"],
        "booth0.log",
    );
    let r = early.get("/");
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Voting is not open now"), "{}", r.body);
    drop(early);
    for _ in 0..4 {
        run(&["trustee", "dkg", "--election", "e1", "--as", "t1"]);
    }
    run(&["election", "open", "--election", "e1", "--as", "c"]);

    let booth = Local::start(
        p,
        &node.url,
        &[
            "booth",
            "--election",
            "e1",
            "--wallet",
            "w",
            "--keystore",
            "tabella-keys",
        ],
        "booth.log",
    );
    // DNS rebinding: the right cookie under another host name is refused.
    let r = http(
        booth.port,
        "GET",
        "/",
        &[("Host", "evil.example"), ("Cookie", &booth.cookie)],
        "",
    );
    assert_eq!(r.status, 403);
    assert!(r.body.contains("Wrong address"));
    let csrf = booth.csrf("/");
    assert!(booth.get("/").body.contains("value=\"w\""));
    // A form posted from another site, or without this session's token, does nothing.
    let r = http(
        booth.port,
        "POST",
        "/login",
        &[("Cookie", &booth.cookie), ("Origin", "http://evil.example")],
        &form(&[("csrf", &csrf), ("wallet", "w"), ("passphrase", PW.1)]),
    );
    assert_eq!(r.status, 403);
    let r = booth.post(
        "/login",
        &[
            ("csrf", &"0".repeat(64)),
            ("wallet", "w"),
            ("passphrase", PW.1),
        ],
    );
    assert_eq!(r.status, 403);
    assert!(r.body.contains("anti-forgery"));
    assert_eq!(booth.get("/ballot").status, 303, "not signed in yet");
    // A wrong passphrase is explained.
    let r = booth.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("wallet", "w"),
            ("passphrase", "wrong horse"),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(r.body.contains("wrong passphrase for wallet"), "{}", r.body);
    let r = booth.post(
        "/login",
        &[("csrf", &csrf), ("wallet", "w"), ("passphrase", PW.1)],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/ballot"));
    let ballot = booth.get("/ballot").body;
    assert!(ballot.contains("<legend>1. Rector"), "{ballot}");
    assert!(ballot.contains("type=\"checkbox\"") && ballot.contains("<select"));
    // An invalid ballot (nobody approved in a contest without blank votes) is refused.
    let r = booth.post(
        "/seal",
        &[
            ("csrf", &csrf),
            ("c1", "1"),
            ("c3r1", "2"),
            ("c3r2", "1"),
            ("c3r3", "3"),
        ],
    );
    assert_eq!(r.status, 422);
    assert!(
        r.body.contains("Nothing was encrypted or sent"),
        "{}",
        r.body
    );
    let choices = [
        ("csrf", csrf.as_str()),
        ("c1", "1"),
        ("c2", "2"),
        ("c2", "4"),
        ("c3r1", "2"),
        ("c3r2", "1"),
        ("c3r3", "3"),
    ];
    // Encrypt, then audit: the booth checks it and offers the file.
    let sealed = booth.post("/seal", &choices);
    assert_eq!(sealed.status, 200, "{}", sealed.body);
    assert!(sealed.body.contains("Hopper, Turing"), "{}", sealed.body);
    let spoiled = tracker_of(&sealed.body);
    let r = booth.post("/audit", &[("csrf", &csrf), ("tracker", &spoiled)]);
    assert!(
        r.body
            .contains("This ballot encrypts exactly these choices"),
        "{}",
        r.body
    );
    assert!(r.body.contains("1. Labs, 2. Library, 3. Sports"));
    let file = booth.get(&format!("/audit/{spoiled}.json"));
    assert_eq!(file.status, 200);
    assert!(file
        .header("content-disposition")
        .unwrap()
        .contains("attachment"));
    std::fs::write(p.join("audit.json"), &file.body).unwrap();
    // Checked on the side: by the command and by the node's public page.
    let checked = run(&[
        "verify-ballot",
        "audit.json",
        "--node",
        &node.url,
        "--tracker",
        &spoiled,
    ]);
    assert!(checked.contains("this ballot encrypts exactly these choices"));
    let node_port: u16 = node.url.rsplit(':').next().unwrap().parse().unwrap();
    let r = http(
        node_port,
        "POST",
        "/elections/e1/audit",
        &[],
        &form(&[("audit", &file.body)]),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains("encrypts exactly these choices"),
        "{}",
        r.body
    );
    let mut v: serde_json::Value = serde_json::from_str(&file.body).unwrap();
    v["choices"][0]["single"] = serde_json::json!(2);
    let r = http(
        node_port,
        "POST",
        "/elections/e1/audit",
        &[],
        &form(&[("audit", &v.to_string())]),
    );
    assert_eq!(r.status, 422);
    assert!(r.body.contains("The audit failed"), "{}", r.body);
    // The audited ballot can never be cast.
    let r = booth.post("/cast", &[("csrf", &csrf), ("tracker", &spoiled)]);
    assert_eq!(r.status, 409);
    // A fresh encryption, cast: the receipt is the tracker, on the chain and counted.
    let sealed = booth.post("/seal", &choices);
    let tracker = tracker_of(&sealed.body);
    assert_ne!(tracker, spoiled, "a fresh encryption after an audit");
    let r = booth.post("/cast", &[("csrf", &csrf), ("tracker", &tracker)]);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.contains(&format!("id=\"receipt\">{tracker}")),
        "{}",
        r.body
    );
    assert!(r.body.contains("On the chain and counted"), "{}", r.body);
    let receipt = run(&[
        "voter",
        "receipt",
        "--election",
        "e1",
        "--receipt",
        &tracker,
    ]);
    assert!(receipt.contains("on the chain and counted"), "{receipt}");
    // Casting the same encryption twice is refused.
    assert_eq!(
        booth
            .post("/cast", &[("csrf", &csrf), ("tracker", &tracker)])
            .status,
        409
    );

    // The kiosk: the juror authorizes the next voter at table 1; the kiosk votes once.
    run(&[
        "table",
        "authorize",
        "--election",
        "e1",
        "--as",
        "j",
        "--table",
        "1",
        "--out",
        "kiosk.json",
    ]);
    // A second authorization never overwrites a booth file (it may be unused): refused before
    // anything is submitted.
    let authorize_again = [
        "table",
        "authorize",
        "--election",
        "e1",
        "--as",
        "j",
        "--table",
        "1",
        "--out",
        "kiosk.json",
    ];
    let kiosk_file = std::fs::read(p.join("kiosk.json")).unwrap();
    let status = run(&["election", "status", "--election", "e1"]);
    let o = tabella(p, &[PW, ("TABELLA_NODE", &node.url)], &authorize_again);
    fails_with(&o, "kiosk.json already exists");
    assert_eq!(std::fs::read(p.join("kiosk.json")).unwrap(), kiosk_file);
    assert_eq!(run(&["election", "status", "--election", "e1"]), status);
    let kiosk = Local::start(
        p,
        &node.url,
        &["booth", "--election", "e1", "--booth", "kiosk.json"],
        "kiosk.log",
    );
    assert_eq!(kiosk.get("/").header("location"), Some("/ballot"));
    let kcsrf = kiosk.csrf("/ballot");
    let mut kchoices = choices.to_vec();
    kchoices[0].1 = &kcsrf;
    kchoices[1].1 = "blank";
    let sealed = kiosk.post("/seal", &kchoices);
    assert!(sealed.body.contains("(blank)"), "{}", sealed.body);
    let kt = tracker_of(&sealed.body);
    let r = kiosk.post("/cast", &[("csrf", &kcsrf), ("tracker", &kt)]);
    assert!(r.body.contains("On the chain and counted"), "{}", r.body);
    assert!(r.body.contains("authorization is used"));
    assert_eq!(kiosk.get("/ballot").header("location"), Some("/"));
    assert!(kiosk.get("/").body.contains("Thank you"));
    let status = run(&["election", "status", "--election", "e1"]);
    assert!(
        status.contains("\"ballots_accepted\":2,\"ballots_counted\":2"),
        "{status}"
    );
}
