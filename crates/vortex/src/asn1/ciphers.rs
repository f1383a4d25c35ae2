//! `MessageVortex-Ciphers` (draft App. A.2; docs/VORTEX.md §2.3): keys, algorithm specs and their
//! enumerations. The enum values are those of A.2, which are authoritative (D-9).

use core::fmt;

use der::asn1::OctetString;
use der::{
    DecodeValue, EncodeValue, Enumerated, FixedTag, Header, Length, Reader, Sequence, Tag, Writer,
};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::{check_range, check_size, no_bounds, DecodeError, Validate};

/// Secret bytes carried as an `OCTET STRING` (key material): wiped when dropped, redacted in
/// `Debug`, compared in constant time (for equal lengths).
#[derive(Clone, Default)]
pub struct SecretOctets(Zeroizing<Vec<u8>>);

impl SecretOctets {
    /// Takes ownership of `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretOctets(Zeroizing::new(bytes))
    }

    /// Copies `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        SecretOctets::new(bytes.to_vec())
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretOctets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretOctets(<redacted>)")
    }
}

impl PartialEq for SecretOctets {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_slice().ct_eq(other.0.as_slice()).into()
    }
}

impl Eq for SecretOctets {}

impl FixedTag for SecretOctets {
    const TAG: Tag = Tag::OctetString;
}

impl<'a> DecodeValue<'a> for SecretOctets {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        // `der` already bounds the length by the input; checked again before allocating.
        if header.length() > reader.remaining_len() {
            return Err(reader.error(der::ErrorKind::Length {
                tag: Tag::OctetString,
            }));
        }
        let len = usize::try_from(header.length())?;
        let mut bytes = Zeroizing::new(vec![0u8; len]);
        reader.read_into(&mut bytes)?;
        Ok(SecretOctets(bytes))
    }
}

impl EncodeValue for SecretOctets {
    fn value_len(&self) -> der::Result<Length> {
        Length::try_from(self.0.len())
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        writer.write(&self.0)
    }
}

/// `SymmetricAlgorithm` (A.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum SymmetricAlgorithm {
    /// `aes128` (1000), required.
    Aes128 = 1000,
    /// `aes192` (1001).
    Aes192 = 1001,
    /// `aes256` (1002), required.
    Aes256 = 1002,
    /// `camellia128` (1100), required.
    Camellia128 = 1100,
    /// `camellia192` (1101).
    Camellia192 = 1101,
    /// `camellia256` (1102), required.
    Camellia256 = 1102,
    /// `twofish128` (1200).
    Twofish128 = 1200,
    /// `twofish192` (1201).
    Twofish192 = 1201,
    /// `twofish256` (1202).
    Twofish256 = 1202,
}

/// `AsymmetricAlgorithm` (A.2). (Java numbers EC 2600; we follow the ASN.1.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum AsymmetricAlgorithm {
    /// `rsa` (2000).
    Rsa = 2000,
    /// `dsa` (2100).
    Dsa = 2100,
    /// `ec` (2200).
    Ec = 2200,
    /// `ntru` (2300).
    Ntru = 2300,
}

/// `ECCurveType` (A.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum EcCurveType {
    /// `secp384r1` (2500).
    Secp384r1 = 2500,
    /// `sect409k1` (2501).
    Sect409k1 = 2501,
    /// `secp521r1` (2502).
    Secp521r1 = 2502,
}

/// `CipherMode` (A.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum CipherMode {
    /// `cbc` (10000), required.
    Cbc = 10000,
    /// `ctr` (10001), required.
    Ctr = 10001,
    /// `ccm` (10002).
    Ccm = 10002,
    /// `gcm` (10003).
    Gcm = 10003,
    /// `ocb` (10004).
    Ocb = 10004,
    /// `ofb` (10005).
    Ofb = 10005,
    /// `xts` (10006).
    Xts = 10006,
    /// `none` (10100), required.
    None = 10100,
}

/// `CipherPadding` (A.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum CipherPadding {
    /// `none` (10200).
    None = 10200,
    /// `pkcs1` (10201).
    Pkcs1 = 10201,
    /// `rsaesOaep` (10202).
    RsaesOaep = 10202,
    /// `oaepSha256Mgf1` (10203).
    OaepSha256Mgf1 = 10203,
    /// `ap` (10221).
    Ap = 10221,
    /// `pkcs7` (10301).
    Pkcs7 = 10301,
}

