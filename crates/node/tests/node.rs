//! A node on 127.0.0.1: a whole election through its HTTP API, restart with data intact,
//! bad requests answered with clear 4xx errors, the light client from genesis.

use std::net::SocketAddr;
use std::time::Duration;

use tabella_election::action::Envelope;
use tabella_election::ids::ElectionId;
use tabella_election::simulate::{simulate_into, SimulationConfig, Sink, Stage};
use tabella_election::state::ElectionState;
use tabella_ledger::tx::Transaction;
use tabella_node::client::NodeClient;
use tabella_node::home::{self, Home, KeyProtection};
use tabella_node::run::{self, RunOptions};
use tabella_node::seal::Passphrase;
use tabella_node::wire::TxStatus;

struct ToNode {
    client: NodeClient,
    id: ElectionId,
}

impl Sink for ToNode {
    fn publish(&mut self, stage: Stage, envs: &[Envelope]) -> tabella_election::Result<()> {
        if stage == Stage::Casting {
            // A ballot with a forged signature, or with a proof from another ballot, is
            // refused at admission with a clear message and never committed.
            let (Some(Envelope::Ballot(b0)), Some(Envelope::Ballot(b1))) =
                (envs.first(), envs.get(1))
            else {
                panic!("casting starts with ballots")
            };
            let mut forged = b0.clone();
            forged.signature = b1.signature;
            let tx = Transaction::Election {
                election_id: self.id.clone(),
                envelope: Envelope::Ballot(forged),
            };
            let err = self.client.submit(&tx).unwrap_err().to_string();
            assert!(err.contains("rejected"), "{err}");
            assert!(self.client.tx_status(&tx.id().unwrap()).is_err());
        }
        let txs: Vec<Transaction> = envs
            .iter()
            .map(|e| Transaction::Election {
                election_id: self.id.clone(),
                envelope: e.clone(),
            })
            .collect();
        let mut last = None;
        for chunk in txs.chunks(100) {
            for r in self
                .client
                .submit_batch(chunk)
                .map_err(|e| tabella_election::Error::Sink(e.to_string()))?
            {
                last = Some(r.map_err(tabella_election::Error::Sink)?);
            }
        }
        if let Some(id) = last {
            self.client
                .wait_committed(&id, Duration::from_secs(120))
                .map_err(|e| tabella_election::Error::Sink(e.to_string()))?;
        }
        Ok(())
    }
}

fn local() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

fn small_config() -> SimulationConfig {
    SimulationConfig {
        election_id: "node-test".into(),
        voters: 30,
        revote_fraction: 0.2,
        ..SimulationConfig::default()
    }
}

