//! The table juror's command, `tabella table authorize`: authorize one in-person voter within the
//! table's quota and write the booth file the voter's booth signs its one ballot with.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use rand_core::{OsRng, RngCore};
use tabella_crypto::group::{SecretScalar, G};
use tabella_election::action::OfficialAction;
use tabella_election::ids::{Digest32, TableIndex};

use super::files::BoothFile;
use super::{submit_action, write_json, Common, Role};

/// `tabella table`.
#[derive(Args, Debug)]
pub struct TableArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: TableCmd,
}

#[derive(Subcommand, Debug)]
enum TableCmd {
    /// Authorize one in-person voter at a table; writes the booth file the voter's booth uses.
    Authorize {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The juror's key.
        #[arg(long = "as")]
        as_: String,
        /// The table number (from 1, as in the manifest).
        #[arg(long)]
        table: u16,
        /// Where to write the booth file (holds the booth's one-time signing key; 0600).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `tabella table`.
pub fn run(a: TableArgs) -> anyhow::Result<()> {
    let TableCmd::Authorize {
        election,
        as_,
        table,
        out,
    } = a.cmd;
    let common = &a.common;
    // A booth file holds an authorization that is already on the chain; overwriting an unused
    // one would lose it (the table's quota stays spent). Refuse before anything is submitted.
    if out.exists() {
        bail!(
            "{} already exists (it may hold an unused authorization); choose another --out, \
             or remove it once its voter has voted",
            out.display()
        );
    }
    let (id, me) = common.open_official(&election, &as_, Role::Juror)?;
    let (client, chain) = common.load(&id)?;
    let m = chain.manifest()?;
    let t = m
        .tables
        .get(usize::from(table).wrapping_sub(1))
        .ok_or_else(|| {
            anyhow!(
                "election '{id}' has no table {table} (it has {})",
                m.tables.len()
            )
        })?;
    if !t.jurors.contains(&me.public.signing_key) {
        bail!("key '{as_}' is not a juror of table {table} of '{id}'");
    }
    let booth = SecretScalar::random(&mut OsRng);
    let mut a_bytes = [0u8; 32];
    OsRng.fill_bytes(&mut a_bytes);
    let authorization = Digest32(a_bytes);
    submit_action(
        &client,
        &chain.state,
        &id,
        OfficialAction::AuthorizeInPerson {
            table: TableIndex(table - 1),
            authorization,
            booth_key: booth.expose() * G,
        },
        &me.signing()?,
    )?;
    write_json(
        &out,
        &BoothFile {
            election_id: id.to_string(),
            table,
            authorization: authorization.to_hex(),
            booth_secret: hex::encode(booth.to_bytes()),
        },
    )?;
    println!(
        "in-person voter authorized at table {table} of '{id}'; booth file {} (single use)",
        out.display()
    );
    Ok(())
}
