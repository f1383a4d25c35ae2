//! Forgery resistance of the sealed-message MAC: a million random forgeries, and the seed's own
//! M vs M + p collision.

use crypto_bigint::modular::ConstMontyForm;
use crypto_bigint::{const_monty_params, U256};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use tabella_ghostline::message::{open, seal, MessageHeader, SealedMessage, HEADER_LEN};
use tabella_ghostline::pad::{consumption, PadId, PadOffset, SenderIndex};

const_monty_params!(
    P,
    U256,
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff43"
);
type Fp = ConstMontyForm<P, { U256::LIMBS }>;

fn header(len: usize) -> MessageHeader {
    MessageHeader {
        pad_id: PadId([0x5a; 16]),
        sender: SenderIndex(2),
        offset: PadOffset(4096),
        length: len as u32,
    }
}

fn random_pad(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut pad = vec![0u8; consumption(len) as usize];
    rng.fill_bytes(&mut pad);
    pad
}

#[test]
fn a_million_random_forgeries_are_all_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(0x6f57_11e5);
    let plaintext = b"meet at the usual place at nine";
    let pad = random_pad(&mut rng, plaintext.len());
    let genuine = seal(header(plaintext.len()), plaintext, &pad).unwrap();
    assert!(open(&genuine, &pad).is_ok());
    let mut accepted = 0u32;
    for i in 0..1_000_000u32 {
        let mut forged = genuine.clone();
        match i % 4 {
            // A random tag on the genuine message.
            0 => rng.fill_bytes(&mut forged.tag),
            // A random ciphertext with the genuine tag.
            1 => rng.fill_bytes(&mut forged.ciphertext),
            // A random ciphertext and a random tag.
            2 => {
                rng.fill_bytes(&mut forged.ciphertext);
                rng.fill_bytes(&mut forged.tag);
            }
            // A few random bit flips anywhere in the ciphertext, genuine or random tag.
            _ => {
                let flips = 1 + (rng.next_u32() % 4);
                for _ in 0..flips {
                    let at = rng.next_u32() as usize % forged.ciphertext.len();
                    forged.ciphertext[at] ^= 1 << (rng.next_u32() % 8);
                }
                if rng.next_u32() % 2 == 0 {
                    rng.fill_bytes(&mut forged.tag);
                }
            }
        }
        if forged == genuine {
            continue;
        }
        if open(&forged, &pad).is_ok() {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 0, "forgeries accepted");
}

/// The seed's tag (§4.3): `((a·encode(m) + b) mod p) mod 2^256` with `encode(m) = len(8 bytes BE) ‖ m`
/// read as one big-endian integer; here for 32-byte messages (a 40-byte integer `hi·2^256 + lo`).
fn seed_tag(a: &U256, b: &U256, m: &[u8; 32]) -> U256 {
    let mut lo = [0u8; 32];
    lo.copy_from_slice(m);
    let lo = Fp::new(&U256::from_be_slice(&lo));
    let hi = Fp::new(&U256::from_u64(32)); // the length prefix sits above bit 256
    let two256 = Fp::new(&U256::from_u64(189)); // 2^256 ≡ 189 (mod p)
    let x = hi * two256 + lo;
    (Fp::new(a) * x + Fp::new(b)).retrieve()
}

#[test]
fn seed_forgery_m_vs_m_plus_p_is_rejected() {
    // M = 32 zero bytes, M' = p as 32 big-endian bytes: encode(M') = encode(M) + p.
    let m = [0u8; 32];
    let mut m_prime = [0u8; 32];
    m_prime.copy_from_slice(
        &hex::decode("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff43").unwrap(),
    );

    let mut rng = ChaCha20Rng::seed_from_u64(7);
    // The seed's MAC accepts the forgery for every key: its hash family is not universal here.
    for _ in 0..100 {
        let mut ab = [0u8; 64];
        rng.fill_bytes(&mut ab);
        let a = U256::from_be_slice(&ab[..32]);
        let b = U256::from_be_slice(&ab[32..]);
        assert_eq!(seed_tag(&a, &b, &m), seed_tag(&a, &b, &m_prime));
    }

    // Ours: the attacker sees (C, tag) for M, flips C into an encryption of M' (the pad is
    // malleable) and keeps the tag. Rejected, for every key tried.
    for _ in 0..1000 {
        let pad = random_pad(&mut rng, 32);
        let genuine = seal(header(32), &m, &pad).unwrap();
        let mut forged = genuine.clone();
        for (c, (x, y)) in forged.ciphertext.iter_mut().zip(m.iter().zip(&m_prime)) {
            *c ^= x ^ y;
        }
        assert!(open(&forged, &pad).is_err());
        // Same story on the wire.
        let wire = forged.encode();
        assert_eq!(wire.len(), HEADER_LEN + 32 + 32);
        assert!(open(&SealedMessage::decode(&wire).unwrap(), &pad).is_err());
    }
}
