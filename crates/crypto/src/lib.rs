//! # tabella-crypto
//!
//! The pure cryptographic core of Tabella (DESIGN.md, "Cryptography"). No I/O: every function that
//! needs randomness takes an `rng`; nothing reads clocks, files or sockets.
//!
//! | module | what |
//! |---|---|
//! | [`group`] | Ristretto255, generators, secret scalars (zeroized, redacted, constant-time eq) |
//! | [`elgamal`] | exponential ElGamal, homomorphic ops, baby-step giant-step |
//! | [`schnorr`] | Schnorr proof of knowledge and signatures |
//! | [`dleq`] | Chaum–Pedersen discrete-log equality |
//! | [`disjunctive`] | "encrypts one of {v₀..v_k}" and "vector sums into [min, max]" proofs |
//! | [`vector`] | encrypted vectors (ballot contests) with entry and sum proofs |
//! | [`batch`] | batch verification of all the above with one multiscalar multiplication |
//! | [`range`] | Bulletproofs range proofs on Pedersen commitments, ElGamal–Pedersen link proof |
//! | [`stealth`] | CryptoNote-style stealth keys: meta-address, registrar derivation, scanning, signing |
//! | [`blind`] | RFC 9474 RSA blind signatures (RSABSSA-SHA384-PSS-Randomized) for registration tokens |
//! | [`paillier`] | seed 000's Paillier (n ≥ 2048 bits, CRT decryption), proof-of-result by opening, Baudron et al. membership proof |
//! | [`linear`] | generic proofs of knowledge of a preimage under a linear map (multi-base Schnorr) |
//! | [`dkg`] | t-of-n distributed key generation (Pedersen/Feldman with complaints), audit from the record |
//! | [`threshold`] | threshold decryption shares with DLEQ proofs, Lagrange combination, tallies |
//! | [`keyswitch`] | re-encrypting a ciphertext under the joint key to a querier's key, with proofs |
//! | [`shuffle`] | verifiable shuffle (re-encryption mix) of ElGamal ciphertexts, Terelius–Wikström proof |
//!
//! Conventions: transcripts are labelled `tabella/<proof>/v1` and bound to a caller context
//! ([`transcript`]); points and scalars serialize as canonical hex ([`encoding`]).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod api_schema;
pub mod batch;
pub mod blind;
pub mod disjunctive;
pub mod dkg;
pub mod dleq;
pub mod ed25519;
pub mod elgamal;
pub mod encoding;
pub mod error;
pub mod group;
pub mod keyswitch;
pub mod linear;
pub mod paillier;
pub mod range;
pub mod schnorr;
pub mod shamir;
pub mod shuffle;
pub mod stealth;
pub mod threshold;
pub mod transcript;
pub mod vector;

#[cfg(test)]
mod vector_gen;

pub use error::{Error, Result};
