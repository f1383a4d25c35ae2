//! Between the draft's ASN.1 values ([`crate::asn1`]) and the checked domain values the node
//! works with: keys ([`SymKey`], [`PublicKey`]), operations ([`Operation`]), hashes
//! ([`HashAlg`]), periods ([`Window`]). A wire value that names something we do not implement
//! becomes [`Error::Unsupported`]; one with wrong parameters [`Error::BadParameters`].
//! Also the D-1 framing and the per-field nonces of D-14.

use std::time::Duration;

use der::asn1::{GeneralizedTime, Ia5String, OctetString};

use crate::accounting::Window;
use crate::asn1::{
    AbsoluteSizeBlock, AbsoluteUsagePeriod, AddRedundancyOperation, AlgParameters,
    AsymmetricAlgorithm, AsymmetricKey, BlendingParameter, BlendingSpec, CipherMode, CipherPadding,
    DecryptPayloadOperation, EncryptPayloadOperation, MacAlgorithm, MacAlgorithmSpec,
    MapBlockOperation, MergePayloadOperation, NodeSpec, PayloadOperation, PercentSizeBlock,
    Protocol, RemoveRedundancyOperation, SizeBlock, SplitPayloadOperation, SymmetricAlgorithm,
    SymmetricKey, UsagePeriod,
};
use crate::asn1::{SecretOctets, Size as WireSize};
use crate::asym::PublicKey;
use crate::error::{Error, Result};
use crate::hash::HashAlg;
use crate::ops::{Operation, Size};
use crate::redundancy::{GfSize, Shape};
use crate::sym::{Cipher, Mode, Padding, SymKey};

fn octets(bytes: Vec<u8>) -> Result<OctetString> {
    OctetString::new(bytes).map_err(|e| Error::BadParameters(format!("octet string: {e}")))
}

/// A wire key as a usable key.
pub fn sym_from_wire(k: &SymmetricKey) -> Result<SymKey> {
    let cipher = match k.key_type {
        SymmetricAlgorithm::Aes128 => Cipher::Aes128,
        SymmetricAlgorithm::Aes192 => Cipher::Aes192,
        SymmetricAlgorithm::Aes256 => Cipher::Aes256,
        other => return Err(Error::Unsupported(format!("symmetric algorithm {other:?}"))),
    };
    let p = &k.parameter;
    let mode = match p.mode.unwrap_or(CipherMode::Cbc) {
        CipherMode::Cbc => Mode::Cbc,
        CipherMode::Ctr => Mode::Ctr,
        CipherMode::Gcm => Mode::Gcm,
        other => return Err(Error::Unsupported(format!("cipher mode {other:?}"))),
    };
    let default_padding = if mode == Mode::Cbc {
        CipherPadding::Pkcs7
    } else {
        CipherPadding::None
    };
    let padding = match p.padding.unwrap_or(default_padding) {
        CipherPadding::None => Padding::None,
        CipherPadding::Pkcs7 => Padding::Pkcs7,
        other => return Err(Error::Unsupported(format!("symmetric padding {other:?}"))),
    };
    let iv = match mode {
        Mode::Gcm => p.nonce.as_ref().or(p.iv.as_ref()),
        Mode::Cbc | Mode::Ctr => p.iv.as_ref(),
    }
    .ok_or_else(|| Error::BadParameters(format!("{mode:?} needs an IV or nonce")))?;
    SymKey::new(cipher, mode, padding, k.key.expose(), iv.as_bytes())
}

/// A usable key as a wire key.
pub fn sym_to_wire(k: &SymKey) -> Result<SymmetricKey> {
    let key_type = match k.cipher() {
        Cipher::Aes128 => SymmetricAlgorithm::Aes128,
        Cipher::Aes192 => SymmetricAlgorithm::Aes192,
        Cipher::Aes256 => SymmetricAlgorithm::Aes256,
    };
    let iv = octets(k.iv().to_vec())?;
    let (mode, iv, nonce) = match k.mode() {
        Mode::Gcm => (CipherMode::Gcm, None, Some(iv)),
        Mode::Ctr => (CipherMode::Ctr, Some(iv), None),
        Mode::Cbc => (CipherMode::Cbc, Some(iv), None),
    };
    let padding = match k.padding() {
        Padding::None => CipherPadding::None,
        Padding::Pkcs7 => CipherPadding::Pkcs7,
    };
    Ok(SymmetricKey {
        key_type,
        parameter: AlgParameters {
            key_size: Some(8 * k.cipher().key_len() as u32),
            iv,
            nonce,
            mode: Some(mode),
            padding: Some(padding),
            ..AlgParameters::default()
        },
        key: SecretOctets::from_slice(k.key_bytes()),
    })
}