#[test]
fn one_node_election_end_to_end_then_restart() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("node"));
    // The validator key sealed under a passphrase, as an operator runs it.
    let pass = Passphrase::new("node passphrase".into()).unwrap();
    let genesis = home::init_dev(
        &home,
        local(),
        local(),
        &KeyProtection::Sealed(pass.clone()),
    )
    .unwrap();
    let opts = RunOptions {
        passphrase: Some(pass),
        ..RunOptions::default()
    };
    let node = run::start(&home, opts.clone()).unwrap();
    let client = NodeClient::new(&node.url());
    let cfg = small_config();
    let mut sink = ToNode {
        client: client.clone(),
        id: ElectionId::new(cfg.election_id.clone()).unwrap(),
    };
    let out = simulate_into(&cfg, &mut |_, _, _| {}, &mut sink).unwrap();

    // The node holds exactly the simulated log, and its results are the simulation's.
    let envs = client.envelopes("node-test").unwrap();
    assert_eq!(envs, out.record.log);
    let results = client.results("node-test").unwrap();
    assert_eq!(Some(&results), out.state.results());
    let summary = client.election("node-test").unwrap();
    assert_eq!(summary.phase.as_deref(), Some("tallied"));

    // Every ballot has a receipt with an inclusion proof.
    let tx = Transaction::Election {
        election_id: ElectionId::new("node-test".to_string()).unwrap(),
        envelope: envs[envs.len() / 2].clone(),
    };
    match client.tx_status(&tx.id().unwrap()).unwrap() {
        TxStatus::Committed { receipt } => {
            let b = client.block(receipt.height).unwrap();
            assert!(b.block.tx_ids().unwrap().contains(&receipt.tx_id));
        }
        other => panic!("not committed: {other:?}"),
    }

    // Verdict bitmaps were committed for the election's blocks, each signed and all valid.
    let verdicts = client.verdicts("node-test").unwrap();
    assert!(!verdicts.is_empty());
    for v in &verdicts {
        v.bitmap.verify().unwrap();
        for i in 0..v.bitmap.bitmap.proofs.len() {
            assert_eq!(
                v.bitmap.bitmap.verdict(i),
                Some(tabella_ledger::verdict::Verdict::Valid)
            );
        }
    }

    // Light client from the genesis hash.
    let status = client.status().unwrap();
    let chain = genesis.chain().unwrap();
    assert_eq!(status.genesis_hash, chain.genesis_hash());
    let proof = client.light_proof(status.height).unwrap();
    let v = tabella_ledger::light::verify(
        &status.genesis_hash,
        chain.next_roster().unwrap(),
        &proof,
        status.height,
    )
    .unwrap();
    assert_eq!(v.hash, status.tip_hash);
    assert!(v.links_used < status.height.0 as usize || status.height.0 <= 4);

    // The public pages: the elections list, the election with its results and charts, an HTML
    // 404 for a page, a JSON 404 under /v1/.
    let get = |path: &str| -> (u16, String, String) {
        let url = format!("{}{path}", node.url());
        match ureq::get(&url).call() {
            Ok(mut r) => {
                let ct = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let csp = r.headers().contains_key("content-security-policy");
                let body = r.body_mut().read_to_string().unwrap();
                (r.status().as_u16(), format!("{ct}|csp={csp}"), body)
            }
            Err(ureq::Error::StatusCode(code)) => (code, String::new(), String::new()),
            Err(e) => panic!("{url}: {e}"),
        }
    };
    let (code, meta, body) = get("/");
    assert_eq!(code, 200);
    assert!(
        meta.starts_with("text/html") && meta.ends_with("csp=true"),
        "{meta}"
    );
    assert!(body.contains("href=\"/elections/node-test\""), "{body}");
    let (code, _, body) = get("/elections/node-test");
    assert_eq!(code, 200);
    assert!(body.contains("<svg class=\"chart\""));
    assert!(
        body.contains(&format!("{} ballots counted", results.overall.ballots)),
        "{body}"
    );
    let (code, meta, _) = get("/static/tabella.css");
    assert_eq!(code, 200);
    assert!(meta.starts_with("text/css"));
    assert_eq!(get("/elections/nope").0, 404);
    assert_eq!(get("/no/such/page").0, 404);
    assert_eq!(get("/v1/no-such-endpoint").0, 404);
    assert!(body_has_ceremony_and_ballot_chart(
        &get("/elections/node-test").2
    ));

    // Receipts: every ballot is found, counted or replaced as the state says, with a Merkle
    // path the page checked; a malformed or unknown receipt gets a clear answer.
    let counted: std::collections::HashSet<_> = out.state.counted_ballots().collect();
    let ballots: Vec<_> = envs
        .iter()
        .filter_map(|e| match e {
            tabella_election::action::Envelope::Ballot(b) => Some(b.hash()),
            _ => None,
        })
        .collect();
    assert!(
        ballots.len() > counted.len(),
        "the test needs a replaced ballot"
    );
    for (i, h) in ballots.iter().enumerate() {
        let (code, _, body) = get(&format!("/v1/elections/node-test/ballots/{h}"));
        assert_eq!(code, 200);
        let found: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(found["counted"], counted.contains(h), "{body}");
        if i % 7 == 0 || !counted.contains(h) {
            let (code, _, page) = get(&format!("/elections/node-test/receipt?r={h}"));
            assert_eq!(code, 200);
            assert!(
                page.contains("The Merkle path below leads to the block"),
                "{page}"
            );
            if counted.contains(h) {
                assert!(page.contains("On the chain and counted"), "{page}");
            } else {
                assert!(page.contains("replaced by a later ballot"), "{page}");
            }
        }
    }
    let unknown = "ab".repeat(32);
    assert_eq!(
        get(&format!("/v1/elections/node-test/ballots/{unknown}")).0,
        404
    );
    assert_eq!(get("/v1/elections/node-test/ballots/zz").0, 400);
    assert!(get(&format!("/elections/node-test/receipt?r={unknown}"))
        .2
        .contains("Not found"));
    assert!(get("/elections/node-test/receipt?r=%3Cscript%3E")
        .2
        .contains("This is not a receipt"));
    assert!(!get("/elections/node-test/receipt?r=%3Cscript%3E")
        .2
        .contains("<script>"));

    // Verdicts, the verifier on the node's record (twice: the second from the cache), the
    // block explorer, a transaction with its receipt, the light-client path.
    let page = get("/elections/node-test/verdicts").2;
    assert!(page.contains("<code class=\"cells\">✓"), "{page}");
    for _ in 0..2 {
        let (code, _, page) = get("/elections/node-test/verify");
        assert_eq!(code, 200);
        assert!(page.contains("Every check passed"), "{page}");
        assert!(
            page.contains(&format!("{} envelopes replayed", envs.len())),
            "{page}"
        );
    }
    let page = get("/blocks").2;
    assert!(page.contains(&format!("href=\"/blocks/{}\"", status.height.0)));
    let page = get("/blocks/1").2;
    assert!(
        page.contains("Commit certificate") && page.contains("create"),
        "{page}"
    );
    assert_eq!(get("/blocks/99999").0, 404);
    let page = get(&format!("/tx/{}", tx.id().unwrap())).2;
    assert!(page.contains("leads to the block"), "{page}");
    let page = get(&format!("/light/{}", status.height.0)).2;
    assert!(page.contains("Verified from genesis"), "{page}");
    assert!(page.contains(&status.tip_hash.to_string()), "{page}");

    // Restart: same chain, same state, replayed from redb. (The chain may have grown while the
    // pages were read: verdicts of the last blocks are committed in later blocks.)
    let status = client.status().unwrap();
    node.stop().unwrap();
    // Without the passphrase the sealed key does not open; with it the node restarts.
    let e = run::start(&home, RunOptions::default()).err().unwrap();
    assert!(
        e.to_string().contains("is sealed; give its passphrase"),
        "{e}"
    );
    let node = run::start(&home, opts).unwrap();
    let client = NodeClient::new(&node.url());
    let again = client.status().unwrap();
    assert_eq!(again.height, status.height);
    assert_eq!(again.tip_hash, status.tip_hash);
    assert_eq!(client.envelopes("node-test").unwrap(), out.record.log);
    let mut state = ElectionState::new();
    for e in &envs {
        state.apply(e).unwrap();
    }
    assert_eq!(state.results(), Some(&results));
    node.stop().unwrap();
}

