//! Host and identity keys (draft-gwerder-messagevortexmain-10 §2.3, §2.6.1, §5.2, §5.4;
//! docs/VORTEX.md §4.1, D-13, D-21): RSA of at least 2048 bits, public keys as X.509
//! SubjectPublicKeyInfo DER, private keys as PKCS #8 DER, encryption with RSAES-OAEP over
//! SHA-256 and MGF1-SHA-256 (RFC 8017 §7.1; the draft's `oaepSha256Mgf1`), signatures with
//! RSASSA-PKCS1-v1_5 over SHA-256 (RFC 8017 §8.2). PKCS #1 v1.5 *encryption* is not offered
//! (a decryption oracle; D-13). A node decrypts every prefix that arrives, so the constant-time
//! arithmetic of `rsa` 0.10 matters here.

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

/// A public RSA key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    key: RsaPublicKey,
    spki: Vec<u8>,
}

impl PublicKey {
    /// From X.509 SubjectPublicKeyInfo DER, refusing moduli outside 2048..=8192 bits.
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
            key,
            spki: der.to_vec(),
        })
    }

    /// The X.509 SubjectPublicKeyInfo DER.
    pub fn spki(&self) -> &[u8] {
        &self.spki
    }

    /// The length of a ciphertext (and of the modulus) in bytes.
    pub fn block_len(&self) -> usize {
        self.key.size()
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
        self.key
            .encrypt(&mut bridge(rng), Oaep::<Sha256>::new(), plain)
            .map_err(|e| Error::BadParameters(format!("OAEP encryption: {e}")))
    }

    /// Checks an RSASSA-PKCS1-v1_5 signature over SHA-256 of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<()> {
        let digest = Sha256::digest(message);
        self.key
            .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
            .map_err(|_| Error::Tampered)
    }

    /// A short name for the key: SHA3-256 of its SPKI DER.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&sha3::Sha3_256::digest(&self.spki));
        out
    }
}

/// A private RSA key (a node's host key or a sender's identity key). Its memory is wiped on
/// drop by `rsa`.
#[derive(Clone)]
pub struct PrivateKey {
    key: RsaPrivateKey,
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
        Self::from_key(key)
    }

    fn from_key(key: RsaPrivateKey) -> Result<Self> {
        let spki = key
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| Error::BadParameters(format!("encoding the public key: {e}")))?;
        let public = PublicKey::from_spki(spki.as_bytes())?;
        Ok(PrivateKey { key, public })
    }

    /// From PKCS #8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self> {
        let key = RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|e| Error::BadParameters(format!("not an RSA private key: {e}")))?;
        Self::from_key(key)
    }

    /// The PKCS #8 DER (secret).
    pub fn to_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = self
            .key
            .to_pkcs8_der()
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
        self.key
            .decrypt(Oaep::<Sha256>::new(), block)
            .map(Zeroizing::new)
            .map_err(|_| Error::Tampered)
    }

    /// Signs SHA-256 of `message` with RSASSA-PKCS1-v1_5.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let digest = Sha256::digest(message);
        self.key
            .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
            .map_err(|e| Error::BadParameters(format!("signing: {e}")))
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
    fn signatures_verify_only_for_their_message_and_key() {
        let (a, b) = (key(6), key(7));
        let s = a.sign(b"header").unwrap();
        assert!(a.public().verify(b"header", &s).is_ok());
        assert!(a.public().verify(b"headeR", &s).is_err());
        assert!(b.public().verify(b"header", &s).is_err());
    }
}
