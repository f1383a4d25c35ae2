//! Issue 10, finding 3, played by a lazy validator: its verdict bitmap declares its own proof
//! list, proof kinds, sampling rate or sampling beacon so that it may sign "not verified" for
//! proofs it never checked. Each variant passes the bitmap's own consistency check
//! ([`SignedBitmap::verify`], all the old code asked) and is now refused when the `Verdicts`
//! transaction is applied or its block is validated; the honest bitmaps are accepted.

mod common;

use tabella_election::batch::forgery::Scenario;
use tabella_ledger::block::Block;
use tabella_ledger::roster::ValidatorSecret;
use tabella_ledger::tx::Transaction;
use tabella_ledger::types::{BlockHash, Height};
use tabella_ledger::verdict::{ProofKind, ProofSlot, SampleRate, SignedBitmap, VerdictBitmap};

/// A lazy bitmap on `block`: every slot "not verified" unless its own draw forces a check.
fn lazy(
    secret: &ValidatorSecret,
    block: &Block,
    prev: BlockHash,
    rate: SampleRate,
    kinds: impl Fn(usize) -> ProofKind,
    keep: usize,
) -> SignedBitmap {
    let slots: Vec<ProofSlot> = block
        .tx_ids()
        .unwrap()
        .iter()
        .take(keep)
        .enumerate()
        .map(|(i, id)| ProofSlot {
            id: tabella_ledger::types::ProofId(id.0),
            kind: kinds(i),
            received: true,
        })
        .collect();
    VerdictBitmap::judge(
        block.header.height,
        prev,
        secret.public(),
        rate,
        &slots,
        |_, _| true,
    )
    .sign(secret)
    .unwrap()
}

#[test]
fn lazy_verdict_bitmaps_are_refused() {
    let sc = Scenario::open(0, 41).expect("scenario");
    let txs: Vec<Transaction> = sc
        .log
        .iter()
        .map(|e| Transaction::election(e.clone()).unwrap())
        .collect();
    let mut net = common::net(4, 4, 7);
    let block = net.propose(txs).unwrap();
    let judged = block.header.height;
    let prev = net.chain().tip().header.hash();
    let honest: Vec<SignedBitmap> = net
        .vals
        .iter()
        .map(|v| v.judge(&block, &[]).unwrap())
        .collect();
    net.decide(block.clone()).expect("commits");
    let state = net.vals[0].state().clone();
    let lazy_one = &net.secrets[3];
    let n = block.txs.len();
    let ppm = SampleRate::per_million(1).unwrap();

    // The honest bitmaps are accepted.
    state
        .check_verdicts(judged, &honest)
        .expect("honest bitmaps");
    net.chain()
        .check_verdict_beacons(judged, &honest)
        .expect("honest beacons");

    // (a) every proof declared heavy, sampled at 1 ppm: everything "not verified".
    let a = lazy(lazy_one, &block, prev, ppm, |_| ProofKind::Heavy, n);
    // (b) a shortened proof list.
    let b = lazy(lazy_one, &block, prev, ppm, |_| ProofKind::Heavy, n / 2);
    // (c) one ballot-like slot declared heavy, honest rate otherwise.
    let c = lazy(
        lazy_one,
        &block,
        prev,
        tabella_ledger::verdict::HEAVY_SAMPLE_RATE,
        |i| {
            if i == 0 {
                ProofKind::Heavy
            } else {
                ProofKind::Always
            }
        },
        n,
    );
    // (d) a made-up beacon (a lazy node would search for one whose draw skips its proofs).
    let fake = BlockHash([0x42; 32]);
    let d = lazy(
        lazy_one,
        &block,
        fake,
        tabella_ledger::verdict::HEAVY_SAMPLE_RATE,
        |_| ProofKind::Always,
        n,
    );
    for (name, bad) in [("a", &a), ("b", &b), ("c", &c)] {
        bad.verify()
            .unwrap_or_else(|e| panic!("({name}) passes its own check: {e}"));
        assert!(
            state
                .check_verdicts(judged, std::slice::from_ref(bad))
                .is_err(),
            "({name}) refused"
        );
    }
    d.verify().expect("(d) passes its own check");
    assert!(net
        .chain()
        .check_verdict_beacons(judged, std::slice::from_ref(&d))
        .is_err());

    // (e) a "not verified" on an always-verified proof: the bitmap's own check refuses it.
    let mut e = honest[3].bitmap.clone();
    e.bits[0] = (e.bits[0] & !3) | 2;
    assert!(e.sign(lazy_one).unwrap().verify().is_err());

    // Verdicts for any block but the last one applied are refused too.
    assert!(state.check_verdicts(Height(judged.0 + 1), &honest).is_err());
}
