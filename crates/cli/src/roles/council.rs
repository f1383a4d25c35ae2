//! The electoral council's commands: `tabella election manifest|create|open|close|tally|publish`,
//! and the read-only `status|results|record` anyone may run.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::Subcommand;
use rand_core::OsRng;
use tabella_election::action::OfficialAction;
use tabella_election::ids::ElectionId;
use tabella_election::manifest::{parse_table, Contest, Manifest, ManifestBuilder, Officials};
use tabella_election::record::Record;
use tabella_election::simulate::default_contests;
use tabella_election::state::Phase;
use tabella_election::whitelist::Whitelist;

use super::{election_id, load, read_json, submit_action, write_json, ElectionView};
use super::{Common, Official, OfficialPublic, Role};
use crate::keystore::Keystore;

/// The council's and auditors' `tabella election` subcommands.
#[derive(Subcommand, Debug)]
pub enum CouncilCmd {
    /// Council: build a manifest from the keystore's public keys (writes the manifest and the
    /// private whitelist the identity validator needs).
    Manifest(Box<ManifestArgs>),
    /// Council: create the election on the ledger from a manifest.
    Create {
        /// The manifest file (from `tabella election manifest`).
        #[arg(long)]
        manifest: PathBuf,
        /// The council's key.
        #[arg(long = "as")]
        as_: String,
    },
    /// Council: start the trustees' key ceremony (first call), then open voting once every
    /// trustee has finished it (second call).
    Open(CouncilAction),
    /// Council: close voting; the encrypted tallies are fixed and trustees can decrypt.
    Close(CouncilAction),
    /// Show how far the decryption of the tallies is (no action posted).
    Tally(ElectionOnly),
    /// Council: combine the trustees' decryptions and publish the results.
    Publish(CouncilAction),
    /// Phase, counts and what happens next.
    Status(ElectionOnly),
    /// Published results per contest, overall and per table.
    Results(ElectionOnly),
    /// Write the election record (for `tabella verify DIR`).
    Record {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The record directory.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `--election ID --as NAME`.
#[derive(clap::Args, Debug)]
pub struct CouncilAction {
    /// The election id.
    #[arg(long)]
    pub election: String,
    /// The council's key.
    #[arg(long = "as")]
    pub as_: String,
}

/// `--election ID`.
#[derive(clap::Args, Debug)]
pub struct ElectionOnly {
    /// The election id.
    #[arg(long)]
    pub election: String,
}

/// Options of `tabella election manifest`.
#[derive(clap::Args, Debug)]
pub struct ManifestArgs {
    /// Election id (a-z, 0-9, '-').
    #[arg(long)]
    pub id: String,
    /// Title.
    #[arg(long)]
    pub title: String,
    /// The council's key name.
    #[arg(long)]
    pub council: String,
    /// A trustee's key name (repeat, in order).
    #[arg(long = "trustee", required = true)]
    pub trustees: Vec<String>,
    /// Trustees needed to decrypt.
    #[arg(long)]
    pub threshold: u16,
    /// The identity validator's key name.
    #[arg(long, visible_alias = "validator")]
    pub identity_validator: String,
    /// The registrar's key name.
    #[arg(long)]
    pub registrar: String,
    /// A polling table: JUROR=QUOTA (the juror's key name, the number of voters on its paper
    /// list). Repeat for more tables; they are numbered from 1 in this order.
    #[arg(long = "table")]
    pub tables: Vec<String>,
    /// An eligible remote voter's identity (repeat). Only a salted commitment goes in the manifest.
    #[arg(long = "voter")]
    pub voters: Vec<String>,
    /// Contests as a JSON array (default: one single-choice, one approval, one preferential).
    #[arg(long)]
    pub contests: Option<PathBuf>,
    /// Where to write the manifest.
    #[arg(long, default_value = "manifest.json")]
    pub out: PathBuf,
    /// Where to write the private whitelist (identities and salts) for the identity validator.
    #[arg(long, default_value = "whitelist.json")]
    pub whitelist_out: PathBuf,
    /// Fewest counted ballots a group (remote voters, one table) needs to be published on its
    /// own; smaller groups are merged before decryption so no result reveals a few votes.
    #[arg(long, default_value_t = tabella_election::manifest::DEFAULT_MIN_GROUP_SIZE)]
    pub min_group_size: u32,
    /// Fewest voter keys the registrar enables at once (in canonical order), so the chain does
    /// not link a validated identity to its key; only the final batch may be smaller.
    #[arg(long, default_value_t = tabella_election::manifest::DEFAULT_REGISTRATION_BATCH)]
    pub registration_batch: u32,
}

/// The public keys a manifest needs, resolved from the keystore.
pub struct ManifestKeys {
    /// Council.
    pub council: OfficialPublic,
    /// Trustees: (name, keys).
    pub trustees: Vec<(String, OfficialPublic)>,
    /// Identity validator.
    pub identity_validator: OfficialPublic,
    /// Registrar.
    pub registrar: OfficialPublic,
    /// Tables: (juror keys, quota).
    pub tables: Vec<(OfficialPublic, u32)>,
}

impl ManifestKeys {
    /// Starts the manifest of `election_id` with these keys: the officials, the trustees under
    /// their key names, one table per juror (numbered from 1 in order). The identity validator's
    /// key must carry its token key.
    pub fn builder(&self, election_id: ElectionId, title: &str) -> anyhow::Result<ManifestBuilder> {
        let token_key = self
            .identity_validator
            .token_key
            .clone()
            .ok_or_else(|| anyhow!("the identity validator's key has no token key; create it with `tabella keys new --role identity-validator`"))?;
        let officials = Officials {
            council: self.council.signing_key,
            identity_validator: self.identity_validator.signing_key,
            token_key,
            registrar: self.registrar.signing_key,
        };
        Ok(Manifest::builder(election_id, title, officials)
            .trustees(
                self.trustees
                    .iter()
                    .map(|(name, k)| (name.clone(), k.signing_key)),
            )
            .tables(self.tables.iter().map(|(j, q)| (*q, vec![j.signing_key]))))
    }
}

fn public_of(ks: &Keystore, name: &str, role: Role) -> anyhow::Result<OfficialPublic> {
    let p: OfficialPublic = ks.public(name, "key")?;
    if p.role != role {
        bail!(
            "key '{name}' is {}, but {} is needed here",
            p.role.a_key(),
            role.a_key()
        );
    }
    Ok(p)
}

/// Runs a council subcommand.
pub fn run(cmd: CouncilCmd, common: &Common) -> anyhow::Result<()> {
    match cmd {
        CouncilCmd::Manifest(a) => manifest(*a, common),
        CouncilCmd::Create { manifest, as_ } => {
            let ks = common.keystore()?;
            let m: Manifest = read_json(&manifest, "manifest")?;
            m.validate()
                .map_err(|e| anyhow!("{}: {e}", manifest.display()))?;
            let council = Official::open(&ks, &as_, Role::Council, &common.passphrase()?)?;
            if council.public.signing_key != m.officials.council {
                bail!(
                    "key '{as_}' is not the council named in {}; use the council key the manifest was built with",
                    manifest.display()
                );
            }
            let id = m.election_id.clone();
            let client = common.client();
            submit_action(
                &client,
                &tabella_election::state::ElectionState::new(),
                &id,
                OfficialAction::Create {
                    manifest: Box::new(m),
                },
                &council.signing()?,
            )?;
            println!("election '{id}' created (phase setup); next: `tabella election open --election {id} --as {as_}` starts the key ceremony");
            Ok(())
        }
        CouncilCmd::Open(a) => open(a, common),
        CouncilCmd::Close(a) => {
            let (id, chain, key) = council_step(&a, common)?;
            submit_action(
                &common.client(),
                &chain.state,
                &id,
                OfficialAction::Close,
                &key,
            )?;
            let counts = chain.state.counts();
            println!(
                "voting closed for '{id}' (tallies fixed; {} ballots accepted); next: {} trustees run `tabella trustee decrypt --election {id} --as NAME`",
                counts.ballots_accepted, chain.manifest()?.threshold
            );
            Ok(())
        }
        CouncilCmd::Tally(a) => {
            let id = election_id(&a.election)?;
            let chain = load(&common.client(), &id)?;
            let m = chain.manifest()?;
            let done = chain.state.decryptions().count();
            println!(
                "election '{id}': phase {}; {done} of the {} trustee decryptions needed are on the chain",
                chain.phase(),
                m.threshold
            );
            if chain.state.phase() == Some(Phase::Closed) && done >= usize::from(m.threshold) {
                println!("next: `tabella election publish --election {id} --as COUNCIL`");
            }
            Ok(())
        }
        CouncilCmd::Publish(a) => {
            let (id, chain, key) = council_step(&a, common)?;
            let client = common.client();
            submit_action(
                &client,
                &chain.state,
                &id,
                OfficialAction::PublishResults,
                &key,
            )?;
            let chain = load(&client, &id)?;
            println!("results of '{id}' published");
            print_results(&chain)
        }
        CouncilCmd::Status(a) => {
            let id = election_id(&a.election)?;
            let chain = load(&common.client(), &id)?;
            status(&chain)
        }
        CouncilCmd::Results(a) => {
            let id = election_id(&a.election)?;
            let chain = load(&common.client(), &id)?;
            print_results(&chain)
        }
        CouncilCmd::Record { election, out } => {
            let id = election_id(&election)?;
            let chain = load(&common.client(), &id)?;
            let record = Record::from_state(chain.log.clone(), &chain.state)?;
            crate::record_io::write_record(&out, &record)?;
            println!(
                "record of '{id}' ({} envelopes) written to {}; check it with `tabella verify {}`",
                chain.log.len(),
                out.display(),
                out.display()
            );
            Ok(())
        }
    }
}

fn council_step(
    a: &CouncilAction,
    common: &Common,
) -> anyhow::Result<(
    ElectionId,
    ElectionView,
    tabella_election::sign::OfficialSecret,
)> {
    let (id, council) = common.open_official(&a.election, &a.as_, Role::Council)?;
    let (_, chain) = common.load(&id)?;
    council.must_be(&chain.manifest()?.officials.council, "the council", &id)?;
    Ok((id, chain, council.signing()?))
}

fn manifest(a: ManifestArgs, common: &Common) -> anyhow::Result<()> {
    let ks = common.keystore()?;
    let tables = a
        .tables
        .iter()
        .map(|t| {
            let (j, q) = parse_table(t)?;
            Ok((public_of(&ks, &j, Role::Juror)?, q))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let keys = ManifestKeys {
        council: public_of(&ks, &a.council, Role::Council)?,
        trustees: a
            .trustees
            .iter()
            .map(|t| Ok((t.clone(), public_of(&ks, t, Role::Trustee)?)))
            .collect::<anyhow::Result<Vec<_>>>()?,
        identity_validator: public_of(&ks, &a.identity_validator, Role::IdentityValidator)?,
        registrar: public_of(&ks, &a.registrar, Role::Registrar)?,
        tables,
    };
    let contests = match &a.contests {
        Some(p) => read_json::<Vec<Contest>>(p, "contests")?,
        None => default_contests(),
    };
    let id = ElectionId::new(&a.id).map_err(|e| anyhow!("--id: {e}"))?;
    let (wl, whitelist) =
        Whitelist::new(&id, &a.voters, &mut OsRng).map_err(|e| anyhow!("--voter: {e}"))?;
    let m = keys
        .builder(id, &a.title)?
        .contests(contests)
        .threshold(a.threshold)
        .whitelist(whitelist)
        .min_group_size(a.min_group_size)
        .registration_batch(a.registration_batch)
        .build()
        .map_err(|e| anyhow!("the manifest is not valid: {e}"))?;
    write_json(&a.out, &m)?;
    write_json(&a.whitelist_out, &wl)?;
    println!(
        "manifest of '{}' written to {} ({} contests, {} trustees, threshold {}, {} tables, {} whitelisted voters); give the private whitelist {} to the identity validator only",
        m.election_id,
        a.out.display(),
        m.contests.len(),
        m.trustees.len(),
        m.threshold,
        m.tables.len(),
        m.whitelist.len(),
        a.whitelist_out.display()
    );
    Ok(())
}

fn open(a: CouncilAction, common: &Common) -> anyhow::Result<()> {
    let (id, chain, key) = council_step(&a, common)?;
    let client = common.client();
    let n = chain.manifest()?.trustees.len();
    match chain.state.phase() {
        Some(Phase::Setup) => {
            submit_action(
                &client,
                &chain.state,
                &id,
                OfficialAction::StartKeyCeremony,
                &key,
            )?;
            println!(
                "key ceremony of '{id}' started; next: each of the {n} trustees runs `tabella trustee dkg --election {id} --as NAME` until it reports the ceremony complete, then run `tabella election open --election {id} --as {}` again to open voting",
                a.as_
            );
        }
        Some(Phase::KeyCeremony) => {
            let progress = chain.state.ceremony_progress();
            if !progress.settled() {
                bail!(
                    "the key ceremony of '{id}' is not finished: {}; trustees run `tabella trustee dkg --election {id} --as NAME`",
                    progress.summary()
                );
            }
            submit_action(&client, &chain.state, &id, OfficialAction::Open, &key)?;
            println!("voting is open for '{id}'");
        }
        _ => {
            // Let the node say why (wrong phase).
            submit_action(&client, &chain.state, &id, OfficialAction::Open, &key)?;
        }
    }
    Ok(())
}

fn status(chain: &ElectionView) -> anyhow::Result<()> {
    let m = chain.manifest()?;
    let c = chain.state.counts();
    println!("election '{}': {}", m.election_id, m.title);
    println!("  phase: {}", chain.phase());
    println!(
        "  trustees: {} (threshold {}), tables: {}, whitelisted remote voters: {}",
        m.trustees.len(),
        m.threshold,
        m.tables.len(),
        m.whitelist.len()
    );
    println!("  envelopes accepted: {}", chain.log.len());
    println!("  counts: {}", serde_json::to_string(&c)?);
    if chain.state.phase() == Some(Phase::KeyCeremony) {
        println!(
            "  key ceremony: {}",
            chain.state.ceremony_progress().summary()
        );
    }
    if matches!(chain.state.phase(), Some(Phase::Closed)) {
        println!(
            "  decryptions: {} of {} needed",
            chain.state.decryptions().count(),
            m.threshold
        );
    }
    Ok(())
}

fn print_results(chain: &ElectionView) -> anyhow::Result<()> {
    let m = chain.manifest()?;
    let r = chain.state.results().ok_or_else(|| {
        anyhow!(
            "no results yet for '{}' (phase {}); the council publishes them with `tabella election publish` after the trustees decrypt",
            m.election_id,
            chain.phase()
        )
    })?;
    crate::output::print_results(m, r);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::keys::new_key;

    fn pubkey(role: Role) -> OfficialPublic {
        new_key(role, 2048).unwrap().0
    }

    #[test]
    fn manifest_from_keys_validates_and_commits_identities() {
        let keys = ManifestKeys {
            council: pubkey(Role::Council),
            trustees: (0..3)
                .map(|i| (format!("t{i}"), pubkey(Role::Trustee)))
                .collect(),
            identity_validator: pubkey(Role::IdentityValidator),
            registrar: pubkey(Role::Registrar),
            tables: vec![(pubkey(Role::Juror), 5)],
        };
        let id = ElectionId::new("e1").unwrap();
        let voters = vec!["alice".to_string(), "bob".to_string()];
        let (wl, whitelist) = Whitelist::new(&id, &voters, &mut OsRng).unwrap();
        let start = || {
            keys.builder(id.clone(), "T")
                .unwrap()
                .contests(default_contests())
                .whitelist(whitelist.clone())
        };
        let m = start().threshold(2).build().unwrap();
        assert_eq!(m.trustees.len(), 3);
        assert_eq!(m.trustees[1].name, "t1");
        assert_eq!(m.trustees[1].signing_key, keys.trustees[1].1.signing_key);
        assert_eq!(m.tables[0].quota, 5);
        assert_eq!(m.tables[0].jurors, vec![keys.tables[0].0.signing_key]);
        assert_eq!(
            m.officials.identity_validator,
            keys.identity_validator.signing_key
        );
        let c = wl.commitment_of("alice").unwrap().unwrap();
        assert!(m.whitelist.contains(&c));
        assert!(wl.commitment_of("carol").unwrap().is_none());
        // No identity in clear in the manifest.
        assert!(!serde_json::to_string(&m).unwrap().contains("alice"));
        // Bad threshold.
        assert!(start().threshold(4).build().is_err());
        // An identity validator key without its token key.
        let mut no_token = pubkey(Role::IdentityValidator);
        no_token.token_key = None;
        let keys = ManifestKeys {
            identity_validator: no_token,
            ..keys
        };
        assert!(keys
            .builder(id, "T")
            .err()
            .is_some_and(|e| e.to_string().contains("has no token key")));
    }
}
