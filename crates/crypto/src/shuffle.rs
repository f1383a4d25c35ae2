//! Verifiable shuffles of ElGamal ciphertexts: re-encrypt a list of ciphertexts, put it in a
//! secret random order, and prove in zero knowledge that the new list holds the same plaintexts.
//!
//! The proof is the Terelius–Wikström proof of a shuffle (B. Terelius and D. Wikström, "Proofs of
//! Restricted Shuffles", AFRICACRYPT 2010, §3–4) in the concrete shape used by the Verificatum
//! mix-net (D. Wikström, "How to Implement a Stand-alone Verifier for the Verificatum Mix-Net":
//! a commitment to the permutation matrix, a chain of bridging commitments for the product
//! argument, and one sigma protocol over everything), made non-interactive with Fiat–Shamir over
//! a merlin transcript.
//!
//! # Statement
//!
//! For a public key `Y`, inputs `w_0 … w_{N−1}` and outputs `w'_0 … w'_{N−1}`, the prover knows a
//! permutation `π` and scalars `s_i` with
//!
//! ```text
//! w'_i = w_{π(i)} + (s_i·G, s_i·Y)        for every output position i
//! ```
//!
//! # Protocol
//!
//! `h_0, h_1 … h_N` are independent generators, hash-to-group images (RFC 9496 one-way map over
//! SHA-512) of `tabella/shuffle/generator/v1 ‖ index` ([`generator`]); nobody knows a relation
//! between them and `G`. Indices below run over `0 … N−1`; `h_{i+1}` belongs to position `i`.
//!
//! 1. **Permutation commitment.** For every input `j`, `c_j = r_j·G + h_{π⁻¹(j)+1}`: a Pedersen
//!    commitment to column `j` of the permutation matrix `M` (`M_{ij} = 1` iff `π(i) = j`).
//! 2. **Challenge vector.** The transcript absorbs the context, `N`, `Y`, every input, every output
//!    and every `c_j`; a 32-byte seed is drawn from it and `e_j = H(seed, j)` (SHA-512 reduced
//!    mod ℓ, label `tabella/shuffle/e/v1`). The prover sets `e'_i = e_{π(i)}` (that is, `e' = M·e`).
//! 3. **Bridging commitments.** `ĉ_{−1} = h_0` and `ĉ_i = r̂_i·G + e'_i·ĉ_{i−1}`, so that
//!    `ĉ_{N−1} = R̂·G + (∏ e'_i)·h_0` for a scalar `R̂` the prover knows.
//! 4. **Sigma protocol** proving knowledge of `r̄ = Σ r_j`, `R̂`, `r̃ = Σ r_j e_j`,
//!    `r' = Σ s_i e'_i`, the `r̂_i` and the `e'_i` such that
//!
//!    ```text
//!    Σ c_j − Σ h_{j+1}        = r̄·G                        (every row of M sums to 1)
//!    ĉ_{N−1} − (∏ e_j)·h_0    = R̂·G                        (∏ (M·e)_i = ∏ e_j)
//!    Σ e_j·c_j                = r̃·G + Σ e'_i·h_{i+1}       (e' is M·e)
//!    Σ e'_i·w'_i − r'·(G, Y)  = Σ e_j·w_j                   (the outputs are M·inputs, re-encrypted)
//!    ĉ_i                      = r̂_i·G + e'_i·ĉ_{i−1}        (the chain multiplies the e'_i)
//!    ```
//!
//!    with nonces `ω₁ … ω₄, ω̂_i, ω'_i`, announcements `t₁ = ω₁·G`, `t₂ = ω₂·G`,
//!    `t₃ = ω₃·G + Σ ω'_i·h_{i+1}`, `t₄ = Σ ω'_i·w'_i − ω₄·(G, Y)`, `t̂_i = ω̂_i·G + ω'_i·ĉ_{i−1}`,
//!    challenge `v` drawn after the transcript absorbs every `ĉ_i`, `t₁ … t₄` and every `t̂_i`, and
//!    responses `k = ω + v·(secret)`.
//!
//! The first two equations are the heart of the construction. By the characterization of
//! permutation matrices in Terelius and Wikström's paper, a matrix whose columns are committed
//! before `e` is drawn, whose rows each sum to one (`M·1 = 1`: the *sum check*) and for which
//! `∏ (M·e)_i = ∏ e_i` at a random `e` (the *product check*, by Schwartz–Zippel) is a permutation
//! matrix except with probability about `N/ℓ`; the fourth equation then says the outputs are a
//! re-encryption of the inputs in that order. The tests' cheating provers show each check at work:
//! a cheat that keeps row sums (moving votes between ballots while keeping the total) is caught by
//! the product check alone, one that keeps the product (scaling one ballot up and another down) by
//! the sum check alone.
//!
//! # Verification
//!
//! The verifier replays the transcript, then checks all `N + 5` group equations at once: each gets
//! an independent weight from a [`BatchVerifier`] (seeded by the operating system, so no prover
//! can predict it; see [`crate::batch`]) and the weighted sum is one variable-time multiscalar
//! multiplication of about `9N + 8` points. A proof for `N` ciphertexts has exactly `N` entries
//! ([`ShuffleProofEntry`]: the five per-position elements travel together, so their counts cannot
//! disagree); any other count is rejected before any arithmetic.
//!
//! # Limits
//!
//! The prover's group arithmetic on secrets is constant-time, but applying the permutation indexes
//! memory by secret positions (as every software mix-net does); run it where cache timing is not
//! observable. The proof is zero knowledge against an honest verifier; Fiat–Shamir makes it
//! non-interactive in the random-oracle model.

