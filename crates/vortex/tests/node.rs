//! A node under attack: forged, truncated, modified, replayed, expired, early, over-quota and
//! unproved messages each get a typed reason and the node keeps working; errors go back only
//! through the identity's reply block; a tagged chunk is caught at the next honest node; a
//! recipient answers through a reply block without learning the sender.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tabella_vortex::accounting::{DropReason, Policy};
use tabella_vortex::asn1::{SpecialBlock, StatusCode};
use tabella_vortex::builder::{self, NodeInfo, Route, Sender, Slots, Timing};
use tabella_vortex::sim::{self, Config, Network};

/// Four nodes whose users have identities everywhere (cheap puzzles: the work is not under test
/// here).
fn network(policy: Policy, seed: u64) -> Network {
    let policy = Policy {
        puzzle_bits: Some(4),
        ..policy
    };
    let mut net = Network::new(4, &policy, 2048, 1, seed).unwrap();
    net.create_identities().unwrap();
    net
}

fn timing(net: &Network) -> Timing {
    Timing {
        min: 0,
        max: 0,
        now: net.now(),
        lifetime: 3600,
    }
}

/// A direct message from user `from` to node `to` (no relays).
fn direct(
    net: &Network,
    from: usize,
    to: usize,
    text: &[u8],
    t: &Timing,
    rng: &mut ChaCha20Rng,
) -> Vec<u8> {
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: net.identities(from),
        slots: &mut slots,
    };
    let recipient = net.infos()[to].clone();
    let route = Route {
        recipient: &recipient,
        paths: &[vec![]],
        shape: None,
        decoys: &[],
        errors_to: None,
        replays: 0,
    };
    let built = sender.forward(text, &route, t, rng).unwrap();
    built.outgoing[0].bytes.clone()
}

fn reason(r: Result<(), String>) -> String {
    r.err().unwrap_or_else(|| "accepted".into())
}

#[test]
fn forged_truncated_and_modified_messages_are_dropped_and_the_node_keeps_working() {
    let mut net = network(Policy::default(), 1);
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let t = timing(&net);
    let good = direct(&net, 0, 1, b"hello", &t, &mut rng);

    // Random bytes, and a message sealed for another node: not for us (silent).
    let mut junk = vec![0u8; good.len()];
    rng.fill_bytes(&mut junk);
    assert_eq!(reason(net.inject(1, &junk)), "NotForUs");
    assert_eq!(reason(net.inject(2, &good)), "NotForUs");
    assert_eq!(reason(net.inject(1, &[])), "NotForUs");
    // Truncated anywhere: the prefix fails, or the inner block's tag does.
    for cut in [1, 100, 255, 256, 257, 300, good.len() / 2, good.len() - 1] {
        let r = reason(net.inject(1, &good[..cut]));
        assert!(r == "NotForUs" || r == "Tampered", "cut at {cut}: {r}");
    }
    // One bit flipped past the prefix: the inner block's tag fails.
    for at in [256, 300, good.len() - 17, good.len() - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        assert_eq!(reason(net.inject(1, &bad)), "Tampered", "bit at {at}");
    }
    // After all that, the genuine message is accepted and delivered.
    assert_eq!(reason(net.inject(1, &good)), "accepted");
    net.run(60);
    assert_eq!(net.inbox(1).len(), 1);
    assert_eq!(net.inbox(1)[0].1, b"hello");
}

#[test]
fn replayed_expired_and_early_headers_are_dropped_without_charge() {
    let mut net = network(Policy::default(), 3);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let t = timing(&net);
    let m = direct(&net, 0, 1, b"once", &t, &mut rng);
    let key = net
        .identities(0)
        .get(&net.infos()[1].address)
        .unwrap()
        .public()
        .clone();
    let id = tabella_vortex::accounting::IdentityId::of(&key);
    let quota = |net: &Network| net.node(1).accounts().get(&id).map(|i| i.message_quota);
    let before = quota(&net);
    assert_eq!(reason(net.inject(1, &m)), "accepted");
    let after = quota(&net);
    assert_eq!(after, before.map(|q| q - 1));
    assert_eq!(reason(net.inject(1, &m)), "Replayed");
    assert_eq!(quota(&net), after, "a replay costs the victim nothing");

    let early = Timing {
        now: net.now() + 10_000,
        ..t
    };
    let m = direct(&net, 0, 1, b"early", &early, &mut rng);
    assert_eq!(reason(net.inject(1, &m)), "NotYetValid");

    let m = direct(&net, 0, 1, b"late", &t, &mut rng);
    net.advance(3600 + 1);
    assert_eq!(reason(net.inject(1, &m)), "Expired");
    assert_eq!(quota(&net), after);
}

