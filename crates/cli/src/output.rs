//! Printing that several commands share: the results table (`election simulate`, `demo`,
//! `election publish|results`) and the progress bars' style. It depends on no command module, so
//! the commands that use it do not depend on each other.

use indicatif::ProgressStyle;
use tabella_election::manifest::Manifest;
use tabella_election::tally::{Group, GroupResult, Results};

/// The style of every progress bar: a right-aligned stage name, the bar, counts and time.
pub fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

/// Prints results overall and per group.
pub fn print_results(m: &Manifest, r: &Results) {
    let group_name = |g: &Group| g.display(m);
    println!(
        "Results of {:?} ({} ballots counted)",
        m.title, r.overall.ballots
    );
    for g in r.groups.iter().filter(|g| g.group == Group::Other) {
        let names: Vec<String> = g.members.iter().map(group_name).collect();
        println!(
            "  {} counted together as \"other (merged)\" ({} ballots): groups with fewer than {} ballots are not published on their own",
            names.join(" + "),
            g.ballots,
            m.min_group_size
        );
    }
    // A single group is the whole election: only the overall column is shown.
    let shown: &[GroupResult] = if r.groups.len() > 1 { &r.groups } else { &[] };
    for (ci, contest) in m.contests.iter().enumerate() {
        println!();
        println!("  {}", contest.title);
        let labels = contest.result_labels();
        let mut header = format!("    {:<14}{:>9}", "", "overall");
        for g in shown {
            header.push_str(&format!("{:>16}", group_name(&g.group)));
        }
        println!("{header}");
        for (i, label) in labels.iter().enumerate() {
            let mut line = format!("    {:<14}{:>9}", label, r.overall.contests[ci][i]);
            for g in shown {
                line.push_str(&format!("{:>16}", g.contests[ci][i]));
            }
            println!("{line}");
        }
    }
}
