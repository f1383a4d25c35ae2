//! View models: what each page shows, built from the election state (pure functions), and the
//! askama templates that render them.

use askama::Template;
use tabella_election::manifest::ContestKind;
use tabella_election::state::{ElectionState, Phase};

use crate::chart;

/// One row of the elections list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectionRow {
    /// Election id (URL segment).
    pub id: String,
    /// Title.
    pub title: String,
    /// Phase name.
    pub phase: String,
    /// Envelopes accepted (actions and ballots).
    pub accepted: u64,
    /// Height of the last block that changed it.
    pub last_height: u64,
}

/// What the node says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// Committed height.
    pub height: u64,
    /// Genesis hash, hex.
    pub genesis: String,
    /// Validators in the roster.
    pub validators: usize,
}

/// `/`: the elections on the chain.
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage {
    /// The node.
    pub node: NodeView,
    /// The elections.
    pub elections: Vec<ElectionRow>,
}

/// A table's quota (authorized + unused = quota).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableView {
    /// Name.
    pub name: String,
    /// Quota.
    pub quota: u32,
    /// Voters authorized so far.
    pub authorized: u32,
    /// Unused authorizations.
    pub unused: u32,
    /// authorized + unused = quota.
    pub balanced: bool,
}

/// A contest as the manifest states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContestView {
    /// Title.
    pub title: String,
    /// The rule in words.
    pub rule: String,
    /// Candidates.
    pub candidates: Vec<String>,
}

/// One line of a result table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultRow {
    /// Candidate (or "(blank)").
    pub label: String,
    /// Overall.
    pub overall: u64,
    /// Per shown group, in [`ContestResult::groups`] order.
    pub groups: Vec<u64>,
}

/// A contest's results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContestResult {
    /// Title.
    pub title: String,
    /// "votes" or "points".
    pub unit: String,
    /// The overall chart (SVG, escaped by [`chart`]).
    pub chart: String,
    /// Per-group charts: (group name, SVG).
    pub group_charts: Vec<(String, String)>,
    /// Names of the groups shown as columns (none when there is one group).
    pub groups: Vec<String>,
    /// The table.
    pub rows: Vec<ResultRow>,
}

/// Published results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResultsView {
    /// Ballots counted.
    pub ballots: u64,
    /// Ballots per shown group: (name, ballots).
    pub group_ballots: Vec<(String, u64)>,
    /// Sentences about merged groups.
    pub merged: Vec<String>,
    /// Per contest.
    pub contests: Vec<ContestResult>,
}

/// A trustee's progress in the key ceremony.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrusteeRow {
    /// Name.
    pub name: String,
    /// Round 0 (ceremony key) posted.
    pub key: bool,
    /// Round 1 (dealing) posted.
    pub dealing: bool,
    /// Round 2 (complaints, possibly none) posted after the last dealing.
    pub settled: bool,
    /// Decryption of the tallies posted.
    pub decrypted: bool,
}

/// `/elections/{id}`.
#[derive(Template)]
#[template(path = "election.html")]
pub struct ElectionPage {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// The phases, each with "done", "current" or "todo".
    pub phases: Vec<(String, &'static str)>,
    /// The current phase's name.
    pub phase: String,
    /// Trustees' names.
    pub trustees: Vec<String>,
    /// Trustees needed to decrypt.
    pub threshold: u16,
    /// The key ceremony, per trustee.
    pub ceremony: Vec<TrusteeRow>,
    /// The ceremony in one sentence.
    pub ceremony_summary: String,
    /// The joint election key is fixed.
    pub joint_key: bool,
    /// Trustees' decryptions posted.
    pub decryptions: usize,
    /// Ballots committed block by block (SVG), filled in by the node.
    pub ballots_chart: Option<String>,
    /// Groups smaller than this are merged in results.
    pub min_group_size: u64,
    /// Contests.
    pub contests: Vec<ContestView>,
    /// Whitelisted identities.
    pub whitelisted: u64,
    /// Identities validated.
    pub validated: u64,
    /// Stealth keys enabled.
    pub enabled_keys: u64,
    /// Registration closed.
    pub registration_closed: bool,
    /// Table quotas.
    pub tables: Vec<TableView>,
    /// Ballots accepted.
    pub ballots_accepted: u64,
    /// Ballots counted.
    pub ballots_counted: u64,
    /// Results, once published.
    pub results: Option<ResultsView>,
}

/// A page that does not exist.
#[derive(Template)]
#[template(path = "not_found.html")]
pub struct NotFoundPage {
    /// What was asked for.
    pub what: String,
}

const PHASES: [Phase; 5] = [
    Phase::Setup,
    Phase::KeyCeremony,
    Phase::Open,
    Phase::Closed,
    Phase::Tallied,
];

/// The polling tables' quotas: the manifest's tables with the state's counts.
pub fn tables_of(
    m: &tabella_election::manifest::Manifest,
    counts: &tabella_election::state::Counts,
) -> Vec<TableView> {
    m.tables
        .iter()
        .zip(&counts.tables)
        .map(|(t, &(quota, authorized, unused))| TableView {
            name: t.name.clone(),
            quota,
            authorized,
            unused,
            balanced: u64::from(authorized) + u64::from(unused) == u64::from(quota),
        })
        .collect()
}

/// A phase's short name, as the pages' timelines show it.
pub fn phase_label(p: Phase) -> &'static str {
    match p {
        Phase::Setup => "setup",
        Phase::KeyCeremony => "key ceremony",
        Phase::Open => "open",
        Phase::Closed => "closed",
        Phase::Tallied => "tallied",
    }
}

