//! Symmetric encryption of MessageVortex (draft-gwerder-messagevortexmain-10 §2.6, §5.1, §5.5;
//! docs/VORTEX.md §4.1 and D-9, D-12): AES-128/192/256 (FIPS 197) in CBC and CTR (NIST SP
//! 800-38A) and GCM (NIST SP 800-38D), with PKCS #7 or no padding. The key of an operation is
//! a [`SymKey`]: algorithm, mode, padding, key bytes (wiped on drop) and the IV or nonce, which
//! the draft carries in the key's parameters. The default everywhere is AES-256-GCM, the only
//! mode here that detects a modified block (§7.4.4.3: a tagged block is caught at the first
//! honest node). ECB (the draft's `none` mode) is refused: it leaks equal blocks.

use aes::{Aes128, Aes192, Aes256};
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::AesGcm;
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit, StreamCipher};
use rand_core::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The block ciphers (the draft's SymmetricAlgorithm aes128 / aes192 / aes256).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES with a 128-bit key.
    Aes128,
    /// AES with a 192-bit key.
    Aes192,
    /// AES with a 256-bit key.
    Aes256,
}

impl Cipher {
    /// The key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128 => 16,
            Cipher::Aes192 => 24,
            Cipher::Aes256 => 32,
        }
    }
}

/// The block size of every cipher here, in bytes.
pub const BLOCK: usize = 16;
/// The GCM tag length in bytes.
pub const TAG: usize = 16;
/// The GCM nonce length in bytes.
pub const NONCE: usize = 12;

/// Modes of operation (the draft's CipherMode cbc / ctr / gcm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Cipher block chaining; needs a 16-byte IV.
    Cbc,
    /// Counter mode (128-bit big-endian counter); needs a 16-byte initial counter block.
    Ctr,
    /// Galois/counter mode; needs a 12-byte nonce and appends a 16-byte tag.
    Gcm,
}

/// Paddings (the draft's CipherPadding none / pkcs7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// No padding: CBC input must be a whole number of blocks.
    None,
    /// PKCS #7 (RFC 5652 §6.3).
    Pkcs7,
}

/// A symmetric key with everything needed to use it.
#[derive(Clone)]
pub struct SymKey {
    cipher: Cipher,
    mode: Mode,
    padding: Padding,
    key: Zeroizing<Vec<u8>>,
    iv: Vec<u8>,
}

impl std::fmt::Debug for SymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymKey")
            .field("cipher", &self.cipher)
            .field("mode", &self.mode)
            .field("padding", &self.padding)
            .finish_non_exhaustive()
    }
}

impl PartialEq for SymKey {
    fn eq(&self, other: &Self) -> bool {
        self.cipher == other.cipher
            && self.mode == other.mode
            && self.padding == other.padding
            && bool::from(self.key.as_slice().ct_eq(other.key.as_slice()))
            && self.iv == other.iv
    }
}

impl Eq for SymKey {}

impl SymKey {
    /// A key from its parts, checked: the key length fits the cipher, the IV is 16 bytes for
    /// CBC and CTR and the nonce 12 bytes for GCM, and GCM and CTR take no padding.
    pub fn new(
        cipher: Cipher,
        mode: Mode,
        padding: Padding,
        key: &[u8],
        iv: &[u8],
    ) -> Result<Self> {
        if key.len() != cipher.key_len() {
            return Err(Error::BadParameters(format!(
                "a {cipher:?} key has {} bytes, not {}",
                cipher.key_len(),
                key.len()
            )));
        }
        let want = match mode {
            Mode::Cbc | Mode::Ctr => BLOCK,
            Mode::Gcm => NONCE,
        };
        if iv.len() != want {
            return Err(Error::BadParameters(format!(
                "{mode:?} needs a {want}-byte IV or nonce, not {}",
                iv.len()
            )));
        }
        if mode != Mode::Cbc && padding != Padding::None {
            return Err(Error::BadParameters(format!("{mode:?} takes no padding")));
        }
        Ok(SymKey {
            cipher,
            mode,
            padding,
            key: Zeroizing::new(key.to_vec()),
            iv: iv.to_vec(),
        })
    }

