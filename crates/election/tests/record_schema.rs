//! The election record format is documented in `docs/RECORD.md` with a JSON Schema in
//! `docs/record.schema.json`. These tests simulate a small election, encode its record with
//! `Record::to_files` and validate every file (and every line of `actions.jsonl`, payload
//! included) against the schema, then check that documents broken in typical ways are rejected,
//! so a drift between the code and the documented format fails here.

mod common;

use std::sync::OnceLock;

use serde_json::{json, Value};
use tabella_election::record::files;
use tabella_election::simulate::{simulate, SimulationConfig};

const SCHEMA: &str = include_str!("../../../docs/record.schema.json");

/// The schema definition each record file must match.
const FILE_DEFS: [(&str, &str); 6] = [
    (files::INDEX, "record_index"),
    (files::MANIFEST, "manifest_file"),
    (files::KEY_CEREMONY, "key_ceremony_file"),
    (files::TALLIES, "tallies_file"),
    (files::RESULTS, "results_file"),
    (files::COUNTS, "counts_file"),
];

fn schema() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(|| serde_json::from_str(SCHEMA).expect("docs/record.schema.json is JSON"))
}

/// A validator for one `$defs` entry of the schema (the whole schema with a root `$ref`, so
/// every internal reference resolves).
fn validator(def: &str) -> jsonschema::Validator {
    let mut s = schema().clone();
    assert!(
        s["$defs"].get(def).is_some(),
        "the schema has no $defs/{def}"
    );
    s.as_object_mut()
        .expect("the schema is an object")
        .insert("$ref".into(), Value::String(format!("#/$defs/{def}")));
    jsonschema::draft202012::new(&s).unwrap_or_else(|e| panic!("$defs/{def} does not compile: {e}"))
}

fn errors(def: &str, instance: &Value) -> Vec<String> {
    validator(def)
        .iter_errors(instance)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect()
}

fn assert_valid(def: &str, what: &str, instance: &Value) {
    let errs = errors(def, instance);
    assert!(
        errs.is_empty(),
        "{what} does not match $defs/{def}:\n{}",
        errs.join("\n")
    );
}

fn assert_invalid(def: &str, what: &str, instance: &Value) {
    assert!(
        !errors(def, instance).is_empty(),
        "{what} should be rejected by $defs/{def} but is accepted"
    );
}

/// The files of a small simulated election (computed once for all tests).
fn record_files() -> &'static Vec<(&'static str, Vec<u8>)> {
    static F: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    F.get_or_init(|| {
        let out = simulate(
            &SimulationConfig {
                voters: 6,
                ..Default::default()
            },
            &mut |_, _, _| {},
        )
        .expect("simulation succeeds");
        out.record.to_files().expect("the record encodes")
    })
}

fn file(name: &str) -> &'static [u8] {
    record_files()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| b.as_slice())
        .unwrap_or_else(|| panic!("the record has no {name}"))
}

