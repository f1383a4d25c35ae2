//! Election records (`Record::from_files`, the directory `tabella verify` audits): seven files
//! (`record.json`, `actions.jsonl`, `manifest.json`, `key-ceremony.json`, `tallies.json`,
//! `results.json`, `counts.json`) separated by NUL bytes. A decoded record must re-encode to
//! files that decode to the same files again, and the independent verifier runs on it: it may
//! pass only if the record's log and results are the fixture election's.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_election::record::{files, Record};
use tabella_election::verify::verify_record;
use tabella_fuzz::{election, split_parts};

const ORDER: [&str; 7] = [
    files::INDEX,
    files::ACTIONS,
    files::MANIFEST,
    files::KEY_CEREMONY,
    files::TALLIES,
    files::RESULTS,
    files::COUNTS,
];

fn decode(parts: &[Option<&[u8]>]) -> Option<Record> {
    Record::from_files(|name| {
        let i = ORDER.iter().position(|n| *n == name)?;
        parts[i].map(<[u8]>::to_vec)
    })
    .ok()
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("election_record"), |data: &[u8]| {
    let parts = split_parts(data, ORDER.len());
    let Some(record) = decode(&parts) else {
        return;
    };
    let files1 = record.to_files().unwrap();
    let parts1: Vec<Option<&[u8]>> = files1.iter().map(|(_, b)| Some(b.as_slice())).collect();
    let again = decode(&parts1).expect("a re-encoded record decodes");
    let files2 = again.to_files().unwrap();
    assert_eq!(files1, files2, "record encoding is not stable");
    let report = verify_record(&record);
    if report.ok() {
        let fixture = &election().record;
        assert_eq!(record.log, fixture.log, "the verifier passed another log");
        assert_eq!(record.results, fixture.results, "the verifier passed other results");
    }
});
