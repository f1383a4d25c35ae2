//! The independent verifier: recomputes everything from the record alone.
//!
//! It replays `actions.jsonl` through the same rules as the state machine, but never stops at the
//! first problem: every failed check is reported with the offending item. Ballot proofs are
//! verified in parallel batches (rayon) between official actions; a batch that fails is re-checked
//! ballot by ballot to name the culprits. Finally each derived file is compared with its
//! recomputation.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::action::{Envelope, OfficialAction};
use crate::ballot::{Ballot, ParsedBallot};
use crate::batch;
use crate::error::Error;
use crate::record::Record;
use crate::state::{ElectionState, Phase, ProofCheck};
use crate::tally::{plan_groups, Group};

/// One named check with its counts.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Items that passed.
    pub passed: u64,
    /// Items that failed, each described.
    pub failures: Vec<String>,
}

/// The verifier's report.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Ballots whose proofs were verified.
    pub ballots_verified: u64,
    /// Seconds spent verifying ballot proofs.
    pub ballot_seconds: f64,
    /// The replayed state (for receipts and results).
    #[serde(skip)]
    pub state: ElectionState,
}

impl Report {
    /// True iff every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.failures.is_empty())
    }
    fn check(&mut self, name: &'static str) -> &mut Check {
        if let Some(i) = self.checks.iter().position(|c| c.name == name) {
            &mut self.checks[i]
        } else {
            self.checks.push(Check {
                name,
                passed: 0,
                failures: Vec::new(),
            });
            let last = self.checks.len() - 1;
            &mut self.checks[last]
        }
    }
    fn pass(&mut self, name: &'static str) {
        self.check(name).passed += 1;
    }
    fn fail(&mut self, name: &'static str, what: String) {
        self.check(name).failures.push(what);
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.checks {
            let mark = if c.failures.is_empty() {
                "ok  "
            } else {
                "FAIL"
            };
            writeln!(
                f,
                "[{mark}] {:<34} {} passed, {} failed",
                c.name,
                c.passed,
                c.failures.len()
            )?;
            for (i, what) in c.failures.iter().enumerate() {
                if i == 20 {
                    writeln!(f, "         ... and {} more", c.failures.len() - 20)?;
                    break;
                }
                writeln!(f, "         - {what}")?;
            }
        }
        if self.ballots_verified > 0 && self.ballot_seconds > 0.0 {
            writeln!(
                f,
                "ballot proofs: {} verified in {:.2} s ({:.0} ballots/s)",
                self.ballots_verified,
                self.ballot_seconds,
                self.ballots_verified as f64 / self.ballot_seconds
            )?;
        }
        write!(
            f,
            "{}",
            if self.ok() {
                "VERDICT: OK — the record verifies"
            } else {
                "VERDICT: FAILED"
            }
        )
    }
}

/// Which check an error from the state machine belongs to.
fn category(e: &Error, env: &Envelope) -> &'static str {
    match e {
        Error::InvalidManifest(_) => "manifest",
        Error::WrongPhase { .. } => "phase order",
        Error::Unauthorized(_) => "signatures and roles",
        Error::WrongElection { .. } => "election id binding",
        Error::Registration(_) => "registration (tokens, whitelist)",
        Error::OverQuota { .. } => "polling table quotas",
        Error::DoubleVote(_) => "no double votes",
        Error::UnknownVoterKey(_) => "ballot credentials",
        Error::InvalidProof(_) if matches!(env, Envelope::Ballot(_)) => {
            "ballot proofs and signatures"
        }
        Error::InvalidProof(_) => "decryption proofs",
        Error::Trustees(_) | Error::Crypto(_) => "key ceremony and decryption",
        _ => "well-formed actions",
    }
}

fn describe(seq: usize, env: &Envelope) -> String {
    match env {
        Envelope::Ballot(b) => format!("action #{} (ballot {})", seq + 1, b.hash()),
        Envelope::Official(a) => {
            let name = serde_json::from_str::<crate::action::ActionBody>(&a.payload)
                .map(|b| b.action.name())
                .unwrap_or("unparseable action");
            format!("action #{} ({name})", seq + 1)
        }
    }
}

/// Monotonic time from any fixed origin. The verifier reads no clock of its own: a caller that
/// wants the ballot-throughput line passes one to [`verify_record_timed`].
pub type Clock = fn() -> Duration;

/// Verifies a record; see the module docs. The report has no timing.
pub fn verify_record(record: &Record) -> Report {
    verify(record, None)
}

/// [`verify_record`], also timing the ballot proofs with `clock` (`Report::ballot_seconds`).
pub fn verify_record_timed(record: &Record, clock: Clock) -> Report {
    verify(record, Some(clock))
}

