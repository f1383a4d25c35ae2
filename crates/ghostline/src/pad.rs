//! Pad layout: the pad id, participants, and the disjoint per-sender regions (pure, no I/O).
//!
//! Seed 002 §4.2 lets every participant consume one shared offset, so two participants who send at
//! the same instant encrypt with the same pad bytes. Here the pad is cut into one region per
//! participant and a participant only ever *encrypts* with its own region (it decrypts with the
//! others'), so no two participants can ever use the same bytes, whatever the timing.

use std::fmt;

use crate::error::{Error, Result};
use crate::mac::MAC_KEY_LEN;

/// Identifies one pad set (all the pad files made together). Random, public.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PadId(pub [u8; 16]);

impl fmt::Display for PadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for PadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PadId({self})")
    }
}

/// A participant's index in the pad set, `0..participants`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SenderIndex(pub u16);

impl fmt::Display for SenderIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A byte offset inside one sender's region.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct PadOffset(pub u64);

/// Pad bytes in one chunk. A sender's region is a sequence of chunks; every message starts at a
/// chunk boundary and uses whole chunks.
pub const CHUNK: u64 = 256;

/// Keystream bytes in one chunk: everything after its [`MAC_KEY_LEN`]-byte key area.
pub const CHUNK_BODY: u64 = CHUNK - MAC_KEY_LEN as u64;

/// Pad bytes consumed by a message of `len` plaintext bytes: whole chunks, at least one.
///
/// Each chunk begins with a 64-byte **key area** that is never used as keystream: the message's
/// MAC key `(r, s)` is the key area of its first chunk, and its keystream is the bodies of its
/// chunks in order (the key areas of its other chunks are skipped and burnt). So no byte that
/// ever served as keystream — which a relay knowing a plaintext learns — can become a MAC key:
/// a message forged at a chunk inside a withheld message would need that chunk's key area,
/// which nobody outside the group has seen (docs/SECURITY.md, finding 4; docs/GHOSTLINE.md).
pub fn consumption(len: usize) -> u64 {
    (len as u64).div_ceil(CHUNK_BODY).max(1) * CHUNK
}

/// The shape of a pad set: its id, number of participants and region size.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PadLayout {
    /// The pad set's id.
    pub pad_id: PadId,
    /// Number of participants (and regions).
    pub participants: u16,
    /// Bytes in each participant's sending region.
    pub region_size: u64,
}

impl PadLayout {
    /// Validates and builds a layout.
    pub fn new(pad_id: PadId, participants: u16, region_size: u64) -> Result<Self> {
        if participants < 2 {
            return Err(Error::InvalidArgument(
                "a pad set needs at least 2 participants".into(),
            ));
        }
        if region_size < CHUNK {
            return Err(Error::InvalidArgument(format!(
                "region of {region_size} bytes cannot hold even one message; use a larger pad"
            )));
        }
        if region_size.checked_mul(u64::from(participants)).is_none() {
            return Err(Error::InvalidArgument("pad too large".into()));
        }
        Ok(PadLayout {
            pad_id,
            participants,
            region_size,
        })
    }

    /// Total pad bytes of all regions.
    pub fn total_size(&self) -> u64 {
        self.region_size * u64::from(self.participants)
    }

    /// Checks that `sender` exists.
    pub fn check_sender(&self, sender: SenderIndex) -> Result<()> {
        if sender.0 >= self.participants {
            return Err(Error::UnknownSender {
                sender: sender.0,
                participants: self.participants,
            });
        }
        Ok(())
    }

    /// Absolute position in the pad of `offset` in `sender`'s region, after checking that
    /// `offset .. offset + len` lies inside the region.
    pub fn absolute(&self, sender: SenderIndex, offset: PadOffset, len: u64) -> Result<u64> {
        self.check_sender(sender)?;
        let end = offset.0.saturating_add(len);
        if end > self.region_size {
            return Err(Error::OutOfRegion {
                sender: sender.0,
                offset: offset.0,
                end,
                region: self.region_size,
            });
        }
        Ok(u64::from(sender.0) * self.region_size + offset.0)
    }
}

