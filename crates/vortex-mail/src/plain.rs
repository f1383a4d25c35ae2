//! PLAIN blending (draft-gwerder-messagevortexmain-10 §6.1.1): the vortex message sits in a
//! carrier file at an offset, cut into chunks with gaps between them.
//!
//! At the offset starts a chain of chunks. Each chunk begins with a header of two numbers,
//! the chunk's length and the gap that follows it before the next header, both written as a
//! little-endian varint: the first three bytes carry 7 bits each (bit 7 set means "another byte
//! follows"), a fourth byte carries 8 bits, so a number has at most 29 bits. Both numbers are
//! taken modulo the bytes that remain in the document from the first byte of the chunk's
//! header, so any bytes decode to *some* chain: only the cryptographic check that follows
//! (the host key opening the message's prefix) decides whether a message is present.
//!
//! The draft has no end marker and its worked example is inconsistent (docs/VORTEX.md D-41).
//! We end a chain at a chunk of length 0 (our sender writes one after the last chunk), at a
//! header that does not fit in the document, or at the document's end, so that a footer after
//! the message does not become part of it.

use rand_core::RngCore;

use crate::error::{Error, Result};

/// The largest number a chunk header can carry (29 bits).
pub const MAX_VARINT: u32 = (1 << 29) - 1;

/// Appends `value` as the draft's varint (LSB first, 7+7+7+8 bits).
pub fn write_varint(value: u32, out: &mut Vec<u8>) -> Result<()> {
    if value > MAX_VARINT {
        return Err(Error::BadParameters(format!(
            "{value} does not fit a 29-bit chunk header"
        )));
    }
    let mut v = value;
    for _ in 0..3 {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return Ok(());
        }
        out.push(low | 0x80);
    }
    // The fourth byte carries all 8 bits; v < 256 here because value ≤ 2^29 − 1.
    out.push((v & 0xff) as u8);
    Ok(())
}

/// Reads a varint at `pos`: the value and the bytes it took, or `None` if it runs past the end.
pub fn read_varint(doc: &[u8], pos: usize) -> Option<(u32, usize)> {
    let mut value = 0u32;
    for i in 0..4 {
        let b = *doc.get(pos + i)?;
        if i == 3 {
            value |= u32::from(b) << 21;
            return Some((value, 4));
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// How a sender cuts a message into chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Smallest chunk (bytes), at least 1.
    pub min_chunk: usize,
    /// Largest chunk (bytes).
    pub max_chunk: usize,
    /// Largest gap between chunks (bytes of filler).
    pub max_gap: usize,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            min_chunk: 512,
            max_chunk: 8192,
            max_gap: 64,
        }
    }
}

fn below<R: RngCore>(n: usize, rng: &mut R) -> usize {
    if n == 0 {
        0
    } else {
        (rng.next_u64() % n as u64) as usize
    }
}

/// The carrier file: `head` (its length is the offset), the message cut into chunks with
/// random filler in the gaps, a terminating empty chunk, then `tail`.
pub fn blend<R: RngCore>(
    head: &[u8],
    message: &[u8],
    tail: &[u8],
    layout: &Layout,
    rng: &mut R,
) -> Result<Vec<u8>> {
    if layout.min_chunk == 0 || layout.min_chunk > layout.max_chunk {
        return Err(Error::BadParameters(format!(
            "chunk sizes {}..{}: need 0 < min ≤ max",
            layout.min_chunk, layout.max_chunk
        )));
    }
    if layout.max_chunk > MAX_VARINT as usize || layout.max_gap > MAX_VARINT as usize {
        return Err(Error::BadParameters(
            "chunks and gaps must fit 29 bits".into(),
        ));
    }
    // Lay the chunks out first: each number must be below the bytes remaining from its
    // header, which depends on everything after it.
    let mut plan = Vec::new();
    let mut rest = message.len();
    while rest > 0 {
        let span = layout.max_chunk - layout.min_chunk + 1;
        let len = (layout.min_chunk + below(span, rng)).min(rest);
        let gap = below(layout.max_gap + 1, rng);
        plan.push((len, gap));
        rest -= len;
    }
    let mut out = Vec::with_capacity(head.len() + message.len() + plan.len() * 80 + tail.len() + 2);
    out.extend_from_slice(head);
    let mut at = 0;
    let mut header = Vec::with_capacity(8);
    for (len, gap) in plan {
        header.clear();
        write_varint(len as u32, &mut header)?;
        write_varint(gap as u32, &mut header)?;
        out.extend_from_slice(&header);
        out.extend_from_slice(&message[at..at + len]);
        at += len;
        let start = out.len();
        out.resize(start + gap, 0);
        rng.fill_bytes(&mut out[start..]);
    }
    // The empty chunk that ends the chain.
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(tail);
    Ok(out)
}

