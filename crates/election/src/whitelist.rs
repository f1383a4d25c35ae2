//! The identity validator's private whitelist: each eligible identity with the random salt of
//! its public commitment (`ids::commit_identity`). The manifest publishes only the commitments;
//! this file stays with the council and the identity validator.

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{commit_identity, ElectionId, IdentityCommitment};

/// The private whitelist of an election.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Whitelist {
    /// The election.
    pub election_id: ElectionId,
    /// Entries, in the order the identities were given.
    pub voters: Vec<WhitelistEntry>,
}

/// One whitelisted identity.
#[derive(Clone, Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WhitelistEntry {
    /// The identity as the validator checks it.
    pub identity: String,
    /// The commitment's salt (64 hex characters).
    pub salt: String,
}

impl Whitelist {
    /// Salts every identity with 32 fresh random bytes; returns the whitelist and the public
    /// commitments, in the same order, for the manifest. An identity given twice is refused.
    pub fn new<R: RngCore>(
        election_id: &ElectionId,
        identities: &[String],
        rng: &mut R,
    ) -> Result<(Whitelist, Vec<IdentityCommitment>)> {
        let mut seen = std::collections::BTreeSet::new();
        let mut voters = Vec::with_capacity(identities.len());
        let mut commitments = Vec::with_capacity(identities.len());
        for identity in identities {
            if !seen.insert(identity.as_str()) {
                return Err(Error::InvalidManifest(format!(
                    "identity {identity:?} is given twice"
                )));
            }
            let mut salt = [0u8; 32];
            rng.fill_bytes(&mut salt);
            commitments.push(commit_identity(&salt, identity));
            voters.push(WhitelistEntry {
                identity: identity.clone(),
                salt: hex::encode(salt),
            });
        }
        Ok((
            Whitelist {
                election_id: election_id.clone(),
                voters,
            },
            commitments,
        ))
    }

    /// The commitment of `identity`, if whitelisted.
    pub fn commitment_of(&self, identity: &str) -> Result<Option<IdentityCommitment>> {
        let Some(e) = self.voters.iter().find(|e| e.identity == identity) else {
            return Ok(None);
        };
        let salt: [u8; 32] = hex::decode(&e.salt)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| Error::Malformed(format!("malformed salt for {identity:?}")))?;
        Ok(Some(commit_identity(&salt, identity)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn commitments_match_and_duplicates_are_refused() {
        let id = ElectionId::new("e").unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let people = vec!["ann".to_string(), "bob".to_string()];
        let (wl, commitments) = Whitelist::new(&id, &people, &mut rng).unwrap();
        assert_eq!(wl.commitment_of("ann").unwrap(), Some(commitments[0]));
        assert_eq!(wl.commitment_of("bob").unwrap(), Some(commitments[1]));
        assert_eq!(wl.commitment_of("eve").unwrap(), None);
        assert_ne!(wl.voters[0].salt, wl.voters[1].salt);
        let twice = vec!["ann".to_string(), "ann".to_string()];
        assert!(Whitelist::new(&id, &twice, &mut rng).is_err());
        let mut bad = wl.clone();
        bad.voters[0].salt = "zz".into();
        assert!(bad.commitment_of("ann").is_err());
    }
}
