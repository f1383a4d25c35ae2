//! Seed inputs for every target: small valid encodings made from the fixtures, so the fuzzer
//! starts inside each format instead of having to discover it.
//!
//! They are written by the fuzz binaries themselves (same build, same fixtures): with
//! `TABELLA_FUZZ_WRITE_SEEDS=DIR` set, a target writes its seeds to `DIR/<target>/` and exits
//! (`scripts/fuzz --write-seeds` does this for every target; the result is committed under
//! `fuzz/corpus/`).

use std::path::Path;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_crypto::group::SecretScalar;
use tabella_election::action::Envelope;
use tabella_election::audit::AuditedBallot;
use tabella_election::ballot::{encrypt_ballot, BallotKey, Choice, Credential};
use tabella_election::record::files;
use tabella_ghostline::frame::{Frame, Member};
use tabella_ghostline::message::{seal, MessageHeader};
use tabella_ghostline::pad::{
    consumption, PadFileHeader, PadId, PadLayout, PadOffset, SenderIndex,
};
use tabella_ledger::merkle::Receipt;
use tabella_ledger::roster::{Roster, ValidatorSecret};
use tabella_ledger::tx::{RosterChange, Transaction};
use tabella_ledger::types::Height;
use tabella_node::wire::{ApiError, BlockWithCommit, Submitted, TxStatus};
use tabella_vortex::asn1::{encode, PayloadOperation, PrefixBlock, RoutingCombo};
use tabella_vortex::ops::{Operation, Size};
use tabella_vortex::sym::SymKey;
use tabella_vortex::wire::{self, Blending};

use crate::{chain, election, join_parts, open_election, stats, CHAIN_BLOCKS};

/// The environment variable that makes a target write its seeds and exit.
pub const WRITE_SEEDS_ENV: &str = "TABELLA_FUZZ_WRITE_SEEDS";

/// Called from each target's `init`: with [`WRITE_SEEDS_ENV`] set, writes the target's seeds
/// to `$WRITE_SEEDS_ENV/<target>/seed-NN` and exits the process.
pub fn write_if_asked(target: &str) {
    let Ok(dir) = std::env::var(WRITE_SEEDS_ENV) else {
        return;
    };
    let dir = Path::new(&dir).join(target);
    std::fs::create_dir_all(&dir).expect("seed directory");
    let seeds = for_target(target);
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:02}")), s).expect("seed written");
    }
    eprintln!("{target}: wrote {} seeds to {}", seeds.len(), dir.display());
    std::process::exit(0);
}

fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("seed encodes")
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// The seeds of `target` (empty for an unknown name).
pub fn for_target(target: &str) -> Vec<Vec<u8>> {
    match target {
        "election_envelope" => envelopes(),
        "election_record" => vec![record()],
        "election_audit" => vec![audited()],
        "ledger_tx" => transactions(),
        "ledger_block" => blocks(),
        "light_client" => light_proofs(),
        "node_api" => api_bodies(),
        "node_codec" => codec_messages(),
        "keystore" => vec![sealed_file()],
        "ghostline_frame" => frames(),
        "ghostline_message" => sealed_messages(),
        "vortex_der" => der_blocks(),
        "vortex_letter" => letters(),
        "vortex_mail" => mails(),
        "stats_proof" => stats_proofs(),
        "stats_query" => queries(),
        "crypto_encoding" => crypto(),
        _ => Vec::new(),
    }
}

/// One of each kind of envelope in the fixture log (the first action of each name, and two
/// ballots).
fn envelopes() -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let mut ballots = 0;
    for e in &election().record.log {
        match e {
            Envelope::Official(a) => {
                let name = a.open().map(|b| b.action.name()).unwrap_or("?");
                if !seen.contains(&name) {
                    seen.push(name);
                    out.push(json(e));
                }
            }
            Envelope::Ballot(_) if ballots < 2 => {
                ballots += 1;
                out.push(json(e));
            }
            Envelope::Ballot(_) => {}
        }
    }
    out
}

fn record() -> Vec<u8> {
    let files = election().record.to_files().expect("record encodes");
    let order = [
        files::INDEX,
        files::ACTIONS,
        files::MANIFEST,
        files::KEY_CEREMONY,
        files::TALLIES,
        files::RESULTS,
        files::COUNTS,
    ];
    let parts: Vec<&[u8]> = order
        .iter()
        .map(|n| {
            files
                .iter()
                .find(|(name, _)| name == n)
                .map(|(_, b)| b.as_slice())
                .expect("record file")
        })
        .collect();
    join_parts(&parts)
}

