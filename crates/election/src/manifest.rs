//! The election manifest: what is being decided, by whom, with which keys and rules.
//!
//! Seed 000 §4.2.1 (setup: whitelist, encoding key, contests) and seed 003 (electoral council,
//! polling tables with quotas from the paper lists, jurors). The manifest is signed by the council
//! when the election is created and never changes afterwards.

use serde::{Deserialize, Serialize};
use tabella_crypto::vector::VectorRule;

use crate::error::{Error, Result};
use crate::ids::{ElectionId, IdentityCommitment};
use crate::sign::OfficialKey;

/// How a contest is decided.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ContestKind {
    /// One candidate (seed 000 Annex B "majority"): entries 0/1, exactly one 1.
    SingleChoice,
    /// Approve between `min` and `max` candidates: entries 0/1, sum in `[min, max]`.
    Approval {
        /// Fewest approvals.
        min: u32,
        /// Most approvals.
        max: u32,
    },
    /// Rank the top `ranks` candidates (seed 000 Annex B "preferential"): the first choice gets
    /// `ranks` points, the next `ranks − 1`, …, the last ranked 1, all others 0.
    Preferential {
        /// Number of ranks `m` (each voter ranks exactly `m` distinct candidates).
        ranks: u32,
    },
}

/// One question on the ballot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contest {
    /// Title shown to voters.
    pub title: String,
    /// The rule.
    #[serde(flatten)]
    pub kind: ContestKind,
    /// Candidates, in ballot order.
    pub candidates: Vec<String>,
    /// Whether a blank vote is allowed (single choice: an explicit "blank" option; approval:
    /// approving nobody). Not available for preferential contests.
    #[serde(default)]
    pub allow_blank: bool,
}

/// A polling table (seed 003): a quota of in-person voters from the paper lists and its jurors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableSpec {
    /// Name, e.g. "Table 1 - Main hall".
    pub name: String,
    /// Number of voters on this table's paper list.
    pub quota: u32,
    /// Jurors who may authorize in-person voters here.
    pub jurors: Vec<OfficialKey>,
}

/// Why a polling table written `JUROR=QUOTA` (the council's `--table` argument) is malformed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableArgError {
    /// There is no `=` between the juror and the quota.
    #[error("--table {arg:?}: write JUROR=QUOTA, e.g. --table juror1=50")]
    Syntax {
        /// The argument as given.
        arg: String,
    },
    /// The quota is not a whole number.
    #[error("--table {arg:?}: the quota must be a whole number")]
    Quota {
        /// The argument as given.
        arg: String,
    },
}

/// Parses a polling table written `JUROR=QUOTA`: the juror's (key) name, trimmed, and the
/// number of voters on the table's paper list. Errors are [`Error::TableArgument`].
pub fn parse_table(arg: &str) -> Result<(String, u32)> {
    let (juror, quota) = arg.split_once('=').ok_or_else(|| TableArgError::Syntax {
        arg: arg.to_string(),
    })?;
    let quota = quota.trim().parse().map_err(|_| TableArgError::Quota {
        arg: arg.to_string(),
    })?;
    Ok((juror.trim().to_string(), quota))
}

/// A trustee: holds a share of the election key after the key ceremony.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrusteeSpec {
    /// Display name.
    pub name: String,
    /// Key that signs the trustee's ceremony and decryption messages. (Shares are encrypted to
    /// a key each trustee posts for this election only: [`crate::trustee::KeyCeremonyMessage`].)
    pub signing_key: OfficialKey,
}

/// Which encryption scheme protects the ballots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Exponential ElGamal under a t-of-n trustees' key (default; no single party can decrypt).
    #[default]
    Elgamal,
    /// Paillier under one voting administrator's key: faithful to seed 000 but a single
    /// administrator can decrypt every ballot. Offered for comparison, clearly labelled.
    Paillier,
}

/// What happens when a credential casts a second ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RevotePolicy {
    /// The last ballot of a remote credential counts (in-person authorizations are single-use).
    #[default]
    LastCounts,
    /// A second ballot is rejected as a double vote.
    Forbidden,
}

