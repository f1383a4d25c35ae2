//! A query as the protocol sees it: who takes part, the collective key, the shape of every data
//! provider's answer, the noise plan, a nonce, and the querier's key. Every proof binds to the
//! query's id, a hash of all of it.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tabella_crypto::dkg::{JointKey, TrusteeIndex};
use tabella_crypto::elgamal::PublicKey;
use tabella_crypto::range::SUPPORTED_BITS;

use crate::error::{Error, Result};
use crate::noise::NoiseSpec;
use crate::party::PartyKey;

/// A query's id: SHA-256 of its parameters, written as 64 hex characters.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[schema(value_type = tabella_crypto::api_schema::HexBytes)]
pub struct QueryId(#[serde(with = "hex::serde")] pub [u8; 32]);

impl fmt::Display for QueryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}
impl fmt::Debug for QueryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "QueryId({self})")
    }
}

/// Largest number of entries in a data provider's answer.
pub const MAX_ENTRIES: usize = 4096;

/// The parameters of one query (seed 001 §4.1, §4.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryParams {
    /// The query's statement as the querier wrote it (operation, attributes, predicate, privacy
    /// budget), canonically encoded. The protocol does not interpret it; every proof binds to it
    /// through the query id.
    #[schema(value_type = tabella_crypto::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub statement: Vec<u8>,
    /// Entries in every data provider's answer (the operation's layout).
    pub entries: usize,
    /// Every entry lies in `[0, 2^bits)`, `1 <= bits <= 64` (the operation's layout). Range
    /// proofs come in 8, 16, 32 or 64 bits ([`QueryParams::proof_bits`]); below that size a
    /// second proof bounds each entry exactly ([`crate::submission`]).
    pub bits: u32,
    /// The computing nodes, in order: node `i` (from 1) holds share `i` of the collective key.
    pub computing_nodes: Vec<PartyKey>,
    /// The data providers.
    pub providers: Vec<PartyKey>,
    /// The collective key (t-of-n DKG among the computing nodes; `t = n` is the seed's any-trust
    /// setting).
    pub collective_key: JointKey,
    /// The querier's ElGamal key: the result is switched to it.
    pub querier_key: PublicKey,
    /// The differential-privacy noise (`None`: no noise): every computing node draws a secret
    /// list from this distribution, encrypts it with range proofs, every node shuffles every
    /// list, and the first `entries` values of each list are added to the result
    /// ([`crate::obfuscation`]).
    pub noise: Option<NoisePlan>,
    /// Makes the query's id unique, so that no proof of another run of the same question is
    /// accepted for this one. It should come from a source the querier cannot choose (the
    /// ledger's hash of the block that records the query), since it also seeds the noise list.
    #[schema(value_type = tabella_crypto::api_schema::HexBytes)]
    #[serde(with = "hex::serde")]
    pub nonce: [u8; 32],
}

/// Most values in a noise list.
pub const MAX_NOISE_LIST: usize = 1 << 16;

/// Largest factor of an entry ([`NoisePlan::scales`]).
pub const MAX_SCALE: u64 = 1 << 32;

/// Most bits of an encoded noise value (a value `v` is sent as `v + 2^(bits−1)`).
pub const MAX_NOISE_BITS: u32 = 32;

/// The noise of a query: the distribution every computing node draws from, and how many values
/// each node's list holds (at least the number of entries).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoisePlan {
    /// Mechanism, ε, δ and sensitivity.
    pub spec: NoiseSpec,
    /// Values in each node's list.
    pub list_len: usize,
    /// Per entry, the public factor `c_k` the aggregate's entry is multiplied by before the
    /// noise is added (empty: every factor 1). With `c_k = ⌊Δ_max / Δ_k⌋`
    /// ([`crate::encoding::entry_scales`]) every entry moves by about `Δ_max` for one row, so the
    /// one noise distribution (calibrated to `Δ_max`) fits each entry: after decryption the
    /// querier divides entry `k` by `c_k` ([`QueryParams::unscale`]), and the noise on an entry of
    /// small sensitivity (a count beside a sum) shrinks by `c_k` instead of drowning it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scales: Vec<u64>,
}

