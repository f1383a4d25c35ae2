//! A 100-block skipchain with a 4-validator roster and a roster change at block 50; the light
//! client verifies blocks from genesis in O(log k) links and rejects forged proofs.

mod common;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tabella_ledger::block::{ForwardLink, FORWARD_LINK_DOMAIN};
use tabella_ledger::light::{self, LightProof, Link};
use tabella_ledger::roster::{Roster, ValidatorSecret};
use tabella_ledger::tx::{RosterChange, Transaction};
use tabella_ledger::types::{BlockHash, Height, StateRoot};
use tabella_ledger::Error;

use common::{net, net_with, Net};
use tabella_ledger::block::SkipchainParams;

/// Genesis roster = validators 0..4; at block 50 validator 3 is replaced by validator 4.
fn hundred_blocks() -> (Net, Roster) {
    let mut n = net(5, 4, 42);
    for _ in 1..50 {
        n.step(vec![]);
    }
    let r0 = n.genesis_roster.clone();
    let r1 = Roster::new(
        [0, 1, 2, 4]
            .iter()
            .map(|&i| n.secrets[i].public())
            .collect(),
    )
    .unwrap();
    let change = RosterChange::signed(
        &r0,
        0,
        r1.clone(),
        &[&n.secrets[0], &n.secrets[1], &n.secrets[3]],
    );
    let b50 = n.step(vec![Transaction::Governance(change)]);
    assert_eq!(b50.header.height, Height(50));
    assert_eq!(b50.header.roster_hash, r0.hash());
    assert_eq!(b50.header.next_roster_hash, r1.hash());
    for _ in 51..=100 {
        n.step(vec![]);
    }
    assert_eq!(n.chain().height(), Height(100));
    (n, r1)
}

#[test]
fn light_client_verifies_from_genesis_with_few_links() {
    let (n, r1) = hundred_blocks();
    let chain = n.chain();
    let genesis = chain.genesis_hash();
    // After the hand-over, block 51 is committed by the new roster only.
    assert_eq!(
        chain.block(Height(51)).unwrap().header.roster_hash,
        r1.hash()
    );
    let c51 = chain.commit(Height(51)).unwrap();
    assert!(c51.signatures.iter().all(|s| r1.contains(&s.validator)));

    let proof = chain.light_proof(Height(97)).unwrap();
    let v = light::verify(&genesis, &n.genesis_roster, &proof, Height(97)).unwrap();
    assert_eq!(v.hash, chain.block(Height(97)).unwrap().header.hash());
    // 0 -> 64 (level 3), 64 -> 80 -> 96 (level 2), 96 -> 97 (commit): 4 links, not 97.
    assert_eq!(
        v.links_used,
        4,
        "{:?}",
        proof
            .steps
            .iter()
            .map(|s| s.header.height)
            .collect::<Vec<_>>()
    );
    assert!(proof
        .steps
        .iter()
        .any(|s| matches!(s.link, Link::Forward(_))));
    // The path crosses the roster change: the proof carries both rosters.
    assert_eq!(proof.rosters.len(), 2);
    // Proofs travel as JSON.
    let json = serde_json::to_string(&proof).unwrap();
    let back: LightProof = serde_json::from_str(&json).unwrap();
    assert_eq!(
        light::verify(&genesis, &n.genesis_roster, &back, Height(97))
            .unwrap()
            .hash,
        v.hash
    );

    // Every height verifies, always with few links (b·log_b k bound).
    for k in 0..=100u64 {
        let p = chain.light_proof(Height(k)).unwrap();
        let v = light::verify(&genesis, &n.genesis_roster, &p, Height(k)).unwrap();
        assert_eq!(v.hash, chain.block(Height(k)).unwrap().header.hash());
        assert!(v.links_used <= 12, "height {k}: {} links", v.links_used);
    }
    // All replicas hold the same chain.
    for val in &n.vals {
        assert_eq!(val.chain().tip().header.hash(), chain.tip().header.hash());
    }
}

