//! Fixtures shared by the fuzz targets: small, valid, deterministic worlds (an election run to
//! its end, a ledger chain with forward links, a statistics query with every proof kind) that a
//! target checks fuzzed bytes against, built once per fuzzing process. Also the seed inputs
//! ([`seeds`]) written to `fuzz/corpus/<target>/` by `cargo test -- --ignored write_seeds`.
//!
//! Nothing here is fast-path code: the fixtures are built on the first input and cached.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_election::action::{Envelope, OfficialAction};
use tabella_election::manifest::{Contest, ContestKind};
use tabella_election::simulate::{simulate, SimulationConfig, SimulationOutput};
use tabella_election::state::{ElectionState, Phase};
use tabella_ledger::block::{Block, Commit, ForwardLink, SkipchainParams};
use tabella_ledger::chain::Chain;
use tabella_ledger::replica::{proposer, Replica};
use tabella_ledger::roster::{Roster, ValidatorSecret, ValidatorSignature};
use tabella_ledger::state::LedgerState;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::Height;
use tabella_stats::audit::{Check, QueryAudit};
use tabella_stats::noise::{Mechanism, NoiseSpec, Rational};
use tabella_stats::params::{NoisePlan, QueryParams};
use tabella_stats::party::PartySecret;
use tabella_stats::proof::SignedProof;
use tabella_stats::session::Deployment;

pub mod seeds;

/// Splits `data` at NUL bytes into exactly `n` parts (missing parts are `None`; extra NULs stay
/// in the last part). The multi-file targets take their files this way.
pub fn split_parts(data: &[u8], n: usize) -> Vec<Option<&[u8]>> {
    let mut out: Vec<Option<&[u8]>> = data.splitn(n, |b| *b == 0).map(Some).collect();
    out.resize(n, None);
    out
}

/// Joins parts with NUL bytes (the inverse of [`split_parts`] for NUL-free parts).
pub fn join_parts(parts: &[&[u8]]) -> Vec<u8> {
    parts.join(&0u8)
}

/// A finished small election: 6 voters, 3 trustees (threshold 2, one absent), one table, one
/// single-choice and one approval contest.
pub fn election() -> &'static SimulationOutput {
    static E: OnceLock<SimulationOutput> = OnceLock::new();
    E.get_or_init(|| {
        let cfg = SimulationConfig {
            election_id: "fuzz-election".into(),
            voters: 6,
            trustees: 3,
            threshold: 2,
            tables: 1,
            revote_fraction: 0.2,
            absent_trustees: 1,
            seed: 7,
            contests: Some(vec![
                Contest {
                    title: "Chair".into(),
                    kind: ContestKind::SingleChoice,
                    candidates: vec!["Ada".into(), "Grace".into()],
                    allow_blank: true,
                },
                Contest {
                    title: "Board".into(),
                    kind: ContestKind::Approval { min: 1, max: 2 },
                    candidates: vec!["Emmy".into(), "Alan".into(), "Claude".into()],
                    allow_blank: false,
                },
            ]),
            min_group_size: 1,
            registration_batch: 1,
            ..SimulationConfig::default()
        };
        simulate(&cfg, &mut |_, _, _| {}).expect("the fixture election runs")
    })
}

/// The envelopes of [`election`] before voting closes (everything before the first `close`).
pub fn election_until_close() -> &'static [Envelope] {
    static L: OnceLock<Vec<Envelope>> = OnceLock::new();
    L.get_or_init(|| {
        let log = &election().record.log;
        let close = log
            .iter()
            .position(|e| match e {
                Envelope::Official(a) => a
                    .open()
                    .map(|b| matches!(b.action, OfficialAction::Close))
                    .unwrap_or(false),
                Envelope::Ballot(_) => false,
            })
            .unwrap_or(log.len());
        log[..close].to_vec()
    })
}

/// The election's state while voting is open (every ballot of the fixture applied).
pub fn open_election() -> &'static ElectionState {
    static S: OnceLock<ElectionState> = OnceLock::new();
    S.get_or_init(|| {
        let mut state = ElectionState::new();
        for e in election_until_close() {
            state.apply(e).expect("the fixture log applies");
        }
        assert_eq!(state.phase(), Some(Phase::Open));
        state
    })
}

/// A ledger state hosting the fixture election, voting open.
pub fn ledger_state() -> &'static LedgerState {
    static S: OnceLock<LedgerState> = OnceLock::new();
    S.get_or_init(|| {
        let mut state = LedgerState::genesis(chain().genesis_roster.clone());
        for e in election_until_close() {
            let tx = Transaction::election(e.clone()).expect("envelope names its election");
            state
                .apply_tx(&tx)
                .expect("the fixture log applies on the ledger");
        }
        state
    })
}

/// A skipchain run by four validators: 20 blocks with forward links, one carrying transactions.
pub struct ChainFixture {
    /// The validators' keys.
    pub secrets: Vec<ValidatorSecret>,
    /// The genesis roster.
    pub genesis_roster: Roster,
    /// The chain as every validator holds it.
    pub chain: Chain,
}

/// Blocks in [`chain`] after genesis.
pub const CHAIN_BLOCKS: u64 = 20;