/// A wire public key: RSA, or EC on secp384r1 (the SPKI names the curve; other curves are
/// refused).
pub fn public_from_wire(k: &AsymmetricKey) -> Result<PublicKey> {
    match k.key_type {
        AsymmetricAlgorithm::Rsa => PublicKey::from_spki(k.public_key.as_bytes()),
        AsymmetricAlgorithm::Ec => PublicKey::from_spki_p384(k.public_key.as_bytes())
            .map_err(|_| Error::Unsupported("an EC curve other than secp384r1".into())),
        other => Err(Error::Unsupported(format!(
            "asymmetric algorithm {other:?}"
        ))),
    }
}

/// A public key on the wire (no private part).
pub fn public_to_wire(k: &PublicKey) -> Result<AsymmetricKey> {
    Ok(AsymmetricKey {
        key_type: match k.algorithm() {
            crate::asym::Algorithm::Rsa => AsymmetricAlgorithm::Rsa,
            crate::asym::Algorithm::P384 => AsymmetricAlgorithm::Ec,
        },
        public_key: octets(k.spki().to_vec())?,
        private_key: None,
    })
}

/// The hash a MacAlgorithmSpec names.
pub fn hash_from_wire(spec: &MacAlgorithmSpec) -> HashAlg {
    match spec.algorithm {
        MacAlgorithm::Sha3_256 => HashAlg::Sha3_256,
        MacAlgorithm::Sha3_384 => HashAlg::Sha3_384,
        MacAlgorithm::Sha3_512 => HashAlg::Sha3_512,
        MacAlgorithm::Ripemd160 => HashAlg::Ripemd160,
        MacAlgorithm::Ripemd256 => HashAlg::Ripemd256,
        MacAlgorithm::Ripemd320 => HashAlg::Ripemd320,
    }
}

/// The MacAlgorithmSpec of a hash.
pub fn hash_to_wire(h: HashAlg) -> MacAlgorithmSpec {
    let algorithm = match h {
        HashAlg::Sha3_256 => MacAlgorithm::Sha3_256,
        HashAlg::Sha3_384 => MacAlgorithm::Sha3_384,
        HashAlg::Sha3_512 => MacAlgorithm::Sha3_512,
        HashAlg::Ripemd160 => MacAlgorithm::Ripemd160,
        HashAlg::Ripemd256 => MacAlgorithm::Ripemd256,
        HashAlg::Ripemd320 => MacAlgorithm::Ripemd320,
    };
    MacAlgorithmSpec {
        algorithm,
        parameter: AlgParameters::default(),
    }
}

fn time(t: &GeneralizedTime) -> u64 {
    t.to_unix_duration().as_secs()
}

/// The absolute window of a period: absolute bounds as they are, relative ones counted from
/// `arrival` (D-15); a missing bound is open.
pub fn window(period: &UsagePeriod, arrival: u64) -> Window {
    let rel = |s: i64| {
        if s < 0 {
            arrival.saturating_sub(s.unsigned_abs())
        } else {
            arrival.saturating_add(s.unsigned_abs())
        }
    };
    match period {
        UsagePeriod::Absolute(a) => Window {
            not_before: a.not_before.as_ref().map_or(0, time),
            not_after: a.not_after.as_ref().map_or(u64::MAX, time),
        },
        UsagePeriod::Relative(r) => Window {
            not_before: r.not_before.map_or(0, rel),
            not_after: r.not_after.map_or(u64::MAX, rel),
        },
    }
}

/// The absolute period `[from, to]` (seconds since the Unix epoch).
pub fn absolute(from: u64, to: u64) -> Result<UsagePeriod> {
    let t = |s: u64| {
        GeneralizedTime::from_unix_duration(Duration::from_secs(s))
            .map_err(|e| Error::BadParameters(format!("time {s}: {e}")))
    };
    Ok(UsagePeriod::Absolute(AbsoluteUsagePeriod {
        not_before: Some(t(from)?),
        not_after: Some(t(to)?),
    }))
}