#[test]
fn bad_requests_get_clear_errors_and_the_node_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("node"));
    home::init_dev(&home, local(), local(), &KeyProtection::InsecurePlaintext).unwrap();
    let node = run::start(&home, RunOptions::default()).unwrap();
    let url = node.url();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let post = |path: &str, body: &str| {
        let mut r = agent
            .post(&format!("{url}{path}"))
            .header("content-type", "application/json")
            .send(body)
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let get = |path: &str| {
        let mut r = agent.get(&format!("{url}{path}")).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (s, b) = post("/v1/tx", "{not json");
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("not a transaction"), "{b}");
    let (s, b) = post(
        "/v1/tx",
        r#"{"kind":"election","election_id":"x","envelope":{"type":"ballot","payload":"{}","signature":"00"}}"#,
    );
    assert!((400..500).contains(&s), "{s} {b}");
    let (s, b) = get("/v1/elections/nope");
    assert_eq!(s, 404);
    assert!(b.contains("unknown election"), "{b}");
    let (s, _) = get("/v1/elections/NOT%20AN%20ID");
    assert_eq!(s, 400);
    let (s, b) = get("/v1/blocks/99999");
    assert_eq!(s, 404, "{b}");
    let (s, _) = get("/v1/blocks/minus-one");
    assert_eq!(s, 400);
    let (s, _) = get("/v1/tx/zz");
    assert_eq!(s, 400);
    let (s, _) = get("/v1/nothing-here");
    assert_eq!(s, 404);
    let (s, b) = get("/v1/openapi.json");
    assert_eq!(s, 200);
    assert!(b.contains("\"openapi\""));
    // Still serving.
    let (s, _) = get("/v1/status");
    assert_eq!(s, 200);
    // A client pointed at nothing says so.
    let err = NodeClient::new("http://127.0.0.1:9").status().unwrap_err();
    assert!(err.to_string().contains("cannot reach the node"), "{err}");
    node.stop().unwrap();
}

