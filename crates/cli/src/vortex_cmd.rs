//! `tabella vortex`: anonymous messaging (MessageVortex). `vortex sim` runs an in-process
//! network of nodes on a virtual clock: users create identities at every node (with the proof
//! of work the nodes ask for), then send messages along random multi-hop graphs with
//! redundancy and decoys, while some nodes drop everything; at the end every captured message
//! is replayed to the node that accepted it.

use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use tabella_vortex::sim::{self, Config, Stage};

/// Arguments of `tabella vortex`.
#[derive(Args, Debug)]
pub struct VortexArgs {
    #[command(subcommand)]
    what: VortexCommand,
}

#[derive(Subcommand, Debug)]
enum VortexCommand {
    /// Simulate a network of vortex nodes in one process (virtual clock, in-memory transport).
    #[command(
        after_help = "Example:\n  tabella vortex sim --nodes 10 --messages 100 --redundancy 2/4"
    )]
    Sim(SimArgs),
    /// Create or run a vortex node on real mail (SMTP out; Maildir or IMAP IDLE in).
    Node(crate::vortex_node_cmd::NodeArgs),
    /// Print the directory of nodes (peers.json) from node homes.
    #[command(after_help = "Example:\n  tabella vortex peers n1 n2 n3 n4 n5 --out peers.json")]
    Peers(crate::vortex_node_cmd::PeersArgs),
    /// Queue a message for a node's owner to send anonymously.
    #[command(
        after_help = "Examples:\n  echo hello | tabella vortex send --home n1 --to node4@vortex.test --with-reply -\n  tabella vortex send --home n4 --reply-block n4/inbox/000000.reply answer.txt"
    )]
    Send(crate::vortex_node_cmd::SendArgs),
    /// The embedded mail receiver as a server: SMTP on 127.0.0.1 into one Maildir per address
    /// (for nodes on a machine without a mail server).
    #[command(
        after_help = "Example:\n  tabella vortex mailserver --listen 127.0.0.1:2525 --root mail node1@vortex.test node2@vortex.test\n  # node1's mail arrives in mail/node1@vortex.test (a Maildir: --maildir for `vortex node run`)"
    )]
    Mailserver(crate::vortex_node_cmd::MailserverArgs),
    /// Show the letters delivered to a node's owner.
    Inbox(crate::vortex_node_cmd::InboxArgs),
    /// Five nodes on real mail transports: an anonymous message with redundancy, and an answer
    /// through a reply block.
    #[command(
        after_help = "Examples:\n  tabella vortex demo                                  # embedded SMTP receiver, no install\n  scripts/mail-testbed start --base /tmp/mtb --nodes 5\n  tabella vortex demo --postfix /tmp/mtb               # through Postfix and Dovecot"
    )]
    Demo(crate::vortex_node_cmd::DemoArgs),
}

