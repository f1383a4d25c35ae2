//! Host and identity keys (draft-gwerder-messagevortexmain-10 §2.3, §2.6.1, §5.2, §5.4;
//! docs/VORTEX.md §4.1, D-13, D-21): RSA of at least 2048 bits, public keys as X.509
//! SubjectPublicKeyInfo DER, private keys as PKCS #8 DER, encryption with RSAES-OAEP over
//! SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1; the draft's `oaepSha256Mgf1`), signatures with
//! RSASSA-PKCS1-v1_5 over SHA-256 (RFC 8017 §8.2). PKCS #1 v1.5 *encryption* is not offered
//! (a decryption oracle; D-13). A node decrypts every prefix that arrives, so the constant-time
//! arithmetic of `rsa` 0.10 matters here.
//!
//! Identity keys may also be ECDSA on secp384r1 (FIPS 186-5, SHA-384; the draft's
//! AsymmetricAlgorithm `ec` with ECCurveType `secp384r1`, §5.2): they only sign, and they are
//! made in microseconds rather than the tenth of a second an RSA key takes. Host keys are RSA,
//! since a prefix is encrypted to them.

use p384::ecdsa::signature::{Signer, Verifier};
use rand_chacha010::rand_core::SeedableRng;
use rand_core::{CryptoRng, RngCore};
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The smallest modulus accepted, in bits.
pub const MIN_BITS: usize = 2048;
/// The largest modulus accepted, in bits (bounds the work a hostile key can cause).
pub const MAX_BITS: usize = 8192;

/// A seeded generator of the RNG generation `rsa` uses, drawn from the caller's RNG.
fn bridge<R: RngCore + CryptoRng>(rng: &mut R) -> rand_chacha010::ChaCha20Rng {
    let mut seed = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(seed.as_mut());
    rand_chacha010::ChaCha20Rng::from_seed(*seed)
}

/// Which kind of key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// RSA (encryption with OAEP, signatures with PKCS #1 v1.5).
    Rsa,
    /// ECDSA on secp384r1 (signatures only).
    P384,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Public {
    Rsa(RsaPublicKey),
    P384(p384::ecdsa::VerifyingKey),
}

/// A public key: RSA, or ECDSA P-384 (identity keys only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: Public,
    spki: Vec<u8>,
}

impl PublicKey {
    /// An RSA key from X.509 SubjectPublicKeyInfo DER, refusing moduli outside 2048..=8192
    /// bits.
    pub fn from_spki(der: &[u8]) -> Result<Self> {
        let key = RsaPublicKey::from_public_key_der(der)
            .map_err(|e| Error::BadParameters(format!("not an RSA public key: {e}")))?;
        let bits = key.n().bits() as usize;
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(Error::BadParameters(format!(
                "an RSA modulus of {bits} bits (accepted: {MIN_BITS}..={MAX_BITS})"
            )));
        }
        Ok(PublicKey {
            key: Public::Rsa(key),
            spki: der.to_vec(),
        })
    }

    /// A P-384 key from X.509 SubjectPublicKeyInfo DER.
    pub fn from_spki_p384(der: &[u8]) -> Result<Self> {
        let key = p384::ecdsa::VerifyingKey::from_public_key_der(der)
            .map_err(|e| Error::BadParameters(format!("not a P-384 public key: {e}")))?;
        Ok(PublicKey {
            key: Public::P384(key),
            spki: der.to_vec(),
        })
    }

    /// The kind of key.
    pub fn algorithm(&self) -> Algorithm {
        match self.key {
            Public::Rsa(_) => Algorithm::Rsa,
            Public::P384(_) => Algorithm::P384,
        }
    }

    fn rsa(&self) -> Result<&RsaPublicKey> {
        match &self.key {
            Public::Rsa(k) => Ok(k),
            Public::P384(_) => Err(Error::Unsupported(
                "encryption to an EC key (EC keys only sign)".into(),
            )),
        }
    }

    /// The X.509 SubjectPublicKeyInfo DER.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// The length of a ciphertext (and of the modulus) in bytes; 0 for an EC key.
    pub fn block_len(&self) -> usize {
        self.rsa().map_or(0, |k| k.size())
    }

    /// The most bytes one OAEP block carries: `k − 2·32 − 2`.
    pub fn max_plaintext(&self) -> usize {
        self.block_len().saturating_sub(66)
    }

    /// Encrypts `plain` with RSAES-OAEP (SHA-256, MGF1-SHA-256).
    pub fn encrypt<R: RngCore + CryptoRng>(&self, plain: &[u8], rng: &mut R) -> Result<Vec<u8>> {
        if plain.len() > self.max_plaintext() {
            return Err(Error::BadParameters(format!(
                "{} bytes do not fit one OAEP block of this key (at most {})",
                plain.len(),
                self.max_plaintext()
            )));
        }
        self.rsa()?
            .encrypt(&mut bridge(rng), Oaep::<Sha256>::new(), plain)
            .map_err(|e| Error::BadParameters(format!("OAEP encryption: {e}")))
    }

    /// Checks a signature over `message`: RSASSA-PKCS1-v1_5 over SHA-256, or ECDSA P-384 over
    /// SHA-384 (DER-encoded signature).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        match &self.key {
            Public::Rsa(k) => {
                let digest = Sha256::digest(message);
                k.verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
                    .map_err(|_| Error::Tampered)
            }
            Public::P384(k) => {
                let sig =
                    p384::ecdsa::Signature::from_der(signature).map_err(|_| Error::Tampered)?;
                k.verify(message, &sig).map_err(|_| Error::Tampered)
            }
        }
    }

    /// A short name for the key: SHA3-256 of its SPKI DER.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&sha3::Sha3_256::digest(&self.spki));
        out
    }
}