    /// A fresh AES-256-GCM key with a random nonce.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut key = Zeroizing::new(vec![0u8; 32]);
        rng.fill_bytes(&mut key);
        let mut iv = vec![0u8; NONCE];
        rng.fill_bytes(&mut iv);
        SymKey {
            cipher: Cipher::Aes256,
            mode: Mode::Gcm,
            padding: Padding::None,
            key,
            iv,
        }
    }

    /// The cipher.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The padding.
    pub fn padding(&self) -> Padding {
        self.padding
    }

    /// The key bytes (secret).
    pub fn key_bytes(&self) -> &[u8] {
        &self.key
    }

    /// The IV (CBC, CTR) or nonce (GCM).
    pub fn iv(&self) -> &[u8] {
        &self.iv
    }

    /// The same key with another IV or nonce of the same length (used to give each field
    /// sealed under one key its own nonce, docs/VORTEX.md D-14).
    pub fn with_iv(&self, iv: &[u8]) -> Result<Self> {
        SymKey::new(self.cipher, self.mode, self.padding, &self.key, iv)
    }

    /// True if a modification of the ciphertext is detected on decryption.
    pub fn is_authenticated(&self) -> bool {
        self.mode == Mode::Gcm
    }

    /// The ciphertext length for a plaintext of `len` bytes.
    pub fn sealed_len(&self, len: usize) -> usize {
        match (self.mode, self.padding) {
            (Mode::Gcm, _) => len + TAG,
            (Mode::Cbc, Padding::Pkcs7) => (len / BLOCK + 1) * BLOCK,
            _ => len,
        }
    }

    /// Encrypts `plain`.
    pub fn encrypt(&self, plain: &[u8]) -> Result<Vec<u8>> {
        match self.cipher {
            Cipher::Aes128 => seal::<Aes128>(self, plain),
            Cipher::Aes192 => seal::<Aes192>(self, plain),
            Cipher::Aes256 => seal::<Aes256>(self, plain),
        }
    }

    /// Decrypts `sealed`; [`Error::Tampered`] if a GCM tag does not verify,
    /// [`Error::BadPadding`] if a CBC padding does not.
    pub fn decrypt(&self, sealed: &[u8]) -> Result<Vec<u8>> {
        match self.cipher {
            Cipher::Aes128 => open::<Aes128>(self, sealed),
            Cipher::Aes192 => open::<Aes192>(self, sealed),
            Cipher::Aes256 => open::<Aes256>(self, sealed),
        }
    }
}

/// What the three AES key sizes share, for the generic mode code below.
trait Aes:
    aes::cipher::BlockCipherEncrypt
    + aes::cipher::BlockCipherDecrypt
    + aes::cipher::KeyInit
    + aes::cipher::BlockSizeUser<BlockSize = aes::cipher::consts::U16>
    + Clone
{
}
impl Aes for Aes128 {}
impl Aes for Aes192 {}
impl Aes for Aes256 {}

fn bad_len(_: impl std::fmt::Debug) -> Error {
    Error::BadParameters("key or IV length".into())
}

fn seal<C: Aes>(k: &SymKey, plain: &[u8]) -> Result<Vec<u8>> {
    match k.mode {
        Mode::Gcm => {
            let aead = AesGcm::<C, U12>::new_from_slice(&k.key).map_err(bad_len)?;
            let nonce = aes_gcm::Nonce::<U12>::try_from(k.iv.as_slice()).map_err(bad_len)?;
            aead.encrypt(&nonce, plain)
                .map_err(|_| Error::BadParameters("message too long for GCM".into()))
        }
        Mode::Ctr => {
            let mut out = plain.to_vec();
            let mut ctr = ctr::Ctr128BE::<C>::new_from_slices(&k.key, &k.iv).map_err(bad_len)?;
            ctr.try_apply_keystream(&mut out)
                .map_err(|_| Error::BadParameters("message too long for CTR".into()))?;
            Ok(out)
        }
        Mode::Cbc => {
            let enc = cbc::Encryptor::<C>::new_from_slices(&k.key, &k.iv).map_err(bad_len)?;
            match k.padding {
                Padding::Pkcs7 => Ok(enc.encrypt_padded_vec::<Pkcs7>(plain)),
                Padding::None => {
                    if !plain.len().is_multiple_of(BLOCK) {
                        return Err(Error::BadParameters(format!(
                            "CBC without padding needs whole blocks, not {} bytes",
                            plain.len()
                        )));
                    }
                    Ok(enc.encrypt_padded_vec::<NoPadding>(plain))
                }
            }
        }
    }
}

