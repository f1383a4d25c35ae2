//! A trustee's commands: `tabella trustee dkg` (one call per key-ceremony round) and
//! `tabella trustee decrypt`.
//!
//! Round 0: the trustee makes a key for this election's ceremony only, seals its secret in the
//! keystore (`NAME_ELECTION.ceremony`) and posts the key with a proof of possession. Shares are
//! encrypted to these keys. The ceremony's round state: after dealing, `dkg::Round2` holds
//! nothing but the ceremony key and the public parameters (the polynomial is not needed again —
//! complaints are settled from the public record), and `Round3` adds only this trustee's shares,
//! which it decrypts again from the dealings on the chain. So each call rebuilds the state from
//! the sealed ceremony secret and the chain. The one lasting secret the ceremony produces, the
//! key share, is sealed in the keystore (`NAME_ELECTION.share`), and then the ceremony secret is
//! deleted: a later theft of the keystore (and its passphrase) cannot decrypt the shares on the
//! chain (forward secrecy, docs/SECURITY.md finding 2).

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use curve25519_dalek::ristretto::RistrettoPoint;
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tabella_crypto::dkg::{Complaint, KeyShare, Round1, Round3, TrusteeIndex};
use tabella_crypto::elgamal::PublicKey;
use tabella_crypto::group::SecretScalar;
use tabella_crypto::threshold::TallyDecryptionShare;
use tabella_election::action::OfficialAction;
use tabella_election::manifest::Manifest;
use tabella_election::state::{dkg_params, Phase};
use tabella_election::trustee::{
    ceremony_key_message, decryption_context, new_ceremony_key, CeremonyProgress, CeremonyStep,
    DecryptionMessage, KeyCeremonyMessage,
};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::{election_id, load, point_hex, submit_action, Common, ElectionView, Official, Role};
use crate::keystore::{Keystore, Passphrase};

/// `tabella trustee`.
#[derive(Args, Debug)]
pub struct TrusteeArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: TrusteeCmd,
}

#[derive(Subcommand, Debug)]
enum TrusteeCmd {
    /// Post whatever key-ceremony message is due (run again after the other trustees).
    Dkg {
        /// The election id.
        #[arg(long)]
        election: String,
        /// This trustee's key.
        #[arg(long = "as")]
        as_: String,
    },
    /// Post this trustee's partial decryption of the closed election's tallies.
    Decrypt {
        /// The election id.
        #[arg(long)]
        election: String,
        /// This trustee's key.
        #[arg(long = "as")]
        as_: String,
    },
}

