//! The voter's commands, `tabella voter register|vote|receipt`: register remotely (the steps are
//! described in [`super::files`]), cast (or re-cast) a ballot with the wallet's stealth key or a
//! booth file, and check a receipt.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use tabella_crypto::blind::{self, BlindingState};
use tabella_crypto::disjunctive::PrecomputedKey;
use tabella_crypto::group::SecretScalar;
use tabella_crypto::stealth::{self, MetaAddress, ScanSecret, SpendSecret, StealthSecret};
use tabella_election::action::{Envelope, RegistrationToken};
use tabella_election::audit::AuditedBallot;
use tabella_election::ballot::{self, BallotKey, Credential, ElectionKey};
use tabella_election::choice::parse_choices;
use tabella_election::ids::{Digest32, ElectionId, TableIndex};
use tabella_election::record::{check_receipt, ReceiptStatus, Record};
use tabella_election::state::Phase;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::files::{BoothFile, NoteFile, RequestFile, ResponseFile};
use super::{election_id, load, read_json, same_election, submit, write_json, Common};
use crate::keystore::Keystore;

/// `tabella voter`.
#[derive(Args, Debug)]
pub struct VoterArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: VoterCmd,
}

#[derive(Subcommand, Debug)]
enum VoterCmd {
    /// Register: without --response, write a blinded request for the identity validator; with
    /// --response, finish: unblind and write the anonymous note for the registrar.
    Register {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The wallet (a keystore entry holding this voter's secrets).
        #[arg(long)]
        wallet: String,
        /// Step 1: your identity, written in the request for the identity validator to check.
        #[arg(long)]
        identity: Option<String>,
        /// Step 2: the identity validator's response file.
        #[arg(long)]
        response: Option<PathBuf>,
        /// Output: the request (step 1, default request.json) or the note (step 2, default note.json).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Cast (or re-cast) a ballot; prints the receipt.
    Vote {
        /// The election id.
        #[arg(long)]
        election: String,
        /// Remote voter: the wallet.
        #[arg(long, conflicts_with = "booth", required_unless_present = "booth")]
        wallet: Option<String>,
        /// In-person voter: the booth file from `tabella table authorize`.
        #[arg(long)]
        booth: Option<PathBuf>,
        /// CONTEST=OPTION[,OPTION...]: contest number (from 1) or title; candidates by name or
        /// number (from 1), in order of preference for ranked contests; `blank` for a blank vote.
        #[arg(long = "choice", required = true)]
        choices: Vec<String>,
        /// Send the ballot through the vortex node whose home this is (it must be running:
        /// `tabella vortex node run`): along a 3-hop vortex path to the gateway, which submits it
        /// to the ledger and sends the receipt back through a reply block. The ballot reaches
        /// the ledger from the gateway's address, not yours; the election itself is still read
        /// from --node before casting, so point --node at another node or mirror, or read well
        /// before you vote (docs/SECURITY.md).
        #[arg(long, value_name = "HOME", requires = "gateway")]
        via_vortex: Option<PathBuf>,
        /// The vortex gateway's address (a node run with `--ledger`).
        #[arg(long, value_name = "ADDRESS")]
        gateway: Option<String>,
        /// Relay delay window for --via-vortex, MIN-MAX seconds.
        #[arg(long, default_value = "1-30")]
        vortex_delay: String,
        /// How long to wait for the gateway's receipt, seconds.
        #[arg(long, default_value_t = 900)]
        vortex_timeout: u64,
        /// Audit instead of casting (Benaloh's cast-or-audit): encrypt the ballot, then write
        /// its audit file (the choices and the encryption randomness, no signature) to FILE, or
        /// to DIR/audit-TRACKER.json if FILE is a directory. Nothing is signed or submitted; check
        /// the file on another machine with `tabella verify-ballot FILE --node URL`, then vote
        /// again without --audit-out to cast a fresh encryption.
        #[arg(long, value_name = "FILE", conflicts_with = "via_vortex")]
        audit_out: Option<PathBuf>,
    },
    /// Check a receipt: is the ballot on the chain, and does it count?
    Receipt {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The receipt (64 hex digits).
        #[arg(long)]
        receipt: String,
    },
}

/// How far a wallet's remote registration is (stored as `"requested"` / `"registered"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum WalletStage {
    /// Step 1 done: the blinded request is written, the identity validator's response awaited.
    Requested,
    /// Step 2 done: the token is unblinded and the anonymous note written for the registrar.
    Registered,
}

/// A wallet's public part in the keystore.
#[derive(Debug, Serialize, Deserialize)]
struct WalletPublic {
    election_id: String,
    stage: WalletStage,
    #[serde(default)]
    meta: Option<MetaAddress>,
    #[serde(default)]
    receipts: Vec<String>,
}

/// A wallet's sealed secrets (hex), zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct WalletSecret {
    message: String,
    blinding: String,
    #[serde(default)]
    scan: Option<String>,
    #[serde(default)]
    spend: Option<String>,
}

