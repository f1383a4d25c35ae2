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
}

/// Runs the selected benchmark.
pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.what {
        BenchTarget::Crypto { json } => {
            let _ = json;
            anyhow::bail!("crypto benchmark not yet wired")
        }
    }
}
