//! The in-process network end to end: identities with proof of work, multi-hop messages with
//! redundancy, a node that drops everything, replays.

use tabella_vortex::sim::{self, Config};

#[test]
fn a_small_network_delivers_everything_and_rejects_every_replay() {
    let config = Config {
        nodes: 5,
        messages: 6,
        droppers: 0,
        seed: 11,
        ..Config::default()
    };
    let r = sim::run(&config).unwrap();
    eprintln!("{r:#?}");
    assert_eq!(r.identities, 20, "every user at every other node");
    assert_eq!(r.delivered(), 6);
    assert!(r.replays > 0);
    assert_eq!(r.replays_accepted(), 0, "{:?}", r.replays_rejected);
}

/// The acceptance run: 100 messages over 10 nodes, 3-hop paths, redundancy 2/4, one
/// node dropping everything: at least 99 % delivered, and every captured message replayed to
/// the node that accepted it is rejected.
#[test]
fn one_hundred_messages_survive_a_node_that_drops_everything() {
    let config = Config::default();
    assert_eq!((config.nodes, config.messages, config.hops), (10, 100, 3));
    assert_eq!((config.redundancy, config.droppers), (Some((2, 4)), 1));
    let r = sim::run(&config).unwrap();
    assert_eq!(r.identities, 90);
    let delivered = r.delivered();
    eprintln!(
        "delivered {delivered}/100, transmissions {}, bytes {}, drops {:?}, replays {} rejected {:?}",
        r.transmissions, r.bytes, r.dropped, r.replays, r.replays_rejected
    );
    assert!(delivered >= 99, "{delivered} of 100 delivered");
    assert!(r.replays > 1000);
    assert_eq!(r.replays_accepted(), 0, "{:?}", r.replays_rejected);
    // Every graph touches at least the recipient, the eight relays' worth of distinct nodes
    // available, and a decoy.
    assert!(
        r.messages.iter().all(|m| m.anonymity_set >= 8),
        "{:?}",
        r.messages
    );
}
