//! `tabella stats` — private statistics on the ledger (issue 13): the computing-node and
//! data-provider processes, the consortium's creation, queries, the audit of a query from the
//! chain alone, and the demo. The protocol steps are `tabella_ledger::stats_party`; this is the
//! I/O shell: homes, polling a node's API, submitting.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::{Args, Subcommand};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tabella_crypto::dkg::KeyShare;
use tabella_crypto::elgamal::{DlogTable, SecretKey};
use tabella_crypto::group::SecretScalar;
use tabella_ledger::stats::{
    ComputingNodeEntry, ConsortiumEntry, ConsortiumSpec, QueryRequest, QueryStatus, QueryView,
    Signed, StatsTx,
};
use tabella_ledger::stats_party::{replay, ComputingNodeKeys, DataProvider, QueryTracker};
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{Height, TxId};
use tabella_ledger::verdict::Verdict;
use tabella_node::client::NodeClient;
use tabella_node::wire::TxStatus;
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::party::{PartyKey, PartySecret};
use tabella_stats::proof::ProofKind;
use tabella_stats::query::Buckets;
use tabella_stats::statement::Statement;
use tabella_stats::{Operation, QueryResult, Row, Schema};
use zeroize::Zeroizing;

/// `tabella stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(subcommand)]
    command: StatsCommand,
}

#[derive(Subcommand, Debug)]
enum StatsCommand {
    /// A computing node: `init` its keys, `run` it against a node.
    Cn(CnArgs),
    /// A data provider: `init` its key, `run` it over its own CSV table.
    Dp(DpArgs),
    /// Create a consortium on the chain from the parties' public cards and a schema.
    Consortium(ConsortiumArgs),
    /// Ask a consortium a question; prints the noised answer, its noise and its block.
    Query(QueryArgs),
    /// Re-verify every proof of a query from the chain alone, naming any prover who cheated.
    Audit(AuditArgs),
    /// The whole system on this machine: a ledger, 3 computing nodes, 10 data providers over the
    /// diabetes table, three queries, their audits and the plaintext answers beside them.
    Demo(crate::stats_demo::StatsDemoArgs),
}

#[derive(Args, Debug)]
struct CnArgs {
    #[command(subcommand)]
    command: PartyCommand,
}

#[derive(Args, Debug)]
struct DpArgs {
    #[command(subcommand)]
    command: PartyCommand,
}

#[derive(Subcommand, Debug)]
enum PartyCommand {
    /// Create the party's home: its secret keys (party.json, owner-only) and its public card
    /// (card.json, to give the consortium's creator).
    Init {
        /// The party's home directory.
        #[arg(long)]
        home: PathBuf,
        /// (Data provider) the total ε it grants in a consortium, over every querier.
        #[arg(long, default_value = "10")]
        budget: String,
    },
    /// Accept a consortium: the party takes part only in consortia its operator accepted (anyone
    /// can create one naming it, with computing nodes of their own choosing).
    Accept {
        /// The party's home directory.
        #[arg(long)]
        home: PathBuf,
        /// The consortium id (printed by `tabella stats consortium`).
        consortium: String,
    },
    /// Run the party until Ctrl-C: poll the node, take part in the accepted consortia and their
    /// queries.
    Run {
        /// The party's home directory.
        #[arg(long)]
        home: PathBuf,
        /// The node's API URL.
        #[arg(long, env = "TABELLA_NODE", default_value = "http://127.0.0.1:7400")]
        node: String,
        /// (Data provider) its table: a CSV file with a header row naming the schema's columns,
        /// or an SQLite database (other columns are ignored). Rows never leave this process.
        #[arg(long)]
        data: Option<PathBuf>,
        /// (Data provider, SQLite) the table to read; by default the database's only table.
        #[arg(long, requires = "data")]
        table: Option<String>,
        /// How long to wait before trying again when the node cannot be reached, in
        /// milliseconds (otherwise the party waits for each new block).
        #[arg(long, default_value_t = 500)]
        poll_ms: u64,
    },
}

#[derive(Args, Debug)]
struct ConsortiumArgs {
    /// The node's API URL.
    #[arg(long, env = "TABELLA_NODE", default_value = "http://127.0.0.1:7400")]
    node: String,
    /// A name for people.
    #[arg(long)]
    name: String,
    /// The table's schema (JSON; see docs/STATS.md).
    #[arg(long)]
    schema: PathBuf,
    /// A computing node's card.json (repeat, in key-share order).
    #[arg(long = "cn", required = true)]
    cns: Vec<PathBuf>,
    /// A data provider's card.json (repeat).
    #[arg(long = "dp", required = true)]
    dps: Vec<PathBuf>,
    /// The total ε each querier may spend on the consortium.
    #[arg(long, default_value = "10")]
    budget: String,
    /// Blocks during which data providers answer a query.
    #[arg(long, default_value_t = 10)]
    answer_blocks: u64,
    /// Blocks after that within which the computing nodes must finish.
    #[arg(long, default_value_t = 60)]
    compute_blocks: u64,
    /// The creator's keys (a querier file, created if missing).
    #[arg(long, default_value = "./tabella-stats/creator.json")]
    keys: PathBuf,
}

