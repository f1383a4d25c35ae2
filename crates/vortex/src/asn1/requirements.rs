//! `MessageVortex-Requirements` (draft App. A.5; §7.3.2; docs/VORTEX.md §2.4): what a node asks
//! for before it makes an identity permanent.

use der::asn1::{BitString, OctetString};
use der::{
    Choice, DecodeValue, EncodeValue, Enumerated, FixedTag, Header, Length, Reader, Sequence, Tag,
    Writer,
};

use super::ciphers::MacAlgorithmSpec;
use super::helpers::UsagePeriod;
use super::schema::HeaderBlock;
use super::{no_bounds, DecodeError, DecodeErrorKind, Validate};

/// `RequirementBlock` (A.5).
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum RequirementBlock {
    /// `puzzle [1] RequirementPuzzleRequired` (§7.3.2.1).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Puzzle(RequirementPuzzleRequired),
    /// `payment [2] RequirementPaymentRequired` (§7.3.2.2; decoded but never offered).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    Payment(RequirementPaymentRequired),
}

impl Validate for RequirementBlock {
    fn validate(&self) -> Result<(), DecodeError> {
        match self {
            RequirementBlock::Puzzle(p) => p.validate(),
            RequirementBlock::Payment(p) => p.validate(),
        }
    }
}

/// `RequirementPuzzleRequired` (A.5; §7.3.2.1): a proof-of-work puzzle.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RequirementPuzzleRequired {
    /// `challenge BIT STRING`: the bits the hash must start with.
    pub challenge: BitString,
    /// `mac MacAlgorithmSpec`: the hash to use.
    pub mac: MacAlgorithmSpec,
    /// `valid UsagePeriod`.
    pub valid: UsagePeriod,
    /// `identifier INTEGER (0..4294967295)`; in the header it becomes a `PuzzleIdentifier`
    /// (see [`RequirementPuzzleRequired::header_identifier`], D-17).
    pub identifier: u32,
}

impl RequirementPuzzleRequired {
    /// The header's `PuzzleIdentifier` for this puzzle: the 4-byte big-endian identifier (D-17).
    pub fn header_identifier(&self) -> Result<OctetString, DecodeError> {
        HeaderBlock::puzzle_identifier(self.identifier)
    }
}

impl Validate for RequirementPuzzleRequired {
    fn validate(&self) -> Result<(), DecodeError> {
        self.mac.validate()?;
        self.valid.validate()
    }
}

/// `RequirementPaymentRequired` (A.5; §7.3.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RequirementPaymentRequired {
    /// `account OCTET STRING`.
    pub account: OctetString,
    /// `ammount REAL` (the draft's spelling).
    pub ammount: Real,
    /// `currency Currency`.
    pub currency: Currency,
}

impl Validate for RequirementPaymentRequired {
    fn validate(&self) -> Result<(), DecodeError> {
        self.ammount.validate()
    }
}

/// `Currency` (A.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum Currency {
    /// `btc` (8001).
    Btc = 8001,
    /// `eth` (8002).
    Eth = 8002,
    /// `zec` (8003).
    Zec = 8003,
}

no_bounds!(Currency);

/// An ASN.1 `REAL`, carried as its raw DER content octets (the `der` crate's `REAL` support sits
/// behind a feature this crate does not enable).
///
/// [`Validate`] accepts exactly the DER forms (X.690 §8.5, §11.3) of: zero (no octets), the
/// special values (`40` +∞, `41` −∞, `42` NaN, `43` −0) and base-2 binary values with scale
/// factor 0, an odd mantissa without leading zero octets and a minimal 1–3 octet exponent.
/// Decimal forms and exponents longer than 3 octets are rejected as [`DecodeErrorKind::Invalid`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Real {
    /// The content octets (after tag and length).
    pub content: Vec<u8>,
}

/// The parts of a binary-form REAL: sign, exponent and mantissa octets.
struct BinaryReal<'a> {
    negative: bool,
    exponent: i32,
    mantissa: &'a [u8],
}