/// `MacAlgorithm` (A.2): hash functions (Java puts SHA-2 at 3000..3002; we follow the ASN.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum MacAlgorithm {
    /// `sha3-256` (3000).
    Sha3_256 = 3000,
    /// `sha3-384` (3001).
    Sha3_384 = 3001,
    /// `sha3-512` (3002).
    Sha3_512 = 3002,
    /// `ripemd160` (3100).
    Ripemd160 = 3100,
    /// `ripemd256` (3101).
    Ripemd256 = 3101,
    /// `ripemd320` (3102).
    Ripemd320 = 3102,
}

/// `PRNGType` (A.2). (10301 is also `CipherPadding.pkcs7`; the enums are distinct types.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum PrngType {
    /// `mrg32k3a` (10300).
    Mrg32k3a = 10300,
    /// `blumMicali` (10301).
    BlumMicali = 10301,
}

/// `CipherUsage` (A.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Enumerated)]
#[repr(u32)]
pub enum CipherUsage {
    /// `sign` (200).
    Sign = 200,
    /// `encrypt` (210).
    Encrypt = 210,
}

/// `AlgParameters` (A.2): every field is OPTIONAL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct AlgParameters {
    /// `keySize [9000] INTEGER (0..65535)`, in bits.
    #[asn1(context_specific = "9000", tag_mode = "EXPLICIT", optional = "true")]
    pub key_size: Option<u32>,
    /// `curveType [9001] ECCurveType`.
    #[asn1(context_specific = "9001", tag_mode = "EXPLICIT", optional = "true")]
    pub curve_type: Option<EcCurveType>,
    /// `iv [9002] OCTET STRING`: required when the mode needs one (§2.6).
    #[asn1(context_specific = "9002", tag_mode = "EXPLICIT", optional = "true")]
    pub iv: Option<OctetString>,
    /// `nonce [9003] OCTET STRING`.
    #[asn1(context_specific = "9003", tag_mode = "EXPLICIT", optional = "true")]
    pub nonce: Option<OctetString>,
    /// `mode [9004] CipherMode`.
    #[asn1(context_specific = "9004", tag_mode = "EXPLICIT", optional = "true")]
    pub mode: Option<CipherMode>,
    /// `padding [9005] CipherPadding`.
    #[asn1(context_specific = "9005", tag_mode = "EXPLICIT", optional = "true")]
    pub padding: Option<CipherPadding>,
    /// `n [9010] INTEGER`.
    #[asn1(context_specific = "9010", tag_mode = "EXPLICIT", optional = "true")]
    pub n: Option<i64>,
    /// `p [9011] INTEGER`.
    #[asn1(context_specific = "9011", tag_mode = "EXPLICIT", optional = "true")]
    pub p: Option<i64>,
    /// `q [9012] INTEGER`.
    #[asn1(context_specific = "9012", tag_mode = "EXPLICIT", optional = "true")]
    pub q: Option<i64>,
    /// `k [9013] INTEGER`.
    #[asn1(context_specific = "9013", tag_mode = "EXPLICIT", optional = "true")]
    pub k: Option<i64>,
    /// `t [9014] INTEGER`.
    #[asn1(context_specific = "9014", tag_mode = "EXPLICIT", optional = "true")]
    pub t: Option<i64>,
}

impl Validate for AlgParameters {
    fn validate(&self) -> Result<(), DecodeError> {
        if let Some(size) = self.key_size {
            check_range("AlgParameters.key_size", size, 0, 65_535)?;
        }
        Ok(())
    }
}

/// `SymmetricKey` (A.2; §2.6.2): a symmetric key with its parameters (IV, mode, padding).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SymmetricKey {
    /// `keyType SymmetricAlgorithm`.
    pub key_type: SymmetricAlgorithm,
    /// `parameter AlgParameters`.
    pub parameter: AlgParameters,
    /// `key OCTET STRING (SIZE(16..512))`: the secret key, wiped on drop.
    pub key: SecretOctets,
}

impl Validate for SymmetricKey {
    fn validate(&self) -> Result<(), DecodeError> {
        self.parameter.validate()?;
        check_size("SymmetricKey.key", self.key.len(), 16, 512)
    }
}

