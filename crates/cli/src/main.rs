//! `tabella` — the command-line tool for every Tabella role.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod election_cmd;
mod record_io;

/// Tabella: verifiable, private civic infrastructure.
#[derive(Parser, Debug)]
#[command(
    name = "tabella",
    version,
    about = "Tabella: verifiable, private civic infrastructure — secret-ballot elections anyone can audit, and one-time-pad chat.",
    after_help = "Start here:\n  tabella election simulate            a complete election in one process, then its audit\n  tabella verify ./tabella-sim/record  re-check an election record from scratch\n  tabella ghostline --help             one-time-pad group chat\n  tabella bench crypto                 performance figures (use a release build)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Elections without a ledger: `simulate` runs a complete one in-process.
    Election(election_cmd::ElectionArgs),
    /// Verify an election record from scratch (exit 0 only if every check passes).
    Verify(election_cmd::VerifyArgs),
    /// Measure performance of Tabella's components (release build recommended).
    Bench(bench::BenchArgs),
    /// One-time-pad group chat (GhostLine).
    Ghostline(tabella_ghostline::cli::GhostlineArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Election(args) => election_cmd::run(args),
        Command::Verify(args) => match election_cmd::verify(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(e) => Err(e),
        },
        Command::Bench(args) => bench::run(args),
        Command::Ghostline(args) => tabella_ghostline::cli::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
