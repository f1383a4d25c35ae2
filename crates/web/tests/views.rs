//! The election page of a simulated, tallied election: every number of the state is on the
//! page, charts and tables agree, hostile text is escaped, and a page before the tally says so.

use askama::Template;
use tabella_election::manifest::{Contest, ContestKind};
use tabella_election::simulate::{simulate, SimulationConfig};
use tabella_web::views::{election_page, ElectionRow, IndexPage, NodeView};

fn config() -> SimulationConfig {
    SimulationConfig {
        election_id: "web-test".into(),
        voters: 40,
        tables: 2,
        min_group_size: 1,
        contests: Some(vec![
            Contest {
                title: "Rector <b>& co</b>".into(),
                kind: ContestKind::SingleChoice,
                candidates: vec!["Ada".into(), "<script>alert(1)</script>".into()],
                allow_blank: true,
            },
            Contest {
                title: "Budget".into(),
                kind: ContestKind::Preferential { ranks: 2 },
                candidates: vec!["Library".into(), "Labs".into(), "Sports".into()],
                allow_blank: false,
            },
        ]),
        ..SimulationConfig::default()
    }
}

#[test]
fn a_tallied_election_shows_every_number_with_charts() {
    let out = simulate(&config(), &mut |_, _, _| {}).unwrap();
    let page = election_page("web-test", &out.state).unwrap();
    let results = page.results.as_ref().expect("tallied");
    let r = out.state.results().unwrap();
    assert_eq!(results.ballots, r.overall.ballots);
    // Remote voters and two tables are shown as columns, with their ballots.
    assert_eq!(results.group_ballots.len(), r.groups.len());
    assert!(results.group_ballots.len() >= 2);
    for (ci, c) in results.contests.iter().enumerate() {
        for (i, row) in c.rows.iter().enumerate() {
            assert_eq!(row.overall, r.overall.contests[ci][i]);
            for (gi, g) in r.groups.iter().enumerate() {
                assert_eq!(row.groups[gi], g.contests[ci][i]);
            }
        }
    }
    assert_eq!(results.contests[1].unit, "points");
    let html = page.render().unwrap();
    assert!(html.contains("<svg class=\"chart\""));
    assert!(!html.contains("<script>"), "candidate names are escaped");
    assert!(html.contains("&lt;script&gt;"));
    assert!(!html.contains("<b>& co</b>"), "titles are escaped");
    assert!(html.contains("aria-current=\"step\""));
    assert!(html.contains("✓ balanced"));
    for t in ["Table 1", "Table 2", "remote voters"] {
        assert!(html.contains(t), "{t}");
    }
    for row in &results.contests[0].rows {
        assert!(html.contains(&format!("<td class=\"num\">{}</td>", row.overall)));
    }
}

#[test]
fn before_the_tally_the_page_says_what_comes() {
    let cfg = config();
    let out = simulate(&cfg, &mut |_, _, _| {}).unwrap();
    // Replay the log up to the close: the same election, not yet tallied.
    let mut state = tabella_election::state::ElectionState::new();
    for env in &out.record.log {
        if state.phase() == Some(tabella_election::state::Phase::Closed) {
            break;
        }
        state.apply(env).unwrap();
    }
    let page = election_page("web-test", &state).unwrap();
    assert!(page.results.is_none());
    // The ceremony is over (every trustee posted rounds 0-2), nobody has decrypted yet.
    assert!(page.joint_key);
    assert_eq!(page.decryptions, 0);
    assert!(page
        .ceremony
        .iter()
        .all(|t| t.key && t.dealing && t.settled && !t.decrypted));
    let html = page.render().unwrap();
    assert!(html.contains("Not published yet"));
    assert!(
        html.contains("0 of 2 decryptions needed are posted"),
        "{html}"
    );
    assert!(election_page("x", &tabella_election::state::ElectionState::new()).is_none());
}

#[test]
fn the_index_lists_elections_and_escapes_titles() {
    let page = IndexPage {
        node: NodeView {
            height: 12,
            genesis: "ab".repeat(32),
            validators: 1,
        },
        elections: vec![ElectionRow {
            id: "e1".into(),
            title: "<img src=x onerror=alert(1)>".into(),
            phase: "open".into(),
            accepted: 7,
            last_height: 11,
        }],
    };
    let html = page.render().unwrap();
    assert!(html.contains("href=\"/elections/e1\""));
    assert!(
        html.contains("&#60;img"),
        "askama escapes with numeric entities"
    );
    assert!(!html.contains("<img"));
    assert!(html.contains("1 validator."));
}

#[test]
fn the_receipt_page_escapes_what_was_typed_and_the_verdicts_are_counted() {
    use tabella_web::explorer::{verdict_cells, ReceiptOutcome, ReceiptPage};
    let page = ReceiptPage {
        id: "e1".into(),
        title: "T".into(),
        asked: "\"><script>alert(1)</script>".into(),
        outcome: Some(ReceiptOutcome::Malformed("This is not a receipt".into())),
    };
    let html = page.render().unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("role=\"alert\""));
    let (cells, counts) = verdict_cells(&[1, 1, 0, 2, 3, 1]);
    assert_eq!(cells, "✓✓✗–?✓");
    assert_eq!(counts, [1, 3, 1, 1]);
}
