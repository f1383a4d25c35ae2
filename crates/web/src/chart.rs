//! Accessible bar charts as server-rendered SVG: horizontal bars (long names fit on a phone),
//! every value written as text beside its bar (nothing depends on colour or hover), a `<title>`
//! per bar and a `<title>`/`<desc>` for the chart (WAI-ARIA `role="img"`). Colours come from the
//! stylesheet, so the chart follows the page's light or dark scheme. The page shows the same
//! numbers in a table next to the chart; the chart adds to the table, it does not replace it.

use std::fmt::Write as _;

/// Escapes text for HTML and SVG (`& < > " '`).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Row height, label column and bar area, in SVG units.
const ROW: u32 = 28;
const LABEL: u32 = 170;
const BARS: u32 = 330;
const WIDTH: u32 = LABEL + BARS + 70;

/// A horizontal bar chart of `rows` (label, value); `id` must be unique on the page; `unit`
/// names what is counted ("votes", "points").
pub fn hbar(id: &str, title: &str, rows: &[(String, u64)], unit: &str) -> String {
    let total: u64 = rows.iter().map(|(_, v)| *v).sum();
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let height = ROW * rows.len() as u32 + 8;
    let pct = |v: u64| {
        if total == 0 {
            0.0
        } else {
            100.0 * v as f64 / total as f64
        }
    };
    let desc = rows
        .iter()
        .map(|(l, v)| format!("{l}: {v} {unit} ({:.0}%)", pct(*v)))
        .collect::<Vec<_>>()
        .join("; ");
    let id = esc(id);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(&desc)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = ROW * i as u32 + 4;
        let w = if max == 0 {
            0
        } else {
            ((u128::from(*value) * u128::from(BARS)) / u128::from(max)) as u32
        };
        let _ = write!(
            s,
            "<g><title>{}: {value} {}, {:.0}%</title><text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{}\" rx=\"3\"></rect><text class=\"value\" x=\"{}\" y=\"{}\">{value}</text></g>",
            esc(label),
            esc(unit),
            pct(*value),
            LABEL - 8,
            y + ROW / 2 + 1,
            esc(&shorten(label, 24)),
            ROW - 8,
            LABEL + w + 6,
            y + ROW / 2 + 1,
        );
    }
    s.push_str("</svg>");
    s
}

/// Ballots committed so far, block by block: one column per point (height, running total),
/// at most 40 columns (when there are more, evenly spaced points and the last are kept: the
/// totals are cumulative, so nothing is lost but resolution). The block height is the time
/// axis, because block headers carry no clock.
pub fn cumulative(id: &str, title: &str, points: &[(u64, u64)], unit: &str) -> String {
    const MAX: usize = 40;
    const H: u32 = 160;
    let kept: Vec<(u64, u64)> = if points.len() <= MAX {
        points.to_vec()
    } else {
        let step = points.len().div_ceil(MAX);
        let mut v: Vec<_> = points.iter().step_by(step).copied().collect();
        if let (Some(last), Some(kept_last)) = (points.last(), v.last()) {
            if kept_last != last {
                v.push(*last);
            }
        }
        v
    };
    let max = kept.iter().map(|p| p.1).max().unwrap_or(0);
    let col = 14u32;
    let gap = 4u32;
    let left = 40u32;
    let width = left + (col + gap) * kept.len().max(1) as u32 + 10;
    let id = esc(id);
    let h = H + 24;
    let desc = match (kept.first(), kept.last()) {
        (Some(a), Some(b)) => format!(
            "{} {unit} at block {}, rising to {} {unit} at block {}",
            a.1, a.0, b.1, b.0
        ),
        _ => format!("no {unit} yet"),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart steps\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" viewBox=\"0 0 {width} {h}\" width=\"{width}\" height=\"{h}\"><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc><text class=\"value\" x=\"0\" y=\"12\">{max}</text><text class=\"value\" x=\"0\" y=\"{H}\">0</text>",
        esc(title),
        esc(&desc)
    );
    for (i, (h, v)) in kept.iter().enumerate() {
        let bh = if max == 0 {
            0
        } else {
            ((u128::from(*v) * u128::from(H - 10)) / u128::from(max)) as u32
        };
        let x = left + (col + gap) * i as u32;
        let _ = write!(
            s,
            "<g><title>block {h}: {v} {}</title><rect class=\"bar\" x=\"{x}\" y=\"{}\" width=\"{col}\" height=\"{bh}\"></rect></g>",
            esc(unit),
            H - bh,
        );
        if i == 0 || i + 1 == kept.len() {
            let _ = write!(
                s,
                "<text class=\"label\" x=\"{x}\" y=\"{}\">{h}</text>",
                H + 16
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_written_and_text_is_escaped() {
        let rows = vec![
            ("Ada".to_string(), 3),
            ("<script>alert(1)</script>".to_string(), 2),
            ("(blank)".to_string(), 0),
        ];
        let svg = hbar("c1", "Rector & \"co\"", &rows, "votes");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;"));
        assert!(svg.contains("Rector &amp; &quot;co&quot;"));
        for v in [">3</text>", ">2</text>", ">0</text>"] {
            assert!(svg.contains(v), "{v}");
        }
        assert!(svg.contains("Ada: 3 votes (60%)"));
        assert!(svg.contains("width=\"0\""), "a zero bar has no width");
        assert!(!svg.contains("NaN"));
        assert_eq!(svg.matches("<g>").count(), 3);
    }

    #[test]
    fn an_empty_or_all_zero_chart_is_well_formed() {
        let svg = hbar("c", "t", &[], "votes");
        assert!(svg.ends_with("</svg>") && !svg.contains("NaN"));
        let svg = hbar("c", "t", &[("a".into(), 0), ("b".into(), 0)], "votes");
        assert!(!svg.contains("NaN") && svg.contains("(0%)"));
    }

    #[test]
    fn the_running_total_keeps_its_last_point_and_at_most_forty_columns() {
        let pts: Vec<(u64, u64)> = (1..=100).map(|h| (h, h * 2)).collect();
        let svg = cumulative("b", "Ballots", &pts, "ballots");
        assert!(svg.matches("<rect").count() <= 41);
        assert!(svg.contains("<title>block 100: 200 ballots</title>"));
        assert!(svg.contains("rising to 200 ballots at block 100"));
        let svg = cumulative("b", "Ballots", &[], "ballots");
        assert!(svg.contains("no ballots yet") && svg.ends_with("</svg>"));
    }

    #[test]
    fn long_labels_are_shortened_on_the_bar_but_kept_in_full_in_titles() {
        let long = "A candidate with a very long name indeed".to_string();
        let svg = hbar("c", "t", &[(long.clone(), 1)], "votes");
        assert!(svg.contains(&format!("<title>{long}: 1 votes, 100%</title>")));
        assert!(svg.contains('…'));
    }
}