#[derive(Clone)]
enum Private {
    Rsa(RsaPrivateKey),
    P384(p384::ecdsa::SigningKey),
}

/// A private key (a node's RSA host key, or a sender's RSA or P-384 identity key). Its memory
/// is wiped on drop by `rsa` and `p384`.
#[derive(Clone)]
pub struct PrivateKey {
    key: Private,
    public: PublicKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("public", &hex_prefix(&self.public.fingerprint()))
            .finish_non_exhaustive()
    }
}

fn hex_prefix(b: &[u8]) -> String {
    b.iter().take(8).map(|x| format!("{x:02x}")).collect()
}

impl PrivateKey {
    /// A fresh key of `bits` bits (2048..=8192).
    pub fn generate<R: RngCore + CryptoRng>(bits: usize, rng: &mut R) -> Result<Self> {
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(Error::BadParameters(format!(
                "RSA keys of {bits} bits (accepted: {MIN_BITS}..={MAX_BITS})"
            )));
        }
        let key = RsaPrivateKey::new(&mut bridge(rng), bits)
            .map_err(|e| Error::BadParameters(format!("RSA key generation: {e}")))?;
        Self::from_rsa(key)
    }

    /// A fresh ECDSA P-384 key (an identity key: it signs, it does not decrypt).
    pub fn generate_p384<R: RngCore + CryptoRng>(rng: &mut R) -> Result<Self> {
        use p384::elliptic_curve::Generate;
        Self::from_p384(p384::ecdsa::SigningKey::generate_from_rng(&mut bridge(rng)))
    }

    fn from_rsa(key: RsaPrivateKey) -> Result<Self> {
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| Error::BadParameters(format!("encoding the public key: {e}")))?;
        let public = PublicKey::from_spki(spki.as_bytes())?;
        Ok(PrivateKey {
            key: Private::Rsa(key),
            public,
        })
    }

    fn from_p384(key: p384::ecdsa::SigningKey) -> Result<Self> {
        let spki = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| Error::BadParameters(format!("encoding the public key: {e}")))?;
        let public = PublicKey::from_spki_p384(spki.as_bytes())?;
        Ok(PrivateKey {
            key: Private::P384(key),
            public,
        })
    }

    /// From PKCS #8 DER (RSA or P-384).
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        if let Ok(key) = RsaPrivateKey::from_pkcs8_der(der) {
            return Self::from_rsa(key);
        }
        let key = p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(|e| {
            Error::BadParameters(format!("neither an RSA nor a P-384 private key: {e}"))
        })?;
        Self::from_p384(key)
    }

    /// The PKCS #8 DER (secret).
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match &self.key {
            Private::Rsa(k) => k.to_pkcs8_der(),
            Private::P384(k) => k.to_pkcs8_der(),
        }
        .map_err(|e| Error::BadParameters(format!("encoding the private key: {e}")))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The public half.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Decrypts one OAEP block. Every failure is the same [`Error::Tampered`], so a sender
    /// learns nothing about why (no padding oracle).
    pub fn decrypt(&self, block: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let Private::Rsa(key) = &self.key else {
            return Err(Error::Tampered);
        };
        key.decrypt(Oaep::<Sha256>::new(), block)
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }

    /// Signs `message`: RSASSA-PKCS1-v1_5 over SHA-256, or ECDSA P-384 over SHA-384 (DER).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.key {
            Private::Rsa(key) => {
                let digest = Sha256::digest(message);
                key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
                    .map_err(|e| Error::BadParameters(format!("signing: {e}")))
            }
            Private::P384(key) => {
                let sig: p384::ecdsa::Signature = key.sign(message);
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng as _;

    fn key(seed: u64) -> PrivateKey {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
        PrivateKey::generate(2048, &mut rng).unwrap()
    }

    #[test]
    fn oaep_round_trip_and_wrong_key_or_modified_block_fail_alike() {
        let (a, b) = (key(1), key(2));
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let c = a
            .public()
            .encrypt(b"a 32-byte AES key and a nonce...", &mut rng)
            .unwrap();
        assert_eq!(c.len(), 256);
        assert_eq!(
            &a.decrypt(&c).unwrap()[..],
            b"a 32-byte AES key and a nonce..."
        );
        assert_eq!(b.decrypt(&c), Err(Error::Tampered));
        let mut t = c.clone();
        t[100] ^= 1;
        assert_eq!(a.decrypt(&t), Err(Error::Tampered));
        assert_eq!(a.decrypt(&c[..255]), Err(Error::Tampered));
        assert!(
            a.public().encrypt(&[0; 191], &mut rng).is_err(),
            "over one block"
        );
    }

    #[test]
    fn keys_survive_their_encodings_and_small_keys_are_refused() {
        let a = key(4);
        let again = PrivateKey::from_pkcs8(&a.to_pkcs8().unwrap()).unwrap();
        assert_eq!(again.public(), a.public());
        assert_eq!(
            PublicKey::from_spki(a.public().spki()).unwrap(),
            *a.public()
        );
        assert!(PublicKey::from_spki(&a.public().spki()[1..]).is_err());
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
        assert!(PrivateKey::generate(1024, &mut rng).is_err());
        assert!(!format!("{a:?}").contains("key:"));
    }

    #[test]
    fn p384_identity_keys_sign_verify_and_round_trip_but_do_not_encrypt() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(8);
        let a = PrivateKey::generate_p384(&mut rng).unwrap();
        let b = PrivateKey::generate_p384(&mut rng).unwrap();
        assert_eq!(a.public().algorithm(), Algorithm::P384);
        let s = a.sign(b"header").unwrap();
        assert!(a.public().verify(b"header", &s).is_ok());
        assert!(a.public().verify(b"headeR", &s).is_err());
        assert!(b.public().verify(b"header", &s).is_err());
        assert!(a.public().verify(b"header", &s[1..]).is_err());
        let again = PrivateKey::from_pkcs8(&a.to_pkcs8().unwrap()).unwrap();
        assert_eq!(again.public(), a.public());
        assert_eq!(
            PublicKey::from_spki_p384(a.public().spki()).unwrap(),
            *a.public()
        );
        assert!(PublicKey::from_spki(a.public().spki()).is_err(), "not RSA");
        assert!(a.public().encrypt(b"x", &mut rng).is_err());
        assert_eq!(a.decrypt(&[0; 256]), Err(Error::Tampered));
        // An RSA signature does not pass for an EC one, nor the reverse.
        let r = key(9);
        let rs = r.sign(b"header").unwrap();
        assert!(a.public().verify(b"header", &rs).is_err());
        assert!(r.public().verify(b"header", &s).is_err());
    }

    #[test]
    fn signatures_verify_only_for_their_message_and_key() {
        let (a, b) = (key(6), key(7));
        let s = a.sign(b"header").unwrap();
        assert!(a.public().verify(b"header", &s).is_ok());
        assert!(a.public().verify(b"headeR", &s).is_err());
        assert!(b.public().verify(b"header", &s).is_err());
    }
}
