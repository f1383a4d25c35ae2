//! `tabella console` through HTTP: bad input in the officials' forms (a wrong passphrase, a
//! malformed manifest, an action in the wrong phase, an exhausted table quota) shows a clear
//! message and submits nothing; the council creates and opens an election, the trustee runs the
//! key ceremony, the juror authorizes voters up to the quota and starts the kiosk booth.

mod support;

use support::{officials_and_manifest, start_node, tabella, text, Local, PW};

/// Envelopes the node holds for e1 (0 when it has none).
fn envelopes(p: &std::path::Path, node: &str) -> usize {
    let o = tabella(
        p,
        &[],
        &["election", "status", "--election", "e1", "--node", node],
    );
    text(&o)
        .lines()
        .find_map(|l| l.trim().strip_prefix("envelopes accepted: "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Posts an action and returns the page it leads to (post/redirect/get).
fn act(c: &Local, csrf: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("csrf", csrf)];
    all.extend_from_slice(fields);
    let r = c.post("/act", &all);
    assert_eq!(r.status, 303, "{}", r.body);
    c.get("/").body
}

#[test]
fn officials_act_through_their_consoles_and_mistakes_submit_nothing() {
    let node = start_node();
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    officials_and_manifest(p, &node.url, &[]);
    let manifest = std::fs::read_to_string(p.join("manifest.json")).unwrap();

    let council = Local::start(
        p,
        &node.url,
        &["console", "--as", "c", "--keystore", "tabella-keys"],
        "council.log",
    );
    let csrf = council.csrf("/");
    // A wrong passphrase: refused, explained, and the console stays closed.
    let r = council.post("/login", &[("csrf", &csrf), ("passphrase", "wrong horse")]);
    assert_eq!(r.status, 303);
    let page = council.get("/").body;
    assert!(page.contains("wrong passphrase for key"), "{page}");
    assert!(!page.contains("Create the election"));
    council.post("/login", &[("csrf", &csrf), ("passphrase", PW.1)]);
    // A malformed manifest: refused before anything is sent.
    let page = act(
        &council,
        &csrf,
        &[("action", "create"), ("manifest", "{\"election_id\": ")],
    );
    assert!(page.contains("Refused:"), "{page}");
    assert!(page.contains("manifest"), "{page}");
    assert_eq!(envelopes(p, &node.url), 0);
    let page = act(
        &council,
        &csrf,
        &[("action", "create"), ("manifest", &manifest)],
    );
    assert!(page.contains("created (phase setup)"), "{page}");
    assert!(page.contains("id=\"phase\">setup"), "{page}");
    // Closing in the setup phase: the wrong phase is explained and nothing is submitted.
    let page = act(&council, &csrf, &[("action", "close")]);
    assert!(page.contains("wrong phase"), "{page}");
    assert_eq!(envelopes(p, &node.url), 1);
    let page = act(&council, &csrf, &[("action", "open")]);
    assert!(page.contains("key ceremony"), "{page}");

    // The trustee runs the ceremony from its console; opening too early is refused.
    let trustee = Local::start(
        p,
        &node.url,
        &[
            "console",
            "--as",
            "t1",
            "--election",
            "e1",
            "--keystore",
            "tabella-keys",
        ],
        "trustee.log",
    );
    let tcsrf = trustee.csrf("/");
    trustee.post("/login", &[("csrf", &tcsrf), ("passphrase", PW.1)]);
    let page = act(&council, &csrf, &[("action", "open")]);
    assert!(page.contains("is not finished"), "{page}");
    for step in [
        "round 0 posted",
        "round 1 posted",
        "round 2 posted",
        "complete",
    ] {
        let page = act(&trustee, &tcsrf, &[("action", "dkg")]);
        assert!(page.contains(step), "{step}: {page}");
    }
    let page = act(&council, &csrf, &[("action", "open")]);
    assert!(page.contains("voting is open"), "{page}");
    assert!(page.contains("id=\"phase\">open"), "{page}");

    // The juror authorizes voters at table 1 up to its quota of 2; the third is refused.
    let juror = Local::start(
        p,
        &node.url,
        &[
            "console",
            "--as",
            "j",
            "--election",
            "e1",
            "--keystore",
            "tabella-keys",
            "--workdir",
            "jury",
        ],
        "juror.log",
    );
    let jcsrf = juror.csrf("/");
    juror.post("/login", &[("csrf", &jcsrf), ("passphrase", PW.1)]);
    let page = act(&juror, &jcsrf, &[("action", "authorize"), ("table", "x")]);
    assert!(page.contains("is not a table number"), "{page}");
    let page = act(&juror, &jcsrf, &[("action", "authorize"), ("table", "1")]);
    assert!(page.contains("class=\"ok\""), "{page}");
    let first = std::fs::read(p.join("jury/booth-1.json")).unwrap();
    // The kiosk booth starts from the console for a booth file it wrote, and only for those.
    let r = juror.post("/kiosk", &[("csrf", &jcsrf), ("file", "../manifest.json")]);
    assert_eq!(r.status, 303);
    assert!(juror.get("/").body.contains("no such booth file"));
    let r = juror.post("/kiosk", &[("csrf", &jcsrf), ("file", "booth-1.json")]);
    assert_eq!(r.status, 303, "{}", r.body);
    let page = juror.get("/").body;
    assert!(page.contains("kiosk booth started"), "{page}");
    assert!(page.contains("/start?token="), "{page}");
    // The next authorization gets a new file: the first, whose kiosk is running, is untouched.
    let page = act(&juror, &jcsrf, &[("action", "authorize"), ("table", "1")]);
    assert!(page.contains("class=\"ok\""), "{page}");
    assert!(page.contains("booth-2.json"), "{page}");
    assert_eq!(std::fs::read(p.join("jury/booth-1.json")).unwrap(), first);
    let before = envelopes(p, &node.url);
    let page = act(&juror, &jcsrf, &[("action", "authorize"), ("table", "1")]);
    assert!(
        page.contains("Refused:") && page.contains("quota"),
        "{page}"
    );
    assert_eq!(envelopes(p, &node.url), before);
    assert!(!p.join("jury/booth-3.json").exists());
}
