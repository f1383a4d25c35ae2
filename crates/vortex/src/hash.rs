//! The draft's hash ("MAC") algorithms (draft-gwerder-messagevortexmain-10 §5.3, App. A.2
//! MacAlgorithm; docs/VORTEX.md D-9): SHA3-256/384/512 (FIPS 202) and RIPEMD-160/256/320.
//! They name the hash of a proof-of-work puzzle and of an identity signature.

use ripemd::{Ripemd160, Ripemd256, Ripemd320};
use sha3::{Digest, Sha3_256, Sha3_384, Sha3_512};

/// A hash algorithm of the draft's MacAlgorithm list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlg {
    /// SHA3-256 (the default).
    Sha3_256,
    /// SHA3-384.
    Sha3_384,
    /// SHA3-512.
    Sha3_512,
    /// RIPEMD-160.
    Ripemd160,
    /// RIPEMD-256.
    Ripemd256,
    /// RIPEMD-320.
    Ripemd320,
}

/// A hash in progress, cloneable so a common prefix is hashed once.
#[derive(Clone)]
pub enum Hasher {
    /// SHA3-256.
    Sha3_256(Sha3_256),
    /// SHA3-384.
    Sha3_384(Sha3_384),
    /// SHA3-512.
    Sha3_512(Sha3_512),
    /// RIPEMD-160.
    Ripemd160(Ripemd160),
    /// RIPEMD-256.
    Ripemd256(Ripemd256),
    /// RIPEMD-320.
    Ripemd320(Ripemd320),
}

impl HashAlg {
    /// Every algorithm, in the draft's enum order.
    pub const ALL: [HashAlg; 6] = [
        HashAlg::Sha3_256,
        HashAlg::Sha3_384,
        HashAlg::Sha3_512,
        HashAlg::Ripemd160,
        HashAlg::Ripemd256,
        HashAlg::Ripemd320,
    ];

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        match self {
            HashAlg::Sha3_256 => Hasher::Sha3_256(Sha3_256::new()),
            HashAlg::Sha3_384 => Hasher::Sha3_384(Sha3_384::new()),
            HashAlg::Sha3_512 => Hasher::Sha3_512(Sha3_512::new()),
            HashAlg::Ripemd160 => Hasher::Ripemd160(Ripemd160::new()),
            HashAlg::Ripemd256 => Hasher::Ripemd256(Ripemd256::new()),
            HashAlg::Ripemd320 => Hasher::Ripemd320(Ripemd320::new()),
        }
    }

    /// The digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }

    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlg::Sha3_256 | HashAlg::Ripemd256 => 32,
            HashAlg::Sha3_384 => 48,
            HashAlg::Sha3_512 => 64,
            HashAlg::Ripemd160 => 20,
            HashAlg::Ripemd320 => 40,
        }
    }
}

impl Hasher {
    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha3_256(h) => h.update(data),
            Hasher::Sha3_384(h) => h.update(data),
            Hasher::Sha3_512(h) => h.update(data),
            Hasher::Ripemd160(h) => h.update(data),
            Hasher::Ripemd256(h) => h.update(data),
            Hasher::Ripemd320(h) => h.update(data),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha3_256(h) => h.finalize().to_vec(),
            Hasher::Sha3_384(h) => h.finalize().to_vec(),
            Hasher::Sha3_512(h) => h.finalize().to_vec(),
            Hasher::Ripemd160(h) => h.finalize().to_vec(),
            Hasher::Ripemd256(h) => h.finalize().to_vec(),
            Hasher::Ripemd320(h) => h.finalize().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// Known answers for "abc" (FIPS 202 examples; Dobbertin–Bosselaers–Preneel).
    #[test]
    fn known_answers() {
        assert_eq!(
            hex(&HashAlg::Sha3_256.digest(b"abc")),
            "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532"
        );
        assert_eq!(
            hex(&HashAlg::Ripemd160.digest(b"abc")),
            "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"
        );
        for a in HashAlg::ALL {
            assert_eq!(a.digest(b"").len(), a.output_len(), "{a:?}");
        }
    }
}
