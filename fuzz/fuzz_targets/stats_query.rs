//! A statistics query's text, as a data provider receives it from a querier over the ledger
//! (`tabella_stats`): the `Statement` JSON (operation, schema, WHERE clause, noise), the WHERE
//! clause itself (`Predicate::parse`), decimals, rationals and CSV rows. Input: WHERE clause,
//! statement JSON and a `field,field,...` row separated by NUL bytes.
//!
//! A predicate prints as a canonical text that parses back to the same predicate; a decimal
//! and a rational print as text that parses back to themselves; a statement must round-trip
//! and its layout, predicate and noise plan must be computable without panicking; a parsed row
//! is evaluated by the predicate and answered by the statement.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tabella_fuzz::split_parts;
use tabella_stats::noise::Rational;
use tabella_stats::schema::{Decimal, Row, Schema};
use tabella_stats::statement::Statement;
use tabella_stats::Predicate;

fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| {
        Schema::new(1000)
            .and_then(|s| s.integer("age", 0, 120))
            .and_then(|s| s.decimal("bmi", 1, "10", "60"))
            .and_then(|s| s.text("region"))
            .expect("schema")
    })
}

fuzz_target!(init: tabella_fuzz::seeds::write_if_asked("stats_query"), |data: &[u8]| {
    let parts = split_parts(data, 3);
    let text = parts[0].and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("");
    let predicate = Predicate::parse(text, schema()).ok();
    if let Some(p) = &predicate {
        let printed = p.to_string();
        let back = Predicate::parse(&printed, schema()).expect("a printed predicate parses");
        assert_eq!(&back, p, "the printed predicate parses to another one");
        assert_eq!(back.to_string(), printed);
        let _ = p.columns();
    }
    if let Ok(d) = Decimal::parse(text) {
        let back = Decimal::parse(&d.to_string()).expect("a printed decimal parses");
        assert_eq!(back, d);
    }
    if let Ok(r) = Rational::parse(text) {
        let back = Rational::parse(&r.to_string()).expect("a printed rational parses");
        assert_eq!(back, r);
    }
    let row = parts[2]
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| Row::parse(schema(), &s.split(',').collect::<Vec<_>>()).ok());
    if let (Some(p), Some(row)) = (&predicate, &row) {
        let _ = p.eval(row);
    }
    if let Some(st) = parts[1].and_then(|b| serde_json::from_slice::<Statement>(b).ok()) {
        let once = serde_json::to_vec(&st).unwrap();
        let back: Statement = serde_json::from_slice(&once).unwrap();
        assert_eq!(back, st);
        let _ = st.to_bytes();
        let layout = st.layout();
        let _ = st.predicate();
        let _ = st.noise_plan();
        if layout.is_ok() {
            if let Some(row) = row.as_ref().filter(|_| st.schema == *schema()) {
                let _ = st.answer(std::slice::from_ref(row));
            }
        }
    }
});