/// The question of `tabella stats query`.
#[derive(Args, Debug, Clone)]
pub struct QuestionArgs {
    /// The operation: count, sum, mean, variance, histogram, min, max, linear-regression.
    #[arg(long)]
    pub op: String,
    /// The column (for linear-regression: the features, comma-separated).
    #[arg(long)]
    pub attr: Option<String>,
    /// The target column of a regression.
    #[arg(long)]
    pub target: Option<String>,
    /// Histogram buckets: `width:N` or `values:a,b,c`.
    #[arg(long)]
    pub buckets: Option<String>,
    /// The WHERE clause each data provider applies to its rows, e.g. "age > 40 AND sex = 2".
    #[arg(long = "where")]
    pub predicate: Option<String>,
    /// The privacy budget of this query (ε > 0, e.g. 1 or 0.5).
    #[arg(long, default_value = "1")]
    pub epsilon: String,
    /// (ε, δ)-DP with the discrete Gaussian mechanism instead of ε-DP with the discrete Laplace.
    #[arg(long)]
    pub delta: Option<String>,
}

#[derive(Args, Debug)]
struct QueryArgs {
    /// The node's API URL.
    #[arg(long, env = "TABELLA_NODE", default_value = "http://127.0.0.1:7400")]
    node: String,
    /// The consortium (default: the only one on the chain).
    #[arg(long)]
    consortium: Option<String>,
    #[command(flatten)]
    question: QuestionArgs,
    /// The querier's name: its keys are in KEYS_DIR/NAME.json (created on first use).
    #[arg(long = "as", default_value = "querier")]
    who: String,
    /// Where queriers' keys are kept.
    #[arg(long, default_value = "./tabella-stats/queriers")]
    keys_dir: PathBuf,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

#[derive(Args, Debug)]
struct AuditArgs {
    /// The node's API URL.
    #[arg(long, env = "TABELLA_NODE", default_value = "http://127.0.0.1:7400")]
    node: String,
    /// The query id.
    #[arg(long)]
    query: String,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `tabella stats`.
pub fn run(a: StatsArgs) -> anyhow::Result<()> {
    match a.command {
        StatsCommand::Cn(c) => party(c.command, Role::ComputingNode),
        StatsCommand::Dp(d) => party(d.command, Role::DataProvider),
        StatsCommand::Consortium(c) => create_consortium(c),
        StatsCommand::Query(q) => query_cmd(q),
        StatsCommand::Audit(a) => audit_cmd(a),
        StatsCommand::Demo(d) => crate::stats_demo::run(d),
    }
}

/// `tabella stats cn|dp …` for a party of `role`.
fn party(command: PartyCommand, role: Role) -> anyhow::Result<()> {
    match command {
        PartyCommand::Init { home, budget } => {
            let dp = role == Role::DataProvider;
            let budget_value = dp.then(|| parse_rational(&budget)).transpose()?;
            let card = init_party(&home, role, budget_value)?;
            let name = if dp {
                "data provider"
            } else {
                "computing node"
            };
            println!("{name} created in {}", home.display());
            println!("  key      {}", card.key);
            if dp {
                println!("  budget   ε = {budget} in a consortium, over every querier");
            }
            println!("  card     {}", home.join("card.json").display());
            Ok(())
        }
        PartyCommand::Accept { home, consortium } => {
            load_party(&home, role)?;
            accept(&home, &consortium)?;
            println!("{} takes part in consortium {consortium}", home.display());
            Ok(())
        }
        PartyCommand::Run {
            home,
            node,
            data,
            table,
            poll_ms,
        } => {
            let poll = Duration::from_millis(poll_ms);
            if role == Role::ComputingNode {
                if data.is_some() {
                    bail!("a computing node holds no data: --data is for data providers");
                }
                return run_cn(&home, &node, poll);
            }
            let data = data.ok_or_else(|| {
                anyhow!("a data provider needs --data FILE (a CSV file or an SQLite database)")
            })?;
            run_dp(&home, &node, &data, table.as_deref(), poll)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Homes and keys

/// A party's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A computing node.
    ComputingNode,
    /// A data provider.
    DataProvider,
    /// A querier (or a consortium's creator).
    Querier,
}

/// A party's secret file (`party.json`, owner-only).
#[derive(Serialize, Deserialize)]
struct PartyFile {
    role: Role,
    signing: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    elgamal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    budget: Option<Rational>,
}

impl Drop for PartyFile {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.signing.zeroize();
        self.elgamal.zeroize();
    }
}

/// A party's public card (`card.json`): what a consortium's creator needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Card {
    /// The role.
    pub role: Role,
    /// Its signing key.
    pub key: PartyKey,
    /// (Computing node) its key-ceremony key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkg_key: Option<tabella_crypto::elgamal::PublicKey>,
}

/// A party's keys as loaded.
pub struct Party {
    role: Role,
    signing: PartySecret,
    elgamal: Option<SecretKey>,
    budget: Option<Rational>,
}

fn secret_key(hex_text: &str) -> anyhow::Result<SecretKey> {
    let bytes = Zeroizing::new(hex::decode(hex_text).context("a secret key is not hex")?);
    let s = SecretScalar::from_bytes(&bytes).map_err(|e| anyhow!("bad secret key: {e}"))?;
    Ok(SecretKey::from_secret(s))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    tabella_node::durable::write_atomic(path, bytes, true)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn new_party(role: Role, budget: Option<Rational>) -> (PartyFile, Card) {
    let signing = PartySecret::generate(&mut OsRng);
    let elgamal = (role != Role::DataProvider).then(|| SecretKey::generate(&mut OsRng));
    let card = Card {
        role,
        key: signing.public(),
        dkg_key: elgamal
            .as_ref()
            .filter(|_| role == Role::ComputingNode)
            .map(SecretKey::public_key),
    };
    let file = PartyFile {
        role,
        signing: hex::encode(*signing.to_bytes()),
        elgamal: elgamal.map(|k| hex::encode(k.secret().to_bytes())),
        budget,
    };
    (file, card)
}

/// Creates a party's home (refusing to overwrite one).
pub fn init_party(home: &Path, role: Role, budget: Option<Rational>) -> anyhow::Result<Card> {
    if home.join("party.json").exists() {
        bail!(
            "{} already holds a party (party.json); choose another --home",
            home.display()
        );
    }
    std::fs::create_dir_all(home).with_context(|| format!("cannot create {}", home.display()))?;
    let (file, card) = new_party(role, budget);
    write_private(
        &home.join("party.json"),
        serde_json::to_string_pretty(&file)?.as_bytes(),
    )?;
    std::fs::write(home.join("card.json"), serde_json::to_string_pretty(&card)?)
        .context("cannot write card.json")?;
    Ok(card)
}

fn load_party_file(path: &Path) -> anyhow::Result<Party> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {} (create it with init)", path.display()))?,
    );
    let f: PartyFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a party file", path.display()))?;
    let bytes = Zeroizing::new(hex::decode(&f.signing).context("signing key not hex")?);
    let arr: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| anyhow!("the signing key must be 32 bytes"))?;
    Ok(Party {
        role: f.role,
        signing: PartySecret::from_bytes(&arr),
        elgamal: f.elgamal.as_deref().map(secret_key).transpose()?,
        budget: f.budget,
    })
}