/// `AsymmetricKey` (A.2; §2.6.1). The public key is an X.509 SubjectPublicKeyInfo and the
/// private key a PKCS#8 PrivateKeyInfo (the ASN.1 comments have them the wrong way round).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AsymmetricKey {
    /// `keyType AsymmetricAlgorithm`.
    pub key_type: AsymmetricAlgorithm,
    /// `publicKey [2] OCTET STRING`: DER SubjectPublicKeyInfo.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
    pub public_key: OctetString,
    /// `privateKey [3] OCTET STRING OPTIONAL`: DER PKCS#8, wiped on drop.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub private_key: Option<SecretOctets>,
}

/// `CipherSpec` (A.2): one supported cipher combination, for capabilities.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CipherSpec {
    /// `asymmetric [16001] AsymAlgSpec OPTIONAL`.
    #[asn1(context_specific = "16001", tag_mode = "EXPLICIT", optional = "true")]
    pub asymmetric: Option<AsymAlgSpec>,
    /// `symmetric [16002] SymAlgSpec OPTIONAL`.
    #[asn1(context_specific = "16002", tag_mode = "EXPLICIT", optional = "true")]
    pub symmetric: Option<SymAlgSpec>,
    /// `mac [16003] MacAlgorithmSpec OPTIONAL`.
    #[asn1(context_specific = "16003", tag_mode = "EXPLICIT", optional = "true")]
    pub mac: Option<MacAlgorithmSpec>,
    /// `cipherUsage [16004] CipherUsage`.
    #[asn1(context_specific = "16004", tag_mode = "EXPLICIT")]
    pub cipher_usage: CipherUsage,
}

impl Validate for CipherSpec {
    fn validate(&self) -> Result<(), DecodeError> {
        self.asymmetric.validate()?;
        self.symmetric.validate()?;
        self.mac.validate()
    }
}

/// `SymAlgSpec` (A.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SymAlgSpec {
    /// `algorithm [16101] SymmetricAlgorithm`.
    #[asn1(context_specific = "16101", tag_mode = "EXPLICIT")]
    pub algorithm: SymmetricAlgorithm,
    /// `padding [16102] CipherPadding OPTIONAL` (absent: pkcs7).
    #[asn1(context_specific = "16102", tag_mode = "EXPLICIT", optional = "true")]
    pub padding: Option<CipherPadding>,
    /// `mode [16103] CipherMode OPTIONAL` (absent: cbc).
    #[asn1(context_specific = "16103", tag_mode = "EXPLICIT", optional = "true")]
    pub mode: Option<CipherMode>,
    /// `parameter [16104] AlgParameters OPTIONAL`.
    #[asn1(context_specific = "16104", tag_mode = "EXPLICIT", optional = "true")]
    pub parameter: Option<AlgParameters>,
}

impl Validate for SymAlgSpec {
    fn validate(&self) -> Result<(), DecodeError> {
        self.parameter.validate()
    }
}

/// `AsymAlgSpec` (A.2).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AsymAlgSpec {
    /// `algorithm AsymmetricAlgorithm` (untagged).
    pub algorithm: AsymmetricAlgorithm,
    /// `padding [16102] CipherPadding OPTIONAL` (absent: pkcs1).
    #[asn1(context_specific = "16102", tag_mode = "EXPLICIT", optional = "true")]
    pub padding: Option<CipherPadding>,
    /// `parameter AlgParameters OPTIONAL` (untagged).
    #[asn1(optional = "true")]
    pub parameter: Option<AlgParameters>,
}

impl Validate for AsymAlgSpec {
    fn validate(&self) -> Result<(), DecodeError> {
        self.parameter.validate()
    }
}

/// `MacAlgorithmSpec` (A.2): a hash algorithm with parameters.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MacAlgorithmSpec {
    /// `algorithm MacAlgorithm`.
    pub algorithm: MacAlgorithm,
    /// `parameter AlgParameters`.
    pub parameter: AlgParameters,
}

impl Validate for MacAlgorithmSpec {
    fn validate(&self) -> Result<(), DecodeError> {
        self.parameter.validate()
    }
}

/// `PRNGAlgorithmSpec` (A.2; referenced by no message).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PrngAlgorithmSpec {
    /// `type PRNGType`.
    pub prng_type: PrngType,
    /// `seed OCTET STRING`.
    pub seed: OctetString,
}

no_bounds!(
    AsymmetricKey,
    PrngAlgorithmSpec,
    SymmetricAlgorithm,
    AsymmetricAlgorithm,
    EcCurveType,
    CipherMode,
    CipherPadding,
    MacAlgorithm,
    PrngType,
    CipherUsage,
);