fn audited() -> Vec<u8> {
    let state = open_election();
    let manifest = state.manifest().expect("manifest");
    let pk = PrecomputedKey::new(*state.elgamal_key().expect("ElGamal key"));
    let mut r = rng(3);
    let credential = Credential::Table {
        table: tabella_election::ids::TableIndex(0),
        authorization: tabella_election::ids::Digest32([9; 32]),
    };
    let choices = vec![Choice::Single(Some(1)), Choice::Approval(vec![0, 2])];
    let (payload, secrets) = encrypt_ballot(
        manifest,
        BallotKey::Elgamal(&pk),
        credential,
        &choices,
        &mut r,
    )
    .expect("ballot encrypts");
    json(&AuditedBallot::new(payload, &secrets, choices).expect("audited ballot"))
}

fn transactions() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = envelopes()
        .iter()
        .map(|e| {
            let env: Envelope = serde_json::from_slice(e).expect("envelope");
            Transaction::election(env)
                .expect("transaction")
                .to_bytes()
                .expect("bytes")
        })
        .collect();
    let f = chain();
    let secrets: Vec<&ValidatorSecret> = f.secrets.iter().collect();
    let to =
        Roster::new(f.secrets[..3].iter().map(ValidatorSecret::public).collect()).expect("roster");
    let change = RosterChange::signed(&f.genesis_roster, 0, to, &secrets[..3]);
    out.push(Transaction::Governance(change).to_bytes().expect("bytes"));
    out
}

fn blocks() -> Vec<Vec<u8>> {
    let c = &chain().chain;
    let mut out = Vec::new();
    for h in [1u64, 3, 4, 16] {
        let block = c.block(Height(h)).expect("block");
        let commit = c.commit(Height(h)).expect("commit");
        let link = (1..4)
            .find_map(|level| c.forward_link(Height(h), level))
            .or_else(|| c.forward_link(Height(0), 1));
        let parts = [
            json(block),
            json(commit),
            link.map(json).unwrap_or_default(),
        ];
        out.push(join_parts(&[&parts[0], &parts[1], &parts[2]]));
    }
    out
}

fn light_proofs() -> Vec<Vec<u8>> {
    let c = &chain().chain;
    [1, 4, 7, CHAIN_BLOCKS]
        .iter()
        .map(|&h| json(&c.light_proof(Height(h)).expect("light proof")))
        .collect()
}

fn api_bodies() -> Vec<Vec<u8>> {
    let c = &chain().chain;
    let block = c.block(Height(3)).expect("block").clone();
    let ids = block.tx_ids().expect("ids");
    let receipt: Receipt = c.receipt(&ids[0]).expect("receipt");
    let txs: Vec<Transaction> = transactions()
        .iter()
        .take(2)
        .map(|b| Transaction::from_bytes(b).expect("tx"))
        .collect();
    let sig = c.commit(Height(3)).expect("commit").signatures[0];
    vec![
        json(&BlockWithCommit {
            commit: c.commit(Height(3)).cloned(),
            block,
        }),
        json(&TxStatus::Committed { receipt }),
        json(&TxStatus::Pending),
        json(&txs),
        json(&sig),
        json(&Submitted { tx_id: ids[0] }),
        json(&ApiError {
            error: "the body is not a transaction".into(),
        }),
    ]
}

