//! A query as the querier states it — operation, WHERE clause, privacy noise — over a declared
//! schema, and the glue between the plaintext half ([`crate::encoding`], [`crate::predicate`],
//! [`crate::noise`]) and the protocol ([`crate::params::QueryParams`]): the layout every data
//! provider's answer takes, each provider's answer from its own rows, and the decoding of the
//! querier's decrypted totals. The noise itself is drawn in secret by each computing node
//! ([`crate::obfuscation`]).

use serde::{Deserialize, Serialize};
use tabella_crypto::dkg::JointKey;
use tabella_crypto::elgamal::PublicKey;

use crate::encoding::{decode, encode, layout, Layout};
use crate::error::{Error, Result};
use crate::noise::NoiseSpec;
use crate::params::{NoisePlan, QueryParams};
use crate::party::PartyKey;
use crate::predicate::Predicate;
use crate::query::{Operation, QueryResult};
use crate::schema::{Row, Schema};

/// A querier's question.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Statement {
    /// What to compute.
    pub operation: Operation,
    /// The WHERE clause each data provider applies to its rows (`None`: every row).
    pub predicate: Option<String>,
    /// The schema the clause and the operation refer to.
    pub schema: Schema,
    /// Differential-privacy noise (`None`: no noise).
    pub noise: Option<NoiseSpec>,
    /// How many values each computing node's secret noise list holds (at least the layout's
    /// length; the first `entries` of each shuffled list are added).
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

    /// The noise plan: the statement's noise, list length, and each entry's factor
    /// ([`crate::encoding::entry_scales`]).
    pub fn noise_plan(&self) -> Result<Option<NoisePlan>> {
        self.noise
            .map(|spec| {
                Ok(NoisePlan {
                    spec,
                    list_len: self.noise_list_len,
                    scales: crate::encoding::entry_scales(&self.operation, &self.schema)?,
                })
            })
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

    /// The protocol's parameters for this statement run by `who`, made unique by `nonce` (the
    /// ledger's hash of the block that records the query).
    pub fn params(&self, who: &Participants, nonce: [u8; 32]) -> Result<QueryParams> {
        self.predicate()?;
        let l = self.layout()?;
        let params = QueryParams {
            statement: self.to_bytes()?,
            entries: l.len,
            bits: l.bits,
            computing_nodes: who.computing_nodes.clone(),
            providers: who.providers.clone(),
            collective_key: who.collective_key.clone(),
            querier_key: who.querier_key,
            noise: self.noise_plan()?,
            nonce,
        };
        params.validate()?;
        Ok(params)
    }

    /// Checks that `params` are this statement's: same statement bytes, layout and noise.
    pub fn check(&self, params: &QueryParams) -> Result<()> {
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
        if params.noise != self.noise_plan()? {
            return Err(Error::InvalidQuery(
                "the parameters' noise is not the statement's".into(),
            ));
        }
        Ok(())
    }
}
