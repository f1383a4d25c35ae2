//! Private statistics through the real `tabella` binary, every party its own process on
//! 127.0.0.1: the demo, and the commands as an operator runs them by hand (party homes, the
//! consortium, `cn run` / `dp run`, a query, its audit, a query over budget, bad input).

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run(cwd: &Path, args: &[&str]) -> (bool, String) {
    let o = support::tabella(cwd, &[], args);
    (o.status.success(), support::text(&o))
}

#[test]
fn stats_demo_answers_three_queries_and_audits_them() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, t) = run(dir.path(), &["stats", "demo", "--dir", "demo"]);
    assert!(ok, "{t}");
    assert_eq!(t.matches("no prover cheated").count(), 3, "{t}");
    assert_eq!(
        t.matches("the chain's result is the one the proofs lead to")
            .count(),
        3,
        "{t}"
    );
    for title in ["mean BMI", "histogram of ages", "linear regression"] {
        assert!(t.contains(title), "{t}");
    }
    assert!(t.contains("plain    mean = 26.973 over 215 rows"), "{t}");
    // No party process is left behind: the homes' logs show every party ran.
    let log = std::fs::read_to_string(dir.path().join("demo/cn-0/log.txt")).unwrap();
    assert!(log.contains("key-switch proof"), "{log}");
    let log = std::fs::read_to_string(dir.path().join("demo/dp-3/log.txt")).unwrap();
    assert!(log.contains("range proof"), "{log}");
}