use core::fmt;

use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha512;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::batch::{self, BatchVerifier};
use crate::elgamal::{Ciphertext, PublicKey};
use crate::encoding::WirePoint;
use crate::error::{Error, Result};
use crate::group::{hash_to_scalar, SecretScalar, G};
use crate::transcript::{new_transcript, TranscriptExt};

const SHUFFLE_LABEL: &[u8] = b"tabella/shuffle/v1";
const GENERATOR_LABEL: &[u8] = b"tabella/shuffle/generator/v1";
const CHALLENGE_VECTOR_LABEL: &[u8] = b"tabella/shuffle/e/v1";

/// Error text when the proof's entry count is not the number of ciphertexts.
const WRONG_LENGTH: &str = "shuffle proof: the number of entries is not the number of ciphertexts";
/// Error text when inputs and outputs differ in number.
const COUNT_MISMATCH: &str = "shuffle proof: the numbers of inputs and outputs differ";

/// The independent generator `h_index` of the shuffle proof: the RFC 9496 hash-to-group image of
/// SHA-512(`tabella/shuffle/generator/v1` ‖ `index` as 8 little-endian bytes). `h_0` starts the
/// bridging chain; `h_{i+1}` belongs to ciphertext position `i`.
pub fn generator(index: u64) -> RistrettoPoint {
    let mut input = [0u8; GENERATOR_LABEL.len() + 8];
    input[..GENERATOR_LABEL.len()].copy_from_slice(GENERATOR_LABEL);
    input[GENERATOR_LABEL.len()..].copy_from_slice(&index.to_le_bytes());
    RistrettoPoint::hash_from_bytes::<Sha512>(&input)
}

/// The generators `h_0 … h_n` of a shuffle of `n` ciphertexts (`n + 1` points).
pub fn generators(n: usize) -> Vec<RistrettoPoint> {
    (0..=n as u64).map(generator).collect()
}

/// Draws an index uniformly from `0..bound` (`bound >= 1`) by rejection sampling, so no index is
/// favoured for any `bound`.
fn uniform_index<R: RngCore + CryptoRng>(rng: &mut R, bound: usize) -> usize {
    let bound = bound as u64;
    // 2^64 mod bound: values at or above 2^64 − that remainder would bias the result.
    let excess = (u64::MAX % bound + 1) % bound;
    loop {
        let x = rng.next_u64();
        if x <= u64::MAX - excess {
            return (x % bound) as usize;
        }
    }
}

/// The prover's secret: the permutation and the re-encryption randomness.
///
/// Output `i` is input `permutation[i]` re-encrypted with `randomness[i]`. Zeroized on drop;
/// `Debug` prints nothing secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ShuffleWitness {
    permutation: Vec<usize>,
    randomness: Vec<SecretScalar>,
}

impl fmt::Debug for ShuffleWitness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShuffleWitness(<redacted>, {} positions)", self.len())
    }
}

impl ShuffleWitness {
    /// A uniformly random permutation of `n` positions (Fisher–Yates) and fresh randomness.
    pub fn random<R: RngCore + CryptoRng>(n: usize, rng: &mut R) -> Self {
        let mut w = ShuffleWitness {
            permutation: (0..n).collect(),
            randomness: Vec::with_capacity(n),
        };
        for i in (1..n).rev() {
            let j = uniform_index(rng, i + 1);
            w.permutation.swap(i, j);
        }
        w.randomness
            .extend((0..n).map(|_| SecretScalar::random(rng)));
        w
    }

    /// A witness from a caller's permutation (output `i` takes input `permutation[i]`) and
    /// randomness, one per position.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if the lengths differ or `permutation` is not a permutation of
    /// `0..n`.
    pub fn new(permutation: Vec<usize>, randomness: Vec<SecretScalar>) -> Result<Self> {
        // Built first so that the secret is zeroized on the error paths too.
        let w = ShuffleWitness {
            permutation,
            randomness,
        };
        let n = w.permutation.len();
        if w.randomness.len() != n {
            return Err(Error::InvalidParameter(format!(
                "shuffle witness: {n} positions but {} randomizers",
                w.randomness.len()
            )));
        }
        let mut seen = vec![false; n];
        for &j in &w.permutation {
            match seen.get_mut(j) {
                Some(s) if !*s => *s = true,
                _ => {
                    return Err(Error::InvalidParameter(
                        "shuffle witness: not a permutation of 0..n".into(),
                    ))
                }
            }
        }
        Ok(w)
    }

    /// Number of positions.
    pub fn len(&self) -> usize {
        self.permutation.len()
    }

    /// Whether the witness permutes nothing.
    pub fn is_empty(&self) -> bool {
        self.permutation.is_empty()
    }

    /// The outputs this witness makes of `inputs`: `w'_i = w_{π(i)} + (s_i·G, s_i·Y)`.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `inputs` does not have one ciphertext per position.
    pub fn apply(&self, pk: &PublicKey, inputs: &[Ciphertext]) -> Result<Vec<Ciphertext>> {
        if inputs.len() != self.len() {
            return Err(Error::InvalidParameter(format!(
                "shuffle witness for {} ciphertexts applied to {}",
                self.len(),
                inputs.len()
            )));
        }
        let y_table = RistrettoBasepointTable::create(&pk.0);
        Ok(self
            .permutation
            .iter()
            .zip(&self.randomness)
            .map(|(&j, s)| Ciphertext {
                a: inputs[j].a + RistrettoPoint::mul_base(s.expose()),
                b: inputs[j].b + &y_table * s.expose(),
            })
            .collect())
    }
}

