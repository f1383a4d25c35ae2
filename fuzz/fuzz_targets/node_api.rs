//! The node's HTTP API bodies (`tabella_node::api`, `tabella_node::wire`): what the server
//! decodes from clients (a transaction, a batch of them, a validator's link signature) and what
//! the client decodes from a node it does not trust (status, receipts, blocks with their commit
//! certificates, election summaries, verdicts, statistics). The same bytes are tried as every
//! body; each that decodes must round-trip. Receipts are checked against the fixture chain: a
//! Merkle receipt that verifies must name a transaction that block really holds, and a commit
//! certificate that verifies must be for a block of the chain.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tabella_fuzz::{chain, json_round_trip, json_stable};
use tabella_ledger::merkle::Receipt;
use tabella_ledger::roster::ValidatorSignature;
use tabella_ledger::stats::{ConsortiumEntry, QueryProofs, QueryVerdicts};
use tabella_ledger::tx::Transaction;
use tabella_node::wire::{
    ApiError, BallotLookup, BlockWithCommit, CommittedVerdicts, ElectionEnvelopes, ElectionSummary,
    NodeStatus, Submitted, TxStatus,
};

fn check_receipt(r: &Receipt) {
    let c = &chain().chain;
    let Some(block) = c.block(r.height) else {
        return;
    };
    if r.verify(&block.header.tx_root).is_ok() {
        let ids = block.tx_ids().unwrap();
        assert!(
            ids.get(r.proof.index as usize) == Some(&r.tx_id),
            "a receipt for a transaction the block does not hold verified"
        );
    }
}

fn decode<T: serde::de::DeserializeOwned>(data: &[u8]) -> Option<T> {
    serde_json::from_slice(data).ok()
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("node_api"), |data: &[u8]| {
    if let Some(tx) = decode::<Transaction>(data) {
        json_round_trip(&tx);
    }
    if let Some(txs) = decode::<Vec<Transaction>>(data) {
        json_round_trip(&txs);
    }
    if let Some(sig) = decode::<ValidatorSignature>(data) {
        json_round_trip(&sig);
    }
    if let Some(v) = decode::<NodeStatus>(data) {
        json_round_trip(&v);
    }
    if let Some(v) = decode::<TxStatus>(data) {
        json_round_trip(&v);
        if let TxStatus::Committed { receipt } = &v {
            check_receipt(receipt);
        }
    }
    if let Some(v) = decode::<BallotLookup>(data) {
        json_round_trip(&v);
        check_receipt(&v.receipt);
    }
    if let Some(v) = decode::<BlockWithCommit>(data) {
        json_round_trip(&v);
        let c = &chain().chain;
        if let (Some(commit), Some(roster)) = (&v.commit, c.roster(&v.block.header.roster_hash)) {
            if commit.verify(&v.block.header, roster).is_ok() {
                assert_eq!(
                    c.block(v.block.header.height).map(|b| b.header.hash()),
                    Some(v.block.header.hash()),
                    "a commit certificate for a block not in the chain verified"
                );
            }
        }
    }
    if let Some(v) = decode::<ElectionSummary>(data) {
        json_round_trip(&v);
    }
    if let Some(v) = decode::<CommittedVerdicts>(data) {
        json_round_trip(&v);
    }
    if let Some(v) = decode::<ElectionEnvelopes>(data) {
        json_round_trip(&v);
    }
    if let Some(v) = decode::<ApiError>(data) {
        json_round_trip(&v);
    }
    if let Some(v) = decode::<Submitted>(data) {
        json_round_trip(&v);
    }
    if let Some(v) = decode::<ConsortiumEntry>(data) {
        json_stable(&v);
    }
    if let Some(v) = decode::<QueryProofs>(data) {
        json_stable(&v);
    }
    if let Some(v) = decode::<QueryVerdicts>(data) {
        json_stable(&v);
    }
});
