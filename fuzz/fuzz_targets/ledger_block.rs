//! Ledger blocks and commit certificates, as a node receives them from peers (value sync) and
//! the light client from a node: `engine::codec::decode_block`, `Commit` and `ForwardLink`
//! JSON. Input: block, commit and forward link separated by NUL bytes. A block must round-trip
//! with a stable header hash and be checked as a successor of the fixture chain; a commit
//! certificate or forward link that verifies against the fixture chain's rosters must certify a
//! header that is really in the chain (no forged certificate is accepted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_fuzz::{chain, json_round_trip, split_parts};
use tabella_ledger::block::{Commit, ForwardLink};
use tabella_ledger::types::Height;
use tabella_node::engine::codec::{decode_block, encode_block};

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("ledger_block"), |data: &[u8]| {
    let parts = split_parts(data, 3);
    let f = chain();
    let c = &f.chain;
    if let Some(Ok(block)) = parts[0].map(decode_block) {
        json_round_trip(&block);
        let again = decode_block(&encode_block(&block).unwrap()).unwrap();
        assert_eq!(again.header.hash(), block.header.hash());
        let _ = block.check_tx_root();
        let _ = block.tx_ids();
        // Check it as the successor of every block of the chain it claims to follow.
        let _ = c.check_successor(&block);
        if let Some(commit) = parts[1].and_then(|b| serde_json::from_slice::<Commit>(b).ok()) {
            json_round_trip(&commit);
            if let Some(roster) = c.roster(&block.header.roster_hash) {
                if commit.verify(&block.header, roster).is_ok() {
                    let real = c.block(block.header.height).map(|b| b.header.hash());
                    assert_eq!(
                        real,
                        Some(block.header.hash()),
                        "a commit certificate for a block not in the chain verified"
                    );
                }
            }
        }
    }
    if let Some(Ok(link)) = parts[2].map(serde_json::from_slice::<ForwardLink>) {
        json_round_trip(&link);
        let from = c.block(link.from_height);
        if let Some(from) = from {
            if let Some(roster) = c.roster(&from.header.next_roster_hash) {
                for h in 0..=c.height().0 {
                    let target = &c.block(Height(h)).unwrap().header;
                    if link.verify(&from.header, target, roster).is_ok() {
                        let real = c.forward_link(link.from_height, link.level);
                        assert!(
                            real.is_some_and(|r| r.to == target.hash() && r.from == link.from),
                            "a forward link the chain does not hold verified"
                        );
                    }
                }
            }
        }
    }
});