/// The elements of a [`ShuffleProof`] that belong to one position `j` (for `c`, an input position;
/// for the others, an output position).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShuffleProofEntry {
    /// `c_j = r_j·G + h_{π⁻¹(j)+1}`: column `j` of the permutation commitment.
    pub c: WirePoint,
    /// `ĉ_j = r̂_j·G + e'_j·ĉ_{j−1}`: bridging commitment.
    pub c_hat: WirePoint,
    /// `t̂_j = ω̂_j·G + ω'_j·ĉ_{j−1}`: announcement for the bridging equation.
    pub t_hat: WirePoint,
    /// `k̂_j = ω̂_j + v·r̂_j`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub k_hat: Scalar,
    /// `k'_j = ω'_j + v·e'_j`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub k_prime: Scalar,
}

/// A non-interactive proof that a list of ciphertexts is a re-encrypted permutation of another
/// (module documentation for the protocol).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShuffleProof {
    /// One entry per ciphertext position.
    pub entries: Vec<ShuffleProofEntry>,
    /// `t₁ = ω₁·G`.
    pub t1: WirePoint,
    /// `t₂ = ω₂·G`.
    pub t2: WirePoint,
    /// `t₃ = ω₃·G + Σ ω'_i·h_{i+1}`.
    pub t3: WirePoint,
    /// First component of `t₄ = Σ ω'_i·w'_i − ω₄·(G, Y)`.
    pub t4_a: WirePoint,
    /// Second component of `t₄`.
    pub t4_b: WirePoint,
    /// `k₁ = ω₁ + v·r̄`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub k1: Scalar,
    /// `k₂ = ω₂ + v·R̂`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub k2: Scalar,
    /// `k₃ = ω₃ + v·r̃`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub k3: Scalar,
    /// `k₄ = ω₄ + v·r'`.
    #[schema(value_type = crate::api_schema::ScalarHex)]
    #[serde(with = "crate::encoding::scalar_hex")]
    pub k4: Scalar,
}

/// The transcript of the public statement: context, generator label, `N`, `Y`, inputs, outputs.
/// The caller has checked that inputs and outputs have the same length.
fn statement_transcript(
    pk: &PublicKey,
    inputs: &[Ciphertext],
    outputs: &[Ciphertext],
    context: &[u8],
) -> Transcript {
    let mut t = new_transcript(SHUFFLE_LABEL, context);
    t.append_message(b"generators", GENERATOR_LABEL);
    t.append_u64_le(b"n", inputs.len() as u64);
    t.append_point(b"Y", &pk.0);
    for w in inputs {
        t.append_message(b"in", &w.to_bytes());
    }
    for w in outputs {
        t.append_message(b"out", &w.to_bytes());
    }
    t
}

/// Absorbs the permutation commitment and derives the challenge vector `e`.
fn challenge_vector<'a>(
    t: &mut Transcript,
    commitment: impl ExactSizeIterator<Item = &'a WirePoint>,
) -> Vec<Scalar> {
    let n = commitment.len();
    for c in commitment {
        t.append_message(b"c", c.compressed().as_bytes());
    }
    let mut seed = [0u8; 32];
    t.challenge_bytes(b"e", &mut seed);
    (0..n as u64)
        .map(|j| hash_to_scalar(CHALLENGE_VECTOR_LABEL, &[&seed, &j.to_le_bytes()]))
        .collect()
}

/// The prover's messages after the permutation commitment, in transcript order.
struct Announcements<'a> {
    c_hat: &'a [WirePoint],
    t: [&'a WirePoint; 5],
    t_hat: &'a [WirePoint],
}

/// Absorbs every bridging commitment and announcement and derives the sigma challenge `v`.
fn final_challenge(t: &mut Transcript, a: Announcements<'_>) -> Scalar {
    for p in a.c_hat {
        t.append_message(b"c_hat", p.compressed().as_bytes());
    }
    for (label, p) in [
        b"t1".as_slice(),
        b"t2".as_slice(),
        b"t3".as_slice(),
        b"t4a".as_slice(),
        b"t4b".as_slice(),
    ]
    .iter()
    .zip(a.t)
    {
        t.append_message(b"t-label", label);
        t.append_message(b"t", p.compressed().as_bytes());
    }
    for p in a.t_hat {
        t.append_message(b"t_hat", p.compressed().as_bytes());
    }
    t.challenge_scalar(b"v")
}

/// Fresh secret scalars, one per position.
fn random_secrets<R: RngCore + CryptoRng>(n: usize, rng: &mut R) -> Vec<SecretScalar> {
    (0..n).map(|_| SecretScalar::random(rng)).collect()
}

/// What the prover holds once the permutation commitment is made and `e` drawn.
struct Committed<'a> {
    pk: &'a PublicKey,
    outputs: &'a [Ciphertext],
    /// `h_0 … h_N`.
    gens: &'a [RistrettoPoint],
    /// The permutation commitment `c_j`.
    c: Vec<WirePoint>,
    /// Its randomness `r_j`.
    r: &'a [SecretScalar],
    /// The challenge vector.
    e: &'a [Scalar],
    /// `e' = M·e`: secret, it reveals the permutation.
    e_prime: &'a [Scalar],
    /// Re-encryption randomness `s_i`, by output position.
    s: &'a [SecretScalar],
    /// The bridging commitments.
    chain: Chain,
}

/// The bridging commitments `ĉ_{−1} = h_0, ĉ_0 … ĉ_{N−1}` with their randomness `r̂_i` and the
/// total `R̂` with `ĉ_{N−1} = R̂·G + (∏ e'_i)·h_0`.
struct Chain {
    points: Vec<RistrettoPoint>,
    r_hat: Vec<SecretScalar>,
    total: SecretScalar,
}