/// The officials' public keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Officials {
    /// The electoral council: creates, opens, closes the election and publishes results.
    pub council: OfficialKey,
    /// The identity validator: checks voters against the whitelist, blind-signs tokens.
    pub identity_validator: OfficialKey,
    /// The identity validator's RSA blind-signature key for registration tokens (RFC 9474).
    pub token_key: tabella_crypto::blind::IssuerPublicKey,
    /// The registrar: turns anonymous notes into enabled stealth voter keys.
    pub registrar: OfficialKey,
}

/// The election manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Manifest {
    /// Unique id; every action and proof is bound to it.
    pub election_id: ElectionId,
    /// Title.
    pub title: String,
    /// The contests on the ballot.
    pub contests: Vec<Contest>,
    /// Polling tables (may be empty: remote voting only).
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    /// Trustees (ElGamal scheme) — `n` of them.
    #[serde(default)]
    pub trustees: Vec<TrusteeSpec>,
    /// Trustees needed to decrypt (`t`).
    pub threshold: u16,
    /// Encryption scheme.
    #[serde(default)]
    pub scheme: Scheme,
    /// The Paillier administrator's public key (Paillier scheme only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paillier_key: Option<tabella_crypto::paillier::PublicKey>,
    /// Re-vote policy.
    #[serde(default)]
    pub revote: RevotePolicy,
    /// Officials.
    pub officials: Officials,
    /// Identity commitments of eligible remote voters (never names).
    pub whitelist: Vec<IdentityCommitment>,
    /// Fewest counted ballots a tally group (the remote voters, one polling table) must hold to
    /// be decrypted and published on its own. Smaller groups are merged before decryption (see
    /// [`crate::tally::plan_groups`]), so no published group reveals the votes of fewer than this
    /// many voters. Default [`DEFAULT_MIN_GROUP_SIZE`]; at least 1.
    #[serde(default = "default_min_group_size")]
    pub min_group_size: u32,
    /// Fewest stealth keys the registrar may enable in one `enable_voters` action (a smaller
    /// batch only when it enables every validated voter still waiting). Keys in a batch are in
    /// canonical order, so the chain's order of enablements does not follow the order in which
    /// voters were validated. Default [`DEFAULT_REGISTRATION_BATCH`]; at least 1.
    #[serde(default = "default_registration_batch")]
    pub registration_batch: u32,
}

/// Default [`Manifest::min_group_size`].
pub const DEFAULT_MIN_GROUP_SIZE: u32 = 5;
/// Default [`Manifest::registration_batch`].
pub const DEFAULT_REGISTRATION_BATCH: u32 = 5;

fn default_min_group_size() -> u32 {
    DEFAULT_MIN_GROUP_SIZE
}

fn default_registration_batch() -> u32 {
    DEFAULT_REGISTRATION_BATCH
}

/// Most candidates per contest (bounds proof sizes).
pub const MAX_CANDIDATES: usize = 64;
/// Most contests per ballot.
pub const MAX_CONTESTS: usize = 32;

impl Contest {
    /// Number of entries this contest contributes to the tally (candidates, plus "blank" for a
    /// single-choice contest that allows it).
    pub fn result_len(&self) -> usize {
        match self.kind {
            ContestKind::SingleChoice if self.allow_blank => self.candidates.len() + 1,
            _ => self.candidates.len(),
        }
    }

    /// Labels of the result entries.
    pub fn result_labels(&self) -> Vec<String> {
        let mut l = self.candidates.clone();
        if matches!(self.kind, ContestKind::SingleChoice) && self.allow_blank {
            l.push("(blank)".into());
        }
        l
    }

    /// The vector rules of this contest's encrypted rows (one row, or `ranks` rows).
    pub fn row_rule(&self) -> VectorRule {
        let n = self.candidates.len();
        match self.kind {
            ContestKind::SingleChoice => VectorRule::single_choice(self.result_len()),
            ContestKind::Approval { min, max } => {
                let lo = if self.allow_blank { 0 } else { u64::from(min) };
                VectorRule::approval(n, lo, u64::from(max))
            }
            ContestKind::Preferential { .. } => VectorRule::single_choice(n),
        }
    }

    /// Number of encrypted rows a ballot carries for this contest.
    pub fn rows(&self) -> usize {
        match self.kind {
            ContestKind::Preferential { ranks } => ranks as usize,
            _ => 1,
        }
    }

