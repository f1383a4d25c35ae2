//! `tabella bench`: user-facing performance figures.

use clap::{Args, Subcommand};

/// Arguments of `tabella bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: BenchTarget,
}

#[derive(Subcommand, Debug)]
enum BenchTarget {
    /// Cryptographic core: ElGamal, proofs, Paillier, bulletproofs.
    Crypto {
        /// Print machine-readable JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// GhostLine: one-time-pad encrypt+MAC beside ChaCha20-Poly1305, relay throughput.
    Ghostline(tabella_ghostline::bench::GhostlineBenchArgs),
}

/// Runs the selected benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchTarget::Crypto { json } => {
            let _ = json;
            anyhow::bail!("crypto benchmark not yet wired")
        }
        BenchTarget::Ghostline(args) => tabella_ghostline::bench::run(args),
    }
}