#[test]
fn unknown_and_unproved_identities_are_refused() {
    // Node 1 asks for a puzzle; user 0 asks for an identity but never solves it.
    let policy = Policy {
        puzzle_bits: Some(8),
        ..Policy::default()
    };
    let mut net = Network::new(3, &policy, 2048, 1, 5).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let t = timing(&net);
    let m = direct(&net, 0, 1, b"who are you", &t, &mut rng);
    assert_eq!(reason(net.inject(1, &m)), "IdentityUnknown");

    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: net.identities(0),
        slots: &mut slots,
    };
    let home = net.infos()[0].clone();
    let reply = sender
        .reply_block(&home, net.user(0), &[], &t, &mut rng)
        .unwrap();
    let request = sender
        .identity_request(&net.infos()[1], t.now + 86_400, reply, &t, &mut rng)
        .unwrap();
    assert_eq!(reason(net.inject(1, &request.bytes)), "accepted");
    net.run(60);
    let puzzles = net.take_specials(0);
    assert!(matches!(puzzles.as_slice(), [SpecialBlock::Requirement(_)]));
    let m = direct(&net, 0, 1, b"no work done", &t, &mut rng);
    assert_eq!(reason(net.inject(1, &m)), "PuzzlePending");
}

#[test]
fn over_quota_is_refused_and_reported_only_through_the_reply_block() {
    let policy = Policy {
        message_quota: 2,
        ..Policy::default()
    };
    let mut net = network(policy, 7);
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let t = timing(&net);
    let mut slots = Slots::default();
    let home = net.infos()[0].clone();
    let recipient = net.infos()[1].clone();
    let user = net.user(0).clone();
    let ids = net.identities(0).clone();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let murb = tabella_vortex::asn1::ReplyBlock {
        murb: sender.reply_block(&home, &user, &[], &t, &mut rng).unwrap(),
        max_replay: 1,
        validity: tabella_vortex::wire::absolute(t.now, t.now + 3600).unwrap(),
    };
    let with = Route {
        recipient: &recipient,
        paths: &[vec![]],
        shape: None,
        decoys: &[],
        errors_to: Some(&murb),
        replays: 0,
    };
    let mut send = |text: &[u8], rng: &mut ChaCha20Rng| {
        sender.forward(text, &with, &t, rng).unwrap().outgoing[0]
            .bytes
            .clone()
    };
    let (a, b, c) = (
        send(b"1", &mut rng),
        send(b"2", &mut rng),
        send(b"3", &mut rng),
    );
    assert_eq!(reason(net.inject(1, &a)), "accepted");
    assert_eq!(reason(net.inject(1, &b)), "accepted");
    assert_eq!(reason(net.inject(1, &c)), "MessageQuotaExceeded");
    net.run(60);
    assert_eq!(net.inbox(1).len(), 2);
    let specials = net.take_specials(0);
    assert_eq!(
        specials.len(),
        1,
        "one error report, through the reply block"
    );
    let SpecialBlock::Status(s) = &specials[0] else {
        panic!("{specials:?}");
    };
    assert_eq!(s.code, StatusCode::MessageQuotaExceeded);
    // The reply block had one use: a second refusal goes unreported.
    let d = send(b"4", &mut rng);
    assert_eq!(reason(net.inject(1, &d)), "MessageQuotaExceeded");
    net.run(60);
    assert!(net.take_specials(0).is_empty());
    assert_eq!(
        DropReason::MessageQuotaExceeded.status_code(),
        Some(3002),
        "the code the draft assigns"
    );
}

