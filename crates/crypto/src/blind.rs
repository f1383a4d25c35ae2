//! Blind signatures for registration tokens: RSA blind signatures, RFC 9474 (Denis, Jacobs and Wood,
//! "RSA Blind Signatures", IRTF CFRG, October 2023), via the `blind-rsa-signatures` 0.18 crate.
//!
//! The identity validator (seed 000 §4.2.2) is the *issuer*: after checking a voter's identity it
//! signs a blinded token; the voter unblinds it and later presents `(token, signature)` to the
//! registrar together with its stealth meta-address ([`crate::stealth`]). The issuer sees only the
//! blinded message, which is uniformly distributed and independent of the token, so it cannot link
//! the identity it checked to the token that is redeemed (RFC 9474 §7, "blindness").
//!
//! # Variant
//!
//! We use **RSABSSA-SHA384-PSS-Randomized** (RFC 9474 §5), the variant the RFC lists first and
//! recommends: SHA-384, MGF1-SHA-384, a 48-byte PSS salt, and randomized message preparation (a
//! fresh 32-byte prefix is prepended to the message before signing, §4.1). The randomized
//! preparation means the issuer never signs an input the client fully chose (§7.2 "message
//! robustness") and that signatures on low-entropy messages stay unlinkable (§7.3); the PSS salt
//! keeps the encoding probabilistic. The price is that a [`TokenSignature`] carries the 32-byte
//! prefix next to the RSA signature. The deterministic variants would buy nothing here: tokens are
//! not used as a VOPRF.
//!
//! # Keys
//!
//! Issuer keys are generated with at least [`MIN_MODULUS_BITS`] = 2048 bits (RFC 9474 §6.2 and the
//! crate's lower bound; the crate also caps at 4096). 2048 bits is used in tests for speed; for an
//! election prefer 3072 or 4096. Public keys serialize as DER `SubjectPublicKeyInfo` (rsaEncryption),
//! hex in JSON. Secret keys are zeroized on drop by the `rsa` crate and never printed.
//!
//! # Randomness
//!
//! Our API takes a `rand_core` 0.6 RNG; the crate wants `rand_core` 0.10. [`Rng010`] adapts one to
//! the other by forwarding every call, so all randomness (prefix, salt, blinding factor, key
//! generation, the signer's side-channel blinding) comes from the caller's RNG.

use core::convert::Infallible;
use core::fmt;

use blind_rsa_signatures as brsa;
use rand_core::{CryptoRng, RngCore};
use rsa::rand_core as rc010;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// Smallest accepted RSA modulus size, in bits.
pub const MIN_MODULUS_BITS: usize = 2048;
/// Largest accepted RSA modulus size, in bits (the crate's limit).
pub const MAX_MODULUS_BITS: usize = 4096;
/// Length of the randomized-preparation prefix (RFC 9474 §4.1).
pub const RANDOMIZER_LEN: usize = 32;

type Pk = brsa::PublicKeySha384PSSRandomized;
type Sk = brsa::SecretKeySha384PSSRandomized;

fn err(what: &str, e: brsa::Error) -> Error {
    Error::BlindSignature(format!("{what}: {e}"))
}

/// Adapts a `rand_core` 0.6 cryptographic RNG to the `rand_core` 0.10 traits that
/// `blind-rsa-signatures` 0.18 and `rsa` 0.10 expect, forwarding every call.
pub struct Rng010<'a, R: RngCore + CryptoRng>(pub &'a mut R);

impl<R: RngCore + CryptoRng> rc010::TryRng for Rng010<'_, R> {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> core::result::Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }
    fn try_next_u64(&mut self) -> core::result::Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> core::result::Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

impl<R: RngCore + CryptoRng> rc010::TryCryptoRng for Rng010<'_, R> {}

/// The issuer's public key (RSABSSA-SHA384-PSS-Randomized).
#[derive(Clone, PartialEq, Eq)]
pub struct IssuerPublicKey(Pk);

/// The issuer's secret key. Zeroized on drop (by `rsa`); `Debug` prints nothing secret.
#[derive(Clone)]
pub struct IssuerSecretKey(Sk);

impl fmt::Debug for IssuerSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuerSecretKey(<redacted>)")
    }
}

impl fmt::Debug for IssuerPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_der() {
            Ok(der) => write!(f, "IssuerPublicKey({})", hex::encode(der)),
            Err(_) => f.write_str("IssuerPublicKey(<unencodable>)"),
        }
    }
}

