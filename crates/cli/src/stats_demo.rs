//! `tabella stats demo` — private statistics end to end on this machine: the embedded ledger
//! (1 validator, or `--nodes N`), 3 computing nodes and 10 data providers as separate
//! `tabella stats cn run` / `dp run` processes over the diabetes table (Efron et al.,
//! test-vectors/diabetes, BSD-3) split ten ways, a consortium created on the chain, three
//! queries (a mean, a histogram, a linear regression), each audited from the chain alone and
//! printed beside the plaintext answer (the demo owns the data, so it may show it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use tabella_node::client::NodeClient;
use tabella_stats::noise::Rational;
use tabella_stats::{Row, Schema};

use crate::stats_cmd::{
    ask, audit_query, consortium_tx, init_party, print_answer, print_audit, querier_keys,
    read_rows, show_result, statement, tx_id_to_consortium, QuestionArgs, Role,
};

const DIABETES: &str = include_str!("../../../test-vectors/diabetes/diabetes.csv");
const PROVIDERS: usize = 10;
const NODES: usize = 3;

/// Options of `tabella stats demo`.
#[derive(Args, Debug)]
pub struct StatsDemoArgs {
    /// Validators of the embedded ledger.
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Working directory (recreated): the ledger, every party's home and logs.
    #[arg(long, default_value = "./tabella-stats-demo")]
    dir: PathBuf,
    /// ε of the mean's and the histogram's noise, twice it for the regression (the consortium and
    /// every provider grant 100 in all; a query is charged ε · L1 / sensitivity, docs/STATS.md).
    #[arg(long, default_value = "1")]
    epsilon: String,
}

/// Kills the party processes when dropped (also on an error path).
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The diabetes table's schema: five of its columns, at most 50 rows per data provider.
pub fn diabetes_schema() -> anyhow::Result<Schema> {
    Ok(Schema::new(50)?
        .integer("age", 0, 120)?
        .integer("sex", 1, 2)?
        .decimal("bmi", 1, "10", "60")?
        .decimal("bp", 2, "40", "160")?
        .integer("target", 0, 400)?)
}

fn spawn(exe: &Path, args: &[&str], log: &Path) -> anyhow::Result<Child> {
    let out =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    let err = out.try_clone()?;
    Command::new(exe)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))
}