fn rule(kind: &ContestKind) -> (String, &'static str) {
    match kind {
        ContestKind::SingleChoice => ("choose one".into(), "votes"),
        ContestKind::Approval { min, max } => (
            if min == max {
                format!("approve exactly {max}")
            } else {
                format!("approve {min} to {max}")
            },
            "votes",
        ),
        ContestKind::Preferential { ranks } => (
            format!("rank {ranks}: the first choice gets {ranks} points, the last ranked 1"),
            "points",
        ),
    }
}

/// The page of election `id`, or `None` before its manifest exists.
pub fn election_page(id: &str, state: &ElectionState) -> Option<ElectionPage> {
    let m = state.manifest()?;
    let phase = state.phase();
    let current = phase.and_then(|p| PHASES.iter().position(|x| *x == p));
    let phases = PHASES
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mark = match current {
                Some(c) if i < c => "done",
                Some(c) if i == c => "current",
                _ => "todo",
            };
            (phase_label(*p).to_string(), mark)
        })
        .collect();
    let counts = state.counts();
    let tables = tables_of(m, &counts);
    let contests = m
        .contests
        .iter()
        .map(|c| ContestView {
            title: c.title.clone(),
            rule: rule(&c.kind).0,
            candidates: c.candidates.clone(),
        })
        .collect();
    let results = state.results().map(|r| {
        let shown: Vec<_> = if r.groups.len() > 1 {
            r.groups.iter().collect()
        } else {
            Vec::new()
        };
        let merged = r
            .groups
            .iter()
            .filter(|g| g.group == tabella_election::tally::Group::Other)
            .map(|g| {
                let names: Vec<String> = g.members.iter().map(|x| x.display(m)).collect();
                format!(
                    "{} are counted together as \"other (merged)\" ({} ballots): groups with fewer than {} ballots are not published on their own.",
                    names.join(" + "),
                    g.ballots,
                    m.min_group_size
                )
            })
            .collect();
        let contests = m
            .contests
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let labels = c.result_labels();
                let unit = rule(&c.kind).1;
                let value = |v: &Vec<Vec<u64>>, i: usize| {
                    v.get(ci).and_then(|x| x.get(i)).copied().unwrap_or(0)
                };
                let rows: Vec<ResultRow> = labels
                    .iter()
                    .enumerate()
                    .map(|(i, l)| ResultRow {
                        label: l.clone(),
                        overall: value(&r.overall.contests, i),
                        groups: shown.iter().map(|g| value(&g.contests, i)).collect(),
                    })
                    .collect();
                let overall: Vec<(String, u64)> =
                    rows.iter().map(|x| (x.label.clone(), x.overall)).collect();
                let group_charts = shown
                    .iter()
                    .enumerate()
                    .map(|(gi, g)| {
                        let name = g.group.display(m);
                        let data: Vec<(String, u64)> = rows
                            .iter()
                            .map(|x| (x.label.clone(), x.groups.get(gi).copied().unwrap_or(0)))
                            .collect();
                        let svg = chart::hbar(
                            &format!("c{ci}g{gi}"),
                            &format!("{}: {name}", c.title),
                            &data,
                            unit,
                        );
                        (name, svg)
                    })
                    .collect();
                ContestResult {
                    title: c.title.clone(),
                    unit: unit.to_string(),
                    chart: chart::hbar(&format!("c{ci}"), &c.title, &overall, unit),
                    group_charts,
                    groups: shown.iter().map(|g| g.group.display(m)).collect(),
                    rows,
                }
            })
            .collect();
        ResultsView {
            ballots: r.overall.ballots,
            group_ballots: shown.iter().map(|g| (g.group.display(m), g.ballots)).collect(),
            merged,
            contests,
        }
    });
    let progress = state.ceremony_progress();
    let decrypted: Vec<u16> = state.decrypted_by().collect();
    let ceremony = m
        .trustees
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let n = u16::try_from(i + 1).unwrap_or(u16::MAX);
            TrusteeRow {
                name: t.name.clone(),
                key: progress.keys.iter().any(|(k, _)| k.get() == n),
                dealing: progress.dealings.iter().any(|d| d.dealer.get() == n),
                settled: progress.complained.iter().any(|k| k.get() == n),
                decrypted: decrypted.contains(&n),
            }
        })
        .collect();
    Some(ElectionPage {
        id: id.to_string(),
        title: m.title.clone(),
        phases,
        phase: phase.map_or("not created", phase_label).to_string(),
        trustees: m.trustees.iter().map(|t| t.name.clone()).collect(),
        threshold: m.threshold,
        ceremony,
        ceremony_summary: progress.summary(),
        joint_key: state.election_key().is_some(),
        decryptions: decrypted.len(),
        ballots_chart: None,
        min_group_size: u64::from(m.min_group_size),
        contests,
        whitelisted: counts.whitelisted,
        validated: counts.validated,
        enabled_keys: counts.enabled_keys,
        registration_closed: state.registration_closed(),
        tables,
        ballots_accepted: counts.ballots_accepted,
        ballots_counted: counts.ballots_counted,
        results,
    })
}
