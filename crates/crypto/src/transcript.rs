//! Fiat–Shamir transcripts on [`merlin`], with Tabella's domain-separation conventions.
//!
//! Every proof starts from [`new_transcript`] with a protocol label of the form
//! `tabella/<proof>/v1`, then appends a caller-supplied *context* (for example the election id and
//! contest index) so a proof made for one statement cannot be replayed for another, then the public
//! statement, then the commitments, and finally draws the challenge.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

/// Creates a transcript for protocol `label`, bound to `context`.
pub fn new_transcript(label: &'static [u8], context: &[u8]) -> Transcript {
    let mut t = Transcript::new(label);
    t.append_message(b"context", context);
    t
}

/// Extension methods used by every sigma protocol in this crate.
pub trait TranscriptExt {
    /// Appends a group element under `label`.
    fn append_point(&mut self, label: &'static [u8], p: &RistrettoPoint);
    /// Appends a scalar under `label`.
    fn append_scalar(&mut self, label: &'static [u8], s: &Scalar);
    /// Appends a `u64` under `label`.
    fn append_u64_le(&mut self, label: &'static [u8], v: u64);
    /// Draws a uniformly random challenge scalar (64 bytes reduced mod ℓ).
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptExt for Transcript {
    fn append_point(&mut self, label: &'static [u8], p: &RistrettoPoint) {
        self.append_message(label, p.compress().as_bytes());
    }
    fn append_scalar(&mut self, label: &'static [u8], s: &Scalar) {
        self.append_message(label, s.as_bytes());
    }
    fn append_u64_le(&mut self, label: &'static [u8], v: u64) {
        self.append_u64(label, v);
    }
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut buf = [0u8; 64];
        self.challenge_bytes(label, &mut buf);
        Scalar::from_bytes_mod_order_wide(&buf)
    }
}