/// Generates an issuer key pair with a `modulus_bits`-bit modulus (2048..=4096).
pub fn generate_issuer_key<R: RngCore + CryptoRng>(
    modulus_bits: usize,
    rng: &mut R,
) -> Result<(IssuerSecretKey, IssuerPublicKey)> {
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&modulus_bits) {
        return Err(Error::BlindSignature(format!(
            "RSA modulus must be {MIN_MODULUS_BITS}..={MAX_MODULUS_BITS} bits, got {modulus_bits}"
        )));
    }
    let kp = brsa::KeyPairSha384PSSRandomized::generate(&mut Rng010(rng), modulus_bits)
        .map_err(|e| err("key generation", e))?;
    Ok((IssuerSecretKey(kp.sk), IssuerPublicKey(kp.pk)))
}

impl IssuerPublicKey {
    /// DER `SubjectPublicKeyInfo` (rsaEncryption).
    pub fn to_der(&self) -> Result<Vec<u8>> {
        self.0.to_der().map_err(|e| err("encoding public key", e))
    }
    /// Decodes DER `SubjectPublicKeyInfo` (or PKCS#1 `RSAPublicKey`); rejects moduli outside
    /// 2048..=4096 bits and public exponents other than 3 and 65537.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        Pk::from_der(der)
            .map(IssuerPublicKey)
            .map_err(|e| err("decoding public key", e))
    }
    /// PEM `PUBLIC KEY`.
    pub fn to_pem(&self) -> Result<String> {
        self.0.to_pem().map_err(|e| err("encoding public key", e))
    }
    /// Decodes PEM.
    pub fn from_pem(pem: &str) -> Result<Self> {
        Pk::from_pem(pem)
            .map(IssuerPublicKey)
            .map_err(|e| err("decoding public key", e))
    }
    /// Modulus length in bytes (the length of every blinded message and signature).
    pub fn modulus_len(&self) -> usize {
        self.0.components().n().len()
    }
}

crate::schema_via!(IssuerPublicKey, crate::api_schema::RsaKeyHex);

impl Serialize for IssuerPublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        let der = self.to_der().map_err(serde::ser::Error::custom)?;
        s.serialize_str(&hex::encode(der))
    }
}

impl<'de> Deserialize<'de> for IssuerPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let der =
            crate::encoding::hex_decode("RSA public key", &s).map_err(serde::de::Error::custom)?;
        IssuerPublicKey::from_der(&der).map_err(serde::de::Error::custom)
    }
}

impl IssuerSecretKey {
    /// The matching public key.
    pub fn public_key(&self) -> Result<IssuerPublicKey> {
        self.0
            .public_key()
            .map(IssuerPublicKey)
            .map_err(|e| err("deriving public key", e))
    }
    /// PKCS#8 DER, for sealed storage. Zeroized when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        self.0
            .to_der()
            .map(Zeroizing::new)
            .map_err(|e| err("encoding secret key", e))
    }
    /// Decodes PKCS#8 (or PKCS#1) DER and validates the key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        Sk::from_der(der)
            .map(IssuerSecretKey)
            .map_err(|e| err("decoding secret key", e))
    }
}

/// What the client sends to the issuer: the blinded message (RFC 9474 `blinded_msg`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = crate::api_schema::HexBytes)]
pub struct BlindedRequest(#[serde(with = "hex::serde")] pub Vec<u8>);

/// What the issuer returns: the blind signature (RFC 9474 `blind_sig`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(value_type = crate::api_schema::HexBytes)]
pub struct BlindSignature(#[serde(with = "hex::serde")] pub Vec<u8>);

/// A finalized token signature: the message randomizer (RFC 9474 `msg_prefix`) and the RSA-PSS
/// signature over `randomizer ‖ message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenSignature {
    /// The 32-byte prefix of randomized message preparation.
    #[schema(value_type = crate::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub randomizer: [u8; RANDOMIZER_LEN],
    /// The RSA signature, as long as the modulus.
    #[schema(value_type = crate::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
}

/// The client's secret state between [`blind`] and [`finalize`]: the unblinding factor
/// `inv = r⁻¹ mod n` and the message randomizer. Zeroized on drop; `Debug` prints nothing secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct BlindingState {
    inv: Vec<u8>,
    randomizer: [u8; RANDOMIZER_LEN],
}

impl fmt::Debug for BlindingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindingState(<redacted>)")
    }
}