fn scalar(hexs: &str, what: &str) -> anyhow::Result<SecretScalar> {
    let mut b = hex::decode(hexs).map_err(|_| anyhow!("{what} is corrupted"))?;
    let s = SecretScalar::from_bytes(&b).map_err(|_| anyhow!("{what} is corrupted"));
    b.zeroize();
    s
}

/// The public part of wallet `name`, which must belong to election `id`.
fn wallet_public(ks: &Keystore, name: &str, id: &ElectionId) -> anyhow::Result<WalletPublic> {
    let public: WalletPublic = ks.public(name, "wallet")?;
    if public.election_id != id.as_str() {
        bail!(
            "wallet '{name}' belongs to election '{}'",
            public.election_id
        );
    }
    Ok(public)
}

/// The stealth credential and signing key of registered wallet `w` for election `id`, as
/// enabled on the chain (`chain`, read from a node).
pub(crate) fn wallet_credential(
    ks: &Keystore,
    w: &str,
    pass: &crate::keystore::Passphrase,
    chain: &super::ElectionView,
    id: &ElectionId,
) -> anyhow::Result<(Credential, SecretScalar)> {
    wallet_public(ks, w, id)?;
    let secret: WalletSecret = ks.secret(w, "wallet", pass)?;
    let (Some(scan), Some(spend)) = (&secret.scan, &secret.spend) else {
        bail!("wallet '{w}' is not registered yet; finish with `tabella voter register --wallet {w} --response FILE`");
    };
    let scan = ScanSecret::from_secret(scalar(scan, "the wallet")?);
    let spend = SpendSecret::from_secret(scalar(spend, "the wallet")?);
    let keys: Vec<_> = chain.state.enabled_keys().copied().collect();
    let mine = scan.scan(&spend.public(), &keys);
    let key = mine.first().and_then(|i| keys.get(*i)).ok_or_else(|| {
        anyhow!("no voter key of wallet '{w}' is enabled on the chain yet; the registrar enables it from your note with `tabella registrar enable`, in batches (or `tabella registrar flush --close-registration` at the end of registration)")
    })?;
    let s = StealthSecret::derive(&scan, &spend, key)?;
    Ok((Credential::Stealth { key: key.p }, s.secret().clone()))
}

/// The in-person credential and booth key of a booth file from `tabella table authorize`.
pub(crate) fn booth_credential(
    b: &std::path::Path,
    id: &ElectionId,
) -> anyhow::Result<(Credential, SecretScalar)> {
    let f: BoothFile = read_json(b, "booth")?;
    same_election(b, "a booth file for", &f.election_id, id)?;
    let authorization = Digest32::from_hex(&f.authorization)
        .map_err(|_| anyhow!("{} is malformed", b.display()))?;
    Ok((
        Credential::Table {
            table: TableIndex(f.table.wrapping_sub(1)),
            authorization,
        },
        scalar(&f.booth_secret, "the booth file")?,
    ))
}

/// Encrypts the choices under the election key, with proofs: the unsigned ballot body (its
/// hash is the tracker) and the randomness (for a Benaloh audit).
pub(crate) fn encrypt(
    chain: &super::ElectionView,
    id: &ElectionId,
    credential: Credential,
    choices: &[ballot::Choice],
) -> anyhow::Result<(String, ballot::BallotSecrets)> {
    let m = chain.manifest()?;
    let pk = match chain.state.election_key() {
        Some(ElectionKey::Elgamal(pk)) => *pk,
        _ => bail!("election '{id}' has no ElGamal election key"),
    };
    let pre = PrecomputedKey::new(pk);
    ballot::encrypt_ballot(m, BallotKey::Elgamal(&pre), credential, choices, &mut OsRng)
        .map_err(|e| anyhow!("cannot cast this ballot: {e}"))
}

