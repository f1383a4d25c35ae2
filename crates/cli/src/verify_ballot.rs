//! `tabella verify-ballot`: Benaloh's audit of a spoiled ballot, on another machine than the
//! device that encrypted it (the I/O shell around `tabella_election::audit::check_audited`).

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use clap::{ArgGroup, Args};
use tabella_election::audit::{check_audited, AuditedBallot};
use tabella_election::ballot::ElectionKey;
use tabella_election::ids::Digest32;
use tabella_election::manifest::Manifest;
use tabella_election::state::{ElectionState, ProofCheck};
use tabella_node::client::NodeClient;

use crate::record_io::read_record;
use crate::roles::{load, read_json};

/// Options of `tabella verify-ballot`.
#[derive(Args, Debug)]
#[command(
    group(ArgGroup::new("source").required(true).args(["node", "record"])),
    after_help = "Cast or audit (J. Benaloh, \"Simple Verifiable Elections\", EVT 2006; as in Helios): \
your device encrypts your ballot and shows its tracker before you decide. Cast it, or audit it: \
the device reveals the choices and the randomness of that very encryption, the ballot is spoiled \
(never cast), and this command checks the revelation against the election's key on a machine \
you trust. Then vote again: a fresh encryption is cast.\n\n\
Examples:\n  tabella voter vote --election e1 --wallet w --choice 1=Ada --audit-out audit.json\n  \
tabella verify-ballot audit.json --node http://127.0.0.1:7400 --tracker 3f2a…\n  \
tabella verify-ballot audit.json --record ./record\n\n\
Exit status 0 only if the ballot encrypts exactly the choices the file claims."
)]
pub struct VerifyBallotArgs {
    /// The audit file of a spoiled ballot (`tabella voter vote --audit-out FILE`).
    pub audit: PathBuf,
    /// Read the election (manifest and election key) from this node's HTTP API.
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
    /// Read the election from this record directory (`tabella verify DIR` checks the record
    /// itself).
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// The tracker your device showed before you chose to audit (64 hex digits); the file must
    /// open that ballot.
    #[arg(long, value_name = "HEX")]
    pub tracker: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `tabella verify-ballot`: `Ok(true)` if the audit passes, `Ok(false)` (exit 1) if the
/// ballot does not encrypt the claimed choices; `Err` if the inputs cannot be read.
pub fn run(args: VerifyBallotArgs) -> anyhow::Result<bool> {
    let audited: AuditedBallot = read_json(&args.audit, "ballot audit")?;
    let shown = match &args.tracker {
        Some(t) => Some(Digest32::from_hex(t.trim()).map_err(|_| {
            anyhow!("--tracker must be the 64 hex digits your device showed for the ballot")
        })?),
        None => None,
    };
    let (manifest, key) = match (&args.node, &args.record) {
        (Some(url), _) => {
            let view = load(&NodeClient::new(url), &audited.election_id)?;
            let m = view.manifest()?.clone();
            (m, election_key(&view.state)?)
        }
        (None, Some(dir)) => {
            let record = read_record(dir)?;
            // Replayed for the election key; the key ceremony's proofs are checked on the way.
            let mut state = ElectionState::new();
            for (i, env) in record.log.iter().enumerate() {
                state
                    .apply_with(env, ProofCheck::AlreadyVerified)
                    .map_err(|e| anyhow!("{}: action {i} does not replay: {e}", dir.display()))?;
            }
            let m: Manifest = state
                .manifest()
                .cloned()
                .ok_or_else(|| anyhow!("{}: the election was never created", dir.display()))?;
            (m, election_key(&state)?)
        }
        (None, None) => bail!("pass --node URL or --record DIR"),
    };
    let outcome = match check_audited(&manifest, &key, &audited) {
        Ok(report) => match shown {
            Some(t) if t != report.tracker => Err(format!(
                "your device showed tracker {t}, but this file opens ballot {}: the device opened another ballot than the one it committed to",
                report.tracker
            )),
            _ => Ok(report),
        },
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(report) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!("Audit of {}", args.audit.display());
                println!("{report}");
                println!("AUDIT PASSED");
            }
            Ok(true)
        }
        Err(e) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "ok": false, "error": e.to_string() })
                );
            } else {
                println!("Audit of {}", args.audit.display());
                println!("AUDIT FAILED: {e}");
                println!("Do not cast with the device that produced this ballot.");
            }
            Ok(false)
        }
    }
}

fn election_key(state: &ElectionState) -> anyhow::Result<ElectionKey> {
    state.election_key().cloned().ok_or_else(|| {
        anyhow!("the election has no election key yet (the trustees' key ceremony is not done)")
    })
}