impl NoisePlan {
    /// The bits every noise value is proven in: the smallest `b` with `2^(b−1)` above the
    /// distribution's `2^−64` tail (45 × the scale for the discrete Laplace, whose tail beyond
    /// `B` is below `2·e^(−B/scale)`; 9.5 σ for the discrete Gaussian, below `2·e^(−B²/2σ²)`).
    /// A value `v` is sent as `v + 2^(b−1)`, so a node can shift an entry by less than `2^(b−1)`
    /// — about the noise's own size — and not more; an honest node draws again the rare value
    /// beyond. Refused above [`MAX_NOISE_BITS`].
    pub fn bits(&self) -> Result<u32> {
        use crate::noise::Distribution;
        let width = match self.spec.params()?.distribution {
            Distribution::DiscreteLaplace { scale } => 45.0 * scale.to_f64(),
            Distribution::DiscreteGaussian { sigma2 } => 9.5 * sigma2.to_f64().sqrt(),
        };
        let bound = width.ceil() + 1.0;
        let bits = (bound.log2().ceil() as u32).saturating_add(1).max(2);
        if !bound.is_finite() || bits > MAX_NOISE_BITS {
            return Err(Error::InvalidQuery(format!(
                "the noise is too wide: its values would need {bits} bits, more than {MAX_NOISE_BITS}"
            )));
        }
        Ok(bits)
    }

    /// The factor of entry `k` (1 when none is given).
    pub fn scale(&self, k: usize) -> u64 {
        self.scales.get(k).copied().unwrap_or(1)
    }

    /// The offset `2^(bits−1)` added to every noise value before it is proven.
    pub fn offset(&self) -> Result<u64> {
        Ok(1u64 << (self.bits()? - 1))
    }
}

impl QueryParams {
    /// The query id: `SHA-256("tabella/stats/query/v1" || 0 || JSON(params))`.
    pub fn id(&self) -> Result<QueryId> {
        let json = serde_json::to_vec(self)?;
        let mut h = Sha256::new();
        h.update(b"tabella/stats/query/v1\0");
        h.update(&json);
        Ok(QueryId(h.finalize().into()))
    }