/// Step 3: `ĉ_i = r̂_i·G + e'_i·ĉ_{i−1}`, so `ĉ_i = R̂_i·G + (∏_{k≤i} e'_k)·h_0` with
/// `R̂_i = r̂_i + e'_i·R̂_{i−1}`.
fn bridging_chain<R: RngCore + CryptoRng>(
    h0: RistrettoPoint,
    e_prime: &[Scalar],
    rng: &mut R,
) -> Chain {
    let r_hat = random_secrets(e_prime.len(), rng);
    let mut total = Zeroizing::new(Scalar::ZERO);
    let mut points = Vec::with_capacity(e_prime.len() + 1);
    points.push(h0);
    for ((r, e), i) in r_hat.iter().zip(e_prime).zip(0..) {
        points.push(RistrettoPoint::mul_base(r.expose()) + e * points[i]);
        *total = r.expose() + e * *total;
    }
    Chain {
        points,
        r_hat,
        total: SecretScalar::new(*total),
    }
}

/// Step 4 of the protocol (the sigma protocol), shared by the prover and by the tests' cheating
/// provers, which commit to matrices other than permutations.
fn prove_committed<R: RngCore + CryptoRng>(
    k: Committed<'_>,
    mut t: Transcript,
    rng: &mut R,
) -> ShuffleProof {
    let n = k.e.len();
    let h = &k.gens[1..];
    let chain = &k.chain.points;

    let r_bar = SecretScalar::new(k.r.iter().map(|r| r.expose()).sum());
    let r_tilde = SecretScalar::new(k.r.iter().zip(k.e).map(|(r, e)| r.expose() * e).sum());
    let r_prime = SecretScalar::new(k.s.iter().zip(k.e_prime).map(|(s, e)| s.expose() * e).sum());

    let c_hat: Vec<WirePoint> = chain[1..].iter().map(|p| WirePoint::new(*p)).collect();

    // Announcements (constant-time arithmetic: every scalar here is secret).
    let w = random_secrets(4, rng);
    let w_hat = random_secrets(n, rng);
    let w_prime = random_secrets(n, rng);
    let w_prime_scalars = || w_prime.iter().map(|x| x.expose());
    let t1 = WirePoint::new(RistrettoPoint::mul_base(w[0].expose()));
    let t2 = WirePoint::new(RistrettoPoint::mul_base(w[1].expose()));
    let t3 = WirePoint::new(
        RistrettoPoint::mul_base(w[2].expose())
            + RistrettoPoint::multiscalar_mul(w_prime_scalars(), h),
    );
    let t4_a = WirePoint::new(
        RistrettoPoint::multiscalar_mul(w_prime_scalars(), k.outputs.iter().map(|o| o.a))
            - RistrettoPoint::mul_base(w[3].expose()),
    );
    let t4_b = WirePoint::new(
        RistrettoPoint::multiscalar_mul(w_prime_scalars(), k.outputs.iter().map(|o| o.b))
            - w[3].expose() * k.pk.0,
    );
    let t_hat: Vec<WirePoint> = w_hat
        .iter()
        .zip(&w_prime)
        .zip(chain.iter())
        .map(|((a, b), prev)| {
            WirePoint::new(RistrettoPoint::mul_base(a.expose()) + b.expose() * prev)
        })
        .collect();

    let v = final_challenge(
        &mut t,
        Announcements {
            c_hat: &c_hat,
            t: [&t1, &t2, &t3, &t4_a, &t4_b],
            t_hat: &t_hat,
        },
    );
    let respond = |nonce: &SecretScalar, secret: &Scalar| nonce.expose() + v * secret;
    let entries =
        k.c.into_iter()
            .zip(c_hat)
            .zip(t_hat)
            .zip(w_hat.iter().zip(&k.chain.r_hat))
            .zip(w_prime.iter().zip(k.e_prime))
            .map(
                |((((c, c_hat), t_hat), (wh, rh)), (wp, ep))| ShuffleProofEntry {
                    c,
                    c_hat,
                    t_hat,
                    k_hat: respond(wh, rh.expose()),
                    k_prime: respond(wp, ep),
                },
            )
            .collect();
    ShuffleProof {
        entries,
        t1,
        t2,
        t3,
        t4_a,
        t4_b,
        k1: respond(&w[0], r_bar.expose()),
        k2: respond(&w[1], k.chain.total.expose()),
        k3: respond(&w[2], r_tilde.expose()),
        k4: respond(&w[3], r_prime.expose()),
    }
}

/// Shuffles `inputs`: draws a uniformly random permutation and fresh re-encryption randomness,
/// returns the re-encrypted, permuted ciphertexts and a proof bound to `pk`, `inputs`, the outputs
/// and `context`. The witness is zeroized before returning.
///
/// # Errors
/// Does not fail today (the lengths always agree); it returns a `Result` like the other provers.
pub fn shuffle<R: RngCore + CryptoRng>(
    pk: &PublicKey,
    inputs: &[Ciphertext],
    context: &[u8],
    rng: &mut R,
) -> Result<(Vec<Ciphertext>, ShuffleProof)> {
    let witness = ShuffleWitness::random(inputs.len(), rng);
    let outputs = witness.apply(pk, inputs)?;
    let proof = ShuffleProof::prove(pk, inputs, &outputs, &witness, context, rng)?;
    Ok((outputs, proof))
}