impl BlindingState {
    /// Serializes the state for the client's own storage while it waits for the issuer:
    /// `randomizer (32 bytes) ‖ inv (modulus length, big-endian)`. Keep it secret.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(RANDOMIZER_LEN + self.inv.len()));
        out.extend_from_slice(&self.randomizer);
        out.extend_from_slice(&self.inv);
        out
    }

    /// Decodes [`BlindingState::to_bytes`] (also how RFC 9474's `msg_prefix` and `inv` test-vector
    /// values are loaded).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() <= RANDOMIZER_LEN {
            return Err(Error::malformed(
                "blinding state",
                format!("too short: {} bytes", bytes.len()),
            ));
        }
        let mut randomizer = [0u8; RANDOMIZER_LEN];
        randomizer.copy_from_slice(&bytes[..RANDOMIZER_LEN]);
        Ok(BlindingState {
            inv: bytes[RANDOMIZER_LEN..].to_vec(),
            randomizer,
        })
    }
}

/// Client: prepares (randomized) and blinds `msg` for the issuer `pk` (RFC 9474 §4.1–4.2).
/// Send the [`BlindedRequest`]; keep the [`BlindingState`] secret.
pub fn blind<R: RngCore + CryptoRng>(
    pk: &IssuerPublicKey,
    msg: &[u8],
    rng: &mut R,
) -> Result<(BlindedRequest, BlindingState)> {
    let mut res =
        pk.0.blind(&mut Rng010(rng), msg)
            .map_err(|e| err("blinding", e))?;
    let randomizer = res
        .msg_randomizer
        .map(|m| m.0)
        .ok_or_else(|| Error::BlindSignature("randomized variant returned no randomizer".into()))?;
    let state = BlindingState {
        inv: core::mem::take(&mut res.secret.0),
        randomizer,
    };
    Ok((
        BlindedRequest(core::mem::take(&mut res.blind_message.0)),
        state,
    ))
}

/// Issuer: signs a blinded request (RFC 9474 §4.3, with the signature checked before it is
/// returned). `rng` drives RSA base blinding against timing side channels.
pub fn sign_blinded<R: RngCore + CryptoRng>(
    sk: &IssuerSecretKey,
    req: &BlindedRequest,
    rng: &mut R,
) -> Result<BlindSignature> {
    sk.0.blind_sign_with_rng(&mut Rng010(rng), &req.0)
        .map(|s| BlindSignature(s.0))
        .map_err(|e| err("blind signing", e))
}

/// Client: unblinds the issuer's answer into a token signature on `msg` and verifies it
/// (RFC 9474 §4.4). Fails if the issuer answered with anything but a valid blind signature.
pub fn finalize(
    pk: &IssuerPublicKey,
    state: &BlindingState,
    blind_sig: &BlindSignature,
    msg: &[u8],
) -> Result<TokenSignature> {
    let mut result = brsa::BlindingResult {
        // Not used by `finalize`; the crate's struct needs one.
        blind_message: brsa::BlindMessage(Vec::new()),
        secret: brsa::Secret(state.inv.clone()),
        msg_randomizer: Some(brsa::MessageRandomizer(state.randomizer)),
    };
    let out =
        pk.0.finalize(&brsa::BlindSignature(blind_sig.0.clone()), &result, msg);
    result.secret.0.zeroize();
    let sig = out.map_err(|e| err("finalizing", e))?;
    Ok(TokenSignature {
        randomizer: state.randomizer,
        signature: sig.0,
    })
}