#[test]
fn a_tagged_chunk_is_caught_at_the_next_honest_node_and_redundancy_delivers() {
    let policy = Policy {
        puzzle_bits: Some(8),
        ..Policy::default()
    };
    let mut net = Network::new(6, &policy, 2048, 1, 9).unwrap();
    net.create_identities().unwrap();
    net.set_tagger(2);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let t = Timing {
        min: 1,
        max: 5,
        ..timing(&net)
    };
    let infos: Vec<NodeInfo> = net.infos().to_vec();
    // 2 of 4 blocks on paths 0→[2,3]→1, 0→[4,5]→1, 0→[3,4]→1, 0→[5,2]→1: node 2 tags the
    // blocks of two paths; node 3 (after 2 on the first path) and node 1 (after 2 on the last)
    // catch them.
    let paths = vec![
        vec![infos[2].clone(), infos[3].clone()],
        vec![infos[4].clone(), infos[5].clone()],
        vec![infos[3].clone(), infos[4].clone()],
        vec![infos[5].clone(), infos[2].clone()],
    ];
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: net.identities(0),
        slots: &mut slots,
    };
    let route = Route {
        recipient: &infos[1],
        paths: &paths,
        shape: Some(tabella_vortex::redundancy::Shape {
            data: 2,
            redundancy: 2,
            gf: tabella_vortex::redundancy::GfSize::Gf16,
        }),
        decoys: &[],
        errors_to: None,
        replays: 0,
    };
    let built = sender
        .forward(b"tag me if you can", &route, &t, &mut rng)
        .unwrap();
    net.send(built.outgoing);
    net.run(3600);
    assert_eq!(net.tagged_at(3), 1, "caught by the relay after the tagger");
    assert!(
        net.tagged_at(1) >= 1,
        "caught by the recipient's redundancy removal"
    );
    assert_eq!(net.tagged_at(2), 0);
    assert_eq!(net.inbox(1).len(), 1);
    assert_eq!(net.inbox(1)[0].1, b"tag me if you can");
}

#[test]
fn a_recipient_answers_through_a_reply_block_without_learning_the_sender() {
    let mut net = network(Policy::default(), 11);
    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let t = Timing {
        min: 1,
        max: 3,
        ..timing(&net)
    };
    let infos: Vec<NodeInfo> = net.infos().to_vec();
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: net.identities(0),
        slots: &mut slots,
    };
    // The reply goes 1 → 2 → 3 → home (0).
    let reply = sender
        .reply_block(
            &infos[0],
            net.user(0),
            &[infos[2].clone(), infos[3].clone()],
            &t,
            &mut rng,
        )
        .unwrap();
    let letter = builder::letter(b"write back", Some(&reply)).unwrap();
    let route = Route {
        recipient: &infos[1],
        paths: &[vec![infos[3].clone()]],
        shape: None,
        decoys: &[],
        errors_to: None,
        replays: 0,
    };
    let built = sender.forward(&letter, &route, &t, &mut rng).unwrap();
    net.send(built.outgoing);
    net.run(3600);

    // What the recipient holds names only the first relay.
    let (text, block) = builder::read_letter(&net.inbox(1)[0].1).unwrap();
    assert_eq!(text, b"write back");
    let block = block.unwrap();
    assert_eq!(
        block.recipient.target.recipient_address.as_str(),
        infos[2].address
    );
    let der = tabella_vortex::asn1::encode(&block).unwrap();
    for secret in [&infos[0].address, &infos[3].address] {
        assert!(
            !der.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the reply block shows {secret}"
        );
    }
    let answer = builder::use_reply_block(&block, b"here is my answer", &mut rng).unwrap();
    assert_eq!(answer.to, infos[2].address);
    net.send(vec![answer]);
    net.run(3600);
    assert!(net.inbox(0).iter().any(|(_, m)| m == b"here is my answer"));
}

#[test]
fn the_simulation_refuses_impossible_settings() {
    assert!(sim::run(&Config {
        redundancy: Some((4, 4)),
        ..Config::default()
    })
    .is_err());
    assert!(sim::run(&Config {
        nodes: 3,
        droppers: 2,
        ..Config::default()
    })
    .is_err());
}

