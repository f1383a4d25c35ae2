//! Per-participant channel state: the send reservation and the receive high-water marks (pure).
//!
//! Seed 002 keeps one shared offset that every participant advances on every valid message (§6.3),
//! so a single lost or forged message desynchronises everyone (its own Appendix B.1). Here:
//!
//! * a sender only advances its **own** region's `send_next`, and does so (durably, see
//!   [`crate::store`]) *before* the ciphertext exists;
//! * a receiver keeps one **high-water mark** per sender: everything below it was received or
//!   skipped. A message at the mark is in order; above it, the bytes in between are a gap (messages
//!   lost, reordered or withheld — shown to the user); below it, a replay or a late reordered
//!   message — rejected. Only an authenticated message moves a mark, so a failed authentication
//!   changes no state.

use crate::error::{Error, Result};
use crate::message::MessageHeader;
use crate::pad::{consumption, PadLayout, PadLevel, PadOffset, SenderIndex, CHUNK};

/// What one participant remembers about the pad set.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ChannelState {
    /// First unused byte of our own region (everything below is reserved or used).
    pub send_next: PadOffset,
    /// Per sender: everything below was received or skipped.
    pub high_water: Vec<PadOffset>,
}

impl ChannelState {
    /// Fresh state for a layout.
    pub fn new(layout: &PadLayout) -> Self {
        ChannelState {
            send_next: PadOffset(0),
            high_water: vec![PadOffset(0); usize::from(layout.participants)],
        }
    }
}

/// A reservation of pad bytes for one outgoing message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SendPlan {
    /// Where the message's pad use starts in our region.
    pub offset: PadOffset,
    /// Pad bytes it uses.
    pub consumption: u64,
    /// Bytes left in our region after this message.
    pub remaining_after: u64,
    /// A warning level newly crossed by this message (10% or 1% left), if any.
    pub crossed: Option<PadLevel>,
}

/// Plans sending `len` bytes as `owner`; refuses when the region cannot hold the message.
pub fn plan_send(
    layout: &PadLayout,
    owner: SenderIndex,
    state: &ChannelState,
    len: usize,
) -> Result<SendPlan> {
    let need = consumption(len);
    // Messages start at chunk boundaries (a state written by version 1 may not be on one: the
    // bytes up to the next boundary are skipped).
    let start = state.send_next.0.div_ceil(CHUNK) * CHUNK;
    let remaining = layout.region_size.saturating_sub(start);
    if need > remaining {
        return Err(Error::PadExhausted {
            sender: owner.0,
            needed: need,
            remaining,
        });
    }
    let after = remaining - need;
    let before_level = PadLevel::of(remaining, layout.region_size);
    let after_level = PadLevel::of(after, layout.region_size);
    Ok(SendPlan {
        offset: PadOffset(start),
        consumption: need,
        remaining_after: after,
        crossed: (after_level > before_level).then_some(after_level),
    })
}

/// How an incoming message relates to what we already have from its sender.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Arrival {
    /// Pad bytes skipped between the previous high-water mark and this message (0 = in order).
    pub gap: u64,
}

/// Checks an incoming header before any pad byte is read: pad id, sender, region bounds, replay.
pub fn check_incoming(
    layout: &PadLayout,
    owner: SenderIndex,
    state: &ChannelState,
    header: &MessageHeader,
) -> Result<Arrival> {
    if header.pad_id != layout.pad_id {
        return Err(Error::WrongPad {
            expected: layout.pad_id.to_string(),
            found: header.pad_id.to_string(),
        });
    }
    layout.check_sender(header.sender)?;
    if header.sender == owner {
        return Err(Error::OwnMessage { sender: owner.0 });
    }
    layout.absolute(header.sender, header.offset, header.consumption())?;
    if !header.offset.0.is_multiple_of(CHUNK) {
        return Err(Error::Misaligned {
            sender: header.sender.0,
            offset: header.offset.0,
        });
    }
    let hw = state
        .high_water
        .get(usize::from(header.sender.0))
        .copied()
        .unwrap_or_default();
    if header.offset < hw {
        return Err(Error::Replay {
            sender: header.sender.0,
            offset: header.offset.0,
            high_water: hw.0,
        });
    }
    Ok(Arrival {
        gap: header.offset.0 - hw.0,
    })
}

/// The state after an *authenticated* message: its sender's mark moves past it.
pub fn after_receive(state: &ChannelState, header: &MessageHeader) -> ChannelState {
    let mut next = state.clone();
    if let Some(hw) = next.high_water.get_mut(usize::from(header.sender.0)) {
        *hw = PadOffset(header.offset.0 + header.consumption());
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pad::PadId;

    fn layout() -> PadLayout {
        PadLayout::new(PadId([9; 16]), 3, 10_000).unwrap()
    }

    fn hdr(sender: u16, offset: u64, length: u32) -> MessageHeader {
        MessageHeader {
            pad_id: PadId([9; 16]),
            sender: SenderIndex(sender),
            offset: PadOffset(offset),
            length,
        }
    }

    #[test]
    fn in_order_gap_replay() {
        let l = layout();
        let me = SenderIndex(0);
        let s = ChannelState::new(&l);
        let h1 = hdr(1, 0, 10);
        assert_eq!(check_incoming(&l, me, &s, &h1).unwrap().gap, 0);
        let s = after_receive(&s, &h1);
        assert!(matches!(
            check_incoming(&l, me, &s, &h1),
            Err(Error::Replay { .. })
        ));
        let h3 = hdr(1, 2 * CHUNK, 10);
        assert_eq!(check_incoming(&l, me, &s, &h3).unwrap().gap, CHUNK);
        // Only chunk boundaries: a message inside another's chunks is forged.
        assert!(matches!(
            check_incoming(&l, me, &s, &hdr(1, CHUNK + 64, 10)),
            Err(Error::Misaligned { .. })
        ));
        assert!(matches!(
            check_incoming(&l, me, &s, &hdr(0, 0, 1)),
            Err(Error::OwnMessage { .. })
        ));
        assert!(check_incoming(&l, me, &s, &hdr(3, 0, 1)).is_err());
        assert!(check_incoming(&l, me, &s, &hdr(2, 9_990, 1)).is_err());
    }

    #[test]
    fn exhaustion_and_warnings() {
        let l = layout();
        let me = SenderIndex(0);
        let mut s = ChannelState::new(&l);
        let mut crossed = vec![];
        loop {
            match plan_send(&l, me, &s, 36) {
                Ok(p) => {
                    assert_eq!(p.offset, s.send_next);
                    if let Some(c) = p.crossed {
                        crossed.push(c);
                    }
                    s.send_next = PadOffset(p.offset.0 + p.consumption);
                }
                Err(Error::PadExhausted { .. }) => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(s.send_next.0, (10_000 / CHUNK) * CHUNK);
        assert_eq!(crossed, vec![PadLevel::Low, PadLevel::Critical]);
    }
}