/// Keeps a receipt with wallet `w` (public part; the secrets are rewritten as they are).
pub(crate) fn keep_receipt(
    ks: &Keystore,
    w: &str,
    pass: &crate::keystore::Passphrase,
    receipt: &Digest32,
) -> anyhow::Result<()> {
    let mut public: WalletPublic = ks.public(w, "wallet")?;
    public.receipts.push(receipt.to_hex());
    let secret: WalletSecret = ks.secret(w, "wallet", pass)?;
    ks.put(w, "wallet", &public, &secret, pass, true)
}

/// Runs `tabella voter`.
pub fn run(a: VoterArgs) -> anyhow::Result<()> {
    let common = &a.common;
    match a.cmd {
        VoterCmd::Register {
            election,
            wallet,
            identity,
            response,
            out,
        } => {
            let id = election_id(&election)?;
            let ks = common.keystore()?;
            let pass = common.passphrase()?;
            let client = common.client();
            let chain = load(&client, &id)?;
            let m = chain.manifest()?;
            match response {
                None => {
                    if ks.exists(&wallet, "wallet") {
                        bail!(
                            "wallet '{wallet}' already exists in {}; finish with `tabella voter register --election {id} --wallet {wallet} --response FILE` or use another wallet name",
                            ks.dir().display()
                        );
                    }
                    let mut message = vec![0u8; 32];
                    OsRng.fill_bytes(&mut message);
                    let (request, state) =
                        blind::blind(&m.officials.token_key, &message, &mut OsRng)?;
                    ks.put(
                        &wallet,
                        "wallet",
                        &WalletPublic {
                            election_id: id.to_string(),
                            stage: WalletStage::Requested,
                            meta: None,
                            receipts: vec![],
                        },
                        &WalletSecret {
                            message: hex::encode(&message),
                            blinding: hex::encode(state.to_bytes().as_slice()),
                            scan: None,
                            spend: None,
                        },
                        &pass,
                        false,
                    )?;
                    message.zeroize();
                    let out = out.unwrap_or_else(|| PathBuf::from("request.json"));
                    write_json(
                        &out,
                        &RequestFile {
                            election_id: id.clone(),
                            identity,
                            request,
                        },
                    )?;
                    println!(
                        "blinded request written to {}; take it to the identity validator, then run `tabella voter register --election {id} --wallet {wallet} --response RESPONSE`",
                        out.display()
                    );
                }
                Some(resp_path) => {
                    let public = wallet_public(&ks, &wallet, &id)?;
                    let secret: WalletSecret = ks.secret(&wallet, "wallet", &pass)?;
                    let resp: ResponseFile = read_json(&resp_path, "identity validator response")?;
                    same_election(&resp_path, "a response for", resp.election_id.as_str(), &id)?;
                    let message = Zeroizing::new(
                        hex::decode(&secret.message)
                            .map_err(|_| anyhow!("wallet '{wallet}' is corrupted"))?,
                    );
                    let blinding = Zeroizing::new(
                        hex::decode(&secret.blinding)
                            .map_err(|_| anyhow!("wallet '{wallet}' is corrupted"))?,
                    );
                    let state = BlindingState::from_bytes(&blinding)?;
                    let signature = blind::finalize(&m.officials.token_key, &state, &resp.signature, &message)
                        .map_err(|_| anyhow!("{} does not answer this wallet's request (or the identity validator's signature is invalid); ask the identity validator again", resp_path.display()))?;
                    let (meta, scan, spend) = stealth::generate_meta_address(&mut OsRng);
                    let token = RegistrationToken {
                        message: message.to_vec(),
                        signature,
                    };
                    ks.put(
                        &wallet,
                        "wallet",
                        &WalletPublic {
                            election_id: id.to_string(),
                            stage: WalletStage::Registered,
                            meta: Some(meta),
                            receipts: public.receipts,
                        },
                        &WalletSecret {
                            message: secret.message.clone(),
                            blinding: secret.blinding.clone(),
                            scan: Some(hex::encode(scan.secret().to_bytes())),
                            spend: Some(hex::encode(spend.secret().to_bytes())),
                        },
                        &pass,
                        true,
                    )?;
                    let out = out.unwrap_or_else(|| PathBuf::from("note.json"));
                    write_json(
                        &out,
                        &NoteFile {
                            election_id: id.clone(),
                            token,
                            meta,
                        },
                    )?;
                    println!(
                        "anonymous note written to {} (no identity in it); hand it to the registrar, then vote with `tabella voter vote --election {id} --wallet {wallet} --choice ...`",
                        out.display()
                    );
                }
            }
            Ok(())
        }
        VoterCmd::Vote {
            election,
            wallet,
            booth,
            choices,
            via_vortex,
            gateway,
            vortex_delay,
            vortex_timeout,
            audit_out,
        } => {
            let id = election_id(&election)?;
            let client = common.client();
            let chain = load(&client, &id)?;
            let m = chain.manifest()?;
            if chain.state.phase() != Some(Phase::Open) {
                bail!(
                    "voting is not open for '{id}' (phase {}); wait for the council to open it",
                    chain.phase()
                );
            }
            let parsed = parse_choices(&m.contests, &choices)?;
            let (credential, signer, wallet_name) = match (wallet, booth) {
                (Some(w), _) => {
                    let ks = common.keystore()?;
                    let pass = common.passphrase()?;
                    let (c, s) = wallet_credential(&ks, &w, &pass, &chain, &id)?;
                    (c, s, Some((w, ks, pass)))
                }
                (None, Some(b)) => {
                    let (c, s) = booth_credential(&b, &id)?;
                    (c, s, None)
                }
                (None, None) => bail!("pass --wallet NAME (remote) or --booth FILE (in person)"),
            };
            let (payload, secrets) = encrypt(&chain, &id, credential, &parsed)?;
            if let Some(out) = audit_out {
                // Spoiled: the payload is never signed, the randomness goes into the file.
                let audit = AuditedBallot::new(payload, &secrets, parsed)?;
                let out = if out.is_dir() {
                    out.join(audit.file_name())
                } else {
                    out
                };
                write_json(&out, &audit)?;
                println!(
                    "ballot encrypted with tracker {}, NOT cast: spoiled for audit",
                    audit.tracker
                );
                println!("audit file written to {}", out.display());
                println!(
                    "check it on another machine with `tabella verify-ballot {} --node URL --tracker {}`, then vote again without --audit-out to cast a fresh encryption",
                    out.display(),
                    audit.tracker
                );
                return Ok(());
            }
            let b = ballot::sign_ballot(payload, &signer, &mut OsRng);
            let env = Envelope::Ballot(b);
            let receipt = match (&via_vortex, &gateway) {
                (Some(home), Some(g)) => crate::vortex_node_cmd::submit_via_vortex(
                    home,
                    g,
                    env,
                    &vortex_delay,
                    std::time::Duration::from_secs(vortex_timeout),
                )?,
                _ => submit(&client, env)?,
            };
            if let Some((w, ks, pass)) = wallet_name {
                keep_receipt(&ks, &w, &pass, &receipt)?;
            }
            println!("ballot accepted; receipt {receipt}");
            println!("check it any time with `tabella voter receipt --election {id} --receipt {receipt}`");
            Ok(())
        }
        VoterCmd::Receipt { election, receipt } => {
            let id = election_id(&election)?;
            let digest = Digest32::from_hex(receipt.trim()).map_err(|_| {
                anyhow!("--receipt must be the 64 hex digits printed when you voted")
            })?;
            let chain = load(&common.client(), &id)?;
            let record = Record::from_state(chain.log.clone(), &chain.state)?;
            match check_receipt(&record, &chain.state, &digest) {
                ReceiptStatus::Counted => {
                    println!("receipt {digest}: on the chain and counted");
                    Ok(())
                }
                ReceiptStatus::Replaced => {
                    println!("receipt {digest}: on the chain, replaced by a later ballot of the same voter (the last one counts)");
                    Ok(())
                }
                ReceiptStatus::Missing => bail!("receipt {digest} is not on the chain of '{id}'"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallet_stages_keep_their_stored_names() {
        for (stage, name) in [
            (WalletStage::Requested, "\"requested\""),
            (WalletStage::Registered, "\"registered\""),
        ] {
            assert_eq!(serde_json::to_string(&stage).unwrap(), name);
            assert_eq!(serde_json::from_str::<WalletStage>(name).unwrap(), stage);
        }
        let old: WalletPublic =
            serde_json::from_str(r#"{"election_id":"e1","stage":"registered","receipts":["ab"]}"#)
                .unwrap();
        assert_eq!(old.stage, WalletStage::Registered);
        assert!(serde_json::from_str::<WalletStage>("\"enabled\"").is_err());
    }
}