fn open<C: Aes>(k: &SymKey, sealed: &[u8]) -> Result<Vec<u8>> {
    match k.mode {
        Mode::Gcm => {
            let aead = AesGcm::<C, U12>::new_from_slice(&k.key).map_err(bad_len)?;
            let nonce = aes_gcm::Nonce::<U12>::try_from(k.iv.as_slice()).map_err(bad_len)?;
            aead.decrypt(&nonce, sealed).map_err(|_| Error::Tampered)
        }
        Mode::Ctr => seal::<C>(k, sealed),
        Mode::Cbc => {
            if !sealed.len().is_multiple_of(BLOCK) {
                return Err(Error::BadPadding);
            }
            let dec = cbc::Decryptor::<C>::new_from_slices(&k.key, &k.iv).map_err(bad_len)?;
            match k.padding {
                Padding::Pkcs7 => dec
                    .decrypt_padded_vec::<Pkcs7>(sealed)
                    .map_err(|_| Error::BadPadding),
                Padding::None => dec
                    .decrypt_padded_vec::<NoPadding>(sealed)
                    .map_err(|_| Error::BadPadding),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn every_cipher_mode_and_padding_round_trips_at_edge_lengths() {
        let mut r = rng();
        for cipher in [Cipher::Aes128, Cipher::Aes192, Cipher::Aes256] {
            for (mode, padding) in [
                (Mode::Gcm, Padding::None),
                (Mode::Ctr, Padding::None),
                (Mode::Cbc, Padding::Pkcs7),
                (Mode::Cbc, Padding::None),
            ] {
                let mut key = vec![0u8; cipher.key_len()];
                r.fill_bytes(&mut key);
                let iv = vec![9u8; if mode == Mode::Gcm { NONCE } else { BLOCK }];
                let k = SymKey::new(cipher, mode, padding, &key, &iv).unwrap();
                for len in [0usize, 1, 15, 16, 17, 32, 1000] {
                    if mode == Mode::Cbc && padding == Padding::None && len % BLOCK != 0 {
                        assert!(k.encrypt(&vec![1; len]).is_err());
                        continue;
                    }
                    let mut m = vec![0u8; len];
                    r.fill_bytes(&mut m);
                    let c = k.encrypt(&m).unwrap();
                    assert_eq!(c.len(), k.sealed_len(len), "{cipher:?} {mode:?} {len}");
                    assert_eq!(k.decrypt(&c).unwrap(), m);
                }
            }
        }
    }

    /// NIST SP 800-38D, test case 14 (AES-256, zero key, zero nonce, one zero block).
    #[test]
    fn aes256_gcm_matches_the_nist_vector() {
        let k = SymKey::new(Cipher::Aes256, Mode::Gcm, Padding::None, &[0; 32], &[0; 12]).unwrap();
        let c = k.encrypt(&[0; 16]).unwrap();
        let hex: String = c.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"
        );
    }

    #[test]
    fn a_flipped_bit_anywhere_in_a_gcm_ciphertext_is_caught() {
        let k = SymKey::generate(&mut rng());
        let c = k.encrypt(b"route me through three honest nodes").unwrap();
        for i in 0..c.len() * 8 {
            let mut t = c.clone();
            t[i / 8] ^= 1 << (i % 8);
            assert_eq!(k.decrypt(&t), Err(Error::Tampered));
        }
        assert_eq!(k.decrypt(&c[..c.len() - 1]), Err(Error::Tampered));
        assert_eq!(k.decrypt(&[]), Err(Error::Tampered));
        let other = SymKey::generate(&mut rng());
        let other = SymKey::new(
            Cipher::Aes256,
            Mode::Gcm,
            Padding::None,
            &[1; 32],
            other.iv(),
        )
        .unwrap();
        assert_eq!(other.decrypt(&c), Err(Error::Tampered));
    }

    #[test]
    fn wrong_shapes_are_refused_with_reasons() {
        assert!(SymKey::new(Cipher::Aes256, Mode::Gcm, Padding::None, &[0; 31], &[0; 12]).is_err());
        assert!(SymKey::new(Cipher::Aes256, Mode::Gcm, Padding::None, &[0; 32], &[0; 16]).is_err());
        assert!(SymKey::new(
            Cipher::Aes128,
            Mode::Cbc,
            Padding::Pkcs7,
            &[0; 16],
            &[0; 12]
        )
        .is_err());
        assert!(SymKey::new(
            Cipher::Aes128,
            Mode::Ctr,
            Padding::Pkcs7,
            &[0; 16],
            &[0; 16]
        )
        .is_err());
        let k = SymKey::new(
            Cipher::Aes128,
            Mode::Cbc,
            Padding::Pkcs7,
            &[0; 16],
            &[0; 16],
        )
        .unwrap();
        assert_eq!(k.decrypt(&[0; 15]), Err(Error::BadPadding));
        assert!(!format!("{k:?}").contains("key:"));
    }
}
