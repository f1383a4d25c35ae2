//! A minimal stderr logger for the node's and the engine's `tracing` events, switched on by the
//! `TABELLA_LOG` environment variable (off when unset).
//!
//! The variable is a default level optionally followed by per-target levels, comma-separated:
//! `TABELLA_LOG=info` or `TABELLA_LOG=warn,tabella_node=info,arc_malachitebft_sync=debug`. A
//! target matches by prefix (the longest matching prefix wins). Levels: `error`, `warn`, `info`,
//! `debug`, `trace`. Each event is one line: seconds since start, level, target, message and
//! fields.

use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// The filter parsed from `TABELLA_LOG`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Filter {
    default: Option<Level>,
    targets: Vec<(String, Option<Level>)>,
}

fn parse_level(s: &str) -> Result<Option<Level>, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "off" => Ok(None),
        "error" => Ok(Some(Level::ERROR)),
        "warn" => Ok(Some(Level::WARN)),
        "info" => Ok(Some(Level::INFO)),
        "debug" => Ok(Some(Level::DEBUG)),
        "trace" => Ok(Some(Level::TRACE)),
        other => Err(format!(
            "unknown log level `{other}` (use off, error, warn, info, debug or trace)"
        )),
    }
}

impl Filter {
    fn parse(spec: &str) -> Result<Filter, String> {
        let mut filter = Filter {
            default: None,
            targets: Vec::new(),
        };
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.split_once('=') {
                Some((target, level)) => filter
                    .targets
                    .push((target.trim().to_string(), parse_level(level)?)),
                None => filter.default = parse_level(item)?,
            }
        }
        // Longest prefix first, so the most specific target decides.
        filter
            .targets
            .sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(filter)
    }

    fn enabled(&self, target: &str, level: &Level) -> bool {
        let max = self
            .targets
            .iter()
            .find(|(t, _)| target.starts_with(t.as_str()))
            .map_or(self.default, |(_, l)| *l);
        // In `tracing`, more verbose levels compare greater.
        max.is_some_and(|max| *level <= max)
    }
}

struct StderrLogger {
    filter: Filter,
    start: Instant,
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            let _ = write!(self.0, " {value}");
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl Subscriber for StderrLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata.target(), metadata.level())
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let meta = event.metadata();
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let t = self.start.elapsed().as_secs_f64();
        let line = format!(
            "{t:10.3} {:5} {}:{}\n",
            meta.level(),
            meta.target(),
            fields.0
        );
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// Installs the stderr logger if `TABELLA_LOG` is set (and no other logger is installed).
/// Returns an error for a malformed `TABELLA_LOG`.
pub fn init_from_env() -> Result<(), String> {
    let Ok(spec) = std::env::var("TABELLA_LOG") else {
        return Ok(());
    };
    let filter = Filter::parse(&spec).map_err(|e| format!("TABELLA_LOG: {e}"))?;
    let logger = StderrLogger {
        filter,
        start: Instant::now(),
    };
    // Another logger already installed (e.g. by an embedding program) wins.
    let _ = tracing::subscriber::set_global_default(logger);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_picks_the_longest_matching_target() {
        let f = Filter::parse("warn,arc_malachitebft=info,arc_malachitebft_sync=debug").unwrap();
        assert!(f.enabled("tabella_node::run", &Level::WARN));
        assert!(!f.enabled("tabella_node::run", &Level::INFO));
        assert!(f.enabled("arc_malachitebft_core_consensus", &Level::INFO));
        assert!(!f.enabled("arc_malachitebft_core_consensus", &Level::DEBUG));
        assert!(f.enabled("arc_malachitebft_sync::handle", &Level::DEBUG));
        assert!(!f.enabled("arc_malachitebft_sync::handle", &Level::TRACE));
        let off = Filter::parse("off").unwrap();
        assert!(!off.enabled("x", &Level::ERROR));
    }

    #[test]
    fn bad_levels_are_refused() {
        assert!(Filter::parse("loud").is_err());
        assert!(Filter::parse("info,x=loud").is_err());
    }
}