/// Runs the demo.
pub fn run(a: StatsDemoArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    if a.dir.join(".tabella-stats-demo").exists() {
        std::fs::remove_dir_all(&a.dir)
            .with_context(|| format!("cannot reset {}", a.dir.display()))?;
    } else if a.dir.exists() && std::fs::read_dir(&a.dir)?.next().is_some() {
        bail!(
            "{} exists and is not a previous demo's directory; choose another --dir",
            a.dir.display()
        );
    }
    std::fs::create_dir_all(&a.dir)?;
    std::fs::write(a.dir.join(".tabella-stats-demo"), "")?;

    // The ledger.
    let (nodes, chain) = crate::demo::embedded_ledger(&a.dir.join("ledger"), a.nodes, None, false)?;
    let url = nodes
        .first()
        .map(|n| n.url())
        .ok_or_else(|| anyhow!("no node started"))?;
    let client = NodeClient::new(&url);
    println!("Tabella private statistics demo");
    println!(
        "  ledger   {url} (chain {chain}, {} validator{})",
        a.nodes,
        if a.nodes == 1 { "" } else { "s" }
    );

    // The data: the diabetes table split ten ways, each slice in its provider's home.
    let schema = diabetes_schema()?;
    std::fs::write(
        a.dir.join("schema.json"),
        serde_json::to_string_pretty(&schema)?,
    )?;
    let mut lines = DIABETES.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().ok_or_else(|| anyhow!("empty dataset"))?;
    let body: Vec<&str> = lines.collect();
    let per = body.len().div_ceil(PROVIDERS);

    // The parties, each a process with its own home.
    let exe = std::env::current_exe().context("cannot find the tabella executable")?;
    let mut cn_cards = Vec::new();
    let mut dp_cards = Vec::new();
    let mut procs = Processes(Vec::new());
    let mut slices: Vec<Vec<Row>> = Vec::new();
    for i in 0..NODES {
        let home = a.dir.join(format!("cn-{i}"));
        cn_cards.push(init_party(&home, Role::ComputingNode, None)?);
        let h = home.to_string_lossy().to_string();
        procs.0.push(spawn(
            &exe,
            &["stats", "cn", "run", "--home", &h, "--node", &url],
            &home.join("log.txt"),
        )?);
    }
    for (i, chunk) in body.chunks(per).enumerate() {
        let home = a.dir.join(format!("dp-{i}"));
        dp_cards.push(init_party(
            &home,
            Role::DataProvider,
            Some(Rational::new(100, 1)?),
        )?);
        let data = home.join("data.csv");
        std::fs::write(&data, format!("{header}\n{}\n", chunk.join("\n")))?;
        slices.push(read_rows(&schema, &data)?);
        let (h, d) = (
            home.to_string_lossy().to_string(),
            data.to_string_lossy().to_string(),
        );
        procs.0.push(spawn(
            &exe,
            &[
                "stats", "dp", "run", "--home", &h, "--data", &d, "--node", &url,
            ],
            &home.join("log.txt"),
        )?);
    }
    println!(
        "  parties  {NODES} computing nodes and {} data providers ({} rows of the diabetes table, \
         {per} or fewer each), as processes; homes and logs in {}",
        slices.len(),
        body.len(),
        a.dir.display()
    );

    // The consortium.
    let (creator, _) = querier_keys(&a.dir.join("creator.json"))?;
    let tx = consortium_tx(
        &creator,
        "diabetes study",
        schema.clone(),
        &cn_cards,
        &dp_cards,
        Rational::new(100, 1)?,
        30,
        120,
    )?;
    let cid = tx_id_to_consortium(&tx)?;
    client.submit_and_wait(&tx, Duration::from_secs(60))?;
    // Every party's operator accepts the consortium (a party never joins one on its own).
    for i in 0..NODES {
        crate::stats_cmd::accept(&a.dir.join(format!("cn-{i}")), &cid.to_hex())?;
    }
    for i in 0..dp_cards.len() {
        crate::stats_cmd::accept(&a.dir.join(format!("dp-{i}")), &cid.to_hex())?;
    }
    let t0 = Instant::now();
    loop {
        let c = client.stats_consortium(&cid.to_hex())?;
        if let Some(f) = &c.failed {
            bail!("the consortium failed: {f}");
        }
        let next = tabella_ledger::types::Height(client.status()?.height.0 + 1);
        if c.serves_at(next) && c.joined.len() == dp_cards.len() {
            println!(
                "  consortium {} ready in {:.1} s: collective key from {} dealings on the chain, {} providers joined",
                cid,
                t0.elapsed().as_secs_f64(),
                c.dealings.len(),
                c.joined.len()
            );
            break;
        }
        if t0.elapsed() > Duration::from_secs(90) {
            bail!(
                "the consortium is not ready after 90 s ({} of {NODES} dealings, {} of {} joined); see the logs in {}",
                c.dealings.len(),
                c.joined.len(),
                dp_cards.len(),
                a.dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    // The queries.
    let (querier, key) = querier_keys(&a.dir.join("querier.json"))?;
    // A regression's nine sums share one noise scale; twice the ε keeps its answer near the
    // plaintext one on 442 rows.
    let twice = {
        let e = Rational::parse(&a.epsilon).map_err(|e| anyhow!("--epsilon: {e}"))?;
        format!("{}/{}", e.num.saturating_mul(2), e.den)
    };
    let questions = [
        (
            "mean BMI of patients over 50",
            q(
                "mean",
                Some("bmi"),
                None,
                None,
                Some("age > 50"),
                &a.epsilon,
            ),
        ),
        (
            "histogram of ages by decade",
            q(
                "histogram",
                Some("age"),
                None,
                Some("width:10"),
                None,
                &a.epsilon,
            ),
        ),
        (
            "linear regression of disease progression on BMI and age (at twice the ε)",
            q(
                "linear-regression",
                Some("bmi,age"),
                Some("target"),
                None,
                None,
                &twice,
            ),
        ),
    ];
    let mut all_clean = true;
    for (title, question) in &questions {
        println!();
        println!("{title}");
        let st = statement(question, &schema)?;
        // The plaintext answer, from the whole table (the demo owns every slice).
        let layout = st.layout()?;
        let mut totals = vec![0i128; layout.len];
        for rows in &slices {
            for (t, v) in totals.iter_mut().zip(st.answer(rows)?) {
                *t += i128::from(v);
            }
        }
        let plain = st.decode(&totals)?;
        let answer = ask(&client, cid, st, &querier, &key, Duration::from_secs(180))?;
        print_answer(&answer);
        println!("  plain    {}", show_result(&plain));
        let report = audit_query(&client, &answer.view.id.to_string())?;
        print_audit(&report);
        all_clean &= report.clean() && report.cheaters.is_empty();
    }
    drop(procs);
    for n in nodes {
        n.stop()?;
    }
    println!();
    if !all_clean {
        bail!("an audit failed");
    }
    println!(
        "every proof of every query re-verified from the chain; done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn q(
    op: &str,
    attr: Option<&str>,
    target: Option<&str>,
    buckets: Option<&str>,
    predicate: Option<&str>,
    epsilon: &str,
) -> QuestionArgs {
    QuestionArgs {
        op: op.into(),
        attr: attr.map(str::to_string),
        target: target.map(str::to_string),
        buckets: buckets.map(str::to_string),
        predicate: predicate.map(str::to_string),
        epsilon: epsilon.into(),
        delta: None,
    }
}