fn id(v: u32) -> Result<u16> {
    u16::try_from(v).map_err(|_| Error::BadParameters(format!("workspace id {v}")))
}

fn count(v: u32) -> Result<usize> {
    usize::try_from(v).map_err(|_| Error::BadParameters(format!("count {v}")))
}

fn keys_from_wire(keys: &[SymmetricKey]) -> Result<Vec<SymKey>> {
    keys.iter().map(sym_from_wire).collect()
}

fn keys_to_wire(keys: &[SymKey]) -> Result<Vec<SymmetricKey>> {
    keys.iter().map(sym_to_wire).collect()
}

/// The shape and keys of an add- or removeRedundancy operation (the two types are the same).
fn redundancy_from_wire(
    data: u32,
    redundancy: u32,
    gf: u32,
    keys: &[SymmetricKey],
) -> Result<(Shape, Vec<SymKey>)> {
    Ok((
        Shape {
            data: count(data)?,
            redundancy: count(redundancy)?,
            gf: GfSize::from_bits(gf)?,
        },
        keys_from_wire(keys)?,
    ))
}

/// A wire operation as an executable one.
pub fn op_from_wire(op: &PayloadOperation) -> Result<Operation> {
    Ok(match op {
        PayloadOperation::Map(m) => Operation::Map {
            from: id(m.original_id)?,
            to: id(m.new_id)?,
        },
        PayloadOperation::Split(s) => Operation::Split {
            from: id(s.original_id)?,
            size: match &s.first_size.size {
                WireSize::Percent(p) => Size::Percent {
                    from: u8::try_from(p.from_percent).unwrap_or(u8::MAX),
                    to: u8::try_from(p.to_percent).unwrap_or(u8::MAX),
                },
                WireSize::Absolute(a) => Size::Absolute {
                    from: a.from_absolute,
                    to: a.to_absolute,
                },
            },
            first: id(s.new_first_id)?,
            second: id(s.new_second_id)?,
        },
        PayloadOperation::Merge(m) => Operation::Merge {
            first: id(m.original_first_id)?,
            second: id(m.original_second_id)?,
            to: id(m.new_id)?,
        },
        PayloadOperation::Encrypt(e) => Operation::Encrypt {
            from: id(e.original_id)?,
            key: sym_from_wire(&e.key)?,
            to: id(e.new_id)?,
        },
        PayloadOperation::Decrypt(d) => Operation::Decrypt {
            from: id(d.original_id)?,
            key: sym_from_wire(&d.key)?,
            to: id(d.new_id)?,
        },
        PayloadOperation::AddRedundancy(a) => {
            let (shape, keys) =
                redundancy_from_wire(a.data_stripes, a.redundancy, a.gf_size, &a.keys)?;
            Operation::AddRedundancy {
                from: id(a.input_id)?,
                shape,
                keys,
                to: id(a.output_id)?,
            }
        }
        PayloadOperation::RemoveRedundancy(r) => {
            let (shape, keys) =
                redundancy_from_wire(r.data_stripes, r.redundancy, r.gf_size, &r.keys)?;
            Operation::RemoveRedundancy {
                from: id(r.input_id)?,
                shape,
                keys,
                to: id(r.output_id)?,
            }
        }
    })
}

