//! The chain's founding document (`genesis.json`), the same on every node.

use tabella_ledger::block::SkipchainParams;
use tabella_ledger::chain::Chain;
use tabella_ledger::roster::{Roster, ValidatorKey};

use crate::error::Error;

/// The chain's founding document, the same on every node (`genesis.json`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Genesis {
    /// A human name for the chain.
    pub chain_name: String,
    /// Skipchain parameters (back-link base and height).
    pub params: SkipchainParams,
    /// The founding roster.
    pub validators: Vec<ValidatorKey>,
}

impl Genesis {
    /// The genesis-only chain this document defines.
    pub fn chain(&self) -> Result<Chain, Error> {
        let roster = Roster::new(self.validators.clone())?;
        Ok(Chain::genesis(self.params, roster)?)
    }
}