/// Size of the pad file header.
pub const PAD_FILE_HEADER_LEN: usize = 64;
const PAD_MAGIC: &[u8; 8] = b"GHOSTPAD";
const PAD_VERSION: u32 = 1;

/// The header of one participant's pad file: the layout plus whose file it is.
///
/// Layout (big-endian): magic `GHOSTPAD` (8) | version u32 (4) | pad id (16) | participants u16 (2) |
/// owner u16 (2) | region size u64 (8) | zero padding to 64 bytes. The pad bytes follow.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PadFileHeader {
    /// The pad set's layout.
    pub layout: PadLayout,
    /// The participant who owns this file (sends with this region).
    pub owner: SenderIndex,
}

impl PadFileHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; PAD_FILE_HEADER_LEN] {
        let mut out = [0u8; PAD_FILE_HEADER_LEN];
        out[..8].copy_from_slice(PAD_MAGIC);
        out[8..12].copy_from_slice(&PAD_VERSION.to_be_bytes());
        out[12..28].copy_from_slice(&self.layout.pad_id.0);
        out[28..30].copy_from_slice(&self.layout.participants.to_be_bytes());
        out[30..32].copy_from_slice(&self.owner.0.to_be_bytes());
        out[32..40].copy_from_slice(&self.layout.region_size.to_be_bytes());
        out
    }

    /// Decodes and validates a header.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let what = "pad file header";
        if bytes.len() < PAD_FILE_HEADER_LEN {
            return Err(Error::malformed(what, "file too short"));
        }
        if &bytes[..8] != PAD_MAGIC {
            return Err(Error::malformed(
                what,
                "not a GhostLine pad file (bad magic)",
            ));
        }
        let version = u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if version != PAD_VERSION {
            return Err(Error::malformed(
                what,
                format!("unsupported version {version}"),
            ));
        }
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[12..28]);
        let participants = u16::from_be_bytes([bytes[28], bytes[29]]);
        let owner = SenderIndex(u16::from_be_bytes([bytes[30], bytes[31]]));
        let mut rs = [0u8; 8];
        rs.copy_from_slice(&bytes[32..40]);
        if bytes[40..PAD_FILE_HEADER_LEN].iter().any(|b| *b != 0) {
            return Err(Error::malformed(what, "the header's padding is not zero"));
        }
        let layout = PadLayout::new(PadId(id), participants, u64::from_be_bytes(rs))?;
        layout.check_sender(owner)?;
        Ok(PadFileHeader { layout, owner })
    }
}

/// Where a sender stands against the low-pad warnings (10% and 1% of the region left).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum PadLevel {
    /// More than 10% left.
    Plenty,
    /// 10% or less left.
    Low,
    /// 1% or less left.
    Critical,
}

impl PadLevel {
    /// Level for `remaining` of `region` bytes.
    pub fn of(remaining: u64, region: u64) -> Self {
        let r = u128::from(remaining) * 100;
        let g = u128::from(region);
        if r <= g {
            PadLevel::Critical
        } else if r <= g * 10 {
            PadLevel::Low
        } else {
            PadLevel::Plenty
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_regions_disjoint() {
        let layout = PadLayout::new(PadId([7; 16]), 3, 1000).unwrap();
        let h = PadFileHeader {
            layout,
            owner: SenderIndex(2),
        };
        assert_eq!(PadFileHeader::decode(&h.encode()).unwrap(), h);
        let a = layout.absolute(SenderIndex(0), PadOffset(990), 10).unwrap();
        let b = layout.absolute(SenderIndex(1), PadOffset(0), 10).unwrap();
        assert!(a + 10 <= b);
        assert!(layout.absolute(SenderIndex(0), PadOffset(991), 10).is_err());
        assert!(layout.absolute(SenderIndex(3), PadOffset(0), 1).is_err());
        assert!(layout
            .absolute(SenderIndex(1), PadOffset(u64::MAX), 2)
            .is_err());
    }

    #[test]
    fn levels() {
        assert_eq!(PadLevel::of(500, 1000), PadLevel::Plenty);
        assert_eq!(PadLevel::of(100, 1000), PadLevel::Low);
        assert_eq!(PadLevel::of(10, 1000), PadLevel::Critical);
    }
}
