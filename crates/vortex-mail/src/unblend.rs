//! Finding vortex messages in incoming mail (draft §6.2, §7.1.1): every leaf part of a mail is
//! a candidate, at every PLAIN offset and, for JPEGs, with every F5 passphrase the node
//! accepts. Only the node's host key can tell a message from noise (its MPREFIX opens), so
//! the candidates go to `Node::receive` in turn; the work per mail is bounded here.

use crate::carrier::{self, Part};
use crate::error::Result;
use crate::plain;

/// The blendings a node accepts on its incoming transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepts {
    /// PLAIN offsets (the draft's `encoding=plain:0,256`).
    pub offsets: Vec<u32>,
    /// F5 passphrases.
    pub passphrases: Vec<Vec<u8>>,
}

impl Default for Accepts {
    /// What every node MUST accept (§6): PLAIN at offsets 0 and 256.
    fn default() -> Self {
        Accepts {
            offsets: vec![0, 256],
            passphrases: Vec::new(),
        }
    }
}

/// At most this many candidates per mail (each costs the node one RSA decryption).
pub const MAX_CANDIDATES: usize = 64;
/// The smallest candidate worth trying: an MPREFIX of a 2048-bit key and something after it.
pub const MIN_CANDIDATE: usize = 257;

/// The candidate messages in `mail`, most likely first (attachments before text), without
/// duplicates; at most [`MAX_CANDIDATES`].
pub fn candidates(mail: &[u8], accepts: &Accepts) -> Result<Vec<Vec<u8>>> {
    let mut parts = carrier::parts(mail)?;
    // Attachments first: that is where our own carriers put messages.
    parts.sort_by_key(|p: &Part| p.content_type.starts_with("text/"));
    Ok(from_parts(&parts, accepts))
}

/// At most this many JPEG parts of one mail are searched with F5 (each costs a decode and a
/// permutation of all its coefficients per passphrase).
pub const MAX_F5_PARTS: usize = 4;

/// The candidates of already decoded parts.
pub fn from_parts(parts: &[Part], accepts: &Accepts) -> Vec<Vec<u8>> {
    let mut f5_parts = 0;
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut push = |c: Vec<u8>| {
        if c.len() >= MIN_CANDIDATE && out.len() < MAX_CANDIDATES && !out.contains(&c) {
            out.push(c);
        }
    };
    for part in parts {
        if part.content_type == "image/jpeg" && f5_parts < MAX_F5_PARTS {
            f5_parts += 1;
            for pass in &accepts.passphrases {
                if let Some(c) = f5_candidate(&part.bytes, pass) {
                    push(c);
                }
            }
        }
        for &offset in &accepts.offsets {
            push(plain::unblend(&part.bytes, offset as usize));
        }
    }
    out
}

fn f5_candidate(jpeg: &[u8], passphrase: &[u8]) -> Option<Vec<u8>> {
    // A JPEG with nothing embedded under this passphrase fails its status word check.
    crate::f5::extract(jpeg, passphrase).ok()
}