/// Loads the party in `home`, which must have `role`.
pub fn load_party(home: &Path, role: Role) -> anyhow::Result<Party> {
    let p = load_party_file(&home.join("party.json"))?;
    if p.role != role {
        bail!("{} holds a {:?}, not a {:?}", home.display(), p.role, role);
    }
    Ok(p)
}

/// The querier keys in `path`, created if missing.
pub fn querier_keys(path: &Path) -> anyhow::Result<(PartySecret, SecretKey)> {
    if !path.exists() {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let (file, _) = new_party(Role::Querier, None);
        write_private(path, serde_json::to_string_pretty(&file)?.as_bytes())?;
        eprintln!("created querier keys in {}", path.display());
    }
    let p = load_party_file(path)?;
    let e = p
        .elgamal
        .ok_or_else(|| anyhow!("{} has no decryption key", path.display()))?;
    Ok((p.signing, e))
}

fn parse_rational(s: &str) -> anyhow::Result<Rational> {
    Rational::parse(s).map_err(|e| anyhow!("{s:?} is not a positive number: {e}"))
}

/// Adds consortium `id` to the party's accepted list (`consortia.json` in its home).
pub fn accept(home: &Path, id: &str) -> anyhow::Result<()> {
    let id = tabella_ledger::types::ConsortiumId::from_hex(id)
        .map_err(|e| anyhow!("not a consortium id: {e}"))?
        .to_hex();
    let mut list = accepted(home)?;
    if list.insert(id.clone()) {
        write_private(
            &home.join("consortia.json"),
            serde_json::to_string_pretty(&list)?.as_bytes(),
        )?;
    }
    Ok(())
}

/// The consortia the party in `home` accepted.
pub fn accepted(home: &Path) -> anyhow::Result<BTreeSet<String>> {
    let p = home.join("consortia.json");
    if !p.exists() {
        return Ok(BTreeSet::new());
    }
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is malformed", p.display()))
}

// ---------------------------------------------------------------------------------------------
// The processes

fn short(k: &PartyKey) -> String {
    k.to_string()
}

/// Submits `txs`; returns the ids accepted, printing what was sent and refused (unless `who`
/// is empty).
pub(crate) fn submit_all(client: &NodeClient, who: &str, txs: Vec<StatsTx>) -> Vec<TxId> {
    let labels: Vec<String> = txs.iter().map(describe).collect();
    let txs: Vec<Transaction> = txs
        .into_iter()
        .map(|t| Transaction::Stats(Box::new(t)))
        .collect();
    // One request for them all (in order), or one each.
    let results: Vec<Result<TxId, String>> = match txs.as_slice() {
        [one] => vec![client.submit(one).map_err(|e| e.to_string())],
        _ => match client.submit_batch(&txs) {
            Ok(r) => r,
            Err(e) => vec![Err(e.to_string()); txs.len()],
        },
    };
    let mut ids = Vec::new();
    for (label, r) in labels.iter().zip(results) {
        match r {
            Ok(id) => {
                if !who.is_empty() {
                    println!("{who}: sent {label}");
                }
                ids.push(id);
            }
            Err(e) if !who.is_empty() => eprintln!("{who}: the node refused {label}: {e}"),
            Err(_) => {}
        }
    }
    ids
}

fn describe(t: &StatsTx) -> String {
    match t {
        StatsTx::Consortium(_) => "a consortium".into(),
        StatsTx::Deal(d) => format!("its dealing for consortium {}", d.body.consortium),
        StatsTx::Complain(c) => format!("a complaint in consortium {}", c.body.consortium),
        StatsTx::Join(j) => format!("its join of consortium {}", j.body.consortium),
        StatsTx::Query(_) => "a query".into(),
        StatsTx::Proof(p) => format!("its {} proof for query {}", p.kind(), p.query),
        StatsTx::Dispute(d) => format!(
            "a dispute of proof {} in query {}",
            d.body.proof, d.body.query
        ),
    }
}

/// Whether all of `pending` are settled (committed, or dropped by the node).
fn settled(client: &NodeClient, pending: &mut Vec<TxId>) -> bool {
    pending.retain(|id| matches!(client.tx_status(id), Ok(TxStatus::Pending)));
    pending.is_empty()
}