/// Review H1: a stranger's identity request carries a reply combo that asks for heavy work;
/// the node only moves its reply into the payload, and holds nothing for the stranger.
#[test]
fn a_reply_combo_cannot_make_the_node_work_for_free() {
    use tabella_vortex::ops::{Operation, REPLY};
    let mut net = Network::new(3, &Policy::default(), 2048, 1, 21).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(22);
    let t = timing(&net);
    let user = net.user(0).clone();
    let ids = net.identities(0).clone();
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let mut reply = sender
        .reply_block(&net.infos()[0], &user, &[], &t, &mut rng)
        .unwrap();
    // Four operations (the most a reply combo may have): three would double a chunk.
    let mut heavy = vec![Operation::Merge {
        first: REPLY,
        second: REPLY,
        to: 40_000,
    }];
    for _ in 0..2 {
        heavy.push(Operation::Merge {
            first: 40_000,
            second: 40_000,
            to: 40_000,
        });
    }
    heavy.push(Operation::Map { from: REPLY, to: 1 });
    reply.assembly = heavy
        .iter()
        .map(|op| tabella_vortex::wire::op_to_wire(op).unwrap())
        .collect();
    let request = sender
        .identity_request(&net.infos()[1], t.now + 86_400, reply, &t, &mut rng)
        .unwrap();
    assert_eq!(reason(net.inject(1, &request.bytes)), "accepted");
    net.run(60);
    let id = tabella_vortex::accounting::IdentityId::of(
        ids.get(&net.infos()[1].address).unwrap().public(),
    );
    let ws = &net.node(1).accounts().get(&id).unwrap().workspace;
    assert_eq!(ws.bytes(), 0, "no doubled chunk, nothing kept");
    // The reply itself still went out.
    assert!(matches!(
        net.take_specials(0).as_slice(),
        [SpecialBlock::Requirement(_)]
    ));
}

/// Review H4: claiming an identity needs its private key.
#[test]
fn nobody_can_create_an_identity_for_a_key_they_do_not_hold() {
    let mut net = Network::new(3, &Policy::default(), 2048, 1, 23).unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(24);
    let t = timing(&net);
    let victim = net
        .identities(2)
        .get(&net.infos()[1].address)
        .unwrap()
        .public()
        .clone();
    let attacker = net.user(0).clone();
    let ids = net.identities(0).clone();
    let home = net.infos()[0].clone();
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let reply = sender
        .reply_block(&home, &attacker, &[], &t, &mut rng)
        .unwrap();
    let request = tabella_vortex::asn1::HeaderRequest::Identity(
        tabella_vortex::asn1::HeaderRequestIdentity {
            period: tabella_vortex::wire::absolute(t.now, t.now + 86_400).unwrap(),
        },
    );
    let h = builder::header(
        &victim,
        t.now - 60,
        t.now + 3600,
        vec![request],
        Some(reply),
        &mut rng,
    )
    .unwrap();
    let node = net.infos()[1].clone();
    // Unsigned, and signed with the attacker's own key.
    let unsigned = builder::Envelope::new(&node, &h, &builder::no_routing(), &mut rng).unwrap();
    assert_eq!(
        reason(net.inject(1, &unsigned.seal(vec![], &mut rng).unwrap())),
        "IdentityUnknown"
    );
    let wrong = builder::Envelope::new(&node, &h, &builder::no_routing(), &mut rng)
        .unwrap()
        .signed(&attacker)
        .unwrap();
    assert_eq!(
        reason(net.inject(1, &wrong.seal(vec![], &mut rng).unwrap())),
        "Tampered"
    );
    let id = tabella_vortex::accounting::IdentityId::of(&victim);
    assert!(net.node(1).accounts().get(&id).is_none());
}

/// Review H2: a header with a relative window is not made valid again by replaying it later,
/// not even after garbage collection.
#[test]
fn a_relative_window_does_not_restart_on_replay() {
    let mut net = network(Policy::default(), 25);
    let mut rng = ChaCha20Rng::seed_from_u64(26);
    let t = timing(&net);
    let node = net.infos()[1].clone();
    let user = net.identities(0).get(&node.address).unwrap().clone();
    let mut h = builder::header(user.public(), 0, 0, vec![], None, &mut rng).unwrap();
    h.valid =
        tabella_vortex::asn1::UsagePeriod::Relative(tabella_vortex::asn1::RelativeUsagePeriod {
            not_before: None,
            not_after: Some(60),
        });
    h.max_replays = 1;
    let m = builder::Envelope::new(&node, &h, &builder::no_routing(), &mut rng)
        .unwrap()
        .signed(&user)
        .unwrap()
        .seal(vec![b"x".to_vec()], &mut rng)
        .unwrap();
    assert_eq!(reason(net.inject(1, &m)), "accepted");
    net.advance(61);
    assert_eq!(
        reason(net.inject(1, &m)),
        "Expired",
        "the window began at the first arrival"
    );
    net.advance(3600);
    net.send(vec![]);
    // A tick collects garbage; the serial of a relative header outlives it.
    let _ = t;
    net.run(1);
    assert_eq!(reason(net.inject(1, &m)), "Expired");
}