    /// Largest value one ballot adds to one tally entry.
    pub fn max_points(&self) -> u64 {
        match self.kind {
            ContestKind::Preferential { ranks } => u64::from(ranks),
            _ => 1,
        }
    }

    fn validate(&self, i: usize) -> Result<()> {
        let bad = |m: String| {
            Err(Error::InvalidManifest(format!(
                "contest {i} ({:?}): {m}",
                self.title
            )))
        };
        let n = self.candidates.len();
        if n == 0 || n > MAX_CANDIDATES {
            return bad(format!("needs 1..={MAX_CANDIDATES} candidates, has {n}"));
        }
        match self.kind {
            ContestKind::SingleChoice => {}
            ContestKind::Approval { min, max } => {
                if min > max || max as usize > n || max == 0 {
                    return bad(format!(
                        "approval bounds [{min}, {max}] must satisfy min <= max, 1 <= max <= {n}"
                    ));
                }
                // A blank approval ballot approves nobody; the sum proof then covers [0, max],
                // which is exactly {0} ∪ [min, max] only when min <= 1.
                if self.allow_blank && min > 1 {
                    return bad(format!(
                        "a blank vote with at least {min} approvals required cannot be proven exactly; \
                         set min to 0 or 1, or disallow blank"
                    ));
                }
            }
            ContestKind::Preferential { ranks } => {
                if ranks == 0 || ranks as usize > n {
                    return bad(format!("ranks must be in 1..={n}, got {ranks}"));
                }
                if self.allow_blank {
                    return bad("a blank vote is not available for preferential contests".into());
                }
            }
        }
        Ok(())
    }
}

impl Manifest {
    /// Checks the manifest's internal consistency.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidManifest(m));
        if self.contests.is_empty() || self.contests.len() > MAX_CONTESTS {
            return bad(format!(
                "needs 1..={MAX_CONTESTS} contests, has {}",
                self.contests.len()
            ));
        }
        for (i, c) in self.contests.iter().enumerate() {
            c.validate(i)?;
        }
        if self.tables.len() > usize::from(u16::MAX) {
            return bad("too many tables".into());
        }
        for (i, t) in self.tables.iter().enumerate() {
            if t.jurors.is_empty() {
                return bad(format!("table {i} ({:?}) has no jurors", t.name));
            }
        }
        if self.min_group_size == 0 {
            return bad(format!(
                "min_group_size must be at least 1 (default {DEFAULT_MIN_GROUP_SIZE})"
            ));
        }
        let max_batch = crate::action::MAX_ENABLE_BATCH / 2;
        if self.registration_batch == 0 || self.registration_batch as usize > max_batch {
            return bad(format!(
                "registration_batch must be in 1..={max_batch} (default {DEFAULT_REGISTRATION_BATCH}), got {}",
                self.registration_batch
            ));
        }
        let mut wl = self.whitelist.clone();
        wl.sort();
        wl.dedup();
        if wl.len() != self.whitelist.len() {
            return bad("the whitelist contains a duplicate commitment".into());
        }
        match self.scheme {
            Scheme::Elgamal => {
                let n = self.trustees.len();
                if n == 0 || n > 255 {
                    return bad(format!(
                        "the ElGamal scheme needs 1..=255 trustees, has {n}"
                    ));
                }
                if self.threshold == 0 || usize::from(self.threshold) > n {
                    return bad(format!(
                        "threshold must be in 1..={n}, got {}",
                        self.threshold
                    ));
                }
                if self.paillier_key.is_some() {
                    return bad("a Paillier key is set but the scheme is elgamal".into());
                }
            }
            Scheme::Paillier => {
                if self.paillier_key.is_none() {
                    return bad("the Paillier scheme needs the administrator's paillier_key".into());
                }
            }
        }
        Ok(())
    }

    /// Upper bound on any decrypted tally entry (sizes the discrete-log table).
    pub fn max_tally(&self) -> u64 {
        let voters = self.whitelist.len() as u64
            + self.tables.iter().map(|t| u64::from(t.quota)).sum::<u64>();
        let pts = self
            .contests
            .iter()
            .map(Contest::max_points)
            .max()
            .unwrap_or(1);
        voters.saturating_mul(pts).saturating_add(1)
    }

    /// Total in-person quota.
    pub fn total_quota(&self) -> u64 {
        self.tables.iter().map(|t| u64::from(t.quota)).sum()
    }

    /// Starts a manifest for `election_id` signed off by these officials: the ElGamal scheme,
    /// re-votes where the last ballot counts, the default group size and registration batch,
    /// and no contests, tables, trustees or whitelisted voters yet. See [`ManifestBuilder`].
    pub fn builder(
        election_id: ElectionId,
        title: impl Into<String>,
        officials: Officials,
    ) -> ManifestBuilder {
        ManifestBuilder {
            manifest: Manifest {
                election_id,
                title: title.into(),
                contests: Vec::new(),
                tables: Vec::new(),
                trustees: Vec::new(),
                threshold: 0,
                scheme: Scheme::Elgamal,
                paillier_key: None,
                revote: RevotePolicy::LastCounts,
                officials,
                whitelist: Vec::new(),
                min_group_size: DEFAULT_MIN_GROUP_SIZE,
                registration_batch: DEFAULT_REGISTRATION_BATCH,
            },
        }
    }
}

