//! `tabella` — the command-line tool for every Tabella role.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;

/// Tabella: verifiable, private civic infrastructure.
#[derive(Parser, Debug)]
#[command(name = "tabella", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Measure performance of Tabella's components (release build recommended).
    Bench(bench::BenchArgs),
    /// One-time-pad group chat (GhostLine).
    Ghostline(tabella_ghostline::cli::GhostlineArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
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