fn json_file(name: &str) -> Value {
    serde_json::from_slice(file(name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// Every line of `actions.jsonl` as (envelope, parsed payload).
fn action_lines() -> Vec<(Value, Value)> {
    std::str::from_utf8(file(files::ACTIONS))
        .expect("actions.jsonl is UTF-8")
        .lines()
        .map(|line| {
            let env: Value = serde_json::from_str(line).expect("an actions.jsonl line is JSON");
            let payload: Value =
                serde_json::from_str(env["payload"].as_str().expect("payload is a string"))
                    .expect("the payload is JSON text");
            (env, payload)
        })
        .collect()
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    jsonschema::meta::validate(schema()).expect("docs/record.schema.json is a valid JSON Schema");
    assert_eq!(
        schema()["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    // Every definition compiles on its own.
    for def in schema()["$defs"].as_object().expect("$defs").keys() {
        validator(def);
    }
}

#[test]
fn every_record_file_matches_the_schema() {
    let names: Vec<&str> = record_files().iter().map(|(n, _)| *n).collect();
    let mut expected: Vec<&str> = FILE_DEFS.iter().map(|(n, _)| *n).collect();
    expected.push(files::ACTIONS);
    for n in &expected {
        assert!(names.contains(n), "the record has no {n}");
    }
    assert_eq!(
        names.len(),
        expected.len(),
        "the record has undocumented files: {names:?}"
    );
    for (name, def) in FILE_DEFS {
        let v = json_file(name);
        assert!(!v.is_null(), "{name} is null in a completed election");
        assert_valid(def, name, &v);
    }
}

#[test]
fn every_action_line_and_payload_matches_the_schema() {
    let lines = action_lines();
    assert_eq!(
        Some(lines.len() as u64),
        json_file(files::INDEX)["actions"].as_u64()
    );
    let mut seen = std::collections::BTreeSet::new();
    for (i, (env, payload)) in lines.iter().enumerate() {
        let what = format!("actions.jsonl line {}", i + 1);
        assert_valid("actions_line", &what, env);
        match env["type"].as_str() {
            Some("official") => {
                assert_valid("action_body", &format!("{what} payload"), payload);
                let a = payload["action"].as_str().expect("action tag");
                seen.insert(match payload.get("message").and_then(Value::as_str) {
                    Some(m) => format!("{a}/{m}"),
                    None => a.to_string(),
                });
            }
            Some("ballot") => {
                assert_valid("ballot_body", &format!("{what} payload"), payload);
                let kind = payload["credential"]["kind"]
                    .as_str()
                    .expect("credential kind");
                seen.insert(format!("ballot/{kind}"));
            }
            other => panic!("{what}: unknown envelope type {other:?}"),
        }
    }
    // The simulation exercises every kind of line the schema describes.
    let all = [
        "create",
        "start_key_ceremony",
        "key_ceremony/dealing",
        "key_ceremony/complaints",
        "open",
        "validate_voter",
        "enable_voters",
        "authorize_in_person",
        "close",
        "decrypt",
        "publish_results",
        "ballot/stealth",
        "ballot/table",
    ];
    for k in all {
        assert!(
            seen.contains(k),
            "the simulated record has no {k} line: {seen:?}"
        );
    }
}

#[test]
fn broken_documents_are_rejected() {
    // record.json: wrong format marker, missing field, bad election id.
    let index = json_file(files::INDEX);
    let mut v = index.clone();
    v["format"] = json!("tabella-election-record/v2");
    assert_invalid("record_index", "record.json with another format", &v);
    let mut v = index.clone();
    v.as_object_mut().unwrap().remove("actions");
    assert_invalid("record_index", "record.json without actions", &v);
    let mut v = index;
    v["election_id"] = json!("Not An Id");
    assert_invalid("record_index", "record.json with a bad election id", &v);

    // tallies.json: a point one hex digit short, an uppercase point, an unknown group.
    let tallies = json_file(files::TALLIES);
    let a = tallies["groups"][0]["contests"][0][0]["a"]
        .as_str()
        .unwrap()
        .to_string();
    let mut v = tallies.clone();
    v["groups"][0]["contests"][0][0]["a"] = json!(a[1..]);
    assert_invalid("tallies_file", "tallies.json with a 63-hex-digit point", &v);
    let mut v = tallies.clone();
    v["groups"][0]["contests"][0][0]["a"] =
        json!(a.to_uppercase().replace(|c: char| c.is_ascii_digit(), "A"));
    assert_invalid("tallies_file", "tallies.json with an uppercase point", &v);
    let mut v = tallies;
    v["groups"][0]["group"] = json!("absentee");
    assert_invalid("tallies_file", "tallies.json with an unknown group", &v);

    // counts.json: a table entry that is not a triple.
    let mut v = json_file(files::COUNTS);
    v["tables"][0] = json!([4, 2]);
    assert_invalid("counts_file", "counts.json with a pair for a table", &v);

    // manifest.json: unknown scheme, contest kind without its bounds, duplicate whitelist entry.
    let manifest = json_file(files::MANIFEST);
    let mut v = manifest.clone();
    v["scheme"] = json!("rsa");
    assert_invalid("manifest_file", "a manifest with an unknown scheme", &v);
    let mut v = manifest.clone();
    v["contests"][0] = json!({"title": "x", "kind": "approval", "candidates": ["a"]});
    assert_invalid("manifest_file", "an approval contest without min/max", &v);
    let mut v = manifest;
    let first = v["whitelist"][0].clone();
    v["whitelist"].as_array_mut().unwrap().push(first);
    assert_invalid(
        "manifest_file",
        "a manifest with a duplicate whitelist entry",
        &v,
    );

    // actions.jsonl: an official envelope without signature, a short ed25519 signature, a
    // ballot signed with an ed25519 signature, an unknown action, an extra field in a ballot.
    let lines = action_lines();
    let (official, body) = lines
        .iter()
        .find(|(e, _)| e["type"] == "official")
        .unwrap()
        .clone();
    let (ballot, ballot_body) = lines
        .iter()
        .find(|(e, _)| e["type"] == "ballot")
        .unwrap()
        .clone();
    let mut v = official.clone();
    v.as_object_mut().unwrap().remove("signature");
    assert_invalid("actions_line", "an official envelope without signature", &v);
    let mut v = official.clone();
    v["signature"] = json!(v["signature"].as_str().unwrap()[..126]);
    assert_invalid(
        "actions_line",
        "an official envelope with a 63-byte signature",
        &v,
    );
    let mut v = ballot.clone();
    v["signature"] = official["signature"].clone();
    assert_invalid("actions_line", "a ballot with an ed25519 signature", &v);
    let mut v = body;
    v["action"] = json!("abort");
    assert_invalid("action_body", "an unknown action", &v);
    let mut v = ballot_body.clone();
    v["comment"] = json!("hello");
    assert_invalid("ballot_body", "a ballot body with an extra field", &v);
    let mut v = ballot_body;
    v["credential"] = json!({"kind": "table", "table": 0});
    assert_invalid(
        "ballot_body",
        "a table credential without authorization",
        &v,
    );
}

#[test]
fn a_paillier_record_matches_the_schema() {
    let out = simulate(
        &SimulationConfig {
            voters: 3,
            tables: 1,
            revote_fraction: 0.0,
            scheme: tabella_election::manifest::Scheme::Paillier,
            paillier_key: Some(std::sync::Arc::new(common::paillier_test_key())),
            ..Default::default()
        },
        &mut |_, _, _| {},
    )
    .expect("simulation succeeds");
    let files = out.record.to_files().expect("the record encodes");
    let get = |name: &str| -> Value {
        let bytes = &files.iter().find(|(n, _)| *n == name).expect("file").1;
        serde_json::from_slice(bytes).expect("JSON")
    };
    for (name, def) in FILE_DEFS {
        assert_valid(def, name, &get(name));
    }
    let actions = &files
        .iter()
        .find(|(n, _)| *n == files::ACTIONS)
        .expect("actions")
        .1;
    let mut saw_openings = false;
    for (i, line) in std::str::from_utf8(actions).unwrap().lines().enumerate() {
        let env: Value = serde_json::from_str(line).unwrap();
        let what = format!("paillier actions.jsonl line {}", i + 1);
        assert_valid("actions_line", &what, &env);
        let payload: Value = serde_json::from_str(env["payload"].as_str().unwrap()).unwrap();
        match env["type"].as_str() {
            Some("official") => {
                saw_openings |= payload["scheme"] == "paillier";
                assert_valid("action_body", &what, &payload);
            }
            _ => assert_valid("ballot_body", &what, &payload),
        }
    }
    assert!(saw_openings, "the Paillier decryption action was checked");
}