/// The message a chunk chain at `offset` of `doc` carries (see the module docs for where a
/// chain ends). Never fails on content: any bytes give some (possibly empty) result.
pub fn unblend(doc: &[u8], offset: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = offset;
    while pos < doc.len() {
        let remaining = (doc.len() - pos) as u64;
        let Some((len, a)) = read_varint(doc, pos) else {
            break;
        };
        let Some((gap, b)) = read_varint(doc, pos + a) else {
            break;
        };
        let len = (u64::from(len) % remaining) as usize;
        let gap = (u64::from(gap) % remaining) as usize;
        if len == 0 {
            break;
        }
        let start = pos + a + b;
        let end = start.saturating_add(len).min(doc.len());
        if start >= end {
            break;
        }
        out.extend_from_slice(&doc[start..end]);
        pos = end.saturating_add(gap);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn varint_edges() {
        for v in [
            0, 1, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX_VARINT,
        ] {
            let mut b = Vec::new();
            write_varint(v, &mut b).unwrap();
            assert_eq!(read_varint(&b, 0), Some((v, b.len())), "{v}");
        }
        assert!(write_varint(MAX_VARINT + 1, &mut Vec::new()).is_err());
        // One byte up to 127, four bytes from 2^21, the fourth byte carrying 8 bits.
        let mut b = Vec::new();
        write_varint(127, &mut b).unwrap();
        assert_eq!(b, [0x7f]);
        b.clear();
        write_varint(MAX_VARINT, &mut b).unwrap();
        assert_eq!(b, [0xff, 0xff, 0xff, 0xff]);
        assert_eq!(read_varint(&[0x80, 0x80], 0), None);
    }

    /// A hand-built chain, read as the draft's prose says: length 3, skip 2, length 2, skip 0,
    /// then the empty chunk; the footer is not part of the message.
    #[test]
    fn hand_built_chain() {
        let doc = [
            0xAA, 0xBB, // head (offset 2)
            3, 2, b'a', b'b', b'c', 0xEE, 0xEE, // chunk "abc", gap 2
            2, 0, b'd', b'e', // chunk "de"
            0, 0, // end
            b'f', b'o', b'o', b't', // footer
        ];
        assert_eq!(unblend(&doc, 2), b"abcde");
        // Numbers are taken modulo the remaining bytes: 3 + 17 ≡ 3 (mod 17 remaining).
        let mut wrapped = doc;
        wrapped[2] = 20;
        assert_eq!(wrapped.len() - 2, 17);
        assert_eq!(unblend(&wrapped, 2), b"abcde");
    }

    proptest! {
        #[test]
        fn round_trip(
            message in proptest::collection::vec(any::<u8>(), 0..20_000),
            head in proptest::collection::vec(any::<u8>(), 0..300),
            tail in proptest::collection::vec(any::<u8>(), 0..300),
            min in 1usize..600, extra in 0usize..3000, gap in 0usize..200, seed in any::<u64>(),
        ) {
            let layout = Layout { min_chunk: min, max_chunk: min + extra, max_gap: gap };
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let doc = blend(&head, &message, &tail, &layout, &mut rng).unwrap();
            prop_assert_eq!(unblend(&doc, head.len()), message);
        }

        #[test]
        fn any_bytes_decode_without_panic(
            doc in proptest::collection::vec(any::<u8>(), 0..5000), offset in 0usize..6000,
        ) {
            let out = unblend(&doc, offset);
            prop_assert!(out.len() <= doc.len());
        }
    }

    #[test]
    fn bad_layouts_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for layout in [
            Layout {
                min_chunk: 0,
                max_chunk: 10,
                max_gap: 0,
            },
            Layout {
                min_chunk: 11,
                max_chunk: 10,
                max_gap: 0,
            },
            Layout {
                min_chunk: 1,
                max_chunk: 1 << 29,
                max_gap: 0,
            },
        ] {
            assert!(blend(b"", b"x", b"", &layout, &mut rng).is_err());
        }
    }
}
