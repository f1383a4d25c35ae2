//! The sealed message: authenticated header, one-time-pad ciphertext, Wegman–Carter tag (pure).
//!
//! Seed 002 §4.1 sends `[4-byte length][ciphertext][tag]` with neither the length nor the sender nor
//! the pad position authenticated. Here the header says whose region and which bytes of it were used,
//! and the tag covers the header and the ciphertext.
//!
//! Wire layout (big-endian integers):
//!
//! ```text
//! "GL" | version 2 (1) | pad id (16) | sender u16 | offset u64 | length u32 | ciphertext | tag (32)
//! ```
//!
//! Pad use at `offset` (a chunk boundary) in the sender's region: whole chunks of
//! [`crate::pad::CHUNK`] bytes — [`crate::pad::consumption`] bytes in all. The first chunk's key
//! area (32 bytes `r`, 32 bytes `s`) is the MAC key; the keystream is the chunks' bodies, in
//! order. Version 1 took the key from the 64 bytes at `offset` and the keystream right after, so a
//! relay that withheld a message with a known plaintext could forge one at an offset inside it,
//! keyed with known keystream; version 2 keeps keys and keystream apart.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::mac::{OneTimeMacKey, Tag, MAC_KEY_LEN, TAG_LEN};
use crate::pad::{consumption, PadId, PadOffset, SenderIndex, CHUNK, CHUNK_BODY};

/// Length of the encoded header.
pub const HEADER_LEN: usize = 33;
/// Largest plaintext a message may carry (keeps every sealed message inside a 1 MiB relay frame).
pub const MAX_PLAINTEXT: usize = (1 << 20) - 1024;
const MAGIC: &[u8; 2] = b"GL";
const VERSION: u8 = 2;

/// The authenticated header of a sealed message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MessageHeader {
    /// Pad set the message was made with.
    pub pad_id: PadId,
    /// Whose region was used.
    pub sender: SenderIndex,
    /// Where in that region the message's pad use starts.
    pub offset: PadOffset,
    /// Plaintext (and ciphertext) length in bytes.
    pub length: u32,
}

impl MessageHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..2].copy_from_slice(MAGIC);
        out[2] = VERSION;
        out[3..19].copy_from_slice(&self.pad_id.0);
        out[19..21].copy_from_slice(&self.sender.0.to_be_bytes());
        out[21..29].copy_from_slice(&self.offset.0.to_be_bytes());
        out[29..33].copy_from_slice(&self.length.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Self> {
        let what = "message header";
        if &bytes[..2] != MAGIC {
            return Err(Error::malformed(what, "bad magic"));
        }
        if bytes[2] != VERSION {
            return Err(Error::malformed(
                what,
                format!("unsupported version {}", bytes[2]),
            ));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[3..19]);
        let mut off = [0u8; 8];
        off.copy_from_slice(&bytes[21..29]);
        Ok(MessageHeader {
            pad_id: PadId(id),
            sender: SenderIndex(u16::from_be_bytes([bytes[19], bytes[20]])),
            offset: PadOffset(u64::from_be_bytes(off)),
            length: u32::from_be_bytes([bytes[29], bytes[30], bytes[31], bytes[32]]),
        })
    }

    /// Pad bytes this message uses.
    pub fn consumption(&self) -> u64 {
        consumption(self.length as usize)
    }
}

/// A message as it travels: header, ciphertext and tag.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SealedMessage {
    /// The authenticated header.
    pub header: MessageHeader,
    /// The one-time-pad ciphertext.
    pub ciphertext: Vec<u8>,
    /// The Wegman–Carter tag over header and ciphertext.
    pub tag: [u8; TAG_LEN],
}

impl SealedMessage {
    /// Encodes for the wire.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.ciphertext.len() + TAG_LEN);
        out.extend_from_slice(&self.header.encode());
        out.extend_from_slice(&self.ciphertext);
        out.extend_from_slice(&self.tag);
        out
    }

    /// Decodes from the wire; the length field must match the bytes exactly (a truncated or padded
    /// message is rejected here, before any pad is touched).
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let what = "sealed message";
        if bytes.len() < HEADER_LEN + TAG_LEN {
            return Err(Error::malformed(
                what,
                format!("only {} bytes", bytes.len()),
            ));
        }
        let mut hb = [0u8; HEADER_LEN];
        hb.copy_from_slice(&bytes[..HEADER_LEN]);
        let header = MessageHeader::decode(&hb)?;
        let body = bytes.len() - HEADER_LEN - TAG_LEN;
        if header.length as usize > MAX_PLAINTEXT {
            return Err(Error::malformed(what, "length field too large"));
        }
        if body != header.length as usize {
            return Err(Error::malformed(
                what,
                format!(
                    "truncated or padded: header says {} ciphertext bytes, found {body}",
                    header.length
                ),
            ));
        }
        let ciphertext = bytes[HEADER_LEN..HEADER_LEN + body].to_vec();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&bytes[HEADER_LEN + body..]);
        Ok(SealedMessage {
            header,
            ciphertext,
            tag,
        })
    }
}