/// Review H3: a replayable header is processed again, but its combo has one peer key, so the
/// node does not seal a second, different message under the same key and nonce.
#[test]
fn a_replay_never_reuses_a_peer_key() {
    let mut net = network(Policy::default(), 27);
    let mut rng = ChaCha20Rng::seed_from_u64(28);
    let t = timing(&net);
    let infos: Vec<NodeInfo> = net.infos().to_vec();
    let ids = net.identities(0).clone();
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let route = Route {
        recipient: &infos[1],
        paths: &[vec![infos[2].clone()]],
        shape: None,
        decoys: &[],
        errors_to: None,
        replays: 1,
    };
    let m = sender
        .forward(b"twice?", &route, &t, &mut rng)
        .unwrap()
        .outgoing[0]
        .bytes
        .clone();
    let sent_before = net.node(2).stats().sent;
    assert_eq!(reason(net.inject(2, &m)), "accepted");
    assert_eq!(reason(net.inject(2, &m)), "accepted", "one replay allowed");
    assert_eq!(reason(net.inject(2, &m)), "Replayed");
    net.run(60);
    assert_eq!(
        net.node(2).stats().sent - sent_before,
        1,
        "the second use has no key of its own"
    );
    assert_eq!(net.inbox(1).len(), 1);
}

/// Review M1: raising a quota costs a puzzle; the increase applies once it is solved.
#[test]
fn a_quota_increase_costs_a_proof_of_work() {
    let policy = Policy {
        message_quota: 3,
        ..Policy::default()
    };
    let mut net = network(policy, 29);
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let t = timing(&net);
    let owner = net.user(0).clone();
    let ids = net.identities(0).clone();
    let (home, node) = (net.infos()[0].clone(), net.infos()[1].clone());
    let user = ids.get(&node.address).unwrap().clone();
    let id = tabella_vortex::accounting::IdentityId::of(user.public());
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let reply = sender
        .reply_block(&home, &owner, &[], &t, &mut rng)
        .unwrap();
    let ask = tabella_vortex::asn1::HeaderRequest::MessageQuota(
        tabella_vortex::asn1::HeaderRequestIncreaseMessageQuota { messages: 50 },
    );
    let h = builder::header(
        user.public(),
        t.now - 60,
        t.now + 3600,
        vec![ask],
        Some(reply),
        &mut rng,
    )
    .unwrap();
    let m = builder::Envelope::new(&node, &h, &builder::no_routing(), &mut rng)
        .unwrap()
        .signed(&user)
        .unwrap()
        .seal(vec![], &mut rng)
        .unwrap();
    assert_eq!(reason(net.inject(1, &m)), "accepted");
    net.run(60);
    let specials = net.take_specials(0);
    let [SpecialBlock::Requirement(reqs)] = specials.as_slice() else {
        panic!("{specials:?}");
    };
    let tabella_vortex::asn1::RequirementBlock::Puzzle(p) = &reqs[0] else {
        panic!("{reqs:?}");
    };
    assert_eq!(
        net.node(1).accounts().get(&id).unwrap().message_quota,
        2,
        "not before the work (the answer cost one message, D-39)"
    );
    let t = timing(&net);
    let (proof, _) = sender.proof(&node, p, 1 << 30, &t, &mut rng).unwrap();
    assert_eq!(reason(net.inject(1, &proof.bytes)), "accepted");
    assert_eq!(net.node(1).accounts().get(&id).unwrap().message_quota, 50);
}