impl Real {
    /// The DER `REAL` for `x` (every `f64` has one).
    pub fn from_f64(x: f64) -> Real {
        if x.is_nan() {
            return Real {
                content: vec![0x42],
            };
        }
        if x.is_infinite() {
            let special = if x > 0.0 { 0x40 } else { 0x41 };
            return Real {
                content: vec![special],
            };
        }
        if x == 0.0 {
            let content = if x.is_sign_negative() {
                vec![0x43]
            } else {
                Vec::new()
            };
            return Real { content };
        }
        let bits = x.to_bits();
        let negative = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1u64 << 52) - 1);
        let (mut mantissa, mut exponent) = if biased == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), biased - 1075)
        };
        let shift = mantissa.trailing_zeros();
        mantissa >>= shift;
        exponent += shift as i32;

        let exp_bytes = minimal_twos_complement(exponent);
        let mut content = Vec::with_capacity(1 + exp_bytes.len() + 8);
        let format: u8 = match exp_bytes.len() {
            1 => 0b00,
            2 => 0b01,
            _ => 0b10,
        };
        content.push(0x80 | if negative { 0x40 } else { 0 } | format);
        content.extend_from_slice(&exp_bytes);
        let m = mantissa.to_be_bytes();
        let first = m.iter().position(|&b| b != 0).unwrap_or(m.len());
        content.extend_from_slice(m.get(first..).unwrap_or(&[]));
        Real { content }
    }

    /// The value as an `f64` (rounded when the mantissa is wider than 53 bits or the value is out
    /// of `f64`'s range); `None` when the content is not a DER `REAL` this type accepts.
    pub fn to_f64(&self) -> Option<f64> {
        match self.content.as_slice() {
            [] => return Some(0.0),
            [0x40] => return Some(f64::INFINITY),
            [0x41] => return Some(f64::NEG_INFINITY),
            [0x42] => return Some(f64::NAN),
            [0x43] => return Some(-0.0),
            _ => {}
        }
        let parts = self.binary().ok()?;
        let mut m = 0f64;
        for &b in parts.mantissa {
            m = m * 256.0 + f64::from(b);
        }
        let half = parts.exponent / 2;
        let rest = parts.exponent - half;
        let value = m * 2f64.powi(half) * 2f64.powi(rest);
        Some(if parts.negative { -value } else { value })
    }

    /// Splits a binary-form REAL, checking the DER rules.
    fn binary(&self) -> Result<BinaryReal<'_>, &'static str> {
        let (&first, rest) = self.content.split_first().ok_or("empty")?;
        if first & 0x80 == 0 {
            return Err(if first & 0x40 == 0 {
                "decimal REAL forms are not supported"
            } else {
                "unknown special REAL value"
            });
        }
        if first & 0x30 != 0 {
            return Err("DER requires base 2");
        }
        if first & 0x0c != 0 {
            return Err("DER requires scale factor 0");
        }
        let exp_len = match first & 0x03 {
            0 => 1,
            1 => 2,
            2 => 3,
            _ => return Err("exponents longer than 3 octets are not supported"),
        };
        if rest.len() <= exp_len {
            return Err("truncated REAL");
        }
        let (exp, mantissa) = rest.split_at(exp_len);
        if minimal_twos_complement(decode_exponent(exp)).len() != exp_len {
            return Err("the exponent is not minimal");
        }
        match (mantissa.first(), mantissa.last()) {
            (Some(&lead), Some(&last)) if lead != 0 && last & 1 == 1 => Ok(BinaryReal {
                negative: first & 0x40 != 0,
                exponent: decode_exponent(exp),
                mantissa,
            }),
            _ => Err("DER requires an odd mantissa without leading zero octets"),
        }
    }
}

/// Sign-extends 1–3 big-endian two's-complement octets.
fn decode_exponent(bytes: &[u8]) -> i32 {
    let fill = match bytes.first() {
        Some(&b) if b & 0x80 != 0 => -1i32,
        _ => 0,
    };
    bytes
        .iter()
        .fold(fill, |acc, &b| acc.wrapping_shl(8) | i32::from(b))
}

/// The shortest big-endian two's-complement octets of `v`.
fn minimal_twos_complement(v: i32) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start + 1 < bytes.len() {
        let (this, next) = match (bytes.get(start), bytes.get(start + 1)) {
            (Some(&a), Some(&b)) => (a, b),
            _ => break,
        };
        let redundant = (this == 0x00 && next & 0x80 == 0) || (this == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes.get(start..).unwrap_or(&[]).to_vec()
}

impl Validate for Real {
    fn validate(&self) -> Result<(), DecodeError> {
        match self.content.as_slice() {
            [] | [0x40] | [0x41] | [0x42] | [0x43] => Ok(()),
            _ => self.binary().map(|_| ()).map_err(|reason| {
                DecodeError::new(DecodeErrorKind::Invalid {
                    field: "RequirementPaymentRequired.ammount",
                    reason,
                })
            }),
        }
    }
}

impl FixedTag for Real {
    const TAG: Tag = Tag::Real;
}

impl<'a> DecodeValue<'a> for Real {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        // `der` already bounds the length by the input; checked again before allocating.
        if header.length() > reader.remaining_len() {
            return Err(reader.error(der::ErrorKind::Length { tag: Tag::Real }));
        }
        let len = usize::try_from(header.length())?;
        let mut content = vec![0u8; len];
        reader.read_into(&mut content)?;
        Ok(Real { content })
    }
}

impl EncodeValue for Real {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.content.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.content)
    }
}