/// A decrypted message. Zeroized on drop; `Debug` prints only its length.
pub struct Plaintext(pub Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext({} bytes)", self.0.len())
    }
}

/// The MAC key: the first chunk's key area. Checks that `pad` is exactly the pad bytes a
/// message of `len` bytes consumes.
fn mac_key(pad: &[u8], len: usize) -> Result<OneTimeMacKey> {
    if pad.len() as u64 != consumption(len) {
        return Err(Error::InvalidArgument(format!(
            "pad slice of {} bytes for a message needing {}",
            pad.len(),
            consumption(len)
        )));
    }
    let mut key = [0u8; MAC_KEY_LEN];
    key.copy_from_slice(&pad[..MAC_KEY_LEN]);
    let k = OneTimeMacKey::from_pad_bytes(&key);
    zeroize::Zeroize::zeroize(&mut key);
    Ok(k)
}

/// `data` XOR the keystream (the chunks' bodies, in order), chunk by chunk so that no copy of the
/// keystream is made and the loop vectorizes.
fn xor_keystream(data: &[u8], pad: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    for (block, chunk) in out
        .chunks_mut(CHUNK_BODY as usize)
        .zip(pad.chunks(CHUNK as usize))
    {
        for (o, k) in block.iter_mut().zip(&chunk[MAC_KEY_LEN..]) {
            *o ^= k;
        }
    }
    out
}

/// Encrypts and authenticates `plaintext` with `pad` = the [`consumption`] pad bytes at
/// `header.offset` of the sender's region. `header.length` must equal the plaintext length.
pub fn seal(header: MessageHeader, plaintext: &[u8], pad: &[u8]) -> Result<SealedMessage> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(Error::MessageTooLong {
            len: plaintext.len(),
            max: MAX_PLAINTEXT,
        });
    }
    if header.length as usize != plaintext.len() {
        return Err(Error::InvalidArgument(
            "header length differs from plaintext length".into(),
        ));
    }
    let key = mac_key(pad, plaintext.len())?;
    let ciphertext = xor_keystream(plaintext, pad);
    let tag = key.tag_parts(&[&header.encode(), &ciphertext]);
    Ok(SealedMessage {
        header,
        ciphertext,
        tag: tag.0,
    })
}

/// Verifies the tag (constant time) and decrypts. `pad` must be the pad bytes the header points at.
/// Nothing is decrypted unless the tag is right.
pub fn open(msg: &SealedMessage, pad: &[u8]) -> Result<Plaintext> {
    let key = mac_key(pad, msg.ciphertext.len())?;
    if !key.verify_parts(&[&msg.header.encode(), &msg.ciphertext], &Tag(msg.tag)) {
        return Err(Error::AuthenticationFailed {
            sender: msg.header.sender.0,
            offset: msg.header.offset.0,
        });
    }
    Ok(Plaintext(Zeroizing::new(xor_keystream(
        &msg.ciphertext,
        pad,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: usize) -> MessageHeader {
        MessageHeader {
            pad_id: PadId([1; 16]),
            sender: SenderIndex(1),
            offset: PadOffset(640),
            length: len as u32,
        }
    }

    #[test]
    fn seal_open_round_trip() {
        let msg = b"attack at dawn";
        let pad: Vec<u8> = (0..consumption(msg.len()))
            .map(|i| (i * 13) as u8)
            .collect();
        let sealed = seal(header(msg.len()), msg, &pad).unwrap();
        assert_ne!(&sealed.ciphertext[..], &msg[..]);
        let wire = sealed.encode();
        let back = SealedMessage::decode(&wire).unwrap();
        assert_eq!(back, sealed);
        assert_eq!(&open(&back, &pad).unwrap().0[..], msg);
    }

    #[test]
    fn any_bit_flip_is_rejected() {
        let msg = b"0123456789abcdef0123456789abcdef0123";
        let pad: Vec<u8> = (0..consumption(msg.len()))
            .map(|i| (i * 29 + 1) as u8)
            .collect();
        let wire = seal(header(msg.len()), msg, &pad).unwrap().encode();
        for i in 0..wire.len() {
            let mut w = wire.clone();
            w[i] ^= 0x01;
            if let Ok(m) = SealedMessage::decode(&w) {
                if m.header.length as usize == msg.len() {
                    assert!(open(&m, &pad).is_err(), "flip at byte {i} accepted");
                }
            }
        }
    }

    #[test]
    fn truncation_is_rejected() {
        let msg = b"hello";
        let pad = vec![3u8; consumption(msg.len()) as usize];
        let wire = seal(header(msg.len()), msg, &pad).unwrap().encode();
        for n in 0..wire.len() {
            assert!(SealedMessage::decode(&wire[..n]).is_err());
        }
    }
}