/// Whatever an attacker does to a valid message's bytes — cut it, extend it, flip bits, splice
/// in another message — the node answers with a reason and never panics; only the untouched
/// message is accepted, once.
#[test]
fn mutated_messages_never_panic_and_are_never_accepted() {
    let mut net = network(Policy::default(), 31);
    let mut rng = ChaCha20Rng::seed_from_u64(32);
    let t = timing(&net);
    let good = direct(&net, 0, 1, b"the original", &t, &mut rng);
    let other = direct(&net, 2, 1, b"another one", &t, &mut rng);
    for round in 0..300u32 {
        let mut m = good.clone();
        match round % 5 {
            0 => m.truncate((rng.next_u32() as usize) % m.len()),
            1 => m.extend((0..1 + rng.next_u32() % 64).map(|_| rng.next_u32() as u8)),
            2 => {
                let at = (rng.next_u32() as usize) % m.len();
                m[at] ^= 1 << (rng.next_u32() % 8);
            }
            3 => {
                // The head of one message, the tail of another.
                let at = (rng.next_u32() as usize) % m.len().min(other.len());
                m.truncate(at);
                m.extend_from_slice(&other[at..]);
            }
            _ => {
                let (a, b) = (
                    (rng.next_u32() as usize) % m.len(),
                    (rng.next_u32() as usize) % m.len(),
                );
                m.swap(a, b);
                if m == good {
                    continue;
                }
            }
        }
        if m == good {
            continue;
        }
        let r = reason(net.inject(1, &m));
        assert_ne!(r, "accepted", "round {round}");
    }
    assert_eq!(reason(net.inject(1, &good)), "accepted");
    assert_eq!(reason(net.inject(1, &good)), "Replayed");
}

/// Re-review H3: a replayable header with a request is answered once — its reply block has one
/// key, and a second answer would seal a second message under it.
#[test]
fn a_request_is_answered_once_however_often_its_header_is_replayed() {
    let mut net = network(Policy::default(), 33);
    let mut rng = ChaCha20Rng::seed_from_u64(34);
    let t = timing(&net);
    let owner = net.user(0).clone();
    let ids = net.identities(0).clone();
    let (home, node) = (net.infos()[0].clone(), net.infos()[1].clone());
    let key = ids.get(&node.address).unwrap().clone();
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let reply = sender
        .reply_block(&home, &owner, &[], &t, &mut rng)
        .unwrap();
    let ask = tabella_vortex::asn1::HeaderRequest::QuotaQuery(Default::default());
    let mut h = builder::header(
        key.public(),
        t.now - 60,
        t.now + 3600,
        vec![ask],
        Some(reply),
        &mut rng,
    )
    .unwrap();
    h.max_replays = 2;
    let m = builder::Envelope::new(&node, &h, &builder::no_routing(), &mut rng)
        .unwrap()
        .signed(&key)
        .unwrap()
        .seal(vec![], &mut rng)
        .unwrap();
    for _ in 0..3 {
        assert_eq!(reason(net.inject(1, &m)), "accepted");
    }
    net.run(60);
    let specials = net.take_specials(0);
    assert!(
        matches!(specials.as_slice(), [SpecialBlock::Quota(_)]),
        "{specials:?}"
    );
}

/// Re-review M4: a reply block that asks its holder for more than moving or encrypting the
/// reply is refused.
#[test]
fn a_reply_block_cannot_make_its_holder_work() {
    use tabella_vortex::ops::{Operation, REPLY};
    let net = network(Policy::default(), 35);
    let mut rng = ChaCha20Rng::seed_from_u64(36);
    let t = timing(&net);
    let owner = net.user(0).clone();
    let ids = net.identities(0).clone();
    let mut slots = Slots::default();
    let mut sender = Sender {
        identities: &ids,
        slots: &mut slots,
    };
    let mut block = sender
        .reply_block(
            &net.infos()[0],
            &owner,
            &[net.infos()[2].clone()],
            &t,
            &mut rng,
        )
        .unwrap();
    assert!(builder::use_reply_block(&block, b"fine", &mut rng).is_ok());
    block.assembly.insert(
        0,
        tabella_vortex::wire::op_to_wire(&Operation::Merge {
            first: REPLY,
            second: REPLY,
            to: 40_000,
        })
        .unwrap(),
    );
    assert!(builder::use_reply_block(&block, b"heavy", &mut rng).is_err());
    assert!(Slots::default().take("n", 5000).is_err());
}
