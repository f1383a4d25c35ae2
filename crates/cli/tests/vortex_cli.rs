//! `tabella vortex sim` and `tabella bench vortex` through the real binary: a small network
//! delivers everything and rejects every replay; bad arguments get clear errors.

mod support;

fn run(args: &[&str]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let o = support::tabella(dir.path(), &[], args);
    (o.status.success(), support::text(&o))
}

#[test]
fn a_small_simulated_network_delivers_and_rejects_every_replay() {
    let (ok, t) = run(&[
        "vortex",
        "sim",
        "--nodes",
        "5",
        "--messages",
        "8",
        "--redundancy",
        "2/3",
        "--droppers",
        "0",
        "--seed",
        "3",
        "--json",
    ]);
    assert!(ok, "{t}");
    let start = t.find('{').unwrap();
    let v: serde_json::Value = serde_json::from_str(&t[start..]).unwrap();
    assert_eq!(v["delivered"], 8, "{t}");
    assert_eq!(v["identities"], 20, "{t}");
    assert_eq!(v["replays_accepted"], 0, "{t}");
    assert!(v["replays"].as_u64().unwrap() > 20, "{t}");

    let (ok, t) = run(&[
        "vortex",
        "sim",
        "--nodes",
        "4",
        "--messages",
        "3",
        "--redundancy",
        "1/1",
        "--droppers",
        "0",
    ]);
    assert!(ok, "{t}");
    assert!(t.contains("delivered    3 of 3"), "{t}");
    // Without redundancy, a path through a dropping node loses its message: reported, not hidden.
    let (ok, t) = run(&[
        "vortex",
        "sim",
        "--nodes",
        "4",
        "--messages",
        "3",
        "--redundancy",
        "1/1",
    ]);
    assert!(ok, "{t}");
    assert!(t.contains("lost 3"), "{t}");
}

#[test]
fn bad_simulation_arguments_are_refused_with_reasons() {
    for (args, says) in [
        (vec!["--redundancy", "4/2"], "need 1 ≤ k ≤ n ≤ 64"),
        (vec!["--redundancy", "two"], "must look like k/n"),
        (vec!["--redundancy", "3/3"], "n must exceed k"),
        (
            vec!["--nodes", "3", "--droppers", "2"],
            "fewer than two honest nodes",
        ),
        (vec!["--hops", "0"], "--hops must be in 1..=8"),
        (vec!["--puzzle-bits", "30"], "minutes per identity"),
    ] {
        let mut all = vec!["vortex", "sim"];
        all.extend(args.iter());
        let (ok, t) = run(&all);
        assert!(!ok, "{args:?} was accepted: {t}");
        assert!(t.contains(says), "{args:?}: {t}");
    }
    let (ok, t) = run(&["bench", "vortex", "--scale", "0"]);
    assert!(!ok && t.contains("--scale must be in (0, 100]"), "{t}");
}