#[test]
fn parties_as_processes_answer_a_query_and_refuse_one_over_budget() {
    let node = support::start_node();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = "age,region,extra\n34,N,x\n51,S,y\n67,N,z\n45,N,w\n";
    std::fs::write(
        d.join("schema.json"),
        r#"{"max_rows":20,"columns":[{"name":"age","type":"integer","min":0,"max":120},{"name":"region","type":"text"}]}"#,
    )
    .unwrap();
    let mut procs = Vec::new();
    let mut args: Vec<String> = Vec::new();
    for i in 0..2 {
        let home = format!("cn{i}");
        let (ok, t) = run(d, &["stats", "cn", "init", "--home", &home]);
        assert!(ok, "{t}");
        args.push("--cn".into());
        args.push(format!("{home}/card.json"));
        procs.push(Killed(
            Command::new(support::BIN)
                .args(["stats", "cn", "run", "--home", &home, "--node", &node.url])
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ));
    }
    for i in 0..3 {
        let home = format!("dp{i}");
        let (ok, t) = run(
            d,
            &["stats", "dp", "init", "--home", &home, "--budget", "4"],
        );
        assert!(ok, "{t}");
        // The last provider keeps its rows in an SQLite database of two tables.
        let data: Vec<String> = if i == 2 {
            let db = rusqlite::Connection::open(d.join("dp2.sqlite")).unwrap();
            db.execute_batch(
                "CREATE TABLE visits (id INTEGER, at TEXT);
                 CREATE TABLE patients (region TEXT, age INTEGER, extra TEXT);
                 INSERT INTO patients VALUES ('N', 34, 'x'), ('S', 51, 'y'), ('N', 67, 'z'),
                   ('N', 45.0, 'w');",
            )
            .unwrap();
            drop(db);
            // Which table is the provider's must be said, and must exist.
            let start = |extra: &[&str]| {
                let mut a = vec![
                    "stats",
                    "dp",
                    "run",
                    "--home",
                    &home,
                    "--data",
                    "dp2.sqlite",
                ];
                a.extend_from_slice(extra);
                run(d, &a)
            };
            let (ok, t) = start(&[]);
            assert!(
                !ok && t.contains("several tables (patients, visits)"),
                "{t}"
            );
            let (ok, t) = start(&["--table", "people"]);
            assert!(!ok && t.contains("no table \"people\""), "{t}");
            ["--data", "dp2.sqlite", "--table", "patients"]
                .map(String::from)
                .to_vec()
        } else {
            std::fs::write(d.join(format!("{home}.csv")), csv).unwrap();
            vec!["--data".into(), format!("{home}.csv")]
        };
        args.push("--dp".into());
        args.push(home.clone());
        let mut run_args: Vec<String> =
            ["stats", "dp", "run", "--home", &home, "--node", &node.url]
                .map(String::from)
                .to_vec();
        run_args.extend(data);
        procs.push(Killed(
            Command::new(support::BIN)
                .args(&run_args)
                .current_dir(d)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        ));
    }
    // A second init of the same home is refused, and so is a card of the wrong role.
    let (ok, t) = run(d, &["stats", "cn", "init", "--home", "cn0"]);
    assert!(!ok && t.contains("already holds a party"), "{t}");
    let (ok, t) = run(
        d,
        &[
            "stats",
            "consortium",
            "--node",
            &node.url,
            "--name",
            "x",
            "--schema",
            "schema.json",
            "--cn",
            "dp0",
            "--dp",
            "dp1",
        ],
    );
    assert!(!ok && t.contains("not a computing node's card"), "{t}");

    let mut create: Vec<&str> = vec![
        "stats",
        "consortium",
        "--node",
        &node.url,
        "--name",
        "clinic study",
        "--schema",
        "schema.json",
        "--budget",
        "3",
        "--answer-blocks",
        "40",
    ];
    create.extend(args.iter().map(String::as_str));
    let (ok, t) = run(d, &create);
    assert!(ok, "{t}");
    let cid = t
        .lines()
        .find_map(|l| l.strip_prefix("consortium ")?.strip_suffix(" created"))
        .unwrap_or_else(|| panic!("{t}"))
        .to_string();
    // No party takes part before its operator accepts the consortium.
    std::thread::sleep(std::time::Duration::from_millis(800));
    let (ok, t) = run(
        d,
        &[
            "stats",
            "query",
            "--node",
            &node.url,
            "--op",
            "count",
            "--epsilon",
            "1",
            "--as",
            "alice",
        ],
    );
    assert!(
        !ok && t.contains("key ceremony is not finished (0 of 2"),
        "{t}"
    );
    for home in ["cn0", "cn1"] {
        let (ok, t) = run(d, &["stats", "cn", "accept", "--home", home, &cid]);
        assert!(ok, "{t}");
    }
    for home in ["dp0", "dp1", "dp2"] {
        let (ok, t) = run(d, &["stats", "dp", "accept", "--home", home, &cid]);
        assert!(ok, "{t}");
    }
    let (ok, t) = run(d, &["stats", "dp", "accept", "--home", "cn0", &cid]);
    assert!(!ok && t.contains("not a DataProvider"), "{t}");

    // A count over the northern rows (3 per provider, 9 in all), ε = 1 (charged 1).
    let mut answer = String::new();
    for _ in 0..100 {
        let (ok, t) = run(
            d,
            &[
                "stats",
                "query",
                "--node",
                &node.url,
                "--op",
                "count",
                "--where",
                "region = 'N'",
                "--epsilon",
                "1",
                "--as",
                "alice",
            ],
        );
        if ok {
            answer = t;
            break;
        }
        // Until the ceremony is done, its complaint window over and every provider joined, the
        // query is refused.
        assert!(
            t.contains("key ceremony is not finished")
                || t.contains("has joined")
                || t.contains("complaint window"),
            "{t}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(answer.contains("answer   count = "), "{answer}");
    assert!(answer.contains("charged  ε = 1"), "{answer}");
    let id = answer
        .lines()
        .find_map(|l| l.trim().strip_prefix("query    "))
        .unwrap()
        .trim()
        .to_string();
    let (ok, t) = run(d, &["stats", "audit", "--node", &node.url, "--query", &id]);
    assert!(ok, "{t}");
    assert!(t.contains("no prover cheated"), "{t}");
    assert!(
        t.contains("the chain's result is the one the proofs lead to"),
        "{t}"
    );
    let (ok, t) = run(
        d,
        &[
            "stats", "audit", "--node", &node.url, "--query", &id, "--json",
        ],
    );
    assert!(ok && t.contains("\"cheaters\": []"), "{t}");

    // ε = 2.5 more goes over the consortium's 3 for alice: refused on chain, with the reason.
    let (ok, t) = run(
        d,
        &[
            "stats",
            "query",
            "--node",
            &node.url,
            "--op",
            "count",
            "--epsilon",
            "2.5",
            "--as",
            "alice",
        ],
    );
    assert!(!ok && t.contains("over budget"), "{t}");
    // Bad input: an unknown column, an unknown operation, a malformed query id.
    let (ok, t) = run(
        d,
        &[
            "stats", "query", "--node", &node.url, "--op", "mean", "--attr", "height",
        ],
    );
    assert!(!ok && t.contains("height"), "{t}");
    let (ok, t) = run(
        d,
        &["stats", "query", "--node", &node.url, "--op", "median"],
    );
    assert!(!ok && t.contains("unknown operation"), "{t}");
    let (ok, t) = run(d, &["stats", "audit", "--node", &node.url, "--query", "zz"]);
    assert!(!ok && t.contains("not a query id"), "{t}");
    drop(procs);
}
