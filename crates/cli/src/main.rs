//! `tabella` — the command-line tool for every Tabella role.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod bench_ledger;
mod bench_stats;
mod bench_stats_chain;
mod bench_vortex;
mod bench_vortex_mail;
mod booth;
mod console;
mod demo;
mod election_cmd;
mod keystore;
mod local_web;
mod node_cmd;
mod output;
mod record_io;
mod roles;
mod stats_cmd;
mod stats_demo;
mod table;
mod verify_ballot;
mod vortex_cmd;
mod vortex_node_cmd;

/// Tabella: verifiable, private civic infrastructure.
#[derive(Parser, Debug)]
#[command(
    name = "tabella",
    version,
    about = "Tabella: verifiable, private civic infrastructure — secret-ballot elections anyone can audit, and one-time-pad chat.",
    after_help = "Start here:\n  tabella election simulate            a complete election in one process, then its audit\n  tabella verify ./tabella-sim/record  re-check an election record from scratch\n  tabella stats demo                   private statistics with proofs on a local ledger
  tabella ghostline --help             one-time-pad group chat\n  tabella vortex sim                   anonymous messaging over a simulated network of nodes\n  tabella bench crypto                 performance figures (use a release build)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The main job: a complete election on an embedded one-node ledger, then its audit.
    Demo(demo::DemoArgs),
    /// Elections without a ledger: `simulate` runs a complete one in-process.
    Election(election_cmd::ElectionArgs),
    /// Verify an election record from scratch (exit 0 only if every check passes).
    Verify(election_cmd::VerifyArgs),
    /// Voter: check the audit file of a spoiled ballot (Benaloh's cast-or-audit) against the
    /// election from a node or a record (exit 0 only if it encrypts exactly the claimed choices).
    VerifyBallot(verify_ballot::VerifyBallotArgs),
    /// Voter: the booth as a local web page (127.0.0.1, served by this binary): open your wallet,
    /// choose, encrypt, then cast or audit; with --booth FILE, a polling table's kiosk.
    Booth(booth::BoothArgs),
    /// Official: your console as a local web page (127.0.0.1, served by this binary with your
    /// keystore): council, trustee, identity validator, registrar or juror, by your key's role.
    Console(console::ConsoleArgs),
    /// Measure performance of Tabella's components (release build recommended).
    Bench(bench::BenchArgs),
    /// One-time-pad group chat (GhostLine).
    Ghostline(tabella_ghostline::cli::GhostlineArgs),
    /// Operator: create and run a verifying node (`node init --dev`, `node run`).
    Node(node_cmd::NodeArgs),
    /// Operator: start (or `--stop`) a local testnet of validators on 127.0.0.1.
    Testnet(node_cmd::TestnetArgs),
    /// Auditor: light-client verification of the chain from its genesis hash.
    Chain(node_cmd::ChainArgs),
    /// Officials' keys in the passphrase-sealed keystore (`keys new`, `keys list`).
    Keys(roles::keys::KeysArgs),
    /// Trustee: the key ceremony (`dkg`) and the decryption of the tallies (`decrypt`).
    Trustee(roles::trustee::TrusteeArgs),
    /// Identity validator: check a voter's identity and blind-sign their token (`issue`).
    #[command(visible_alias = "validator")]
    IdentityValidator(roles::identity_validator::IdentityValidatorArgs),
    /// Registrar: enable a stealth voter key for an anonymous note (`enable`).
    Registrar(roles::registrar::RegistrarArgs),
    /// Table juror: authorize an in-person voter (`authorize`).
    Table(roles::table::TableArgs),
    /// Voter: register, vote (again), check a receipt.
    Voter(roles::voter::VoterArgs),
    /// Private statistics on the ledger: computing nodes, data providers, queries, audits
    /// (`stats demo` runs it all).
    Stats(stats_cmd::StatsArgs),
    /// Anonymous messaging (MessageVortex): `vortex sim` runs a network of nodes in process.
    Vortex(vortex_cmd::VortexArgs),
}

/// Monotonic time since the first call: the clock the record verifier is given
/// (`tabella_election::verify::verify_record_timed`), which reads none of its own.
pub(crate) fn monotonic() -> std::time::Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Election(args) => election_cmd::run(args),
        Command::Verify(args) => match election_cmd::verify(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Booth(args) => booth::run(args),
        Command::Console(args) => console::run(args),
        Command::VerifyBallot(args) => match verify_ballot::run(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Bench(args) => bench::run(args),
        Command::Ghostline(args) => tabella_ghostline::cli::run(args),
        Command::Node(args) => node_cmd::node(args),
        Command::Testnet(args) => node_cmd::testnet(args),
        Command::Chain(args) => node_cmd::chain(args),
        Command::Keys(args) => roles::keys::run(args),
        Command::Trustee(args) => roles::trustee::run(args),
        Command::IdentityValidator(args) => roles::identity_validator::run(args),
        Command::Registrar(args) => roles::registrar::run(args),
        Command::Table(args) => roles::table::run(args),
        Command::Voter(args) => roles::voter::run(args),
        Command::Stats(args) => stats_cmd::run(args),
        Command::Vortex(args) => vortex_cmd::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