/// Arguments of `tabella vortex sim`.
#[derive(Args, Debug)]
pub struct SimArgs {
    /// Nodes in the network (each is also one user's home).
    #[arg(long, default_value_t = 10)]
    nodes: usize,
    /// Messages to send, each from a random user to another.
    #[arg(long, default_value_t = 100)]
    messages: usize,
    /// Redundancy k/n: each message is cut into n blocks on n paths, any k of which recover
    /// it; `1/1` sends one path without redundancy.
    #[arg(long, default_value = "2/4")]
    redundancy: String,
    /// Transmissions per path (relays + 1).
    #[arg(long, default_value_t = 3)]
    hops: usize,
    /// Nodes that drop every message they receive.
    #[arg(long, default_value_t = 1)]
    droppers: usize,
    /// Decoy messages per message.
    #[arg(long, default_value_t = 1)]
    decoys: usize,
    /// Identity puzzle difficulty in bits (before the lifetime term); 0 = free identities.
    #[arg(long, default_value_t = 8)]
    puzzle_bits: u32,
    /// Seed of every random choice (runs are reproducible).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print machine-readable JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Runs `tabella vortex`.
pub fn run(args: VortexArgs) -> anyhow::Result<()> {
    match args.what {
        VortexCommand::Sim(a) => simulate(a),
        VortexCommand::Node(a) => crate::vortex_node_cmd::node(a),
        VortexCommand::Peers(a) => crate::vortex_node_cmd::peers(a),
        VortexCommand::Send(a) => crate::vortex_node_cmd::send(a),
        VortexCommand::Inbox(a) => crate::vortex_node_cmd::inbox(a),
        VortexCommand::Mailserver(a) => crate::vortex_node_cmd::mailserver(a),
        VortexCommand::Demo(a) => crate::vortex_node_cmd::demo(a),
    }
}

pub(crate) fn parse_redundancy(s: &str) -> anyhow::Result<Option<(usize, usize)>> {
    let (k, n) = s
        .split_once('/')
        .context("--redundancy must look like k/n, e.g. 2/4")?;
    let k: usize = k
        .trim()
        .parse()
        .context("--redundancy: k is not a number")?;
    let n: usize = n
        .trim()
        .parse()
        .context("--redundancy: n is not a number")?;
    if k == 0 || n < k || n > 64 {
        bail!("--redundancy {k}/{n}: need 1 ≤ k ≤ n ≤ 64");
    }
    Ok(if k == n && k == 1 { None } else { Some((k, n)) })
}

fn simulate(a: SimArgs) -> anyhow::Result<()> {
    let redundancy = parse_redundancy(&a.redundancy)?;
    if matches!(redundancy, Some((k, n)) if k == n) {
        bail!(
            "--redundancy {}: n must exceed k (or use 1/1 for no redundancy)",
            a.redundancy
        );
    }
    if a.nodes < 2 || a.nodes > 200 {
        bail!("--nodes must be in 2..=200, got {}", a.nodes);
    }
    if a.droppers + 2 > a.nodes {
        bail!(
            "--droppers {} leaves fewer than two honest nodes of {}",
            a.droppers,
            a.nodes
        );
    }
    if a.hops == 0 || a.hops > 8 {
        bail!("--hops must be in 1..=8, got {}", a.hops);
    }
    if a.puzzle_bits > 24 {
        bail!("--puzzle-bits above 24 would take minutes per identity");
    }
    let config = Config {
        nodes: a.nodes,
        messages: a.messages,
        hops: a.hops,
        redundancy,
        droppers: a.droppers,
        decoys: a.decoys,
        puzzle_bits: (a.puzzle_bits > 0).then_some(a.puzzle_bits),
        seed: a.seed,
        ..Config::default()
    };
    let bar = if a.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let start = Instant::now();
    let nodes = a.nodes;
    let report = sim::run_with_progress(&config, &mut |stage| {
        bar.set_message(match stage {
            Stage::Keys => format!("making host and identity keys for {nodes} nodes"),
            Stage::Identities => "creating identities (requests, puzzles, proofs)".into(),
            Stage::Sending(m, total) => format!("building and sending message {}/{total}", m + 1),
            Stage::Delivering => "delivering on the virtual clock".into(),
            Stage::Replaying => "replaying every captured message".into(),
        })
    })?;
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let delivered = report.delivered();
    let sizes: Vec<usize> = report.messages.iter().map(|m| m.anonymity_set).collect();
    let (min, max) = (
        sizes.iter().copied().min().unwrap_or(0),
        sizes.iter().copied().max().unwrap_or(0),
    );
    let mean = sizes.iter().sum::<usize>() as f64 / sizes.len().max(1) as f64;
    let message_bytes: u64 = report.messages.iter().map(|m| m.bytes).sum();
    if a.json {
        let per_message: Vec<_> = report
            .messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "from": m.from, "to": m.to, "delivered": m.delivered,
                    "anonymity_set": m.anonymity_set, "bytes": m.bytes,
                })
            })
            .collect();
        let out = serde_json::json!({
            "nodes": a.nodes, "messages": a.messages, "redundancy": a.redundancy,
            "hops": a.hops, "droppers": a.droppers, "decoys": a.decoys, "seed": a.seed,
            "identities": report.identities, "pow_hashes": report.pow_hashes,
            "delivered": delivered, "lost": report.messages.len() - delivered,
            "transmissions": report.transmissions, "bytes": report.bytes,
            "message_bytes": message_bytes,
            "anonymity_set": {"min": min, "mean": mean, "max": max},
            "dropped": report.dropped, "tagged": report.tagged,
            "replays": report.replays, "replays_rejected": report.replays_rejected,
            "replays_accepted": report.replays_accepted(),
            "virtual_seconds": report.virtual_seconds, "wall_seconds": seconds,
            "per_message": per_message,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "vortex sim: {} nodes ({} dropping everything), {} messages, {}-hop paths, redundancy {}, {} decoy(s) each",
            a.nodes, a.droppers, a.messages, a.hops, a.redundancy, a.decoys
        );
        println!(
            "  identities   {} created with proof of work ({} hashes in all)",
            report.identities, report.pow_hashes
        );
        println!(
            "  delivered    {delivered} of {} ({:.1} %), lost {}",
            report.messages.len(),
            100.0 * delivered as f64 / report.messages.len().max(1) as f64,
            report.messages.len() - delivered
        );
        println!(
            "  traffic      {} transmissions, {:.2} MB (messages alone: {:.2} MB)",
            report.transmissions,
            report.bytes as f64 / 1e6,
            message_bytes as f64 / 1e6
        );
        println!("  anonymity    nodes touched per message: min {min}, mean {mean:.1}, max {max}");
        if !report.dropped.is_empty() {
            println!("  dropped      at honest nodes: {:?}", report.dropped);
        }
        println!(
            "  replays      {} captured messages replayed: {} rejected {:?}, {} accepted",
            report.replays,
            report.replays - report.replays_accepted(),
            report.replays_rejected,
            report.replays_accepted()
        );
        println!(
            "  time         {} virtual seconds, {seconds:.1} s wall",
            report.virtual_seconds
        );
    }
    if report.replays_accepted() > 0 {
        bail!(
            "{} replayed messages were accepted",
            report.replays_accepted()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redundancy_is_parsed_with_clear_errors() {
        assert_eq!(parse_redundancy("2/4").unwrap(), Some((2, 4)));
        assert_eq!(parse_redundancy("1/1").unwrap(), None);
        for bad in ["24", "0/4", "4/2", "a/4", "2/x", "2/65"] {
            assert!(parse_redundancy(bad).is_err(), "{bad}");
        }
    }
}
