//! The registrar's commands, `tabella registrar enable|flush`: check anonymous notes, queue them
//! and enable their stealth keys in batches, in canonical order (the steps of remote registration
//! are described in [`super::files`]).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use tabella_crypto::blind;
use tabella_crypto::stealth::MetaAddress;
use tabella_election::action::{canonical_batch, NoteKey, OfficialAction, RegistrationToken};
use tabella_election::ids::ElectionId;

use super::files::NoteFile;
use super::{read_json, same_election, submit_action, write_json, Common, Role};

/// `tabella registrar`.
#[derive(Args, Debug)]
pub struct RegistrarArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: RegistrarCmd,
}

#[derive(Subcommand, Debug)]
enum RegistrarCmd {
    /// Check an anonymous note and queue it; once the manifest's registration_batch notes are
    /// queued, enable their stealth keys in one batch, in canonical order.
    Enable {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The registrar's key.
        #[arg(long = "as")]
        as_: String,
        /// The voter's note (`voter register --response`).
        #[arg(long)]
        note: PathBuf,
        /// The registrar's queue of notes waiting for a batch (private to the registrar).
        #[arg(long, default_value = "registrar-queue.json")]
        queue: PathBuf,
    },
    /// Enable the queued notes' keys now: a full batch, or with --close-registration the final
    /// batch (any size), after which no voter can register.
    Flush {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The registrar's key.
        #[arg(long = "as")]
        as_: String,
        /// The registrar's queue of notes.
        #[arg(long, default_value = "registrar-queue.json")]
        queue: PathBuf,
        /// Post the final batch even if smaller than registration_batch; closes registration.
        #[arg(long)]
        close_registration: bool,
    },
}

/// The registrar's queue: anonymous notes checked but whose keys are not enabled yet.
#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistrarQueue {
    election_id: Option<ElectionId>,
    notes: Vec<QueuedNote>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct QueuedNote {
    token: RegistrationToken,
    meta: MetaAddress,
}

fn read_queue(path: &Path, id: &ElectionId) -> anyhow::Result<RegistrarQueue> {
    if !path.exists() {
        return Ok(RegistrarQueue {
            election_id: Some(id.clone()),
            notes: Vec::new(),
        });
    }
    let q: RegistrarQueue = read_json(path, "registrar queue")?;
    match &q.election_id {
        Some(e) if e != id => bail!(
            "{} is the registrar queue of election '{e}', not '{id}'; pass another --queue",
            path.display()
        ),
        _ => Ok(q),
    }
}

/// Derives a stealth key for every queued note and posts them as one `enable_voters` action in
/// canonical order (the state machine refuses any other order).
fn post_batch(
    client: &tabella_node::client::NodeClient,
    chain: &super::ElectionView,
    id: &ElectionId,
    notes: &[QueuedNote],
    close_registration: bool,
    key: &tabella_election::sign::OfficialSecret,
) -> anyhow::Result<()> {
    let batch = canonical_batch(
        notes
            .iter()
            .map(|n| NoteKey {
                token: n.token.clone(),
                key: n.meta.derive_stealth_key(&mut OsRng),
            })
            .collect(),
    );
    submit_action(
        client,
        &chain.state,
        id,
        OfficialAction::EnableVoters {
            batch,
            closes_registration: close_registration,
        },
        key,
    )?;
    Ok(())
}

/// Runs `tabella registrar`.
pub fn run(a: RegistrarArgs) -> anyhow::Result<()> {
    let common = &a.common;
    let (election, as_, queue_path) = match &a.cmd {
        RegistrarCmd::Enable {
            election,
            as_,
            queue,
            ..
        }
        | RegistrarCmd::Flush {
            election,
            as_,
            queue,
            ..
        } => (election.clone(), as_.clone(), queue.clone()),
    };
    let queue_path = queue_path.as_path();
    let (id, me) = common.open_official(&election, &as_, Role::Registrar)?;
    let (client, chain) = common.load(&id)?;
    let m = chain.manifest()?;
    me.must_be(&m.officials.registrar, "the registrar", &id)?;
    let batch_size = m.registration_batch as usize;
    let mut queue = read_queue(queue_path, &id)?;
    match a.cmd {
        RegistrarCmd::Enable { note, .. } => {
            let n: NoteFile = read_json(&note, "registration note")?;
            same_election(&note, "a note for", n.election_id.as_str(), &id)?;
            blind::verify(&m.officials.token_key, &n.token.message, &n.token.signature).map_err(
                |_| {
                    anyhow!(
                        "the token in {} is not signed by this election's identity validator; the voter must register again",
                        note.display()
                    )
                },
            )?;
            if chain.state.token_spent(&n.token) {
                bail!(
                    "{}: this registration token was already used",
                    note.display()
                );
            }
            if queue.notes.iter().any(|q| q.token == n.token) {
                bail!(
                    "{}: this note is already queued (its key is enabled with the next batch)",
                    note.display()
                );
            }
            if chain.state.registration_closed() {
                bail!("registration for '{id}' is closed (the final batch was posted)");
            }
            queue.notes.push(QueuedNote {
                token: n.token.clone(),
                meta: n.meta,
            });
            if queue.notes.len() >= batch_size {
                post_batch(&client, &chain, &id, &queue.notes, false, &me.signing()?)?;
                println!(
                    "batch of {} voter keys enabled for '{id}', in canonical order (each voter's wallet finds its key on the chain)",
                    queue.notes.len()
                );
                queue.notes.clear();
            } else {
                println!(
                    "note queued for '{id}' ({} of the {batch_size} a batch needs); keys are enabled in batches so the chain does not link a voter's validation to its key; at the end of registration run `tabella registrar flush --election {id} --as {as_} --close-registration`",
                    queue.notes.len()
                );
            }
            write_json(queue_path, &queue)?;
        }
        RegistrarCmd::Flush {
            close_registration, ..
        } => {
            let k = queue.notes.len();
            if k < batch_size && !close_registration {
                bail!(
                    "{k} notes queued, fewer than the {batch_size} of a batch (the manifest's registration_batch); wait for more notes, or end registration with --close-registration (nobody can register after the final batch)"
                );
            }
            post_batch(
                &client,
                &chain,
                &id,
                &queue.notes,
                close_registration,
                &me.signing()?,
            )?;
            queue.notes.clear();
            write_json(queue_path, &queue)?;
            if close_registration {
                println!(
                    "final batch of {k} voter keys enabled for '{id}'; registration is closed"
                );
            } else {
                println!("batch of {k} voter keys enabled for '{id}', in canonical order");
            }
        }
    }
    Ok(())
}