/// Assembles a [`Manifest`] part by part and checks it ([`Manifest::validate`]) when it is
/// built: the one place a manifest is put together, for the council's `tabella election
/// manifest` and for the simulation. Start with [`Manifest::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct ManifestBuilder {
    manifest: Manifest,
}

impl ManifestBuilder {
    /// The contests on the ballot, in order.
    pub fn contests(mut self, contests: Vec<Contest>) -> Self {
        self.manifest.contests = contests;
        self
    }

    /// Adds polling tables, each `(quota, jurors)`, numbered on from the tables already added
    /// and named "Table 1", "Table 2", … (the name results are printed under).
    pub fn tables(mut self, tables: impl IntoIterator<Item = (u32, Vec<OfficialKey>)>) -> Self {
        for (quota, jurors) in tables {
            let name = format!("Table {}", self.manifest.tables.len() + 1);
            self.manifest.tables.push(TableSpec {
                name,
                quota,
                jurors,
            });
        }
        self
    }

    /// Adds trustees, each `(name, signing key)`; a trustee's index is its position.
    pub fn trustees(mut self, trustees: impl IntoIterator<Item = (String, OfficialKey)>) -> Self {
        self.manifest.trustees.extend(
            trustees
                .into_iter()
                .map(|(name, signing_key)| TrusteeSpec { name, signing_key }),
        );
        self
    }

    /// Trustees needed to decrypt (`t`).
    pub fn threshold(mut self, threshold: u16) -> Self {
        self.manifest.threshold = threshold;
        self
    }

    /// Switches to the Paillier scheme under this administrator's public key.
    pub fn paillier(mut self, key: tabella_crypto::paillier::PublicKey) -> Self {
        self.manifest.scheme = Scheme::Paillier;
        self.manifest.paillier_key = Some(key);
        self
    }

    /// The identity commitments of the eligible remote voters (from
    /// [`crate::whitelist::Whitelist::new`]).
    pub fn whitelist(mut self, commitments: Vec<IdentityCommitment>) -> Self {
        self.manifest.whitelist = commitments;
        self
    }

    /// [`Manifest::min_group_size`].
    pub fn min_group_size(mut self, size: u32) -> Self {
        self.manifest.min_group_size = size;
        self
    }

    /// [`Manifest::registration_batch`].
    pub fn registration_batch(mut self, size: u32) -> Self {
        self.manifest.registration_batch = size;
        self
    }