/// How long a party's request waits for the next block before it looks again anyway.
const ROUND_WAIT: Duration = Duration::from_secs(2);

fn run_cn(home: &Path, node: &str, poll: Duration) -> anyhow::Result<()> {
    let p = load_party(home, Role::ComputingNode)?;
    let keys = ComputingNodeKeys {
        signing: p.signing,
        dkg: p
            .elgamal
            .ok_or_else(|| anyhow!("party.json has no key-ceremony key"))?,
    };
    let me = keys.signing.public();
    let who = format!("cn {}", short(&me));
    let client = NodeClient::new(node);
    println!("{who}: computing node running against {node}");
    let mut state = CnState::default();
    loop {
        let round = accepted(home)
            .and_then(|ok| cn_round(&client, &keys, &who, &ok, &mut state, ROUND_WAIT));
        if let Err(e) = round {
            eprintln!("{who}: {e:#}");
            std::thread::sleep(poll);
        }
    }
}

/// What a computing node process remembers between rounds.
#[derive(Default)]
pub(crate) struct CnState {
    /// Its key share per consortium.
    shares: BTreeMap<String, KeyShare>,
    /// Its transactions not yet committed, per consortium or query.
    pending: BTreeMap<String, Vec<TxId>>,
    /// Per query, what it has checked so far.
    trackers: BTreeMap<String, QueryTracker>,
    /// Per query, the proof and exclusion counts it last stepped at and whether the answer
    /// deadline was reached (nothing new: no step).
    seen: BTreeMap<String, (usize, usize, bool)>,
    /// Per query, its proofs so far (fetched incrementally).
    records: BTreeMap<String, tabella_ledger::stats::QueryProofs>,
    /// The chain height of its last complete round (the chain changes only with a new block).
    done_at: Option<Height>,
}

pub(crate) fn cn_round(
    client: &NodeClient,
    keys: &ComputingNodeKeys,
    who: &str,
    accepted: &BTreeSet<String>,
    st: &mut CnState,
    wait: Duration,
) -> anyhow::Result<()> {
    // Nothing changes between blocks: wait for the next one (at most `wait`).
    let height = match st.done_at {
        Some(h) => client.status_after(h, wait)?.height,
        None => client.status()?.height,
    };
    let seen_at = Instant::now();
    if st.done_at == Some(height) {
        return Ok(());
    }
    let CnState {
        shares,
        pending,
        trackers,
        seen,
        records,
        done_at,
    } = st;
    let me = keys.signing.public();
    // The consortia, until it holds its share in every one it accepted.
    let mine: Vec<ConsortiumEntry> = if accepted.iter().all(|c| shares.contains_key(c)) {
        Vec::new()
    } else {
        client
            .stats_consortia()?
            .into_iter()
            .filter(|c| c.spec.computing_nodes.iter().any(|n| n.key == me))
            .filter(|c| accepted.contains(&c.id.to_hex()))
            .collect()
    };
    for c in &mine {
        let slot = pending.entry(c.id.to_hex()).or_default();
        if !settled(client, slot) {
            continue;
        }
        if let Some(t) = keys.deal(c, &mut OsRng)? {
            *slot = submit_all(client, who, vec![t]);
            continue;
        }
        if c.ready() && !shares.contains_key(&c.id.to_hex()) {
            match keys.key_share(c, &mut OsRng)? {
                Ok(share) => {
                    if !who.is_empty() {
                        println!(
                            "{who}: holds its share of consortium {}'s collective key",
                            c.id
                        );
                    }
                    shares.insert(c.id.to_hex(), share);
                }
                Err(complaint) => *slot = submit_all(client, who, vec![complaint]),
            }
        }
    }
    let queries = client.stats_queries()?;
    let listed = seen_at.elapsed();
    // What it kept for queries no longer open is dropped.
    let open: BTreeSet<String> = queries
        .iter()
        .filter(|q| matches!(q.status, QueryStatus::Open))
        .map(|q| q.id.to_string())
        .collect();
    seen.retain(|k, _| open.contains(k));
    records.retain(|k, _| open.contains(k));
    trackers.retain(|k, _| open.contains(k));
    for q in queries {
        if !matches!(q.status, QueryStatus::Open)
            || !q.params.computing_nodes.contains(&me)
            || !accepted.contains(&q.consortium.to_hex())
        {
            continue;
        }
        let Some(share) = shares.get(&q.consortium.to_hex()) else {
            continue;
        };
        let mark = (q.proofs, q.excluded.len(), height >= q.answer_deadline);
        if seen.get(&q.id.to_string()) == Some(&mark) {
            continue;
        }
        let t = Instant::now();
        let key = q.id.to_string();
        let have = records.get(&key).map_or(0, |r| r.proofs.len());
        let mut fresh = client.stats_proofs_from(&key, have)?;
        let proofs = match records.get_mut(&key) {
            Some(r) if fresh.first == r.proofs.len() => {
                r.proofs.append(&mut fresh.proofs);
                r.events = fresh.events;
                r.clone()
            }
            None if fresh.first == 0 => {
                records.insert(key.clone(), fresh.clone());
                fresh
            }
            _ => {
                let all = client.stats_proofs(&key)?;
                records.insert(key.clone(), all.clone());
                all
            }
        };
        let fetched = t.elapsed();
        // Its own proofs on the record are committed; anything else it sent, it asks about.
        let slot = pending.entry(key.clone()).or_default();
        slot.retain(|id| !proofs.proofs.iter().rev().any(|r| r.tx == *id));
        if !settled(client, slot) {
            continue;
        }
        let tracker = trackers.entry(key.clone()).or_default();
        let txs = match keys.step(&q, &proofs, share, height, tracker, &mut OsRng) {
            Ok(t) => t,
            Err(e) => {
                // This query only: the others still get their step.
                if !who.is_empty() {
                    eprintln!("{who}: query {}: {e}", q.id);
                }
                continue;
            }
        };
        seen.insert(key.clone(), mark);
        let stepped = t.elapsed();
        let n = txs.len();
        let s0 = Instant::now();
        if !txs.is_empty() {
            *slot = submit_all(client, who, txs);
        }
        if std::env::var_os("TABELLA_STATS_TIMING").is_some() {
            eprintln!(
                "cn {me}: height {height}, {} proofs: queries listed {listed:?}, fetch \
                 {fetched:?}, step {:?}, {n} txs submitted in {:?}, {:?} after the block was \
                 seen",
                q.proofs,
                stepped - fetched,
                s0.elapsed(),
                seen_at.elapsed(),
            );
        }
    }
    *done_at = Some(height);
    Ok(())
}