    /// Checks the parameters are usable.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidQuery(m));
        if self.entries == 0 || self.entries > MAX_ENTRIES {
            return bad(format!(
                "a data provider's answer must have 1..={MAX_ENTRIES} entries, not {}",
                self.entries
            ));
        }
        if self.bits == 0 || self.bits > 64 {
            return bad(format!(
                "entries lie in [0, 2^bits) for bits in 1..=64, not {}",
                self.bits
            ));
        }
        let n = self.computing_nodes.len();
        if n == 0 || n != usize::from(self.collective_key.n) {
            return bad(format!(
                "{n} computing nodes but the collective key has {} shares",
                self.collective_key.n
            ));
        }
        self.collective_key.validate()?;
        if self.collective_key.t != self.collective_key.n {
            return bad(format!(
                "the collective key is {}-of-{}; statistics need every computing node to take \
                 part (t = n, any-trust): with t < n, t colluding nodes decrypt every answer",
                self.collective_key.t, self.collective_key.n
            ));
        }
        use curve25519_dalek::traits::IsIdentity;
        if self.collective_key.public_key.0.is_identity() || self.querier_key.0.is_identity() {
            return bad("the collective key and the querier's key must not be the identity".into());
        }
        if self.providers.is_empty() {
            return bad("a query needs at least one data provider".into());
        }
        let mut all: Vec<PartyKey> = self.computing_nodes.clone();
        all.extend(&self.providers);
        all.sort();
        if all.windows(2).any(|w| w[0] == w[1]) {
            return bad("a party appears twice in the rosters".into());
        }
        if let Some(plan) = &self.noise {
            if plan.list_len > MAX_NOISE_LIST || plan.list_len < self.entries {
                return bad(format!(
                    "a noise list must hold between the {} entries and {MAX_NOISE_LIST} values, not {}",
                    self.entries, plan.list_len
                ));
            }
            plan.bits()?;
            if !plan.scales.is_empty()
                && (plan.scales.len() != self.entries
                    || plan.scales.iter().any(|c| *c == 0 || *c > MAX_SCALE))
            {
                return bad(format!(
                    "the noise plan's scales must be {} factors in 1..={MAX_SCALE}",
                    self.entries
                ));
            }
        }
        Ok(())
    }

    /// The querier's decrypted entries with their factors removed: entry `k` divided by
    /// [`NoisePlan::scale`] and rounded to the nearest integer (post-processing, so the
    /// privacy guarantee is unchanged).
    pub fn unscale(&self, values: &[i128]) -> Vec<i128> {
        let Some(plan) = &self.noise else {
            return values.to_vec();
        };
        values
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let c = i128::from(plan.scale(k));
                let q = v.div_euclid(c);
                let r = v.rem_euclid(c);
                if 2 * r >= c {
                    q + 1
                } else {
                    q
                }
            })
            .collect()
    }

    /// The range-proof size: the smallest of 8, 16, 32, 64 that is at least [`Self::bits`].
    pub fn proof_bits(&self) -> usize {
        SUPPORTED_BITS
            .iter()
            .copied()
            .find(|b| *b >= self.bits as usize)
            .unwrap_or(64)
    }

    /// When entries are bounded below the proof size, `2^proof_bits − 2^bits`: an entry `v` is
    /// below `2^bits` exactly when `v + shift` is below `2^proof_bits`.
    pub fn upper_shift(&self) -> Option<u64> {
        let pb = self.proof_bits();
        let b = self.bits as usize;
        (b < pb).then(|| {
            let top = if pb == 64 { u64::MAX } else { (1u64 << pb) - 1 };
            top - ((1u64 << b) - 1)
        })
    }

    /// The same query with another answer shape (the computing nodes' noise lists are proven
    /// like answers of `entries` values of `bits` bits).
    pub fn with_shape(&self, entries: usize, bits: u32) -> QueryParams {
        QueryParams {
            statement: Vec::new(),
            entries,
            bits,
            computing_nodes: Vec::new(),
            providers: Vec::new(),
            collective_key: self.collective_key.clone(),
            querier_key: self.querier_key,
            noise: None,
            nonce: self.nonce,
        }
    }

    /// The key-share index of computing node `key`.
    pub fn node_index(&self, key: &PartyKey) -> Result<TrusteeIndex> {
        let pos = self
            .computing_nodes
            .iter()
            .position(|k| k == key)
            .ok_or(Error::NotInRoster {
                party: *key,
                role: "computing node",
            })?;
        Ok(TrusteeIndex::from_position(pos)?)
    }

    /// The position of data provider `key` in the roster.
    pub fn provider_position(&self, key: &PartyKey) -> Result<usize> {
        self.providers
            .iter()
            .position(|k| k == key)
            .ok_or(Error::NotInRoster {
                party: *key,
                role: "data provider",
            })
    }

    /// The computing node that aggregates data provider number `position`'s answer (round
    /// robin over the computing nodes).
    pub fn aggregator_of(&self, position: usize) -> Option<PartyKey> {
        let n = self.computing_nodes.len();
        (n > 0).then(|| self.computing_nodes[position % n])
    }

    /// The data providers computing node `node` aggregates, in roster order.
    pub fn providers_of(&self, node: &PartyKey) -> Vec<PartyKey> {
        self.providers
            .iter()
            .enumerate()
            .filter(|(i, _)| self.aggregator_of(*i).as_ref() == Some(node))
            .map(|(_, k)| *k)
            .collect()
    }

    /// Every computing node's key-share index, ascending (the key-switch participants).
    pub fn node_indices(&self) -> Result<Vec<TrusteeIndex>> {
        (0..self.computing_nodes.len())
            .map(|p| TrusteeIndex::from_position(p).map_err(Error::from))
            .collect()
    }
}

/// The bytes every proof of kind `label` by `prover` for `query` is bound to (its Fiat–Shamir
/// context): `label || 0 || query id || prover key`.
pub fn proof_context(label: &str, query: &QueryId, prover: &PartyKey) -> Vec<u8> {
    let mut c = Vec::with_capacity(label.len() + 65);
    c.extend_from_slice(label.as_bytes());
    c.push(0);
    c.extend_from_slice(&query.0);
    c.extend_from_slice(&prover.to_bytes());
    c
}
