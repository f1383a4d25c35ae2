//! Five stations exchanging carrier mails in memory (virtual clock): identity set-up with
//! proofs of work, messages over 3-hop paths with redundancy 2/4, a reply through a reply block,
//! and a station rebuilt from its journal in the middle of the run that carries on exactly as
//! the original would have.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tabella_vortex::accounting::Policy;
use tabella_vortex::asym::PrivateKey;
use tabella_vortex::wire::Blending;
use tabella_vortex_mail::carrier::{self, Addressing};
use tabella_vortex_mail::station::{
    Config, Effects, Input, Letter, Out, PeerEntry, SendRequest, Station, Target,
};
use tabella_vortex_mail::unblend::{self, Accepts};

const T0: u64 = 1_799_913_600;

struct Keys {
    address: String,
    host: PrivateKey,
    owner: PrivateKey,
    seed: [u8; 32],
}

fn config(k: &Keys) -> Config {
    Config {
        address: k.address.clone(),
        blending: Blending::Plain {
            offset: if k.address.starts_with("node2") {
                256
            } else {
                0
            },
        },
        host: k.host.clone(),
        owner: k.owner.clone(),
        policy: Policy {
            puzzle_bits: Some(8),
            ..Policy::default()
        },
        seed: k.seed,
        created: T0,
    }
}

struct Net {
    keys: Vec<Keys>,
    stations: Vec<Station>,
    journals: Vec<Vec<Input>>,
    outs: Vec<Vec<Out>>,
    inbox: Vec<Vec<Letter>>,
    /// (arrival, to, mail)
    wire: Vec<(u64, usize, Vec<u8>)>,
    mails: Vec<Vec<u8>>,
    now: u64,
    rng: ChaCha20Rng,
}

impl Net {
    fn new(n: usize) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let keys: Vec<Keys> = (1..=n)
            .map(|i| {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                Keys {
                    address: format!("node{i}@vortex.test"),
                    host: PrivateKey::generate(2048, &mut rng).unwrap(),
                    owner: PrivateKey::generate_p384(&mut rng).unwrap(),
                    seed,
                }
            })
            .collect();
        let stations: Vec<Station> = keys
            .iter()
            .map(|k| Station::new(config(k)).unwrap())
            .collect();
        let peers: Vec<PeerEntry> = stations.iter().map(|s| PeerEntry::of(s.info())).collect();
        let mut net = Net {
            keys,
            stations,
            journals: vec![Vec::new(); n],
            outs: vec![Vec::new(); n],
            inbox: vec![Vec::new(); n],
            wire: Vec::new(),
            mails: Vec::new(),
            now: T0,
            rng,
        };
        for i in 0..n {
            net.input(
                i,
                Input::Peers {
                    now: T0,
                    peers: peers.clone(),
                },
            );
        }
        net
    }

    fn index(&self, address: &str) -> Option<usize> {
        self.keys.iter().position(|k| k.address == address)
    }

    fn handle(&mut self, i: usize, fx: Effects) {
        for o in &fx.out {
            let mail = carrier::compose(
                &Addressing {
                    from: self.keys[i].address.clone(),
                    to: o.message.to.clone(),
                    date: self.now,
                },
                &o.message.bytes,
                &o.message.blending,
                &mut self.rng,
            )
            .unwrap();
            self.mails.push(mail.clone());
            if let Some(to) = self.index(&o.message.to) {
                self.wire.push((self.now + 2, to, mail));
            }
        }
        self.outs[i].extend(fx.out);
        self.inbox[i].extend(fx.letters);
    }

    fn input(&mut self, i: usize, input: Input) {
        let fx = self.stations[i].apply(&input);
        if !fx.not_for_us {
            self.journals[i].push(input);
        }
        self.handle(i, fx);
    }

    fn run(&mut self, seconds: u64) {
        let end = self.now + seconds;
        while self.now < end {
            self.now += 1;
            let now = self.now;
            let (arrived, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.wire)
                .into_iter()
                .partition(|(t, ..)| *t <= now);
            self.wire = later;
            for (_, to, mail) in arrived {
                let accepts = Accepts::default();
                for c in unblend::candidates(&mail, &accepts).unwrap() {
                    let fx = self.stations[to].apply(&Input::Receive {
                        now,
                        bytes: c.clone(),
                    });
                    if fx.not_for_us {
                        continue;
                    }
                    self.journals[to].push(Input::Receive { now, bytes: c });
                    self.handle(to, fx);
                    break;
                }
            }
            for i in 0..self.stations.len() {
                if self.stations[i].due(now) {
                    self.input(i, Input::Tick { now });
                }
            }
        }
    }
}

fn request(to: Target, text: &str, reply: bool) -> SendRequest {
    SendRequest {
        to,
        text: text.as_bytes().to_vec(),
        hops: 3,
        redundancy: Some((2, 4)),
        decoys: 1,
        reply,
        delay: (0, 5),
    }
}

#[test]
fn five_stations_over_carrier_mail_with_a_restart() {
    let mut net = Net::new(5);
    for i in 0..5 {
        let now = net.now;
        net.input(i, Input::Setup { now });
    }
    net.run(120);
    for s in &net.stations {
        assert_eq!(s.setup().ready.len(), 4, "{:?}", s.setup());
    }
    // Ten messages between random pairs; the first one carries a reply block.
    let mut sent = Vec::new();
    for m in 0..10 {
        let from = m % 5;
        let to = (m * 3 + 1) % 5;
        let to = if to == from { (to + 1) % 5 } else { to };
        let text = format!("message {m} from node{} to node{}", from + 1, to + 1);
        let now = net.now;
        net.input(
            from,
            Input::Send {
                now,
                request: request(Target::Address(net.keys[to].address.clone()), &text, m == 0),
            },
        );
        sent.push((to, text));
        net.run(3);
        if m == 4 {
            // Node 3 crashes here: rebuilt from its keys and journal, it must produce the same
            // outputs again (the daemon sends only the ones it had not sent) and carry on.
            let i = 2;
            let mut rebuilt = Station::new(config(&net.keys[i])).unwrap();
            let mut replayed = Vec::new();
            for input in &net.journals[i] {
                replayed.extend(rebuilt.apply(input).out);
            }
            assert_eq!(
                replayed, net.outs[i],
                "the journal rebuilds the same outputs"
            );
            assert_eq!(rebuilt.outputs(), net.stations[i].outputs());
            net.stations[i] = rebuilt;
        }
    }
    net.run(120);
    for (to, text) in &sent {
        assert!(
            net.inbox[*to].iter().any(|l| l.text == text.as_bytes()),
            "{text} not delivered"
        );
    }
    // The first recipient answers through the reply block it got.
    let (to0, _) = &sent[0];
    let letter = net.inbox[*to0]
        .iter()
        .find(|l| l.text.starts_with(b"message 0 "))
        .unwrap()
        .clone();
    let block = hex::encode(letter.reply_block.expect("a reply block"));
    let now = net.now;
    net.input(
        *to0,
        Input::Send {
            now,
            request: SendRequest {
                hops: 1,
                redundancy: None,
                decoys: 0,
                ..request(Target::ReplyBlock(block), "the answer", false)
            },
        },
    );
    net.run(60);
    assert!(net.inbox[0].iter().any(|l| l.text == b"the answer"));
    // Every mail on the wire is an ordinary MIME mail with two parts.
    for m in &net.mails {
        let parts = carrier::parts(m).unwrap();
        assert_eq!(parts.len(), 2);
    }
}