    /// The manifest, if it is internally consistent ([`Manifest::validate`]).
    pub fn build(self) -> Result<Manifest> {
        self.manifest.validate()?;
        Ok(self.manifest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::commit_identity;
    use crate::sign::OfficialSecret;
    use crate::simulate::default_contests;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    fn officials(rng: &mut ChaCha20Rng) -> Officials {
        let (_, token_key) = tabella_crypto::blind::generate_issuer_key(2048, rng).unwrap();
        Officials {
            council: OfficialSecret::generate(rng).public(),
            identity_validator: OfficialSecret::generate(rng).public(),
            token_key,
            registrar: OfficialSecret::generate(rng).public(),
        }
    }

    #[test]
    fn table_argument() {
        assert_eq!(parse_table("j1=40").unwrap(), ("j1".into(), 40));
        assert_eq!(parse_table(" j 1 = 7 ").unwrap(), ("j 1".into(), 7));
        assert_eq!(parse_table("=0").unwrap(), (String::new(), 0));
        let refused = |a: &str| match parse_table(a) {
            Err(Error::TableArgument(e)) => e,
            other => panic!("{a:?}: {other:?}"),
        };
        assert_eq!(refused("j1"), TableArgError::Syntax { arg: "j1".into() });
        assert_eq!(refused(""), TableArgError::Syntax { arg: "".into() });
        for bad in ["j1=x", "j1=", "j1=-1", "j1=1.5", "j1=4294967296", "j1=2=3"] {
            assert_eq!(
                refused(bad),
                TableArgError::Quota { arg: bad.into() },
                "{bad}"
            );
        }
        assert_eq!(
            refused("j1=x").to_string(),
            "--table \"j1=x\": the quota must be a whole number"
        );
    }

    #[test]
    fn builder_names_tables_orders_trustees_and_validates() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let off = officials(&mut rng);
        let keys: Vec<OfficialKey> = (0..5)
            .map(|_| OfficialSecret::generate(&mut rng).public())
            .collect();
        let whitelist = vec![commit_identity(&[1; 32], "ann")];
        let id = ElectionId::new("e1").unwrap();
        let start = || {
            Manifest::builder(id.clone(), "T", off.clone())
                .contests(default_contests())
                .trustees([("a".to_string(), keys[0]), ("b".to_string(), keys[1])])
                .threshold(2)
                .whitelist(whitelist.clone())
        };
        let m = start()
            .tables([(3, vec![keys[2]])])
            .tables([(4, vec![keys[3], keys[4]])])
            .min_group_size(7)
            .registration_batch(2)
            .build()
            .unwrap();
        assert_eq!(
            m,
            Manifest {
                election_id: id.clone(),
                title: "T".into(),
                contests: default_contests(),
                tables: vec![
                    TableSpec {
                        name: "Table 1".into(),
                        quota: 3,
                        jurors: vec![keys[2]],
                    },
                    TableSpec {
                        name: "Table 2".into(),
                        quota: 4,
                        jurors: vec![keys[3], keys[4]],
                    },
                ],
                trustees: vec![
                    TrusteeSpec {
                        name: "a".into(),
                        signing_key: keys[0],
                    },
                    TrusteeSpec {
                        name: "b".into(),
                        signing_key: keys[1],
                    },
                ],
                threshold: 2,
                scheme: Scheme::Elgamal,
                paillier_key: None,
                revote: RevotePolicy::LastCounts,
                officials: off.clone(),
                whitelist: whitelist.clone(),
                min_group_size: 7,
                registration_batch: 2,
            }
        );
        // Defaults.
        let d = start().build().unwrap();
        assert!(d.tables.is_empty());
        assert_eq!(d.min_group_size, DEFAULT_MIN_GROUP_SIZE);
        assert_eq!(d.registration_batch, DEFAULT_REGISTRATION_BATCH);
        // Inconsistent manifests are refused when built.
        let refused = |b: ManifestBuilder| match b.build() {
            Err(Error::InvalidManifest(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(refused(start().threshold(3)).contains("threshold must be in 1..=2"));
        assert!(refused(start().contests(Vec::new())).contains("contests, has 0"));
        assert!(refused(start().tables([(1, Vec::new())])).contains("has no jurors"));
        assert!(refused(start().min_group_size(0)).contains("min_group_size"));
        let twice = vec![whitelist[0], whitelist[0]];
        assert!(refused(start().whitelist(twice)).contains("duplicate"));
        // No trustees: the ElGamal scheme needs at least one (the simulation's Paillier
        // elections, in tests/elections.rs, build with `paillier` and none).
        assert!(refused(
            Manifest::builder(id.clone(), "T", off.clone()).contests(default_contests())
        )
        .contains("1..=255 trustees"));
    }
}
