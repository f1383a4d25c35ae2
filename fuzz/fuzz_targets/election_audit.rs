//! Audited (spoiled) ballots (`tabella_election::audit`, Benaloh's cast-or-audit), as
//! `tabella verify-ballot` and the node's audit page read them from a voter's file: JSON of an
//! `AuditedBallot`, checked against the fixture election. A decoded file must round-trip; a
//! file that passes the check must name choices that encode under the manifest, and the same
//! check must give the same verdict twice.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_election::audit::{check_audited, AuditedBallot};
use tabella_fuzz::{json_round_trip, open_election};

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("election_audit"), |data: &[u8]| {
    let Ok(audited) = serde_json::from_slice::<AuditedBallot>(data) else {
        return;
    };
    json_round_trip(&audited);
    let state = open_election();
    let manifest = state.manifest().unwrap();
    let key = state.election_key().unwrap();
    let first = check_audited(manifest, key, &audited);
    let second = check_audited(manifest, key, &audited);
    assert_eq!(first.is_ok(), second.is_ok());
    if first.is_ok() {
        assert_eq!(audited.choices.len(), manifest.contests.len());
        for (c, choice) in manifest.contests.iter().zip(&audited.choices) {
            assert!(tabella_election::ballot::encode_choice(c, choice).is_ok());
        }
    }
});