/// `n` consecutive free ports on 127.0.0.1.
fn free_ports(n: u16) -> u16 {
    for _ in 0..200 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if (10_000..=60_000).contains(&base)
            && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        {
            return base;
        }
    }
    panic!("no {n} free consecutive ports");
}

/// The first envelope of a small simulated election (its setup): a valid transaction on a
/// fresh chain.
fn first_envelope() -> Transaction {
    struct First(Option<Envelope>);
    impl Sink for First {
        fn publish(&mut self, _: Stage, envs: &[Envelope]) -> tabella_election::Result<()> {
            if self.0.is_none() {
                self.0 = envs.first().cloned();
            }
            Ok(())
        }
    }
    let cfg = small_config();
    let mut sink = First(None);
    simulate_into(&cfg, &mut |_, _, _| {}, &mut sink).unwrap();
    Transaction::Election {
        election_id: ElectionId::new(cfg.election_id).unwrap(),
        envelope: sink.0.unwrap(),
    }
}

#[test]
fn a_client_waits_for_the_next_block_without_polling() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::new(dir.path().join("node"));
    home::init_dev(&home, local(), local(), &KeyProtection::InsecurePlaintext).unwrap();
    let node = run::start(&home, RunOptions::default()).unwrap();
    let client = NodeClient::new(&node.url());
    let h = client.status().unwrap().height;
    // Past `h`: answered once the next block is committed.
    let next = client
        .status_after(h, Duration::from_secs(20))
        .unwrap()
        .height;
    assert!(next > h, "{next} after {h}");
    // A height far ahead: answered with the status as it is once the wait is over.
    let far = tabella_ledger::types::Height(next.0 + 1_000_000);
    let t = std::time::Instant::now();
    let s = client
        .status_after(far, Duration::from_millis(300))
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(250));
    assert!(s.height >= next && s.height < far);
    // A bad query string is a clear 400.
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let r = agent
        .get(&format!("{}/v1/status?after=soon", node.url()))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    node.stop().unwrap();
}

#[test]
fn a_transaction_submitted_to_one_validator_reaches_the_others() {
    // Two of a four-validator testnet: no quorum, so no block; the transaction sent to the
    // first waits in the second's mempool too (relayed), and goes no further.
    let dir = tempfile::tempdir().unwrap();
    let (api, p2p) = (free_ports(4), free_ports(4));
    let homes = home::init_testnet(
        &dir.path().join("net"),
        4,
        api,
        p2p,
        &KeyProtection::InsecurePlaintext,
    )
    .unwrap();
    let a = run::start(&homes[0], RunOptions::default()).unwrap();
    let b = run::start(&homes[1], RunOptions::default()).unwrap();
    let (ca, cb) = (NodeClient::new(&a.url()), NodeClient::new(&b.url()));
    let tx = first_envelope();
    let id = ca.submit(&tx).unwrap();
    let t = std::time::Instant::now();
    loop {
        match cb.tx_status(&id) {
            Ok(TxStatus::Pending) => break,
            other if t.elapsed() > Duration::from_secs(20) => {
                panic!("not relayed to the second validator: {other:?}")
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    assert!(matches!(ca.tx_status(&id), Ok(TxStatus::Pending)));
    assert_eq!(ca.status().unwrap().height.0, 0);
    // Sent again to the second, it is a duplicate there.
    let again = cb.submit(&tx).unwrap_err().to_string();
    assert!(again.contains("already pending"), "{again}");
    b.stop().unwrap();
    a.stop().unwrap();
}

fn body_has_ceremony_and_ballot_chart(body: &str) -> bool {
    body.contains("Trustees and key ceremony")
        && body.contains("The joint election key is fixed")
        && body.contains("Ballots committed by block height")
}