/// Anyone: verifies a token signature on `msg` under the issuer key `pk` (RFC 9474 §4.5:
/// RSASSA-PSS-VERIFY of `randomizer ‖ msg`).
pub fn verify(pk: &IssuerPublicKey, msg: &[u8], sig: &TokenSignature) -> Result<()> {
    pk.0.verify(
        &brsa::Signature(sig.signature.clone()),
        Some(brsa::MessageRandomizer(sig.randomizer)),
        msg,
    )
    .map_err(|e| err("token signature does not verify", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use std::sync::OnceLock;

    fn keys() -> &'static (IssuerSecretKey, IssuerPublicKey) {
        static K: OnceLock<(IssuerSecretKey, IssuerPublicKey)> = OnceLock::new();
        K.get_or_init(|| generate_issuer_key(2048, &mut ChaCha20Rng::seed_from_u64(21)).unwrap())
    }

    #[test]
    fn round_trip_and_blindness_and_forgeries() {
        let (sk, pk) = keys();
        let mut rng = ChaCha20Rng::seed_from_u64(22);
        let msg = b"registration token 0001";
        let (req, state) = blind(pk, msg, &mut rng).unwrap();
        assert_eq!(req.0.len(), 256);
        assert_eq!(pk.modulus_len(), 256);
        // the issuer's view: not the message, and different each time
        assert!(!req.0.windows(msg.len()).any(|w| w == msg));
        let (req2, _) = blind(pk, msg, &mut rng).unwrap();
        assert_ne!(req, req2);
        let bs = sign_blinded(sk, &req, &mut rng).unwrap();
        let tok = finalize(pk, &state, &bs, msg).unwrap();
        // the final signature is not what the issuer produced
        assert_ne!(tok.signature, bs.0);
        verify(pk, msg, &tok).unwrap();
        // forgeries
        assert!(verify(pk, b"registration token 0002", &tok).is_err());
        let mut t = tok.clone();
        t.signature[17] ^= 1;
        assert!(verify(pk, msg, &t).is_err());
        let mut t = tok.clone();
        t.randomizer[0] ^= 1;
        assert!(verify(pk, msg, &t).is_err());
        let mut t = tok.clone();
        t.signature.pop();
        assert!(verify(pk, msg, &t).is_err());
        // the blind signature itself is not a token signature
        let t = TokenSignature {
            randomizer: tok.randomizer,
            signature: bs.0.clone(),
        };
        assert!(verify(pk, msg, &t).is_err());
        // finalizing with the wrong message or a tampered blind signature fails
        assert!(finalize(pk, &state, &bs, b"other").is_err());
        let mut bad = bs.clone();
        bad.0[3] ^= 1;
        assert!(finalize(pk, &state, &bad, msg).is_err());
        // state round trip
        let st2 = BlindingState::from_bytes(&state.to_bytes()).unwrap();
        assert_eq!(finalize(pk, &st2, &bs, msg).unwrap(), tok);
        assert!(BlindingState::from_bytes(&[0u8; 32]).is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8))]
        #[test]
        fn prop_round_trip(msg in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
                           seed in proptest::prelude::any::<u64>()) {
            let (sk, pk) = keys();
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let (req, st) = blind(pk, &msg, &mut rng).unwrap();
            proptest::prop_assert_eq!(req.0.len(), pk.modulus_len());
            let bs = sign_blinded(sk, &req, &mut rng).unwrap();
            let tok = finalize(pk, &st, &bs, &msg).unwrap();
            proptest::prop_assert!(verify(pk, &msg, &tok).is_ok());
            let mut other = msg.clone();
            other.push(0);
            proptest::prop_assert!(verify(pk, &other, &tok).is_err());
        }
    }

    #[test]
    fn other_issuer_rejected_and_key_encodings() {
        let (sk, pk) = keys();
        let mut rng = ChaCha20Rng::seed_from_u64(23);
        let (req, st) = blind(pk, b"m", &mut rng).unwrap();
        let tok = finalize(pk, &st, &sign_blinded(sk, &req, &mut rng).unwrap(), b"m").unwrap();
        let js = serde_json::to_string(pk).unwrap();
        let pk2: IssuerPublicKey = serde_json::from_str(&js).unwrap();
        assert_eq!(&pk2, pk);
        verify(&pk2, b"m", &tok).unwrap();
        assert_eq!(
            &IssuerPublicKey::from_pem(&pk.to_pem().unwrap()).unwrap(),
            pk
        );
        assert_eq!(&sk.public_key().unwrap(), pk);
        let sk2 = IssuerSecretKey::from_pkcs8_der(&sk.to_pkcs8_der().unwrap()).unwrap();
        assert_eq!(&sk2.public_key().unwrap(), pk);
        assert!(!format!("{sk:?}").contains(&hex::encode(pk.to_der().unwrap())[..40]));
        assert!(format!("{sk:?}").contains("redacted"));
        assert!(format!("{st:?}").contains("redacted"));
        let tjs = serde_json::to_string(&tok).unwrap();
        assert_eq!(serde_json::from_str::<TokenSignature>(&tjs).unwrap(), tok);
        assert!(IssuerPublicKey::from_der(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_err());
        assert!(serde_json::from_str::<IssuerPublicKey>("\"00ff\"").is_err());
        // another issuer's key neither verifies the token nor yields a finalizable blind signature
        let (sk_other, pk_other) = generate_issuer_key(2048, &mut rng).unwrap();
        assert!(verify(&pk_other, b"m", &tok).is_err());
        let bs_other = sign_blinded(&sk_other, &req, &mut rng).unwrap();
        assert!(finalize(pk, &st, &bs_other, b"m").is_err());
        assert!(generate_issuer_key(1024, &mut rng).is_err());
        assert!(generate_issuer_key(8192, &mut rng).is_err());
    }
}
