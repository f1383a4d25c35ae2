//! Special blocks and the escaping of user payloads (draft-gwerder-messagevortexmain-10 §7.3,
//! §7.1.2; docs/VORTEX.md §4.5, D-20). A special block — a node's reply to a header request or
//! an error — is the 8 bytes `\special` followed by the DER SpecialBlock. A user message that
//! starts with a backslash has every backslash doubled, so no user message can pass for a
//! special block; delivery undoes it.

use crate::asn1::{decode, encode, SpecialBlock};
use crate::error::{Error, Result};

/// The marker that starts a special block.
pub const MARKER: &[u8; 8] = b"\\special";

/// A user payload, escaped for slot 0: if it starts with `\`, every `\` is doubled.
pub fn escape(message: &[u8]) -> Vec<u8> {
    if message.first() != Some(&b'\\') {
        return message.to_vec();
    }
    let mut out = Vec::with_capacity(message.len() + 8);
    for &b in message {
        out.push(b);
        if b == b'\\' {
            out.push(b'\\');
        }
    }
    out
}

/// What a chunk written to slot 0 is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Local {
    /// A user message (unescaped).
    Message(Vec<u8>),
    /// A node's reply.
    Special(SpecialBlock),
}

/// Reads a chunk written to slot 0: a special block, or a user message with its escaping
/// undone. A chunk that starts with `\` but is neither is refused.
pub fn read(chunk: &[u8]) -> Result<Local> {
    if let Some(der) = chunk.strip_prefix(MARKER.as_slice()) {
        return decode::<SpecialBlock>(der)
            .map(Local::Special)
            .map_err(|e| Error::BadParameters(format!("special block: {e}")));
    }
    if chunk.first() != Some(&b'\\') {
        return Ok(Local::Message(chunk.to_vec()));
    }
    let mut out = Vec::with_capacity(chunk.len());
    let mut it = chunk.iter();
    while let Some(&b) = it.next() {
        if b == b'\\' && it.next() != Some(&b'\\') {
            return Err(Error::BadParameters(
                "a payload starting with a backslash is not escaped".into(),
            ));
        }
        out.push(b);
    }
    Ok(Local::Message(out))
}

/// A special block as a payload chunk.
pub fn write(block: &SpecialBlock) -> Result<Vec<u8>> {
    let der = encode(block).map_err(|e| Error::BadParameters(format!("special block: {e}")))?;
    let mut out = MARKER.to_vec();
    out.extend_from_slice(&der);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn1::{StatusBlock, StatusCode};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_user_message_survives_and_none_passes_for_special(
            m in proptest::collection::vec(prop_oneof![Just(b'\\'), any::<u8>()], 0..64)
        ) {
            let e = escape(&m);
            prop_assert!(!e.starts_with(MARKER));
            prop_assert_eq!(read(&e).unwrap(), Local::Message(m));
        }
    }

    #[test]
    fn special_blocks_round_trip_and_a_spoof_is_escaped() {
        let s = SpecialBlock::Status(StatusBlock {
            code: StatusCode::MessageQuotaExceeded,
        });
        assert_eq!(read(&write(&s).unwrap()).unwrap(), Local::Special(s));
        let spoof = b"\\special pretend".to_vec();
        assert_eq!(read(&escape(&spoof)).unwrap(), Local::Message(spoof));
        assert!(read(b"\\special\x00").is_err());
        assert!(read(b"\\x").is_err());
    }
}