impl ShuffleProof {
    /// Proves that `outputs` is `witness` applied to `inputs`. A witness that does not match yields
    /// a proof that fails verification (the prover does not spend `2N` scalar multiplications
    /// re-checking the outputs).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] if `inputs`, `outputs` and `witness` differ in length.
    pub fn prove<R: RngCore + CryptoRng>(
        pk: &PublicKey,
        inputs: &[Ciphertext],
        outputs: &[Ciphertext],
        witness: &ShuffleWitness,
        context: &[u8],
        rng: &mut R,
    ) -> Result<ShuffleProof> {
        let n = witness.len();
        if inputs.len() != n || outputs.len() != n {
            return Err(Error::InvalidParameter(format!(
                "shuffle of {} inputs into {} outputs with a witness for {n}",
                inputs.len(),
                outputs.len()
            )));
        }
        let gens = generators(n);
        let r = random_secrets(n, rng);
        let mut c: Vec<RistrettoPoint> = r
            .iter()
            .map(|r| RistrettoPoint::mul_base(r.expose()))
            .collect();
        for (i, &j) in witness.permutation.iter().enumerate() {
            c[j] += gens[i + 1];
        }
        let c: Vec<WirePoint> = c.into_iter().map(WirePoint::new).collect();
        let mut t = statement_transcript(pk, inputs, outputs, context);
        let e = challenge_vector(&mut t, c.iter());
        let e_prime = Zeroizing::new(
            witness
                .permutation
                .iter()
                .map(|&j| e[j])
                .collect::<Vec<_>>(),
        );
        let chain = bridging_chain(gens[0], &e_prime, rng);
        Ok(prove_committed(
            Committed {
                pk,
                outputs,
                gens: &gens,
                c,
                r: &r,
                e: &e,
                e_prime: &e_prime,
                s: &witness.randomness,
                chain,
            },
            t,
            rng,
        ))
    }

    /// Replays the transcript: the challenge vector `e` and the sigma challenge `v`. The caller
    /// has checked the shapes.
    fn challenges(
        &self,
        pk: &PublicKey,
        inputs: &[Ciphertext],
        outputs: &[Ciphertext],
        context: &[u8],
    ) -> (Vec<Scalar>, Scalar) {
        let mut t = statement_transcript(pk, inputs, outputs, context);
        let e = challenge_vector(&mut t, self.entries.iter().map(|x| &x.c));
        let c_hat: Vec<WirePoint> = self.entries.iter().map(|x| x.c_hat).collect();
        let t_hat: Vec<WirePoint> = self.entries.iter().map(|x| x.t_hat).collect();
        let v = final_challenge(
            &mut t,
            Announcements {
                c_hat: &c_hat,
                t: [&self.t1, &self.t2, &self.t3, &self.t4_a, &self.t4_b],
                t_hat: &t_hat,
            },
        );
        (e, v)
    }

    /// Number of ciphertexts this proof is for.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether this is the proof of an empty shuffle.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the proof's `N + 5` equations, each with its own secret weight, to a batch.
    ///
    /// # Errors
    /// [`Error::InvalidProof`] if inputs and outputs differ in number or the proof does not have
    /// one entry per ciphertext (nothing is added to the batch then).
    pub fn add_to_batch(
        &self,
        pk: &PublicKey,
        inputs: &[Ciphertext],
        outputs: &[Ciphertext],
        context: &[u8],
        bv: &mut BatchVerifier,
    ) -> Result<()> {
        let n = inputs.len();
        if outputs.len() != n {
            return Err(Error::InvalidProof(COUNT_MISMATCH));
        }
        if self.entries.len() != n {
            return Err(Error::InvalidProof(WRONG_LENGTH));
        }
        let gens = generators(n);
        let (e, v) = self.challenges(pk, inputs, outputs, context);
        let prod_e: Scalar = e.iter().product();

        bv.count_proof();
        let mut weight = || {
            bv.begin_equation();
            bv.weight()
        };
        // α₁ … α₅ weigh the five global equations, β_i the bridging equation of position i.
        let alpha: [Scalar; 5] = core::array::from_fn(|_| weight());
        let beta: Vec<Scalar> = (0..n).map(|_| weight()).collect();
        let av: [Scalar; 5] = core::array::from_fn(|i| alpha[i] * v);
        bv.reserve(9 * n + 8);

        // Every equation reads `Σ (scalar)·(point) = 0`; collect each point's total coefficient.
        // G: α₁k₁ + α₂k₂ + α₃k₃ − α₄k₄ + Σ β_i k̂_i;  Y: −α₅k₄.
        let g = alpha[0] * self.k1 + alpha[1] * self.k2 + alpha[2] * self.k3 - alpha[3] * self.k4
            + self
                .entries
                .iter()
                .zip(&beta)
                .map(|(x, b)| b * x.k_hat)
                .sum::<Scalar>();
        bv.add_weighted(g, G);
        bv.add_weighted(-(alpha[4] * self.k4), pk.0);
        // h_0: +α₂v·∏e (product equation) and the chain's start ĉ_{−1} = h_0.
        let mut h0 = av[1] * prod_e;
        match (self.entries.first(), beta.first()) {
            (Some(x), Some(b)) => h0 += b * x.k_prime,
            // N = 0: ĉ_{N−1} is h_0 itself.
            _ => h0 -= av[1],
        }
        bv.add_weighted(h0, gens[0]);
        for (i, x) in self.entries.iter().enumerate() {
            // h_{i+1}: +α₁v (sum check) + α₃k'_i (opening of e').
            bv.add_weighted(av[0] + alpha[2] * x.k_prime, gens[i + 1]);
            // c_i: −α₁v − α₃v·e_i.
            bv.add_weighted(-(av[0] + av[2] * e[i]), *x.c.point());
            // ĉ_i: −β_i v in its own bridge, +β_{i+1}k'_{i+1} in the next; the last one −α₂v.
            let next = match (self.entries.get(i + 1), beta.get(i + 1)) {
                (Some(y), Some(b)) => b * y.k_prime,
                _ => -av[1],
            };
            bv.add_weighted(next - beta[i] * v, *x.c_hat.point());
            bv.add_weighted(-beta[i], *x.t_hat.point());
            // Outputs: α₄k'_i·a'_i + α₅k'_i·b'_i; inputs: −α₄v e_i·a_i − α₅v e_i·b_i.
            bv.add_weighted(alpha[3] * x.k_prime, outputs[i].a);
            bv.add_weighted(alpha[4] * x.k_prime, outputs[i].b);
            bv.add_weighted(-(av[3] * e[i]), inputs[i].a);
            bv.add_weighted(-(av[4] * e[i]), inputs[i].b);
        }
        for (a, p) in alpha
            .iter()
            .zip([&self.t1, &self.t2, &self.t3, &self.t4_a, &self.t4_b])
        {
            bv.add_weighted(-a, *p.point());
        }
        Ok(())
    }

