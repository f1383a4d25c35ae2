//! Prints the benchmark figures from the test profile (opt-level 2):
//! `cargo test -p tabella-ghostline --test bench_figures -- --ignored --nocapture`.
//! The user-facing command is `tabella bench ghostline` (release build).

use std::time::Duration;

#[test]
fn seal_figures_smoke() {
    for size in [64, 1024] {
        let f = tabella_ghostline::bench::seal_figure(size, Duration::from_millis(20)).unwrap();
        assert!(f.ghostline_mb_s > 0.0 && f.chacha_mb_s > 0.0);
    }
}

#[test]
#[ignore = "prints benchmark figures; run explicitly"]
fn print_bench_figures() {
    let r = tabella_ghostline::bench::measure(1.0).unwrap();
    eprintln!("{r:#?}");
}