#[test]
fn back_links_follow_base_and_height() {
    let mut n = net(4, 4, 7);
    for _ in 0..20 {
        n.step(vec![]);
    }
    let chain = n.chain();
    let h = |k: u64| chain.block(Height(k)).unwrap().header.clone();
    assert_eq!(
        h(16).back_links,
        vec![h(15).hash(), h(12).hash(), h(0).hash()]
    );
    assert_eq!(h(8).back_links, vec![h(7).hash(), h(4).hash()]);
    assert_eq!(h(7).back_links, vec![h(6).hash()]);
    assert!(h(0).back_links.is_empty());
    assert!(chain.forward_link(Height(0), 2).is_some());
    assert!(chain.forward_link(Height(12), 1).is_some());
    assert!(chain.forward_link(Height(13), 1).is_none());
}

fn verify(n: &Net, p: &LightProof, k: u64) -> Result<light::Verified, Error> {
    light::verify(&n.chain().genesis_hash(), &n.genesis_roster, p, Height(k))
}

fn forward_mut(p: &mut LightProof, i: usize) -> &mut ForwardLink {
    match &mut p.steps[i].link {
        Link::Forward(f) => f,
        Link::Commit(_) => panic!("step {i} is a commit"),
    }
}

#[test]
fn light_client_rejects_forgeries() {
    let (n, _) = hundred_blocks();
    let good = n.chain().light_proof(Height(97)).unwrap();
    verify(&n, &good, 97).unwrap();

    // Altered header.
    let mut p = good.clone();
    p.steps[1].header.state_root = StateRoot([7; 32]);
    assert!(verify(&n, &p, 97).is_err());
    let mut p = good.clone();
    p.steps[3].header.tx_count += 1;
    assert!(verify(&n, &p, 97).is_err());

    // Missing signature quorum (2 of 4, need 3) on a forward link and on a commit.
    let mut p = good.clone();
    forward_mut(&mut p, 0).signatures.truncate(2);
    assert!(matches!(verify(&n, &p, 97), Err(Error::NoQuorum { .. })));
    let mut p = good.clone();
    if let Link::Commit(c) = &mut p.steps[3].link {
        c.signatures.truncate(2);
    }
    assert!(matches!(verify(&n, &p, 97), Err(Error::NoQuorum { .. })));

    // The same signer counted twice.
    let mut p = good.clone();
    let f = forward_mut(&mut p, 0);
    f.signatures.truncate(2);
    let dup = f.signatures[0];
    f.signatures.push(dup);
    assert!(verify(&n, &p, 97).is_err());

    // A forged signature (right claimed signer, wrong key).
    let mut p = good.clone();
    let f = forward_mut(&mut p, 0);
    let msg = ForwardLink::message(f.from_height, f.level, &f.from, &f.to);
    let outsider = ValidatorSecret::generate(&mut ChaCha20Rng::seed_from_u64(99));
    f.signatures[0].signature = outsider.sign(FORWARD_LINK_DOMAIN, &msg);
    assert!(matches!(verify(&n, &p, 97), Err(Error::BadSignature(_))));

    // A forged link to a fabricated block 64 signed by an attacker roster passed off in the proof.
    let mut rng = ChaCha20Rng::seed_from_u64(1234);
    let attackers: Vec<ValidatorSecret> = (0..4)
        .map(|_| ValidatorSecret::generate(&mut rng))
        .collect();
    let evil = Roster::new(attackers.iter().map(|s| s.public()).collect()).unwrap();
    let mut p = good.clone();
    let mut fake64 = p.steps[0].header.clone();
    fake64.state_root = StateRoot([6; 32]);
    fake64.next_roster_hash = evil.hash();
    let sigs = attackers
        .iter()
        .map(|s| ForwardLink::sign(s, &p.genesis, 3, &fake64))
        .collect();
    *forward_mut(&mut p, 0) = ForwardLink {
        from_height: Height(0),
        from: p.genesis.hash(),
        level: 3,
        to: fake64.hash(),
        signatures: sigs,
    };
    p.steps[0].header = fake64;
    p.rosters.push(evil.clone());
    assert!(verify(&n, &p, 97).is_err());

    // Wrong trust anchors.
    assert!(light::verify(&BlockHash([0; 32]), &n.genesis_roster, &good, Height(97)).is_err());
    assert!(matches!(
        light::verify(&n.chain().genesis_hash(), &evil, &good, Height(97)),
        Err(Error::BadRoster(_))
    ));

    // A link skipped (broken chain), a truncated proof, a wrong target.
    let mut p = good.clone();
    p.steps.remove(1);
    assert!(verify(&n, &p, 97).is_err());
    let mut p = good.clone();
    p.steps.pop();
    assert!(verify(&n, &p, 97).is_err());
    assert!(verify(&n, &good, 96).is_err());

    // A missing roster.
    let mut p = good.clone();
    p.rosters.clear();
    assert!(matches!(verify(&n, &p, 97), Err(Error::BadRoster(_))));
}

