//! Parsers and the state machine never panic on hostile input: arbitrary bytes, truncated or
//! bit-flipped envelopes, garbage ballot payloads (property tests standing in for fuzzing).

use std::sync::OnceLock;

use proptest::prelude::*;
use tabella_election::action::Envelope;
use tabella_election::record::Record;
use tabella_election::simulate::{simulate, SimulationConfig, SimulationOutput};
use tabella_election::state::{ElectionState, Phase};

fn election() -> &'static SimulationOutput {
    static E: OnceLock<SimulationOutput> = OnceLock::new();
    E.get_or_init(|| {
        simulate(
            &SimulationConfig {
                voters: 4,
                tables: 1,
                ..Default::default()
            },
            &mut |_, _, _| {},
        )
        .expect("simulation")
    })
}

/// An election state in the open phase (replayed up to the first ballot).
fn open_state() -> ElectionState {
    let mut st = ElectionState::new();
    for env in &election().record.log {
        if matches!(env, Envelope::Ballot(_)) {
            break;
        }
        st.apply(env).expect("valid log");
    }
    assert_eq!(st.phase(), Some(Phase::Open));
    st
}

fn lines() -> Vec<String> {
    election()
        .record
        .log
        .iter()
        .map(|e| serde_json::to_string(e).expect("encode"))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<Envelope>(&bytes);
        let _ = Record::from_files(|_| Some(bytes.clone()));
    }

    #[test]
    fn damaged_envelopes_are_rejected_without_panic(
        which in 0usize..1000, cut in 0usize..4000, flip in 0usize..4000, bit in 0u8..8
    ) {
        let lines = lines();
        let line = &lines[which % lines.len()];
        let mut st = open_state();
        let before = st.counts();
        // truncated
        let t = &line.as_bytes()[..cut % line.len()];
        if let Ok(env) = serde_json::from_slice::<Envelope>(t) {
            let _ = st.apply(&env);
        }
        // one bit flipped
        let mut b = line.clone().into_bytes();
        let i = flip % b.len();
        b[i] ^= 1 << bit;
        if let Ok(env) = serde_json::from_slice::<Envelope>(&b) {
            if serde_json::to_string(&env).ok().as_deref() != Some(line.as_str()) {
                // Any envelope whose content changed is rejected (signatures cover every byte
                // that matters), and the state is untouched.
                prop_assert!(st.apply(&env).is_err(), "a changed envelope was accepted: {env:?}");
                prop_assert_eq!(st.counts(), before.clone());
            }
        }
    }

    #[test]
    fn garbage_ballot_payloads_are_rejected(payload in ".{0,300}") {
        let mut st = open_state();
        let Envelope::Ballot(mut b) = election()
            .record
            .log
            .iter()
            .find(|e| matches!(e, Envelope::Ballot(_)))
            .cloned()
            .expect("a ballot") else { unreachable!() };
        b.payload = payload;
        prop_assert!(st.apply(&Envelope::Ballot(b)).is_err());
    }
}
