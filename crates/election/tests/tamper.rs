//! Tampering: random mutations of a valid record — any file, any field, including inside the
//! signed payloads — must make verification fail (or the record fail to load).

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use serde_json::Value;
use tabella_election::record::Record;
use tabella_election::simulate::{simulate, SimulationConfig};
use tabella_election::verify::verify_record;

/// Collects JSON pointers to every leaf (string, number, bool) of a value.
fn leaves(v: &Value, path: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                leaves(
                    x,
                    format!("{path}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                )
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{path}/{i}"), out)
            }
        }
        Value::Null => {}
        _ => out.push(path),
    }
}

const HEX: &[u8] = b"0123456789abcdef";

/// Changes a leaf to a different value of the same kind.
fn mutate_leaf(v: &mut Value, rng: &mut ChaCha20Rng) {
    match v {
        Value::Bool(b) => *b = !*b,
        Value::Number(n) => {
            let x = n.as_u64().unwrap_or(0);
            *v = Value::from(x.wrapping_add(1 + u64::from(rng.next_u32() % 3)));
        }
        Value::String(s) => {
            let mut bytes = s.clone().into_bytes();
            if bytes.is_empty() {
                *v = Value::String("x".into());
                return;
            }
            let i = rng.next_u32() as usize % bytes.len();
            let old = bytes[i];
            let new = if old.is_ascii_hexdigit() && old.is_ascii_lowercase() || old.is_ascii_digit()
            {
                // another lowercase hex digit, so hex fields stay hex-shaped
                let mut c = HEX[rng.next_u32() as usize % 16];
                if c == old {
                    c = if old == b'0' { b'1' } else { b'0' };
                }
                c
            } else if old == b'z' {
                b'y'
            } else {
                old.wrapping_add(1) & 0x7f
            };
            bytes[i] = if new == 0 { b'a' } else { new };
            *v = Value::String(String::from_utf8_lossy(&bytes).into_owned());
        }
        _ => {}
    }
}

#[test]
fn random_mutations_are_detected() {
    let out = simulate(
        &SimulationConfig {
            voters: 9,
            tables: 1,
            revote_fraction: 0.2,
            seed: 42,
            ..SimulationConfig::default()
        },
        &mut |_, _, _| {},
    )
    .unwrap();
    let files = out.record.to_files().unwrap();
    assert!(verify_record(&out.record).ok());
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let mut detected = 0;
    let trials: usize = std::env::var("TABELLA_TAMPER_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    for trial in 0..trials {
        let mut mutated: Vec<(&str, Vec<u8>)> =
            files.iter().map(|(n, b)| (*n, b.clone())).collect();
        let fi = rng.next_u32() as usize % mutated.len();
        let (name, bytes) = &mut mutated[fi];
        let text = String::from_utf8(bytes.clone()).unwrap();
        let description;
        if name.ends_with(".jsonl") {
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            let li = rng.next_u32() as usize % lines.len();
            let mut v: Value = serde_json::from_str(&lines[li]).unwrap();
            let mut ls = Vec::new();
            leaves(&v, String::new(), &mut ls);
            let p = &ls[rng.next_u32() as usize % ls.len()];
            mutate_leaf(v.pointer_mut(p).unwrap(), &mut rng);
            description = format!("{name} line {} at {p}", li + 1);
            lines[li] = v.to_string();
            *bytes = (lines.join("\n") + "\n").into_bytes();
        } else {
            let mut v: Value = serde_json::from_str(&text).unwrap();
            let mut ls = Vec::new();
            leaves(&v, String::new(), &mut ls);
            if ls.is_empty() {
                continue;
            }
            let p = &ls[rng.next_u32() as usize % ls.len()];
            mutate_leaf(v.pointer_mut(p).unwrap(), &mut rng);
            description = format!("{name} at {p}");
            *bytes = serde_json::to_vec_pretty(&v).unwrap();
        }
        let get = |n: &str| {
            mutated
                .iter()
                .find(|(m, _)| *m == n)
                .map(|(_, b)| b.clone())
        };
        match Record::from_files(get) {
            Err(_) => detected += 1,
            Ok(rec) => {
                let report = verify_record(&rec);
                assert!(
                    !report.ok(),
                    "trial {trial}: mutation of {description} was not detected"
                );
                detected += 1;
            }
        }
    }
    assert_eq!(detected, trials);
}

#[test]
fn removing_or_reordering_actions_is_detected() {
    let out = simulate(
        &SimulationConfig {
            voters: 6,
            tables: 1,
            seed: 43,
            ..SimulationConfig::default()
        },
        &mut |_, _, _| {},
    )
    .unwrap();
    let n = out.record.log.len();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for _ in 0..10 {
        let mut r = out.record.clone();
        let i = rng.next_u32() as usize % n;
        r.log.remove(i);
        assert!(
            !verify_record(&r).ok(),
            "removing action {i} was not detected"
        );
    }
    // Phase order: a ballot moved before the election opened, or the close moved before the
    // ballots, must be detected.
    use tabella_election::action::{Envelope, OfficialAction};
    let is = |e: &Envelope, f: fn(&OfficialAction) -> bool| match e {
        Envelope::Official(a) => a.open().map(|b| f(&b.action)).unwrap_or(false),
        _ => false,
    };
    let open = out
        .record
        .log
        .iter()
        .position(|e| is(e, |a| matches!(a, OfficialAction::Open)))
        .unwrap();
    let close = out
        .record
        .log
        .iter()
        .position(|e| is(e, |a| matches!(a, OfficialAction::Close)))
        .unwrap();
    let first_ballot = out
        .record
        .log
        .iter()
        .position(|e| matches!(e, Envelope::Ballot(_)))
        .unwrap();
    let mut r = out.record.clone();
    let b = r.log.remove(first_ballot);
    r.log.insert(open, b);
    assert!(
        !verify_record(&r).ok(),
        "a ballot before the opening was not detected"
    );
    let mut r = out.record.clone();
    let c = r.log.remove(close);
    r.log.insert(first_ballot, c);
    assert!(
        !verify_record(&r).ok(),
        "a close before the ballots was not detected"
    );
}