#[test]
fn roster_change_needs_a_quorum_of_the_current_roster() {
    let mut n = net(5, 4, 3);
    n.step(vec![]);
    let r0 = n.genesis_roster.clone();
    let r1 = Roster::new(vec![n.secrets[4].public()]).unwrap();
    // Two of four is not > 2/3.
    let weak = RosterChange::signed(&r0, 0, r1.clone(), &[&n.secrets[0], &n.secrets[1]]);
    assert!(n.propose(vec![Transaction::Governance(weak)]).is_err());
    // Signed by keys outside the roster.
    let outsiders = RosterChange::signed(
        &r0,
        0,
        r1.clone(),
        &[&n.secrets[4], &n.secrets[0], &n.secrets[1]],
    );
    assert!(n.propose(vec![Transaction::Governance(outsiders)]).is_err());
    // A valid change applies once; replaying it is rejected (epoch and old roster).
    let ok = RosterChange::signed(
        &r0,
        0,
        r1.clone(),
        &[&n.secrets[0], &n.secrets[1], &n.secrets[2]],
    );
    n.step(vec![Transaction::Governance(ok.clone())]);
    assert_eq!(n.chain().next_roster().unwrap(), &r1);
    assert!(n
        .propose(vec![Transaction::Governance(ok.clone())])
        .is_err());
    // The one-validator roster now commits alone; the old validators cannot vote.
    let b = n.propose(vec![]).unwrap();
    assert_eq!(n.collect_votes(&b).len(), 1);
    n.decide(b).unwrap();
    // Handing back to the old roster (change number 1, signed by the new roster)...
    let back = RosterChange::signed(&r1, 1, r0.clone(), &[&n.secrets[4]]);
    // ...with a wrong epoch is refused,
    let wrong_epoch = RosterChange::signed(&r1, 0, r0.clone(), &[&n.secrets[4]]);
    assert!(n
        .propose(vec![Transaction::Governance(wrong_epoch)])
        .is_err());
    n.step(vec![Transaction::Governance(back)]);
    assert_eq!(n.chain().next_roster().unwrap(), &r0);
    assert_eq!(n.vals[0].state().roster_epoch(), 2);
    // ...and the first change cannot be replayed although the roster is r0 again.
    assert!(matches!(
        n.propose(vec![Transaction::Governance(ok)]),
        Err(Error::InvalidTxInBlock { .. })
    ));
    assert!(n.vals[0]
        .state()
        .check_tx(&Transaction::Governance(RosterChange::signed(
            &r0,
            2,
            r1,
            &[&n.secrets[0], &n.secrets[1], &n.secrets[2]],
        )))
        .is_ok());
}

#[test]
fn other_bases_and_heights_verify_every_block() {
    for (base, max_height) in [(2, 3), (3, 2), (2, 1), (5, 8)] {
        let params = SkipchainParams { base, max_height };
        let mut n = net_with(params, 4, 4, base);
        for _ in 0..40 {
            n.step(vec![]);
        }
        let chain = n.chain();
        for k in 0..=40u64 {
            let p = chain.light_proof(Height(k)).unwrap();
            let v = light::verify(&chain.genesis_hash(), &n.genesis_roster, &p, Height(k)).unwrap();
            assert_eq!(v.hash, chain.block(Height(k)).unwrap().header.hash());
            // Greedy descent: at most (b − 1) hops per level plus the climb.
            let top = u64::from(max_height - 1);
            let bound = if top == 0 {
                k
            } else {
                (base - 1) * 2 * (top + 1) + k / base.pow(top as u32)
            };
            assert!(
                v.links_used as u64 <= bound.max(1),
                "b={base} h={max_height} k={k}: {}",
                v.links_used
            );
        }
        // With one level there are no forward links: every hop is a commit.
        if max_height == 1 {
            let p = chain.light_proof(Height(40)).unwrap();
            assert_eq!(p.steps.len(), 40);
        }
    }
}