/// The fixture chain.
pub fn chain() -> &'static ChainFixture {
    static C: OnceLock<ChainFixture> = OnceLock::new();
    C.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        let secrets: Vec<ValidatorSecret> = (0..4)
            .map(|_| ValidatorSecret::generate(&mut rng))
            .collect();
        let roster =
            Roster::new(secrets.iter().map(ValidatorSecret::public).collect()).expect("roster");
        let genesis = Chain::genesis(SkipchainParams::default(), roster.clone()).expect("genesis");
        let mut vals: Vec<Replica> = secrets
            .iter()
            .map(|s| Replica::new(s.clone(), genesis.clone()).expect("replica"))
            .collect();
        for h in 1..=CHAIN_BLOCKS {
            let next = vals[0].chain().next_roster().expect("roster").clone();
            let who = proposer(&next, Height(h)).expect("proposer");
            let p = vals.iter_mut().find(|v| v.key() == who).expect("proposer");
            let txs = if h == 3 {
                election().record.log[..1]
                    .iter()
                    .map(|e| Transaction::election(e.clone()).expect("tx"))
                    .collect()
            } else {
                Vec::new()
            };
            let block: Block = p.propose(txs).expect("proposal");
            let sigs: Vec<ValidatorSignature> = vals
                .iter_mut()
                .filter_map(|v| v.vote(&block).ok())
                .collect();
            let commit = Commit {
                height: block.header.height,
                round: 0,
                block: block.header.hash(),
                signatures: sigs,
                verdicts: vec![],
            };
            for v in &mut vals {
                v.commit(block.clone(), commit.clone()).expect("commit");
            }
            let mut due: BTreeMap<(u32, Height), Vec<ValidatorSignature>> = BTreeMap::new();
            for v in &vals {
                for (level, from, sig) in v.forward_link_signatures() {
                    due.entry((level, from)).or_default().push(sig);
                }
            }
            let tip = vals[0].chain().tip().header.hash();
            for ((level, from), signatures) in due {
                let link = ForwardLink {
                    from_height: from,
                    from: vals[0].chain().block(from).expect("block").header.hash(),
                    level,
                    to: tip,
                    signatures,
                };
                for v in &mut vals {
                    v.add_forward_link(link.clone()).expect("forward link");
                }
            }
        }
        ChainFixture {
            secrets,
            genesis_roster: roster,
            chain: vals[0].chain().clone(),
        }
    })
}

/// A statistics query (2 computing nodes, 2 data providers, 1 entry of 8 bits, Laplace noise)
/// with every proof made honestly, and the audit's state before each proof.
pub struct StatsFixture {
    /// The query.
    pub params: QueryParams,
    /// Every proof, in protocol order.
    pub proofs: Vec<SignedProof>,
    /// `audits[i]`: the audit after accepting `proofs[..i]` (fully checked).
    pub audits: Vec<QueryAudit>,
    /// The secret of each proof's prover (to re-sign a tampered body, as a cheating prover can).
    pub provers: Vec<PartySecret>,
}

/// The fixture query.
pub fn stats() -> &'static StatsFixture {
    static S: OnceLock<StatsFixture> = OnceLock::new();
    S.get_or_init(|| {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let noise = Some(NoisePlan {
            spec: NoiseSpec {
                mechanism: Mechanism::Laplace,
                epsilon: Rational::new(1, 2).expect("epsilon"),
                delta: None,
                sensitivity: 1,
            },
            list_len: 1,
            scales: Vec::new(),
        });
        let d = Deployment::generate(b"SELECT sum(x)", 2, 2, 2, 1, 8, noise, &mut rng)
            .expect("deployment");
        let answers = vec![vec![3u64], vec![200u64]];
        let proofs = d.run(&answers, &mut rng).expect("honest run");
        let mut audit = QueryAudit::new(d.params.clone()).expect("audit");
        let mut audits = Vec::with_capacity(proofs.len());
        let mut provers = Vec::with_capacity(proofs.len());
        for p in &proofs {
            audits.push(audit.clone());
            audit.accept(p, Check::Full).expect("honest proof accepted");
            let secret = d
                .nodes
                .iter()
                .map(|n| &n.secret)
                .chain(d.providers.iter())
                .find(|s| s.public() == p.prover)
                .expect("prover known")
                .clone();
            provers.push(secret);
        }
        assert!(audit.result().is_some(), "the fixture query completes");
        StatsFixture {
            params: d.params,
            proofs,
            audits,
            provers,
        }
    })
}

/// `serde_json` round trip: `v` encodes, decodes to an equal value, and encodes to the same
/// bytes again. Panics (a finding) otherwise.
pub fn json_round_trip<T>(v: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let bytes = serde_json::to_vec(v).expect("a decoded value encodes");
    let back: T = serde_json::from_slice(&bytes).expect("an encoding decodes");
    assert_eq!(&back, v, "decode(encode(v)) != v");
    assert_eq!(
        serde_json::to_vec(&back).expect("encodes"),
        bytes,
        "encoding is not stable"
    );
}

/// [`json_round_trip`] for types without `PartialEq`: the re-encoding must be stable.
pub fn json_stable<T>(v: &T) -> Vec<u8>
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let bytes = serde_json::to_vec(v).expect("a decoded value encodes");
    let back: T = serde_json::from_slice(&bytes).expect("an encoding decodes");
    assert_eq!(
        serde_json::to_vec(&back).expect("encodes"),
        bytes,
        "encode(decode(encode(v))) != encode(v)"
    );
    bytes
}