fn verify(record: &Record, clock: Option<Clock>) -> Report {
    let mut report = Report {
        checks: Vec::new(),
        ballots_verified: 0,
        ballot_seconds: 0.0,
        state: ElectionState::new(),
    };
    for name in [
        "manifest",
        "signatures and roles",
        "phase order",
        "key ceremony and decryption",
        "registration (tokens, whitelist)",
        "polling table quotas",
        "ballot proofs and signatures",
        "ballot credentials",
        "no double votes",
    ] {
        report.check(name);
    }
    let mut state = ElectionState::new();
    let mut pending: Vec<(usize, &Ballot)> = Vec::new();
    for (seq, env) in record.log.iter().enumerate() {
        match env {
            Envelope::Ballot(b) => pending.push((seq, b)),
            Envelope::Official(_) => {
                flush_ballots(&mut state, &mut pending, record, &mut report, clock);
                match state.apply_with(env, ProofCheck::Verify) {
                    Ok(_) => {
                        report.pass("signatures and roles");
                        report.pass("phase order");
                        if let Envelope::Official(a) = env {
                            if let Ok(body) = a.open() {
                                match body.action {
                                    OfficialAction::Create { .. } => report.pass("manifest"),
                                    OfficialAction::KeyCeremony(_)
                                    | OfficialAction::Decrypt(_)
                                    | OfficialAction::Open => {
                                        report.pass("key ceremony and decryption")
                                    }
                                    OfficialAction::ValidateVoter { .. }
                                    | OfficialAction::EnableVoters { .. } => {
                                        report.pass("registration (tokens, whitelist)")
                                    }
                                    OfficialAction::AuthorizeInPerson { .. } => {
                                        report.pass("polling table quotas")
                                    }
                                    _ => {}
                                }
                            }
                        }
                    }
                    Err(e) => {
                        report.fail(category(&e, env), format!("{}: {e}", describe(seq, env)))
                    }
                }
            }
        }
    }
    flush_ballots(&mut state, &mut pending, record, &mut report, clock);
    compare_derived(&state, record, &mut report);
    report.state = state;
    report
}

/// Verifies the pending ballots' proofs in parallel, then applies them in order.
fn flush_ballots(
    state: &mut ElectionState,
    pending: &mut Vec<(usize, &Ballot)>,
    record: &Record,
    report: &mut Report,
    clock: Option<Clock>,
) {
    if pending.is_empty() {
        return;
    }
    let batch: Vec<(usize, &Ballot)> = std::mem::take(pending);
    let (Some(manifest), Some(pk)) = (state.manifest().cloned(), state.election_key().cloned())
    else {
        for (seq, b) in &batch {
            let env = Envelope::Ballot((*b).clone());
            let e = state.apply(&env).err().unwrap_or(Error::WrongPhase {
                action: "cast a ballot",
                phase: "without an election key",
            });
            report.fail(category(&e, &env), format!("{}: {e}", describe(*seq, &env)));
        }
        return;
    };
    let _ = record;
    // Parse and find each ballot's signer (signer keys never change once issued).
    let mut work: Vec<(
        usize,
        &Ballot,
        ParsedBallot,
        curve25519_dalek::ristretto::RistrettoPoint,
    )> = Vec::new();
    for (seq, b) in &batch {
        let env = Envelope::Ballot((*b).clone());
        match b.parse().and_then(|p| {
            state
                .credential_signer(&p.body.credential)
                .map(|(s, _)| (p, s))
        }) {
            Ok((p, s)) => work.push((*seq, b, p, s)),
            Err(e) => report.fail(category(&e, &env), format!("{}: {e}", describe(*seq, &env))),
        }
    }
    let started = clock.map(|c| c());
    let (seqs, triples): (Vec<usize>, Vec<(&Ballot, ParsedBallot, _)>) = work
        .into_iter()
        .map(|(seq, b, p, s)| (seq, (b, p, s)))
        .unzip();
    let results = batch::verify_parallel(&manifest, &pk, &triples);
    if let (Some(c), Some(t0)) = (clock, started) {
        report.ballot_seconds += c().saturating_sub(t0).as_secs_f64();
    }
    report.ballots_verified += triples.len() as u64;
    for ((seq, (b, parsed, _)), res) in seqs.into_iter().zip(triples).zip(results) {
        let outcome = res
            .map_err(|e| ("ballot proofs and signatures", e))
            .and_then(|()| {
                report.pass("ballot proofs and signatures");
                state
                    .apply_parsed_ballot(b, parsed, ProofCheck::AlreadyVerified)
                    .map_err(|e| (category(&e, &Envelope::Ballot(b.clone())), e))
            });
        match outcome {
            Ok(_) => {
                report.pass("ballot credentials");
                report.pass("no double votes");
            }
            Err((check, e)) => report.fail(
                check,
                format!("{}: {e}", describe(seq, &Envelope::Ballot(b.clone()))),
            ),
        }
    }
}