/// An executable operation on the wire.
pub fn op_to_wire(op: &Operation) -> Result<PayloadOperation> {
    Ok(match op {
        Operation::Map { from, to } => PayloadOperation::Map(MapBlockOperation {
            original_id: u32::from(*from),
            new_id: u32::from(*to),
        }),
        Operation::Split {
            from,
            size,
            first,
            second,
        } => PayloadOperation::Split(SplitPayloadOperation {
            original_id: u32::from(*from),
            first_size: SizeBlock {
                size: match *size {
                    Size::Percent { from, to } => WireSize::Percent(PercentSizeBlock {
                        from_percent: u32::from(from),
                        to_percent: u32::from(to),
                    }),
                    Size::Absolute { from, to } => WireSize::Absolute(AbsoluteSizeBlock {
                        from_absolute: from,
                        to_absolute: to,
                    }),
                },
            },
            new_first_id: u32::from(*first),
            new_second_id: u32::from(*second),
        }),
        Operation::Merge { first, second, to } => PayloadOperation::Merge(MergePayloadOperation {
            original_first_id: u32::from(*first),
            original_second_id: u32::from(*second),
            new_id: u32::from(*to),
        }),
        Operation::Encrypt { from, key, to } => {
            PayloadOperation::Encrypt(EncryptPayloadOperation {
                original_id: u32::from(*from),
                key: sym_to_wire(key)?,
                new_id: u32::from(*to),
            })
        }
        Operation::Decrypt { from, key, to } => {
            PayloadOperation::Decrypt(DecryptPayloadOperation {
                original_id: u32::from(*from),
                key: sym_to_wire(key)?,
                new_id: u32::from(*to),
            })
        }
        Operation::AddRedundancy {
            from,
            shape,
            keys,
            to,
        } => PayloadOperation::AddRedundancy(AddRedundancyOperation {
            input_id: u32::from(*from),
            data_stripes: shape.data as u32,
            redundancy: shape.redundancy as u32,
            keys: keys_to_wire(keys)?,
            output_id: u32::from(*to),
            gf_size: u32::from(shape.gf.bits()),
        }),
        Operation::RemoveRedundancy {
            from,
            shape,
            keys,
            to,
        } => PayloadOperation::RemoveRedundancy(RemoveRedundancyOperation {
            input_id: u32::from(*from),
            data_stripes: shape.data as u32,
            redundancy: shape.redundancy as u32,
            keys: keys_to_wire(keys)?,
            output_id: u32::from(*to),
            gf_size: u32::from(shape.gf.bits()),
        }),
    })
}

/// The key a field sealed under `base` uses (D-14): the same key with the nonce
/// SHA3-256(nonce ‖ label), cut to the nonce's length, so header and routing, sealed under one
/// sender key, never share a nonce.
pub fn field_key(base: &SymKey, label: &str) -> Result<SymKey> {
    use sha3::{Digest, Sha3_256};
    let mut h = Sha3_256::new();
    h.update(base.iv());
    h.update(label.as_bytes());
    let d = h.finalize();
    let n = base.iv().len().min(d.len());
    base.with_iv(&d[..n])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asn1::{decode, encode};
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn keys_and_operations_survive_the_wire() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let k = SymKey::generate(&mut rng);
        let cbc = SymKey::new(
            Cipher::Aes128,
            Mode::Cbc,
            Padding::Pkcs7,
            &[1; 16],
            &[2; 16],
        )
        .unwrap();
        for key in [&k, &cbc] {
            let w = sym_to_wire(key).unwrap();
            let back: SymmetricKey = decode(&encode(&w).unwrap()).unwrap();
            assert_eq!(&sym_from_wire(&back).unwrap(), key);
        }
        let shape = Shape {
            data: 2,
            redundancy: 2,
            gf: GfSize::Gf16,
        };
        let ops = vec![
            Operation::Map { from: 1, to: 200 },
            Operation::Split {
                from: 200,
                size: Size::Absolute { from: 0, to: -7 },
                first: 201,
                second: 202,
            },
            Operation::Split {
                from: 200,
                size: Size::Percent { from: 0, to: 40 },
                first: 203,
                second: 204,
            },
            Operation::Merge {
                first: 201,
                second: 202,
                to: 205,
            },
            Operation::Encrypt {
                from: 205,
                key: k.clone(),
                to: 206,
            },
            Operation::Decrypt {
                from: 206,
                key: k.clone(),
                to: 207,
            },
            Operation::AddRedundancy {
                from: 207,
                shape,
                keys: (0..4).map(|_| SymKey::generate(&mut rng)).collect(),
                to: 300,
            },
            Operation::RemoveRedundancy {
                from: 300,
                shape,
                keys: (0..4).map(|_| SymKey::generate(&mut rng)).collect(),
                to: 0,
            },
            Operation::Map { from: 5, to: 0 },
        ];
        for op in &ops {
            let w = op_to_wire(op).unwrap();
            let back: PayloadOperation = decode(&encode(&w).unwrap()).unwrap();
            assert_eq!(&op_from_wire(&back).unwrap(), op);
        }
    }

    #[test]
    fn unsupported_algorithms_and_missing_ivs_are_named() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(2);
        let mut w = sym_to_wire(&SymKey::generate(&mut rng)).unwrap();
        w.key_type = SymmetricAlgorithm::Twofish256;
        assert!(matches!(sym_from_wire(&w), Err(Error::Unsupported(_))));
        let mut w = sym_to_wire(&SymKey::generate(&mut rng)).unwrap();
        w.parameter.mode = Some(CipherMode::Ocb);
        assert!(matches!(sym_from_wire(&w), Err(Error::Unsupported(_))));
        let mut w = sym_to_wire(&SymKey::generate(&mut rng)).unwrap();
        w.parameter.nonce = None;
        assert!(matches!(sym_from_wire(&w), Err(Error::BadParameters(_))));
    }

    #[test]
    fn periods_resolve_to_windows() {
        let p = absolute(1_800_000_000, 1_800_000_600).unwrap();
        assert_eq!(
            window(&p, 5),
            Window {
                not_before: 1_800_000_000,
                not_after: 1_800_000_600
            }
        );
        let r = UsagePeriod::Relative(crate::asn1::RelativeUsagePeriod {
            not_before: Some(-10),
            not_after: Some(60),
        });
        assert_eq!(
            window(&r, 1000),
            Window {
                not_before: 990,
                not_after: 1060
            }
        );
    }

    #[test]
    fn field_keys_differ_per_label() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let k = SymKey::generate(&mut rng);
        let (h, r) = (
            field_key(&k, "header").unwrap(),
            field_key(&k, "routing").unwrap(),
        );
        assert_ne!(h.iv(), r.iv());
        assert_eq!(h.key_bytes(), k.key_bytes());
    }
}

