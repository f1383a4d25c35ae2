//! Light-client proofs (`tabella_ledger::light`), as `tabella chain verify` receives them from
//! an untrusted node: JSON of a `LightProof`, verified from the fixture chain's genesis hash and
//! roster to the height the proof ends at. Any proof that verifies must lead to the header the
//! chain really holds at that height (soundness: no forged path is accepted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_fuzz::{chain, json_round_trip};
use tabella_ledger::light::{self, LightProof};

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("light_client"), |data: &[u8]| {
    let Ok(proof) = serde_json::from_slice::<LightProof>(data) else {
        return;
    };
    json_round_trip(&proof);
    let f = chain();
    let c = &f.chain;
    let target = proof
        .steps
        .last()
        .map_or(proof.genesis.height, |s| s.header.height);
    if let Ok(v) = light::verify(&c.genesis_hash(), &f.genesis_roster, &proof, target) {
        let real = c.block(target).map(|b| b.header.hash());
        assert_eq!(real, Some(v.hash), "a forged light-client proof verified");
        assert_eq!(v.header.hash(), v.hash);
        assert_eq!(v.links_used, proof.steps.len());
    }
});