fn compare_derived(state: &ElectionState, record: &Record, report: &mut Report) {
    let name = "derived files match the log";
    let mut cmp = |what: &str, ok: bool| {
        if ok {
            report.pass(name);
        } else {
            report.fail(
                name,
                format!("{what} differs from its recomputation from actions.jsonl"),
            );
        }
    };
    cmp("manifest.json", state.manifest() == Some(&record.manifest));
    cmp(
        "record.json (election id)",
        state.manifest().map(|m| m.election_id.as_str()) == Some(record.index_election_id.as_str()),
    );
    cmp(
        "key-ceremony.json",
        state.key_ceremony() == record.key_ceremony.as_ref(),
    );
    cmp(
        "tallies.json (encrypted tallies)",
        state.tallies() == record.tallies.as_ref(),
    );
    cmp("results.json", state.results() == record.results.as_ref());
    cmp("counts.json", state.counts() == record.counts);

    let c = state.counts();
    let inv = "registration and quota invariants";
    let mut inv_ok = |what: String, ok: bool| {
        if ok {
            report.pass(inv);
        } else {
            report.fail(inv, what);
        }
    };
    inv_ok(
        format!("validated {} > whitelisted {}", c.validated, c.whitelisted),
        c.validated <= c.whitelisted,
    );
    inv_ok(
        format!(
            "enabled keys {} > validated voters {}",
            c.enabled_keys, c.validated
        ),
        c.enabled_keys <= c.validated,
    );
    for (i, (quota, authorized, unused)) in c.tables.iter().enumerate() {
        inv_ok(
            format!("table {i}: authorized {authorized} + unused {unused} != quota {quota}"),
            authorized + unused == *quota && authorized <= quota,
        );
    }
    check_tally_groups(state, record, report);

    let phase = "election completed";
    if state.phase() == Some(Phase::Tallied) {
        report.pass(phase);
    } else {
        report.fail(
            phase,
            format!(
                "the log ends with the election {} (results need the tallied phase)",
                state.phase().map(Phase::name).unwrap_or("not created")
            ),
        );
    }
    if let (Some(t), Some(r)) = (state.tallies(), state.results()) {
        let counted = state.counts().ballots_counted;
        let name = "last ballot counts (one per credential)";
        let in_tally: u64 = t.groups.iter().map(|g| g.ballots).sum();
        if in_tally == counted && r.overall.ballots == counted {
            report.pass(name);
        } else {
            report.fail(
                name,
                format!(
                    "tallies count {in_tally} ballots, results {}, credentials {counted}",
                    r.overall.ballots
                ),
            );
        }
    }
}

/// The minimum group size: recomputes from the replayed ballots which groups must be merged
/// ([`plan_groups`]) and checks that `tallies.json` and `results.json` hold exactly those groups
/// with those counts, and that no published group has fewer ballots than the manifest's
/// `min_group_size` (unless it is empty or is the whole election).
fn check_tally_groups(state: &ElectionState, record: &Record, report: &mut Report) {
    let name = "tally groups (minimum group size)";
    report.check(name);
    let Some(m) = state.manifest() else { return };
    let min = u64::from(m.min_group_size);
    let label = |g: &Group, members: &[Group]| match g {
        Group::Remote => "remote voters".to_string(),
        Group::Table(t) => format!("table {}", u32::from(t.0) + 1),
        Group::Other => format!("other ({} merged groups)", members.len()),
    };
    let expected: Vec<(Group, Vec<Group>, u64)> = plan_groups(&state.group_counts(), min)
        .into_iter()
        .map(|p| (p.group, p.members, p.ballots))
        .collect();
    if let Some(t) = &record.tallies {
        let got: Vec<(Group, Vec<Group>, u64)> = t
            .groups
            .iter()
            .map(|g| (g.group, g.members.clone(), g.ballots))
            .collect();
        if got == expected {
            report.pass(name);
        } else {
            report.fail(
                name,
                format!(
                    "tallies.json groups {got:?} differ from the groups the ballots and \
                     min_group_size {min} require: {expected:?}"
                ),
            );
        }
    }
    if let Some(r) = &record.results {
        let got: Vec<(Group, Vec<Group>, u64)> = r
            .groups
            .iter()
            .map(|g| (g.group, g.members.clone(), g.ballots))
            .collect();
        if got != expected {
            report.fail(
                name,
                format!(
                    "results.json groups {got:?} differ from the groups the ballots and \
                     min_group_size {min} require: {expected:?}"
                ),
            );
        }
        let whole = r.groups.len() == 1;
        for g in &r.groups {
            if g.ballots > 0 && g.ballots < min && !whole {
                report.fail(
                    name,
                    format!(
                        "results.json decrypts {} with {} ballots, below the minimum group size \
                         {min}: it reveals the votes of too few voters",
                        label(&g.group, &g.members),
                        g.ballots
                    ),
                );
            } else {
                report.pass(name);
            }
        }
    }
}