/// The engine codec's messages, written as the codec writes them (checked to decode by the
/// target's own round trip when the fuzzer starts).
fn codec_messages() -> Vec<Vec<u8>> {
    let f = chain();
    let c = &f.chain;
    let key = hex::encode(f.secrets[0].public().to_bytes());
    let block = c.block(Height(2)).expect("block");
    let hash = block.header.hash().to_hex();
    let sig = json(&c.commit(Height(2)).expect("commit").signatures[0].signature);
    let sig = String::from_utf8(sig).expect("utf-8");
    let block_json = String::from_utf8(json(block)).expect("utf-8");
    let vote = format!(
        r#"{{"vote":{{"precommit":true,"height":2,"round":0,"value":"{hash}","validator":"{key}","extension":["00ff",{sig}]}},"signature":{sig}}}"#
    );
    let cert = format!(
        r#"{{"height":2,"round":0,"block":"{hash}","signatures":[{{"address":"{key}","signature":{sig},"extension":null}}]}}"#
    );
    [
        format!(r#"{{"Vote":{vote}}}"#),
        format!(
            r#"{{"Proposal":{{"height":2,"round":0,"block":"{hash}","pol_round":null,"proposer":"{key}","signature":{sig}}}}}"#
        ),
        format!(r#"{{"Init":{{"height":2,"round":0,"pol_round":null,"proposer":"{key}"}}}}"#),
        r#"{"Data":{"chunk":"7b7d"}}"#.to_string(),
        format!(r#"{{"Fin":{{"signature":{sig}}}}}"#),
        format!(r#"{{"stream_id":"0102","sequence":0,"part":{{"Data":{{"chunk":"7b7d"}}}}}}"#),
        r#"{"stream_id":"0102","sequence":1,"part":null}"#.to_string(),
        format!(r#"{{"Polka":{{"height":2,"round":0,"block":"{hash}","signatures":[["{key}",{sig}]]}}}}"#),
        format!(
            r#"{{"SkipRound":{{"height":2,"round":1,"precommit_type":false,"signatures":[{{"precommit":false,"block":null,"address":"{key}","signature":{sig}}}]}}}}"#
        ),
        format!(r#"{{"public_key":"{key}","peer_id":"0024080112201111","signature":{sig}}}"#),
        r#"{"from":1,"to":3}"#.to_string(),
        format!(
            r#"{{"start_height":2,"values":[{{"block":"{}","certificate":{cert}}}]}}"#,
            hex::encode(block_json.as_bytes())
        ),
        format!(
            r#"{{"height":2,"round":0,"valid_round":null,"proposer":"{key}","block_hash":"{hash}","block":{block_json},"valid":true}}"#
        ),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

/// A sealed file as the keystore writes it, at the test cost (`TABELLA_KDF_FAST=1`, honoured
/// by builds with debug assertions, as fuzz builds are).
fn sealed_file() -> Vec<u8> {
    std::env::set_var(tabella_node::seal::KDF_FAST_ENV, "1");
    let pass = tabella_node::seal::Passphrase::new("fuzz passphrase".into()).expect("passphrase");
    tabella_node::seal::Sealed::seal(&pass, b"tabella-keystore/v1/key/alice", b"[1,2,3]")
        .and_then(|s| s.to_json())
        .expect("sealed")
}

fn frames() -> Vec<Vec<u8>> {
    let all = [
        Frame::Hello {
            token: b"room-secret".to_vec(),
            sender: 2,
            nick: "carol".into(),
        },
        Frame::Welcome,
        Frame::Data(b"GL\x02 ciphertext".to_vec()),
        Frame::Presence(vec![
            Member {
                sender: 0,
                nick: "alice".into(),
            },
            Member {
                sender: 1,
                nick: "bob".into(),
            },
        ]),
        Frame::Error("no such room".into()),
    ];
    let mut out: Vec<Vec<u8>> = all.iter().map(Frame::encode).collect();
    out.push(all.iter().flat_map(Frame::encode).collect());
    out
}

fn sealed_messages() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (len, offset) in [(5usize, 0u64), (40, 640), (300, 1280)] {
        let msg: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let header = MessageHeader {
            pad_id: PadId([1; 16]),
            sender: SenderIndex(1),
            offset: PadOffset(offset),
            length: len as u32,
        };
        let pad: Vec<u8> = (0..consumption(len))
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(7))
            .collect();
        out.push(seal(header, &msg, &pad).expect("sealed").encode());
    }
    let layout = PadLayout::new(PadId([7; 16]), 3, 1 << 20).expect("layout");
    out.push(
        PadFileHeader {
            layout,
            owner: SenderIndex(2),
        }
        .encode()
        .to_vec(),
    );
    out
}

fn combo() -> RoutingCombo {
    let mut r = rng(9);
    let key = SymKey::generate(&mut r);
    RoutingCombo {
        min_process_time: 10,
        max_process_time: 60,
        peer_key: Some(vec![wire::sym_to_wire(&key).expect("key")]),
        recipient: wire::blending_spec("bob@example.org", &Blending::Plain { offset: 256 })
            .expect("blending"),
        m_prefix: None,
        c_prefix: None,
        header: None,
        routing: None,
        assembly: vec![
            wire::op_to_wire(&Operation::Map { from: 1, to: 2 }).expect("op"),
            wire::op_to_wire(&Operation::Encrypt {
                from: 2,
                key,
                to: 3,
            })
            .expect("op"),
        ],
        validity: None,
    }
}

fn der_blocks() -> Vec<Vec<u8>> {
    let mut r = rng(8);
    let key = wire::sym_to_wire(&SymKey::generate(&mut r)).expect("key");
    let ops: Vec<PayloadOperation> = [
        Operation::Map { from: 1, to: 2 },
        Operation::Split {
            from: 1,
            size: Size::Percent { from: 0, to: 50 },
            first: 2,
            second: 3,
        },
        Operation::Merge {
            first: 2,
            second: 3,
            to: 4,
        },
    ]
    .iter()
    .filter_map(|o| wire::op_to_wire(o).ok())
    .collect();
    let mut out = vec![
        encode(&key).expect("der"),
        encode(&PrefixBlock { version: None, key }).expect("der"),
        encode(&combo()).expect("der"),
        encode(&tabella_vortex::builder::no_routing()).expect("der"),
        encode(
            &wire::blending_spec(
                "carol@example.org",
                &Blending::F5 {
                    passphrase: b"public".to_vec(),
                },
            )
            .expect("blending"),
        )
        .expect("der"),
        encode(&wire::absolute(1_700_000_000, 1_700_086_400).expect("period")).expect("der"),
    ];
    out.extend(ops.iter().map(|o| encode(o).expect("der")));
    out
}

fn letters() -> Vec<Vec<u8>> {
    vec![
        tabella_vortex::builder::letter(b"hello bob", Some(&combo())).expect("letter"),
        b"plain letter".to_vec(),
        tabella_vortex::special::escape(b"\\starts with a backslash\\"),
    ]
}

fn mails() -> Vec<Vec<u8>> {
    let mut r = rng(4);
    let addressing = tabella_vortex_mail::carrier::Addressing {
        from: "alice@example.org".into(),
        to: "bob@example.org".into(),
        date: 1_700_000_000,
    };
    let vortex: Vec<u8> = (0..600u32).map(|i| (i * 7) as u8).collect();
    [
        Blending::Plain { offset: 0 },
        Blending::Plain { offset: 256 },
        Blending::F5 {
            passphrase: b"fuzz".to_vec(),
        },
    ]
    .iter()
    .filter_map(|b| tabella_vortex_mail::carrier::compose(&addressing, &vortex, b, &mut r).ok())
    .collect()
}

fn stats_proofs() -> Vec<Vec<u8>> {
    stats()
        .proofs
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut v = vec![i as u8];
            v.extend(json(p));
            v
        })
        .collect()
}

fn queries() -> Vec<Vec<u8>> {
    let schema = tabella_stats::Schema::new(1000)
        .and_then(|s| s.integer("age", 0, 120))
        .and_then(|s| s.decimal("bmi", 1, "10", "60"))
        .and_then(|s| s.text("region"))
        .expect("schema");
    let statement = tabella_stats::statement::Statement {
        operation: tabella_stats::Operation::Mean {
            column: "bmi".into(),
        },
        predicate: Some("age > 40 AND region = 'N'".into()),
        schema,
        noise: None,
        noise_list_len: 4,
    };
    let st = json(&statement);
    [
        ("age > 40 AND region = 'N'", "42,27.5,N"),
        ("NOT (bmi <= 30.5) OR age IN (1, 2, 3)", "7,10.0,S"),
        ("12.50", "120,60,"),
        ("3/4", "0,10,x"),
    ]
    .iter()
    .map(|(p, row)| join_parts(&[p.as_bytes(), &st, row.as_bytes()]))
    .collect()
}

fn crypto() -> Vec<Vec<u8>> {
    let mut r = rng(6);
    let state = open_election();
    let pk = *state.elgamal_key().expect("key");
    let (ct, _) = pk.encrypt(1, &mut r);
    let mut out = vec![
        [&[0u8][..], &ct.to_bytes()].concat(),
        [&[1u8][..], ct.to_bytes()[..32].as_ref()].concat(),
        [&[2u8][..], &SecretScalar::random(&mut r).to_bytes()].concat(),
        [&[7u8][..], &json(&ct)].concat(),
    ];
    let gamma = SecretScalar::random(&mut r);
    let (_, proof) = tabella_crypto::range::RangeProof::prove(b"fuzz", 200, &gamma, 8, &mut r)
        .expect("range proof");
    out.push([&[3u8, 0][..], &proof.to_bytes()].concat());
    out.push([&[7u8][..], &json(&proof)].concat());
    out
}