    /// Verifies that `outputs` is a re-encrypted permutation of `inputs` under `pk`, for `context`.
    ///
    /// # Errors
    /// [`Error::InvalidProof`] if it is not (or the shapes disagree); [`Error::Randomness`] if the
    /// operating system gives no randomness for the batch weights.
    pub fn verify(
        &self,
        pk: &PublicKey,
        inputs: &[Ciphertext],
        outputs: &[Ciphertext],
        context: &[u8],
    ) -> Result<()> {
        batch::verify_single("shuffle proof", |bv| {
            self.add_to_batch(pk, inputs, outputs, context, bv)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elgamal::{DlogTable, SecretKey};
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    /// A sparse matrix: row `i` lists `(column, coefficient)`.
    type Matrix = Vec<Vec<(usize, Scalar)>>;

    fn setup(seed: u64, plaintexts: &[u64]) -> (ChaCha20Rng, SecretKey, Vec<Ciphertext>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sk = SecretKey::generate(&mut rng);
        let pk = sk.public_key();
        let inputs = plaintexts
            .iter()
            .map(|m| pk.encrypt(*m, &mut rng).0)
            .collect();
        (rng, sk, inputs)
    }

    fn permutation_matrix(perm: &[usize]) -> Matrix {
        perm.iter().map(|j| vec![(*j, Scalar::ONE)]).collect()
    }

    /// What the cheating prover does.
    ///
    /// It knows the code and the transcript: it publishes outputs `A·inputs` (re-encrypted),
    /// commits to a matrix `M` that need not be a permutation, and runs the honest protocol from
    /// there with `e' = M·e`. The ciphertext equation `⟨e', w'⟩ = ⟨e, w⟩` holds for every `e` iff
    /// `Mᵀ·A = I`, so the strongest cheat commits to `M = A⁻ᵀ`; then only the checks that `M` is
    /// a permutation matrix stand in its way.
    struct Cheat {
        a: Matrix,
        m: Matrix,
        /// The matrix the permutation commitment commits to, if not `m`.
        committed: Option<Matrix>,
        /// Added to one output after it is computed: `(position, Δa, Δb)`.
        shift_output: Option<(usize, RistrettoPoint, RistrettoPoint)>,
        /// Replace the last bridging commitment by `R̂·G + (∏ e_j)·h_0` for a fresh `R̂` the
        /// cheater knows, so that the product equation holds whatever `M` is.
        forge_product: bool,
    }

    impl Cheat {
        fn matrices(a: Matrix, m: Matrix) -> Self {
            Cheat {
                a,
                m,
                committed: None,
                shift_output: None,
                forge_product: false,
            }
        }

        fn run(
            &self,
            rng: &mut ChaCha20Rng,
            pk: &PublicKey,
            inputs: &[Ciphertext],
        ) -> (Vec<Ciphertext>, ShuffleProof) {
            let n = inputs.len();
            let gens = generators(n);
            let s = random_secrets(n, rng);
            let mut outputs: Vec<Ciphertext> = self
                .a
                .iter()
                .zip(&s)
                .map(|(row, s)| {
                    let mixed = row
                        .iter()
                        .fold(Ciphertext::zero(), |acc, (j, k)| acc + inputs[*j].scale(k));
                    mixed + pk.encrypt_with(&Scalar::ZERO, s)
                })
                .collect();
            if let Some((i, da, db)) = self.shift_output {
                outputs[i].a += da;
                outputs[i].b += db;
            }
            let r = random_secrets(n, rng);
            let mut c: Vec<RistrettoPoint> = r.iter().map(|r| r.expose() * G).collect();
            for (i, row) in self
                .committed
                .as_ref()
                .unwrap_or(&self.m)
                .iter()
                .enumerate()
            {
                for (j, k) in row {
                    c[*j] += k * gens[i + 1];
                }
            }
            let c: Vec<WirePoint> = c.into_iter().map(WirePoint::new).collect();
            let mut t = statement_transcript(pk, inputs, &outputs, b"ctx");
            let e = challenge_vector(&mut t, c.iter());
            let e_prime: Vec<Scalar> = self
                .m
                .iter()
                .map(|row| row.iter().map(|(j, k)| k * e[*j]).sum())
                .collect();
            let mut chain = bridging_chain(gens[0], &e_prime, rng);
            if self.forge_product {
                let total = SecretScalar::random(rng);
                let prod_e: Scalar = e.iter().product();
                chain.points[n] = total.expose() * G + prod_e * gens[0];
                chain.total = total;
            }
            let proof = prove_committed(
                Committed {
                    pk,
                    outputs: &outputs,
                    gens: &gens,
                    c,
                    r: &r,
                    e: &e,
                    e_prime: &e_prime,
                    s: &s,
                    chain,
                },
                t,
                rng,
            );
            (outputs, proof)
        }
    }

    /// Each verification equation on its own, in the module documentation's order: sum check,
    /// product check, opening of `e'`, ciphertexts (first, second component), bridging chain (all
    /// positions). Plain point arithmetic, independent of the batched verifier.
    fn equations(
        p: &ShuffleProof,
        pk: &PublicKey,
        inputs: &[Ciphertext],
        outputs: &[Ciphertext],
    ) -> [bool; 6] {
        let gens = generators(inputs.len());
        let (h0, h) = (gens[0], &gens[1..]);
        let (e, v) = p.challenges(pk, inputs, outputs, b"ctx");
        let c: Vec<RistrettoPoint> = p.entries.iter().map(|x| *x.c.point()).collect();
        let mut chain = vec![h0];
        chain.extend(p.entries.iter().map(|x| *x.c_hat.point()));
        let k_prime: Vec<Scalar> = p.entries.iter().map(|x| x.k_prime).collect();
        let dot = |s: &[Scalar], pts: &mut dyn Iterator<Item = RistrettoPoint>| -> RistrettoPoint {
            s.iter().zip(pts).map(|(s, p)| s * p).sum()
        };
        let prod_e: Scalar = e.iter().product();
        let sum_c: RistrettoPoint = c.iter().sum();
        let sum_h: RistrettoPoint = h.iter().sum();
        let last = chain[chain.len() - 1];
        [
            p.k1 * G == p.t1.point() + v * (sum_c - sum_h),
            p.k2 * G == p.t2.point() + v * (last - prod_e * h0),
            p.k3 * G + dot(&k_prime, &mut h.iter().copied())
                == p.t3.point() + v * dot(&e, &mut c.iter().copied()),
            dot(&k_prime, &mut outputs.iter().map(|o| o.a)) - p.k4 * G
                == p.t4_a.point() + v * dot(&e, &mut inputs.iter().map(|w| w.a)),
            dot(&k_prime, &mut outputs.iter().map(|o| o.b)) - p.k4 * pk.0
                == p.t4_b.point() + v * dot(&e, &mut inputs.iter().map(|w| w.b)),
            p.entries.iter().zip(chain.windows(2)).all(|(x, pair)| {
                x.k_hat * G + x.k_prime * pair[0] == x.t_hat.point() + v * pair[1]
            }),
        ]
    }

    /// Runs `cheat` on `plaintexts`; checks which equations hold and that the proof is rejected.
    /// Returns the decrypted outputs.
    fn run_cheat(seed: u64, plaintexts: &[u64], cheat: &Cheat, holding: [bool; 6]) -> Vec<u64> {
        let (mut rng, sk, inputs) = setup(seed, plaintexts);
        let pk = sk.public_key();
        let (outputs, proof) = cheat.run(&mut rng, &pk, &inputs);
        assert_eq!(equations(&proof, &pk, &inputs, &outputs), holding);
        let verdict = proof.verify(&pk, &inputs, &outputs, b"ctx");
        if holding == [true; 6] {
            assert_eq!(verdict, Ok(()));
        } else {
            assert_eq!(verdict, Err(Error::InvalidProof("shuffle proof")));
        }
        let table = DlogTable::new(100).unwrap();
        outputs
            .iter()
            .map(|o| sk.decrypt_vartime(o, &table).unwrap_or(u64::MAX))
            .collect()
    }

    /// The harness itself is sound: with a permutation matrix (`A = M = P`, as `P⁻ᵀ = P`) every
    /// equation holds and the proof verifies, so the cheats below fail for their matrices.
    #[test]
    fn cheat_harness_with_a_permutation_verifies() {
        let p = permutation_matrix(&[2, 0, 1]);
        let plain = run_cheat(900, &[1, 2, 3], &Cheat::matrices(p.clone(), p), [true; 6]);
        assert_eq!(plain, [3, 1, 2]);
    }

    /// Vote moving that keeps the total: `(m₀, m₁) ↦ (2m₀ − m₁, 2m₁ − m₀)`. `M = A⁻ᵀ` has rows
    /// summing to one, so every equation but the product check holds; that one rejects it.
    fn vote_moving() -> Cheat {
        let (one, two) = (Scalar::ONE, Scalar::from(2u64));
        let third = Scalar::from(3u64).invert();
        Cheat::matrices(
            vec![
                vec![(0, two), (1, -one)],
                vec![(0, -one), (1, two)],
                vec![(2, one)],
            ],
            vec![
                vec![(0, two * third), (1, third)],
                vec![(0, third), (1, two * third)],
                vec![(2, one)],
            ],
        )
    }

    #[test]
    fn vote_moving_is_caught_by_the_product_check() {
        let plain = run_cheat(
            901,
            &[5, 3, 7],
            &vote_moving(),
            [true, false, true, true, true, true],
        );
        assert_eq!(plain, [7, 1, 7]);
    }

    /// The same cheat with the end of the bridging chain forged to satisfy the product equation:
    /// the chain's last link no longer follows from the one before it.
    #[test]
    fn forged_product_is_caught_by_the_bridging_chain() {
        let cheat = Cheat {
            forge_product: true,
            ..vote_moving()
        };
        run_cheat(
            902,
            &[5, 3, 7],
            &cheat,
            [true, true, true, true, true, false],
        );
    }

    /// Scaling votes: `(m₀, m₁) ↦ (2m₀, m₁/2)`. `M = A⁻ᵀ = diag(1/2, 2, 1)` keeps the product
    /// of `e`, so the product check holds; the sum check rejects it.
    #[test]
    fn vote_scaling_is_caught_by_the_sum_check() {
        let (one, two) = (Scalar::ONE, Scalar::from(2u64));
        let half = two.invert();
        let cheat = Cheat::matrices(
            vec![vec![(0, two)], vec![(1, half)], vec![(2, one)]],
            vec![vec![(0, half)], vec![(1, two)], vec![(2, one)]],
        );
        let plain = run_cheat(
            903,
            &[3, 4, 1],
            &cheat,
            [false, true, true, true, true, true],
        );
        assert_eq!(plain, [6, 2, 1]);
    }

    /// Shuffling with one permutation after committing to another: only the opening of `e'`
    /// against the permutation commitment catches it.
    #[test]
    fn committing_to_another_permutation_is_caught_by_the_opening() {
        let q = permutation_matrix(&[1, 2, 0]);
        let cheat = Cheat {
            committed: Some(permutation_matrix(&[2, 0, 1])),
            ..Cheat::matrices(q.clone(), q)
        };
        let plain = run_cheat(
            904,
            &[1, 2, 3],
            &cheat,
            [true, true, false, true, true, true],
        );
        assert_eq!(plain, [2, 3, 1]);
    }

    /// An output whose first component is shifted after the fact, proved with the honest
    /// witness: only the first ciphertext equation fails.
    #[test]
    fn shifted_first_component_is_caught_by_the_ciphertext_equation() {
        let p = permutation_matrix(&[1, 0, 2]);
        let cheat = Cheat {
            shift_output: Some((1, G, RistrettoPoint::default())),
            ..Cheat::matrices(p.clone(), p)
        };
        run_cheat(
            905,
            &[1, 2, 3],
            &cheat,
            [true, true, true, false, true, true],
        );
    }

    /// An output changed to another plaintext (`+1`), proved with the honest witness: only the
    /// second ciphertext equation fails.
    #[test]
    fn changed_plaintext_is_caught_by_the_ciphertext_equation() {
        let p = permutation_matrix(&[1, 0, 2]);
        let cheat = Cheat {
            shift_output: Some((0, RistrettoPoint::default(), G)),
            ..Cheat::matrices(p.clone(), p)
        };
        let plain = run_cheat(
            906,
            &[1, 2, 3],
            &cheat,
            [true, true, true, true, false, true],
        );
        assert_eq!(plain, [3, 1, 3]);
    }

    /// Ballot stuffing: input 0 duplicated, input 1 dropped. `A` is singular, so no commitment
    /// satisfies the ciphertext equation; committing to `A` itself passes the sum check.
    #[test]
    fn duplicating_one_input_and_dropping_another_fails() {
        let a = permutation_matrix(&[0, 0, 2, 3]);
        let plain = run_cheat(
            907,
            &[1, 0, 0, 0],
            &Cheat::matrices(a.clone(), a),
            [true, false, true, false, false, true],
        );
        assert_eq!(plain, [1, 1, 0, 0]);
    }

    /// Adding one ballot into another: `A` adds input 1 to output 0; `M = A⁻ᵀ` has a row summing
    /// to zero and a product different from `∏ e`.
    #[test]
    fn adding_one_input_into_another_fails() {
        let one = Scalar::ONE;
        let cheat = Cheat::matrices(
            vec![vec![(0, one), (1, one)], vec![(1, one)], vec![(2, one)]],
            vec![vec![(0, one)], vec![(0, -one), (1, one)], vec![(2, one)]],
        );
        let plain = run_cheat(
            908,
            &[1, 1, 0],
            &cheat,
            [false, false, true, true, true, true],
        );
        assert_eq!(plain, [2, 1, 0]);
    }

    #[test]
    fn honest_proofs_satisfy_every_equation() {
        for n in [0usize, 1, 2, 9] {
            let plain: Vec<u64> = (0..n as u64).collect();
            let (mut rng, sk, inputs) = setup(910 + n as u64, &plain);
            let pk = sk.public_key();
            let (outputs, proof) = shuffle(&pk, &inputs, b"ctx", &mut rng).unwrap();
            assert_eq!(equations(&proof, &pk, &inputs, &outputs), [true; 6]);
        }
    }

    #[test]
    fn random_permutations_are_uniform() {
        let mut rng = ChaCha20Rng::seed_from_u64(920);
        let mut counts = std::collections::HashMap::new();
        for _ in 0..6000 {
            let w = ShuffleWitness::random(3, &mut rng);
            *counts.entry(w.permutation.clone()).or_insert(0u32) += 1;
        }
        assert_eq!(counts.len(), 6);
        for (perm, count) in counts {
            assert!((850..1150).contains(&count), "{perm:?} drawn {count} times");
        }
        for bound in [1usize, 2, 3, 7, 1000] {
            for _ in 0..100 {
                assert!(uniform_index(&mut rng, bound) < bound);
            }
        }
    }

    #[test]
    fn generators_are_distinct_and_independent_of_g() {
        let gens = generators(64);
        let mut seen: Vec<_> = gens.iter().map(|p| p.compress().to_bytes()).collect();
        seen.push(G.compress().to_bytes());
        seen.push(crate::group::generator_h().compress().to_bytes());
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 67);
        assert_eq!(generator(5), gens[5]);
    }
}