/// How a message is blended into its carrier for a hop (§6.1; D-41, D-42): PLAIN at an offset
/// of an attachment, or F5 steganography into a JPEG with a passphrase (which may be public).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blending {
    /// `blendingType "plain"`, parameter `offset [1]` (none means 0).
    Plain {
        /// Where the chunk chain starts in the carrier file.
        offset: u32,
    },
    /// `blendingType "F5"`, parameter `passphrase [4]`.
    F5 {
        /// The F5 passphrase.
        passphrase: Vec<u8>,
    },
}

impl Default for Blending {
    fn default() -> Self {
        Blending::Plain { offset: 0 }
    }
}

/// The largest PLAIN offset we write or accept (a carrier's "header" in front of the chain).
pub const MAX_PLAIN_OFFSET: u32 = 1 << 16;

/// The BlendingSpec that sends to `address` over SMTP with `blending`.
pub fn blending_spec(address: &str, blending: &Blending) -> Result<BlendingSpec> {
    let (name, parameter) = match blending {
        Blending::Plain { offset } => {
            ("plain", vec![BlendingParameter::Offset(i64::from(*offset))])
        }
        Blending::F5 { passphrase } => (
            "F5",
            vec![BlendingParameter::Passphrase(SecretOctets::from_slice(
                passphrase,
            ))],
        ),
    };
    let ia5 = |s: &str| {
        Ia5String::new(s).map_err(|e| Error::BadParameters(format!("not IA5: {s:?}: {e}")))
    };
    Ok(BlendingSpec {
        target: NodeSpec {
            transport_protocol: Protocol::Smtp,
            recipient_address: ia5(address)?,
            recipient_key: None,
        },
        blending_type: ia5(name)?,
        parameter,
    })
}

/// The blending a BlendingSpec asks for: the first offset or passphrase where it lists several
/// (the sender chooses among the ones a node accepts).
pub fn blending_of(spec: &BlendingSpec) -> Result<Blending> {
    match spec.blending_type.as_str() {
        "plain" => {
            let offset = spec.parameter.iter().find_map(|p| match p {
                BlendingParameter::Offset(o) => Some(*o),
                _ => None,
            });
            let offset = offset.unwrap_or(0);
            let offset = u32::try_from(offset)
                .ok()
                .filter(|o| *o <= MAX_PLAIN_OFFSET)
                .ok_or_else(|| Error::BadParameters(format!("plain offset {offset}")))?;
            Ok(Blending::Plain { offset })
        }
        "F5" => spec
            .parameter
            .iter()
            .find_map(|p| match p {
                BlendingParameter::Passphrase(s) => Some(Blending::F5 {
                    passphrase: s.expose().to_vec(),
                }),
                _ => None,
            })
            .ok_or_else(|| Error::BadParameters("F5 blending without a passphrase".into())),
        other => Err(Error::Unsupported(format!("blending {other:?}"))),
    }
}