/// Public part of a sealed key share.
#[derive(Debug, Serialize, Deserialize)]
struct SharePublic {
    election_id: String,
    trustee: u16,
    verification_share: String,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct ShareSecret {
    share: String,
}

/// Public part of a sealed ceremony key (round 0), kept until the key share is sealed.
#[derive(Debug, Serialize, Deserialize)]
struct CeremonyKeyPublic {
    election_id: String,
    trustee: u16,
    key: String,
}

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct CeremonyKeySecret {
    secret: String,
}

fn my_index(m: &Manifest, me: &Official) -> anyhow::Result<TrusteeIndex> {
    let pos = m
        .trustees
        .iter()
        .position(|t| t.signing_key == me.public.signing_key)
        .ok_or_else(|| {
            anyhow!(
                "key '{}' is not a trustee of election '{}'",
                me.name,
                m.election_id
            )
        })?;
    Ok(TrusteeIndex::new(pos as u16 + 1)?)
}

/// This trustee's sealed ceremony secret, checked against the key it posted.
fn ceremony_secret(
    ks: &Keystore,
    pass: &Passphrase,
    m: &Manifest,
    name: &str,
    posted: Option<RistrettoPoint>,
) -> anyhow::Result<SecretScalar> {
    let entry = entry_name(name, m.election_id.as_str());
    if !ks.has_secret(&entry, "ceremony") {
        bail!(
            "the secret of {name}'s ceremony key for '{}' is not in {} (another keystore, or deleted): without it this trustee cannot read its shares. Run with the keystore that posted round 0; if it is lost, the ceremony cannot complete for this trustee and the council must create a new election",
            m.election_id,
            ks.dir().display()
        );
    }
    let s: CeremonyKeySecret = ks.secret(&entry, "ceremony", pass)?;
    let mut bytes =
        hex::decode(&s.secret).map_err(|_| anyhow!("ceremony key '{entry}' is corrupted"))?;
    let secret = SecretScalar::from_bytes(&bytes)?;
    bytes.zeroize();
    if let Some(k) = posted {
        if secret.expose() * tabella_crypto::group::G != k {
            bail!(
                "the ceremony key sealed in {} ('{entry}') is not the one {name} posted for '{}'",
                ks.dir().display(),
                m.election_id
            );
        }
    }
    Ok(secret)
}

fn round1(
    m: &Manifest,
    index: TrusteeIndex,
    secret: SecretScalar,
    log: &CeremonyProgress,
) -> anyhow::Result<Round1> {
    let publics = (1..=m.trustees.len() as u16)
        .map(|j| {
            let t = TrusteeIndex::new(j)?;
            log.key_of(t)
                .map(PublicKey)
                .ok_or_else(|| anyhow!("{t} has not posted its ceremony key"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Round1::new(dkg_params(m)?, index, secret, publics)?)
}

/// Round 3 state rebuilt from the long-term secret and the dealings on the chain.
fn round3(
    m: &Manifest,
    index: TrusteeIndex,
    secret: SecretScalar,
    log: &CeremonyProgress,
) -> anyhow::Result<(Round3, Vec<Complaint>)> {
    // Dealing again only rebuilds `Round2` (the ceremony key and parameters); the fresh dealing
    // is dropped, never posted.
    let (r2, _) = round1(m, index, secret, log)?.deal(&mut OsRng);
    Ok(r2.receive(&log.dealings, &mut OsRng)?)
}

/// The key-store entry name of trustee `trustee`'s secrets for `election` (kinds `ceremony` and
/// `share`).
fn entry_name(trustee: &str, election: &str) -> String {
    format!("{trustee}_{election}")
}

fn seal_share(
    ks: &Keystore,
    pass: &Passphrase,
    name: &str,
    election: &str,
    share: &KeyShare,
) -> anyhow::Result<()> {
    ks.put(
        &entry_name(name, election),
        "share",
        &SharePublic {
            election_id: election.to_string(),
            trustee: share.index().get(),
            verification_share: point_hex(&share.verification_share()),
        },
        &ShareSecret {
            share: hex::encode(share.secret().to_bytes()),
        },
        pass,
        true,
    )
}

/// Runs `tabella trustee`.
pub fn run(a: TrusteeArgs) -> anyhow::Result<()> {
    let common = &a.common;
    let ks = common.keystore()?;
    let pass = common.passphrase()?;
    let client = common.client();
    match a.cmd {
        TrusteeCmd::Dkg { election, as_ } => {
            let id = election_id(&election)?;
            let me = Official::open(&ks, &as_, Role::Trustee, &pass)?;
            let chain = load(&client, &id)?;
            let m = chain.manifest()?.clone();
            let index = my_index(&m, &me)?;
            match chain.state.phase() {
                Some(Phase::KeyCeremony) => {}
                Some(Phase::Setup) => bail!(
                    "the key ceremony of '{id}' has not started; the council starts it with `tabella election open --election {id} --as COUNCIL`"
                ),
                _ => {
                    if ks.exists(&entry_name(&as_, &election), "share") {
                        // A crash between sealing the share and deleting the ceremony key.
                        forget_ceremony_key(&ks, &as_, &election)?;
                        println!("the key ceremony of '{id}' is over (phase {}); your key share is in the keystore", chain.phase());
                        return Ok(());
                    }
                    // The council opened before this trustee sealed its share: finish now.
                    finish(&ks, &pass, &m, index, &chain, &as_)?;
                    return Ok(());
                }
            }
            let log = chain.state.ceremony_progress();
            let n = m.trustees.len();
            let key = me.signing()?;
            match log.next_step(index) {
                CeremonyStep::PostKey => {
                    let entry = entry_name(&as_, &election);
                    let msg = if ks.has_secret(&entry, "ceremony") {
                        // Sealed by an earlier run that stopped before posting it.
                        let secret = ceremony_secret(&ks, &pass, &m, &as_, None)?;
                        ceremony_key_message(&id, index, &secret, &mut OsRng)
                    } else {
                        let (secret, msg) = new_ceremony_key(&id, index, &mut OsRng);
                        // Sealed before it is posted: a key on the chain whose secret is lost
                        // would stop the ceremony.
                        ks.put(
                            &entry,
                            "ceremony",
                            &CeremonyKeyPublic {
                                election_id: election.clone(),
                                trustee: index.get(),
                                key: point_hex(&(secret.expose() * tabella_crypto::group::G)),
                            },
                            &CeremonyKeySecret {
                                secret: hex::encode(secret.to_bytes()),
                            },
                            &pass,
                            // Only a public half can be there (the secret is checked above).
                            true,
                        )?;
                        msg
                    };
                    submit_action(
                        &client,
                        &chain.state,
                        &id,
                        OfficialAction::KeyCeremony(Box::new(msg)),
                        &key,
                    )?;
                    println!(
                        "round 0 posted ({index}'s key for this ceremony, its secret sealed in {} until the key share is; {} of {n} on the chain); run `tabella trustee dkg` again once all trustees have posted round 0",
                        ks.dir().display(),
                        log.keys.len() + 1
                    );
                }
                CeremonyStep::WaitKeys(have, of) => println!(
                    "waiting for the other trustees: {have} of {of} have posted round 0 (ceremony keys); run again later"
                ),
                CeremonyStep::Deal => {
                    let secret = ceremony_secret(&ks, &pass, &m, &as_, log.key_of(index))?;
                    let (_, dealing) = round1(&m, index, secret, &log)?.deal(&mut OsRng);
                    submit_action(
                        &client,
                        &chain.state,
                        &id,
                        OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Dealing(
                            Box::new(dealing),
                        ))),
                        &key,
                    )?;
                    println!(
                        "round 1 posted ({index} dealt, {} of {n} dealings on the chain); run `tabella trustee dkg` again once all trustees have posted round 1",
                        log.dealings.len() + 1
                    );
                }
                CeremonyStep::WaitDealings(have, of) => println!(
                    "waiting for the other trustees: {have} of {of} have posted round 1; run again later"
                ),
                CeremonyStep::Complain => {
                    let secret = ceremony_secret(&ks, &pass, &m, &as_, log.key_of(index))?;
                    let (_, complaints) = round3(&m, index, secret, &log)?;
                    let k = complaints.len();
                    submit_action(
                        &client,
                        &chain.state,
                        &id,
                        OfficialAction::KeyCeremony(Box::new(KeyCeremonyMessage::Complaints {
                            complainer: index,
                            complaints,
                        })),
                        &key,
                    )?;
                    println!(
                        "round 2 posted ({k} complaints); run `tabella trustee dkg` again once all trustees have posted round 2"
                    );
                }
                CeremonyStep::WaitComplaints(have, of) => println!(
                    "waiting for the other trustees: {have} of {of} have posted round 2; run again later"
                ),
                CeremonyStep::Finish => {
                    finish(&ks, &pass, &m, index, &chain, &as_)?;
                }
            }
            Ok(())
        }
        TrusteeCmd::Decrypt { election, as_ } => {
            let id = election_id(&election)?;
            let me = Official::open(&ks, &as_, Role::Trustee, &pass)?;
            let chain = load(&client, &id)?;
            let m = chain.manifest()?.clone();
            let index = my_index(&m, &me)?;
            if chain.state.phase() != Some(Phase::Closed) {
                bail!(
                    "cannot decrypt '{id}' now: the phase is {}, decryption happens after the council runs `tabella election close`",
                    chain.phase()
                );
            }
            if chain
                .state
                .decryptions()
                .any(|d| matches!(d, DecryptionMessage::Elgamal(s) if s.trustee == index))
            {
                println!("{index} has already posted its decryption of '{id}'");
                return Ok(());
            }
            let share = load_share(&ks, &pass, &m, index, &chain, &as_)?;
            let tallies = chain
                .state
                .tallies()
                .ok_or_else(|| anyhow!("election '{id}' has no tallies"))?;
            let msg = TallyDecryptionShare::create(
                &share,
                &tallies.flat(),
                &decryption_context(&id),
                &mut OsRng,
            );
            submit_action(
                &client,
                &chain.state,
                &id,
                OfficialAction::Decrypt(DecryptionMessage::Elgamal(msg)),
                &me.signing()?,
            )?;
            let done = chain.state.decryptions().count() + 1;
            println!(
                "decryption by {index} posted ({done} of the {} needed)",
                m.threshold
            );
            Ok(())
        }
    }
}

fn finish(
    ks: &Keystore,
    pass: &Passphrase,
    m: &Manifest,
    index: TrusteeIndex,
    chain: &ElectionView,
    name: &str,
) -> anyhow::Result<KeyShare> {
    let log = chain.state.ceremony_progress();
    let secret = ceremony_secret(ks, pass, m, name, log.key_of(index))?;
    let (r3, _) = round3(m, index, secret, &log)?;
    let (share, outcome) = r3.resolve(&log.complaints)?;
    seal_share(ks, pass, name, m.election_id.as_str(), &share)?;
    forget_ceremony_key(ks, name, m.election_id.as_str())?;
    println!(
        "key ceremony complete for {index}: key share sealed in {}, this ceremony's key deleted; joint key {}; the council can open voting with `tabella election open`",
        ks.dir().display(),
        point_hex(&outcome.joint_key.public_key.0)
    );
    Ok(share)
}

/// Deletes the ceremony key once the key share is sealed (forward secrecy of the shares).
fn forget_ceremony_key(ks: &Keystore, name: &str, election: &str) -> anyhow::Result<()> {
    ks.remove(&entry_name(name, election), "ceremony")
}

fn load_share(
    ks: &Keystore,
    pass: &Passphrase,
    m: &Manifest,
    index: TrusteeIndex,
    chain: &ElectionView,
    name: &str,
) -> anyhow::Result<KeyShare> {
    let entry = entry_name(name, m.election_id.as_str());
    if ks.exists(&entry, "share") {
        let s: ShareSecret = ks.secret(&entry, "share", pass)?;
        let mut b =
            hex::decode(&s.share).map_err(|_| anyhow!("key share '{entry}' is corrupted"))?;
        let secret = SecretScalar::from_bytes(&b)?;
        b.zeroize();
        return Ok(KeyShare::from_parts(index, secret));
    }
    finish(ks, pass, m, index, chain, name)
}
