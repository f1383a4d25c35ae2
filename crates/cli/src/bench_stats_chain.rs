//! `tabella bench stats --nodes N`: a sum query on the ledger, end to end — the embedded ledger
//! (`N` validators), `cns` computing nodes (each a thread running the same rounds as
//! `tabella stats cn run`) and `dps` data providers (one driver thread answering for all of them,
//! in parallel), every message through the node's HTTP API on 127.0.0.1 with an optional
//! in-process delay before each request. It times the query from its submission to the result
//! fixed on the chain (the last key switch committed) and to the result released (every verdict
//! bitmap of the blocks holding its proofs committed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail};
use rand_core::OsRng;
use rayon::prelude::*;
use serde::Serialize;
use tabella_crypto::elgamal::{DlogTable, SecretKey};
use tabella_ledger::stats::{QueryRequest, QueryStatus, Signed, StatsTx};
use tabella_ledger::stats_party::{ComputingNodeKeys, DataProvider};
use tabella_ledger::tx::Transaction;
use tabella_node::client::NodeClient;
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::party::PartySecret;
use tabella_stats::statement::Statement;
use tabella_stats::{Operation, QueryResult, Row, Schema};

use crate::stats_cmd::{cn_round, consortium_tx, Card, Role};

/// What the on-chain benchmark measured.
#[derive(Debug, Serialize)]
pub struct ChainReport {
    /// Validators.
    pub validators: usize,
    /// Computing nodes.
    pub computing_nodes: usize,
    /// Data providers.
    pub data_providers: usize,
    /// Delay added before every party's request, in milliseconds.
    pub delay_ms: u64,
    /// Seconds for the consortium's key ceremony and joins (not part of the query).
    pub setup_seconds: f64,
    /// Seconds from the query's submission to the last key switch committed.
    pub to_result_seconds: f64,
    /// Seconds from the query's submission to the result released (all verdicts committed).
    pub all_verified_seconds: f64,
    /// Proofs on the chain for the query.
    pub proofs: usize,
    /// Verdicts committed on them.
    pub verdicts: usize,
    /// Blocks the query spanned.
    pub blocks: u64,
    /// The decrypted sum beside the exact one.
    pub sum: (i128, i128),
    /// Per proof kind, the first and last block holding one, counted from the query's block.
    pub timeline: Vec<(String, u64, u64)>,
}

/// How long a party's request waits for the next block (short, so the bench ends soon after
/// its last query).
const WAIT: Duration = Duration::from_millis(300);

/// Runs `f` with a party's own worker threads (two, the cores of this machine), as in its own
/// process; on the global pool if they cannot be made.
fn in_own_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new().num_threads(2).build() {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}