/// Reads a data provider's table (CSV, or the only table of an SQLite database) with
/// `schema`'s columns (by name).
pub fn read_rows(schema: &Schema, path: &Path) -> anyhow::Result<Vec<Row>> {
    crate::table::read_table(schema, path, None)
}

fn run_dp(
    home: &Path,
    node: &str,
    data: &Path,
    table: Option<&str>,
    poll: Duration,
) -> anyhow::Result<()> {
    let p = load_party(home, Role::DataProvider)?;
    let dp = DataProvider {
        signing: p.signing,
        budget: p.budget.unwrap_or(Rational { num: 10, den: 1 }),
    };
    let me = dp.signing.public();
    let who = format!("dp {}", short(&me));
    let client = NodeClient::new(node);
    if !data.exists() {
        bail!("the table {} does not exist", data.display());
    }
    let kind = crate::table::describe(data, table)?;
    println!(
        "{who}: data provider running against {node} over {kind} {}",
        data.display()
    );
    let mut rows: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<TxId> = Vec::new();
    let mut last: Option<Height> = None;
    loop {
        let mut round = || -> anyhow::Result<()> {
            // Nothing changes between blocks: wait for the next one.
            let height = match last {
                Some(h) => client.status_after(h, ROUND_WAIT)?.height,
                None => client.status()?.height,
            };
            if last == Some(height) {
                return Ok(());
            }
            last = Some(height);
            if !settled(&client, &mut pending) {
                return Ok(());
            }
            let ok = accepted(home)?;
            let mine: Vec<ConsortiumEntry> = client
                .stats_consortia()?
                .into_iter()
                .filter(|c| c.spec.providers.contains(&me) && ok.contains(&c.id.to_hex()))
                .collect();
            for c in &mine {
                if let std::collections::btree_map::Entry::Vacant(e) = rows.entry(c.id.to_hex()) {
                    e.insert(crate::table::read_table(&c.spec.schema, data, table)?);
                }
                if let Some(t) = dp.join(c)? {
                    pending.extend(submit_all(&client, &who, vec![t]));
                }
            }
            for q in client.stats_queries()? {
                if done.contains(&q.id.to_string()) {
                    continue;
                }
                let Some(r) = rows.get(&q.consortium.to_hex()) else {
                    continue;
                };
                if let Some(t) = dp.answer(&q, r, height, &mut OsRng)? {
                    pending.extend(submit_all(&client, &who, vec![t]));
                    done.insert(q.id.to_string());
                }
            }
            Ok(())
        };
        if let Err(e) = round() {
            eprintln!("{who}: {e:#}");
            std::thread::sleep(poll);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Consortium, query, audit

fn read_card(path: &Path) -> anyhow::Result<Card> {
    let p = if path.is_dir() {
        path.join("card.json")
    } else {
        path.to_path_buf()
    };
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a party card", p.display()))
}

/// The consortium transaction from cards.
#[allow(clippy::too_many_arguments)]
pub fn consortium_tx(
    creator: &PartySecret,
    name: &str,
    schema: Schema,
    cns: &[Card],
    dps: &[Card],
    budget: Rational,
    answer_blocks: u64,
    compute_blocks: u64,
) -> anyhow::Result<Transaction> {
    let computing_nodes = cns
        .iter()
        .map(|c| match (c.role, c.dkg_key) {
            (Role::ComputingNode, Some(dkg_key)) => Ok(ComputingNodeEntry {
                key: c.key,
                dkg_key,
            }),
            _ => Err(anyhow!("{} is not a computing node's card", c.key)),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let providers = dps
        .iter()
        .map(|c| match c.role {
            Role::DataProvider => Ok(c.key),
            _ => Err(anyhow!("{} is not a data provider's card", c.key)),
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let spec = ConsortiumSpec {
        name: name.to_string(),
        schema,
        computing_nodes,
        providers,
        budget,
        answer_blocks,
        compute_blocks,
    };
    spec.validate()?;
    Ok(Transaction::Stats(Box::new(StatsTx::Consortium(
        Signed::sign(spec, creator)?,
    ))))
}

fn create_consortium(a: ConsortiumArgs) -> anyhow::Result<()> {
    let schema: Schema = serde_json::from_str(
        &std::fs::read_to_string(&a.schema)
            .with_context(|| format!("cannot read {}", a.schema.display()))?,
    )
    .with_context(|| format!("{} is not a schema", a.schema.display()))?;
    let cns = a
        .cns
        .iter()
        .map(|p| read_card(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let dps = a
        .dps
        .iter()
        .map(|p| read_card(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (creator, _) = querier_keys(&a.keys)?;
    let tx = consortium_tx(
        &creator,
        &a.name,
        schema,
        &cns,
        &dps,
        parse_rational(&a.budget)?,
        a.answer_blocks,
        a.compute_blocks,
    )?;
    let client = NodeClient::new(&a.node);
    client.submit_and_wait(&tx, Duration::from_secs(60))?;
    let id = tx_id_to_consortium(&tx)?;
    println!("consortium {id} created");
    println!(
        "  each party takes part once its operator accepts it: tabella stats cn|dp accept --home DIR {id}"
    );
    println!(
        "  it serves queries once its {} computing nodes have dealt (then {} blocks for complaints) and its data providers joined",
        cns.len(),
        tabella_ledger::stats::COMPLAINT_BLOCKS
    );
    Ok(())
}

/// The consortium id a consortium transaction creates.
pub fn tx_id_to_consortium(
    tx: &Transaction,
) -> anyhow::Result<tabella_ledger::types::ConsortiumId> {
    let id = tx.id()?;
    Ok(tabella_ledger::types::ConsortiumId(
        tabella_ledger::types::hash_parts("tabella/ledger/consortium/v1", &[&id.0]),
    ))
}

/// The operation `q` names.
pub fn operation(q: &QuestionArgs) -> anyhow::Result<Operation> {
    let attr = || {
        q.attr
            .clone()
            .ok_or_else(|| anyhow!("--op {} needs --attr COLUMN", q.op))
    };
    Ok(match q.op.as_str() {
        "count" => Operation::Count,
        "sum" => Operation::Sum { column: attr()? },
        "mean" => Operation::Mean { column: attr()? },
        "variance" => Operation::Variance { column: attr()? },
        "min" => Operation::Min { column: attr()? },
        "max" => Operation::Max { column: attr()? },
        "histogram" => {
            let b = q.buckets.as_deref().unwrap_or("width:10");
            let buckets = if let Some(w) = b.strip_prefix("width:") {
                Buckets::Width(w.parse().context("--buckets width:N needs a number")?)
            } else if let Some(v) = b.strip_prefix("values:") {
                Buckets::Values(v.split(',').map(|s| s.trim().to_string()).collect())
            } else {
                bail!("--buckets is width:N or values:a,b,c, not {b:?}");
            };
            Operation::Histogram {
                column: attr()?,
                buckets,
            }
        }
        "linear-regression" => Operation::LinearRegression {
            features: attr()?.split(',').map(|s| s.trim().to_string()).collect(),
            target: q
                .target
                .clone()
                .ok_or_else(|| anyhow!("--op linear-regression needs --target COLUMN"))?,
        },
        other => bail!(
            "unknown operation {other:?}: count, sum, mean, variance, histogram, min, max, linear-regression"
        ),
    })
}

/// The statement of question `q` over `schema`.
pub fn statement(q: &QuestionArgs, schema: &Schema) -> anyhow::Result<Statement> {
    let operation = operation(q)?;
    let sensitivity = tabella_stats::encoding::sensitivity(&operation, schema)?;
    let layout = tabella_stats::layout(&operation, schema)?;
    let noise = NoiseSpec {
        mechanism: if q.delta.is_some() {
            Mechanism::Gaussian
        } else {
            Mechanism::Laplace
        },
        epsilon: parse_rational(&q.epsilon)?,
        delta: q.delta.as_deref().map(parse_rational).transpose()?,
        sensitivity,
    };
    let s = Statement {
        operation,
        predicate: q.predicate.clone(),
        schema: schema.clone(),
        noise: Some(noise),
        noise_list_len: layout.len,
    };
    s.predicate()?;
    Ok(s)
}

/// What a querier gets back.
pub struct Answer {
    /// The query.
    pub view: QueryView,
    /// The decoded, noised result.
    pub result: QueryResult,
    /// The block that released it.
    pub block: Height,
    /// Seconds from submission to release.
    pub seconds: f64,
}

/// Asks `consortium` the question `statement` as `querier`, waits for the answer (or failure)
/// and decrypts it.
pub fn ask(
    client: &NodeClient,
    consortium: tabella_ledger::types::ConsortiumId,
    statement: Statement,
    querier: &PartySecret,
    key: &SecretKey,
    timeout: Duration,
) -> anyhow::Result<Answer> {
    let start = Instant::now();
    let tx = Transaction::Stats(Box::new(StatsTx::Query(Signed::sign(
        QueryRequest {
            consortium,
            statement,
            querier_key: key.public_key(),
        },
        querier,
    )?)));
    let before: BTreeSet<String> = client
        .stats_queries()?
        .into_iter()
        .map(|q| q.id.to_string())
        .collect();
    client
        .submit_and_wait(&tx, timeout)
        .map_err(|e| anyhow!("the query was refused: {e}"))?;
    let me = querier.public();
    let id = client
        .stats_queries()?
        .into_iter()
        .find(|q| q.querier == me && !before.contains(&q.id.to_string()))
        .map(|q| q.id)
        .ok_or_else(|| anyhow!("the query is committed but not listed by the node"))?;
    loop {
        let view = client.stats_query(&id.to_string())?;
        match &view.status {
            QueryStatus::Answered { at, result, .. } => {
                let table = DlogTable::new(1 << 32)?;
                let scaled = tabella_stats::session::decrypt(key, result, &table)?;
                let totals = view.params.unscale(&scaled);
                let decoded = view.statement.decode(&totals)?;
                return Ok(Answer {
                    block: *at,
                    result: decoded,
                    seconds: start.elapsed().as_secs_f64(),
                    view,
                });
            }
            QueryStatus::Failed { reason, .. } => bail!("query {id} failed: {reason}"),
            _ => {}
        }
        if start.elapsed() > timeout {
            bail!(
                "query {id} is not answered after {}s; still expected: {}",
                timeout.as_secs(),
                view.expected
                    .iter()
                    .map(|(k, p)| format!("{k} from {p}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One consortium by id, or the only one.
pub fn pick_consortium(client: &NodeClient, id: Option<&str>) -> anyhow::Result<ConsortiumEntry> {
    match id {
        Some(id) => Ok(client.stats_consortium(id)?),
        None => {
            let all = client.stats_consortia()?;
            match all.len() {
                0 => bail!("the chain has no consortium yet (tabella stats consortium --help)"),
                1 => Ok(all
                    .into_iter()
                    .next()
                    .ok_or_else(|| anyhow!("no consortium"))?),
                n => bail!("the chain has {n} consortia: choose one with --consortium ID"),
            }
        }
    }
}

/// Prints a noised answer: the result, its noise and its block.
pub fn print_answer(a: &Answer) {
    println!("  query    {}", a.view.id);
    println!("  answer   {}", show_result(&a.result));
    if let Some(n) = &a.view.statement.noise {
        let scale = match n.params().map(|p| p.distribution) {
            Ok(tabella_stats::noise::Distribution::DiscreteLaplace { scale }) => {
                format!("discrete Laplace of scale {scale} from each computing node")
            }
            Ok(tabella_stats::noise::Distribution::DiscreteGaussian { sigma2 }) => {
                format!("discrete Gaussian of σ² = {sigma2} from each computing node")
            }
            Err(e) => e.to_string(),
        };
        println!(
            "  noise    {:?}, ε = {}{}, sensitivity {}: {scale} (each entry scaled first)",
            n.mechanism,
            n.epsilon,
            n.delta.map(|d| format!(", δ = {d}")).unwrap_or_default(),
            n.sensitivity
        );
    }
    println!(
        "  charged  ε = {} of the querier's budget",
        a.view.charged as f64 / tabella_ledger::stats::EPSILON_UNITS as f64
    );
    println!(
        "  block    {} ({} proofs; {:.2} s to answer)",
        a.block, a.view.proofs, a.seconds
    );
    if !a.view.excluded.is_empty() {
        for (p, why) in &a.view.excluded {
            println!("  excluded {p}: {why}");
        }
    }
    for (p, why) in &a.view.declined {
        println!("  declined {p}: {why}");
    }
    if !a.view.missing.is_empty() {
        for (k, p) in &a.view.missing {
            println!("  missing  {k} from {p}");
        }
    }
}

/// A bucket as text.
fn show_bucket(b: &tabella_stats::query::Bucket) -> String {
    use tabella_stats::query::Bucket;
    match b {
        Bucket::Value(v) => v.to_string(),
        Bucket::Range { min, max } => format!("{min}–{max}"),
        Bucket::Other => "other".into(),
    }
}

/// A result as one line.
pub fn show_result(r: &QueryResult) -> String {
    use num_traits::ToPrimitive;
    let f = |x: &tabella_stats::BigRational| x.to_f64().unwrap_or(f64::NAN);
    match r {
        QueryResult::Count(n) => format!("count = {n}"),
        QueryResult::Sum(s) => format!("sum = {:.3}", f(s)),
        QueryResult::Mean { mean, count } => format!("mean = {:.3} over {count} rows", f(mean)),
        QueryResult::Variance {
            mean,
            variance,
            count,
        } => format!(
            "mean = {:.3}, variance = {:.3} over {count} rows",
            f(mean),
            f(variance)
        ),
        QueryResult::Histogram(h) => h
            .iter()
            .map(|(b, n)| format!("{}: {n}", show_bucket(b)))
            .collect::<Vec<_>>()
            .join(", "),
        QueryResult::Min(v) | QueryResult::Max(v) => v
            .as_ref()
            .map_or_else(|| "no matching row".into(), ToString::to_string),
        QueryResult::LinearRegression(m) | QueryResult::LogisticRegression(m) => format!(
            "intercept = {:.3}, coefficients = [{}]",
            m.intercept,
            m.coefficients
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

fn query_cmd(a: QueryArgs) -> anyhow::Result<()> {
    let client = NodeClient::new(&a.node);
    let c = pick_consortium(&client, a.consortium.as_deref())?;
    let statement = statement(&a.question, &c.spec.schema)?;
    let (querier, key) = querier_keys(&a.keys_dir.join(format!("{}.json", a.who)))?;
    println!("asking consortium {} ({})", c.id, c.spec.name);
    let answer = ask(
        &client,
        c.id,
        statement,
        &querier,
        &key,
        Duration::from_secs(a.timeout),
    )?;
    print_answer(&answer);
    Ok(())
}

/// The audit of one query from the chain alone.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// The query.
    pub query: String,
    /// Proofs on the record, by kind.
    pub proofs: BTreeMap<String, usize>,
    /// Proofs verified by this audit (every one, in full).
    pub verified: usize,
    /// Provers whose proof is invalid, with the kind and reason.
    pub cheaters: Vec<(String, String, String)>,
    /// Cheaters the chain neither excluded nor failed the query for.
    pub uncaught: Vec<String>,
    /// Verifying nodes whose verdict contradicts this audit.
    pub lying_verifiers: Vec<(String, String)>,
    /// Verdicts on the record: 1, 0, 2, 3 counts.
    pub verdicts: BTreeMap<String, usize>,
    /// Whether the chain's result is the one the proofs lead to.
    pub result_matches: Option<bool>,
    /// The query's status on the chain.
    pub status: String,
}

impl AuditReport {
    /// Whether the record is consistent: no cheater the chain did not catch, no false verdict,
    /// and the result (if any) is the proofs' result.
    pub fn clean(&self) -> bool {
        self.uncaught.is_empty()
            && self.lying_verifiers.is_empty()
            && self.result_matches != Some(false)
    }
}

/// Audits query `id` from what `client` serves: every proof verified in full (not trusting the
/// verdict bitmaps), each prover that cheated named, every verdict compared with the truth.
pub fn audit_query(client: &NodeClient, id: &str) -> anyhow::Result<AuditReport> {
    let view = client.stats_query(id)?;
    let proofs = client.stats_proofs(id)?;
    let verdicts = client.stats_verdicts(id)?;
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for r in &proofs.proofs {
        *by_kind.entry(r.proof.kind().to_string()).or_default() += 1;
    }
    // Each proof on its own, against the state the chain accepted it in: a light replay gives
    // that state; each proof is then re-checked in full.
    let light = replay(&view.params, &proofs, Check::Light)
        .map_err(|f| anyhow!("the record does not replay: {}", f.reason))?;
    let mut truth: BTreeMap<TxId, Result<(), String>> = BTreeMap::new();
    for r in &proofs.proofs {
        let verdict = if r.proof.kind() == ProofKind::Range {
            QueryAudit::check_range(&view.params, &r.proof).map_err(|e| e.to_string())
        } else {
            light.recheck(&r.proof).map_err(|e| e.to_string())
        };
        truth.insert(r.tx, verdict);
    }
    let mut cheaters = Vec::new();
    for r in &proofs.proofs {
        if let Some(Err(why)) = truth.get(&r.tx) {
            cheaters.push((
                r.proof.prover.to_string(),
                r.proof.kind().to_string(),
                why.clone(),
            ));
        }
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut lying = Vec::new();
    for v in &verdicts.verdicts {
        let label = match v.verdict {
            Verdict::Valid => "1 valid",
            Verdict::Invalid => "0 invalid",
            Verdict::NotVerified => "2 not verified",
            Verdict::NotReceived => "3 not received",
        };
        *counts.entry(label.into()).or_default() += 1;
        let ok = truth.get(&v.proof).map(Result::is_ok);
        match (v.verdict, ok) {
            (Verdict::Valid, Some(false)) | (Verdict::Invalid, Some(true)) => lying.push((
                format!("{:?}", v.verifier),
                format!(
                    "said {:?} for the {} proof of {}",
                    v.verdict, v.kind, v.prover
                ),
            )),
            _ => {}
        }
    }
    if !verdicts.not_received.is_empty() {
        counts.insert("3 not received".into(), verdicts.not_received.len());
    }
    // The full replay (the excluded answers skipped) must give the chain's result.
    let result_matches = match &view.status {
        QueryStatus::Answered { result, .. } => Some(
            replay(&view.params, &proofs, Check::Full)
                .ok()
                .and_then(|a| a.result())
                .is_some_and(|r| &r == result),
        ),
        _ => None,
    };
    let culprit = match &view.status {
        QueryStatus::Failed { culprit, .. } => *culprit,
        _ => None,
    };
    let uncaught = proofs
        .proofs
        .iter()
        .filter(|r| truth.get(&r.tx).is_some_and(Result::is_err))
        .map(|r| r.proof.prover)
        .filter(|p| !view.excluded.contains_key(p) && culprit != Some(*p))
        .map(|p| p.to_string())
        .collect();
    Ok(AuditReport {
        query: id.to_string(),
        uncaught,
        verified: truth.len(),
        proofs: by_kind,
        cheaters,
        lying_verifiers: lying,
        verdicts: counts,
        result_matches,
        status: match &view.status {
            QueryStatus::Open => "open".into(),
            QueryStatus::Switched { .. } => "waiting for verdicts".into(),
            QueryStatus::Answered { at, .. } => format!("answered in block {at}"),
            QueryStatus::Failed { reason, .. } => format!("failed: {reason}"),
        },
    })
}

/// Prints an audit report.
pub fn print_audit(r: &AuditReport) {
    println!("audit of query {}: {}", r.query, r.status);
    println!(
        "  proofs   {} on the chain, every one re-verified here: {}",
        r.verified,
        r.proofs
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  verdicts {}",
        r.verdicts
            .iter()
            .map(|(k, n)| format!("{n} × {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if r.cheaters.is_empty() {
        println!("  provers  no prover cheated");
    }
    for (who, kind, why) in &r.cheaters {
        println!("  CHEATED  {who}: its {kind} proof is invalid ({why})");
    }
    for who in &r.uncaught {
        println!("  UNCAUGHT {who} cheated and the chain did not exclude it or fail the query");
    }
    for (who, what) in &r.lying_verifiers {
        println!("  FALSE VERDICT  {who} {what}");
    }
    match r.result_matches {
        Some(true) => println!("  result   the chain's result is the one the proofs lead to"),
        Some(false) => println!("  RESULT MISMATCH  the chain's result is not the proofs' result"),
        None => {}
    }
}

fn audit_cmd(a: AuditArgs) -> anyhow::Result<()> {
    let client = NodeClient::new(&a.node);
    let report = audit_query(&client, &a.query)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_audit(&report);
    }
    if !report.clean() {
        bail!("the audit found a false verdict or a wrong result");
    }
    Ok(())
}
