//! The identity validator's command, `tabella identity-validator issue`: check a voter's identity against
//! the private whitelist, post `ValidateVoter` and blind-sign the voter's registration request
//! (the steps of remote registration are described in [`super::files`]).

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use rand_core::OsRng;
use tabella_crypto::blind;
use tabella_election::action::OfficialAction;
use tabella_election::whitelist::Whitelist;
use zeroize::Zeroizing;

use super::files::{RequestFile, ResponseFile};
use super::{read_json, same_election, submit_action, write_json, Common, Role};

/// `tabella identity-validator`.
#[derive(Args, Debug)]
pub struct IdentityValidatorArgs {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    cmd: IdentityValidatorCmd,
}

#[derive(Subcommand, Debug)]
enum IdentityValidatorCmd {
    /// Check a voter's identity against the whitelist, blind-sign their request, post ValidateVoter.
    Issue {
        /// The election id.
        #[arg(long)]
        election: String,
        /// The identity validator's key.
        #[arg(long = "as")]
        as_: String,
        /// The private whitelist from `tabella election manifest`.
        #[arg(long, default_value = "whitelist.json")]
        whitelist: PathBuf,
        /// The identity checked (e.g. from the voter's ID card).
        #[arg(long)]
        identity: String,
        /// The voter's blinded request (`voter register` step 1).
        #[arg(long)]
        request: PathBuf,
        /// Where to write the blind signature for the voter.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs `tabella identity-validator`.
pub fn run(a: IdentityValidatorArgs) -> anyhow::Result<()> {
    let IdentityValidatorCmd::Issue {
        election,
        as_,
        whitelist,
        identity,
        request,
        out,
    } = a.cmd;
    let common = &a.common;
    let (id, me) = common.open_official(&election, &as_, Role::IdentityValidator)?;
    let req: RequestFile = read_json(&request, "registration request")?;
    same_election(&request, "a request for", req.election_id.as_str(), &id)?;
    if let Some(claimed) = &req.identity {
        if claimed != &identity {
            bail!("the request names {claimed:?} but --identity is {identity:?}; check the voter's identity");
        }
    }
    let wl: Whitelist = read_json(&whitelist, "whitelist")?;
    same_election(&whitelist, "the whitelist of", wl.election_id.as_str(), &id)?;
    let commitment = wl.commitment_of(&identity)?.ok_or_else(|| {
        anyhow!("{identity:?} is not on the whitelist of '{id}'; this voter is not eligible to vote remotely")
    })?;
    let (client, chain) = common.load(&id)?;
    me.must_be(
        &chain.manifest()?.officials.identity_validator,
        "the identity validator",
        &id,
    )?;
    let der = me
        .secret
        .token_pkcs8
        .as_deref()
        .ok_or_else(|| anyhow!("key '{as_}' has no token key"))?;
    let der = Zeroizing::new(hex::decode(der).map_err(|_| anyhow!("key '{as_}' is corrupted"))?);
    let sk = blind::IssuerSecretKey::from_pkcs8_der(&der)?;
    // Post ValidateVoter first: if the voter was already validated the node refuses and no second
    // signature is handed out.
    submit_action(
        &client,
        &chain.state,
        &id,
        OfficialAction::ValidateVoter { commitment },
        &me.signing()?,
    )?;
    let signature = blind::sign_blinded(&sk, &req.request, &mut OsRng)
        .map_err(|e| anyhow!("{}: cannot sign this request: {e}", request.display()))?;
    write_json(
        &out,
        &ResponseFile {
            election_id: id.clone(),
            signature,
        },
    )?;
    println!(
        "{identity} validated for '{id}'; blind signature written to {} (give it to the voter)",
        out.display()
    );
    Ok(())
}