/// Runs the benchmark.
pub fn on_chain(
    cns: usize,
    dps: usize,
    validators: usize,
    delay_ms: u64,
) -> anyhow::Result<ChainReport> {
    if cns == 0 || cns > 16 || dps == 0 || dps > 5000 {
        bail!("--cns must be in 1..=16 and --dps in 1..=5000");
    }
    let dir = tempfile::tempdir()?;
    let (nodes, _) =
        crate::demo::embedded_ledger(&dir.path().join("ledger"), validators, None, false)?;
    let url = nodes
        .first()
        .map(|n| n.url())
        .ok_or_else(|| anyhow!("no node started"))?;
    let delay = Duration::from_millis(delay_ms);
    let client = NodeClient::new(&url).with_delay(delay);

    // The parties.
    let schema = Schema::new(1)?.integer("v", 0, 99)?;
    let keys: Vec<ComputingNodeKeys> = (0..cns)
        .map(|_| ComputingNodeKeys::generate(&mut OsRng))
        .collect();
    let providers: Vec<DataProvider> = (0..dps)
        .map(|_| DataProvider {
            signing: PartySecret::generate(&mut OsRng),
            budget: Rational { num: 100, den: 1 },
        })
        .collect();
    let rows: Vec<Vec<Row>> = (0..dps)
        .map(|i| Row::parse(&schema, &[&(i % 100).to_string()]).map(|r| vec![r]))
        .collect::<Result<_, _>>()?;
    let exact: i128 = (0..dps).map(|i| (i % 100) as i128).sum();
    let cards = |role| {
        move |k: &PartySecret, dkg: Option<tabella_crypto::elgamal::PublicKey>| Card {
            role,
            key: k.public(),
            dkg_key: dkg,
        }
    };
    let cn_cards: Vec<Card> = keys
        .iter()
        .map(|k| cards(Role::ComputingNode)(&k.signing, Some(k.dkg.public_key())))
        .collect();
    let dp_cards: Vec<Card> = providers
        .iter()
        .map(|d| cards(Role::DataProvider)(&d.signing, None))
        .collect();
    let creator = PartySecret::generate(&mut OsRng);
    let tx = consortium_tx(
        &creator,
        "bench",
        schema.clone(),
        &cn_cards,
        &dp_cards,
        Rational { num: 100, den: 1 },
        60,
        400,
    )?;
    let cid = crate::stats_cmd::tx_id_to_consortium(&tx)?;
    client.submit_and_wait(&tx, Duration::from_secs(60))?;

    // Computing nodes: one thread each, the `cn run` rounds.
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads = Vec::new();
    for k in keys {
        let (stop, client) = (stop.clone(), client.clone());
        let ok: BTreeSet<String> = [cid.to_hex()].into();
        threads.push(std::thread::spawn(move || {
            let mut state = crate::stats_cmd::CnState::default();
            // Each party has its own workers, as in its own process (the node keeps the
            // global pool), so that one party's parallel checks never queue behind another's.
            in_own_pool(|| {
                while !stop.load(Ordering::Relaxed) {
                    if cn_round(&client, &k, "", &ok, &mut state, WAIT).is_err() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        }));
    }
    // Data providers: one driver joining for all, then answering each query for all (their
    // proofs made in parallel), submitted in batches.
    {
        let (stop, client) = (stop.clone(), client.clone());
        threads.push(std::thread::spawn(move || {
            in_own_pool(move || {
                let mut answered: BTreeSet<String> = BTreeSet::new();
                let mut joined = false;
                let mut last = tabella_ledger::types::Height(0);
                while !stop.load(Ordering::Relaxed) {
                    let round = (|| -> anyhow::Result<()> {
                        if !joined {
                            let c = client.stats_consortium(&cid.to_hex())?;
                            let txs: Vec<Transaction> = providers
                                .iter()
                                .filter_map(|d| d.join(&c).ok().flatten())
                                .map(|t| Transaction::Stats(Box::new(t)))
                                .collect();
                            for chunk in txs.chunks(200) {
                                client.submit_batch(chunk)?;
                            }
                            joined = true;
                        }
                        let height = client.status_after(last, WAIT)?.height;
                        if height == last {
                            return Ok(());
                        }
                        last = height;
                        for q in client.stats_queries()? {
                            if !matches!(q.status, QueryStatus::Open)
                                || answered.contains(&q.id.to_string())
                            {
                                continue;
                            }
                            // A hundred at a time, each batch sent as soon as it is proved.
                            for (ps, rs) in providers.chunks(100).zip(rows.chunks(100)) {
                                let txs: Vec<Transaction> = ps
                                    .par_iter()
                                    .zip(rs)
                                    .filter_map(|(d, r)| {
                                        d.answer(&q, r, height, &mut OsRng).ok().flatten()
                                    })
                                    .map(|t| Transaction::Stats(Box::new(t)))
                                    .collect();
                                client.submit_batch(&txs)?;
                            }
                            answered.insert(q.id.to_string());
                        }
                        Ok(())
                    })();
                    if round.is_err() {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            })
        }));
    }

    let finish = |threads: Vec<std::thread::JoinHandle<()>>,
                  nodes: Vec<tabella_node::run::RunningNode>| {
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            let _ = t.join();
        }
        for n in nodes {
            let _ = n.stop();
        }
    };

    let t0 = Instant::now();
    let ready = loop {
        let c = client.stats_consortium(&cid.to_hex())?;
        let next = tabella_ledger::types::Height(client.status()?.height.0 + 1);
        if c.serves_at(next) && c.joined.len() == dps {
            break Ok(());
        }
        if let Some(f) = c.failed {
            break Err(anyhow!("the consortium failed: {f}"));
        }
        if t0.elapsed() > Duration::from_secs(120) {
            break Err(anyhow!(
                "the consortium is not ready after 120 s ({} dealings, {} joined)",
                c.dealings.len(),
                c.joined.len()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if let Err(e) = ready {
        finish(threads, nodes);
        return Err(e);
    }
    let setup = t0.elapsed().as_secs_f64();

    // The query: a sum, ε = 1/2.
    let querier = PartySecret::generate(&mut OsRng);
    let key = SecretKey::generate(&mut OsRng);
    let op = Operation::Sum { column: "v".into() };
    let statement = Statement {
        noise: Some(NoiseSpec {
            mechanism: Mechanism::Laplace,
            epsilon: Rational { num: 1, den: 2 },
            delta: None,
            sensitivity: tabella_stats::encoding::sensitivity(&op, &schema)?,
        }),
        operation: op,
        predicate: None,
        schema,
        noise_list_len: 1,
    };
    let tx = Transaction::Stats(Box::new(StatsTx::Query(Signed::sign(
        QueryRequest {
            consortium: cid,
            statement,
            querier_key: key.public_key(),
        },
        &querier,
    )?)));
    let start = Instant::now();
    let watcher = NodeClient::new(&url);
    watcher.submit(&tx)?;
    let mut to_result = None;
    let outcome = loop {
        let qs = watcher.stats_queries()?;
        if let Some(q) = qs.into_iter().find(|q| q.querier == querier.public()) {
            match &q.status {
                QueryStatus::Switched { .. } if to_result.is_none() => {
                    to_result = Some(start.elapsed().as_secs_f64());
                }
                QueryStatus::Answered { result, .. } => {
                    let all = start.elapsed().as_secs_f64();
                    break Ok((q.clone(), result.clone(), all));
                }
                QueryStatus::Failed { reason, .. } => {
                    break Err(anyhow!("the query failed: {reason}"))
                }
                _ => {}
            }
        }
        if start.elapsed() > Duration::from_secs(600) {
            break Err(anyhow!("the query is not answered after 600 s"));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let (q, result, all) = match outcome {
        Ok(x) => x,
        Err(e) => {
            finish(threads, nodes);
            return Err(e);
        }
    };
    let verdicts = watcher.stats_verdicts(&q.id.to_string())?.verdicts.len();
    let mut timeline: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in watcher.stats_proofs(&q.id.to_string())?.proofs {
        let h = r.height.0.saturating_sub(q.opened.0);
        let e = timeline.entry(r.proof.kind().to_string()).or_insert((h, h));
        e.0 = e.0.min(h);
        e.1 = e.1.max(h);
    }
    let mut timeline: Vec<(String, u64, u64)> =
        timeline.into_iter().map(|(k, (a, b))| (k, a, b)).collect();
    timeline.sort_by_key(|t| (t.1, t.2));
    finish(threads, nodes);
    let table = DlogTable::new(1 << 32)?;
    let totals = q
        .params
        .unscale(&tabella_stats::session::decrypt(&key, &result, &table)?);
    let QueryResult::Sum(sum) = q.statement.decode(&totals)? else {
        bail!("not a sum");
    };
    let sum = sum.to_integer().try_into().unwrap_or(i128::MAX);
    let released = match q.status {
        QueryStatus::Answered { at, .. } => at.0,
        _ => 0,
    };
    Ok(ChainReport {
        validators,
        computing_nodes: cns,
        data_providers: dps,
        delay_ms,
        setup_seconds: setup,
        // A query whose last switch and verdicts land together is never seen "switched".
        to_result_seconds: to_result.unwrap_or(all),
        all_verified_seconds: all,
        proofs: q.proofs,
        verdicts,
        blocks: released.saturating_sub(q.opened.0) + 1,
        sum: (sum, exact),
        timeline,
    })
}

/// Prints the report.
pub fn print(r: &ChainReport) {
    println!(
        "tabella bench stats on the ledger: {} validator{}, {} computing nodes, {} data providers",
        r.validators,
        if r.validators == 1 { "" } else { "s" },
        r.computing_nodes,
        r.data_providers
    );
    println!(
        "  delay       {} ms added in process before every party's request to the node (the \
         validators' own links are not delayed)",
        r.delay_ms
    );
    println!(
        "  setup       {:.2} s (key ceremony on the chain, every provider joined)",
        r.setup_seconds
    );
    println!(
        "  to result   {:.2} s (query submitted → last key switch committed; target ≤ 1.5 s)",
        r.to_result_seconds
    );
    println!(
        "  verified    {:.2} s (→ every sampled proof verified, its verdicts committed, result released; target ≤ 5 s)",
        r.all_verified_seconds
    );
    println!(
        "  record      {} proofs, {} verdicts, {} blocks; sum {} (exact {}, the rest is noise)",
        r.proofs, r.verdicts, r.blocks, r.sum.0, r.sum.1
    );
    println!(
        "  timeline    {} (blocks after the query's)",
        r.timeline
            .iter()
            .map(|(k, a, b)| format!("{k} {a}–{b}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}
