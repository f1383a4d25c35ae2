//! A query as the querier states it — operation, WHERE clause, privacy noise — over a declared
//! schema, and the glue between the plaintext half ([`crate::encoding`], [`crate::predicate`],
//! [`crate::noise`]) and the protocol ([`crate::params::QueryParams`]): the layout every data
//! provider's answer takes, each provider's answer from its own rows, the public noise list, and
//! the decoding of the querier's decrypted totals.
//!
//! The noise list is drawn by the query's exact sampler from a seed that is a hash of every other
//! parameter of the query (rosters and keys included), so anyone re-derives it and checks it
//! ([`Statement::check_noise`]); it is fixed before any node shuffles it, and each node's
//! shuffle hides which of its values is added (UnLynx's distributed results obfuscation).

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tabella_crypto::dkg::JointKey;
use tabella_crypto::elgamal::PublicKey;

use crate::encoding::{decode, encode, layout, Layout};
use crate::error::{Error, Result};
use crate::noise::{sample_list, NoiseSpec};
use crate::params::QueryParams;
use crate::party::PartyKey;
use crate::predicate::Predicate;
use crate::query::{Operation, QueryResult};
use crate::schema::{Row, Schema};

/// A querier's question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    /// What to compute.
    pub operation: Operation,
    /// The WHERE clause each data provider applies to its rows (`None`: every row).
    pub predicate: Option<String>,
    /// The schema the clause and the operation refer to.
    pub schema: Schema,
    /// Differential-privacy noise (`None`: no noise).
    pub noise: Option<NoiseSpec>,
    /// How many values the public noise list holds (at least the layout's length).
    pub noise_list_len: usize,
}

/// The parties and keys a query runs with.
#[derive(Clone, Debug)]
pub struct Participants {
    /// The computing nodes, in key-share order.
    pub computing_nodes: Vec<PartyKey>,
    /// The data providers.
    pub providers: Vec<PartyKey>,
    /// The computing nodes' collective key.
    pub collective_key: JointKey,
    /// The querier's key.
    pub querier_key: PublicKey,
}

impl Statement {
    /// The layout of every data provider's answer.
    pub fn layout(&self) -> Result<Layout> {
        layout(&self.operation, &self.schema)
    }

    /// The parsed WHERE clause.
    pub fn predicate(&self) -> Result<Option<Predicate>> {
        self.predicate
            .as_deref()
            .map(|p| Predicate::parse(p, &self.schema))
            .transpose()
    }

    /// The canonical bytes the query id binds to.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(self)?)
    }

    /// A data provider's answer from its own `rows`: the rows the WHERE clause keeps, encoded.
    pub fn answer(&self, rows: &[Row]) -> Result<Vec<u64>> {
        match self.predicate()? {
            Some(p) => encode(&self.operation, &self.schema, p.filter(rows)?),
            None => encode(&self.operation, &self.schema, rows),
        }
    }

    /// The result from the querier's decrypted totals.
    pub fn decode(&self, totals: &[i128]) -> Result<QueryResult> {
        decode(&self.operation, &self.schema, totals)
    }

    /// The protocol's parameters for this statement run by `who`, the public noise list drawn
    /// from its seed.
    pub fn params(&self, who: &Participants, nonce: [u8; 32]) -> Result<QueryParams> {
        self.predicate()?;
        let l = self.layout()?;
        let mut params = QueryParams {
            statement: self.to_bytes()?,
            entries: l.len,
            bits: l.bits,
            computing_nodes: who.computing_nodes.clone(),
            providers: who.providers.clone(),
            collective_key: who.collective_key.clone(),
            querier_key: who.querier_key,
            noise: Vec::new(),
            nonce,
        };
        params.noise = self.noise_list(&params)?;
        params.validate()?;
        Ok(params)
    }

    /// The noise list of `params` (whose own `noise` is ignored): drawn with the statement's
    /// sampler from `SHA-256("tabella/stats/noise-seed/v1" || 0 || JSON(params without noise))`.
    pub fn noise_list(&self, params: &QueryParams) -> Result<Vec<i64>> {
        let Some(spec) = &self.noise else {
            return Ok(Vec::new());
        };
        if self.noise_list_len > crate::params::MAX_NOISE_LIST {
            return Err(Error::InvalidQuery(format!(
                "the noise list may hold at most {} values, not {}",
                crate::params::MAX_NOISE_LIST,
                self.noise_list_len
            )));
        }
        if self.noise_list_len < params.entries {
            return Err(Error::InvalidQuery(format!(
                "the noise list must hold at least the {} entries, not {}",
                params.entries, self.noise_list_len
            )));
        }
        let mut bare = params.clone();
        bare.noise = Vec::new();
        let mut h = Sha256::new();
        h.update(b"tabella/stats/noise-seed/v1\0");
        h.update(serde_json::to_vec(&bare)?);
        let mut rng = ChaCha20Rng::from_seed(h.finalize().into());
        sample_list(spec, self.noise_list_len, &mut rng)
    }

    /// Checks that `params` are this statement's: same statement bytes, layout and noise list.
    pub fn check_noise(&self, params: &QueryParams) -> Result<()> {
        if params.statement != self.to_bytes()? {
            return Err(Error::InvalidQuery(
                "the parameters are for another statement".into(),
            ));
        }
        let l = self.layout()?;
        if (params.entries, params.bits) != (l.len, l.bits) {
            return Err(Error::InvalidQuery(format!(
                "the parameters' layout ({} entries of {} bits) is not the statement's ({} of {})",
                params.entries, params.bits, l.len, l.bits
            )));
        }
        if params.noise != self.noise_list(params)? {
            return Err(Error::InvalidQuery(
                "the noise list is not the one the query's seed draws".into(),
            ));
        }
        Ok(())
    }
}
