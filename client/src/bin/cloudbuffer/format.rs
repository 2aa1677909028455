//! Text for people: durations in and out, relative times, aligned tables,
//! and safe local file names.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

pub use cloudbuffer_client::names::{printable, safe_file_name};
pub use cloudbuffer_client::transfer::human_bytes;

/// Parses `90s`, `10m`, `2h`, `1d`, `1h30m` (units s, m, h, d, each at
/// most once, largest first) into seconds. A bare number is refused: is
/// `10` ten seconds or ten minutes?
pub fn parse_duration(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let invalid = || format!("{text:?} is not a duration: use e.g. 90s, 10m, 2h, 1d or 1h30m");
    if text.is_empty() {
        return Err(invalid());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?} needs a unit: e.g. {text}s, {text}m or {text}h"));
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    let mut last_unit = u64::MAX;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let n = number.unwrap_or(0).checked_mul(10).and_then(|n| n.checked_add(digit.into()));
            number = Some(n.ok_or_else(|| format!("{text:?} is too long a duration"))?);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(invalid()),
        };
        // Each unit once, largest first: "1h30m", not "30m1h" or "1m1m".
        let n = number.take().ok_or_else(invalid)?;
        if unit >= last_unit {
            return Err(invalid());
        }
        last_unit = unit;
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    if number.is_some() {
        return Err(invalid());
    }
    if total == 0 {
        return Err("a duration must be longer than 0 s".into());
    }
    Ok(total)
}

/// `59 s`, `9 min`, `1 h 59 min`, `2 h`, `3 d 4 h`.
pub fn span(seconds: u64) -> String {
    let (d, h, m, s) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min"),
        (0, _, 0) => format!("{h} h"),
        (0, _, _) => format!("{h} h {m} min"),
        (_, 0, _) => format!("{d} d"),
        _ => format!("{d} d {h} h"),
    }
}

/// "in 1 h 59 min", or "expired".
pub fn expires_in(at: OffsetDateTime) -> String {
    let left = (at - OffsetDateTime::now_utc()).whole_seconds();
    if left <= 0 {
        "expired".into()
    } else {
        format!("in {}", span(left as u64))
    }
}

/// "3 min ago", or "just now".
pub fn ago(at: OffsetDateTime) -> String {
    let past = (OffsetDateTime::now_utc() - at).whole_seconds();
    if past < 60 {
        "just now".into()
    } else {
        format!("{} ago", span(past as u64))
    }
}

/// Columns padded to their widest cell; the last column is not padded.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[i] - cell.chars().count();
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// At most `max` characters on one line, with "…" when cut, and no
/// terminal controls (see [`printable`]).
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let flat = flat.trim();
    if flat.chars().count() <= max {
        return printable(flat);
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    // Bidi controls are escaped, not cut: they would reorder the row.
    printable(&cut)
}

/// `dir/name`, or `dir/name (1).ext`, `dir/name (2).ext`… for the first
/// that does not exist yet.
pub fn unused_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !exists(&first) {
        return first;
    }
    (1u64..)
        .map(|n| dir.join(cloudbuffer_client::names::numbered(name, n)))
        .find(|candidate| !exists(candidate))
        .unwrap_or(first)
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("10m"), Ok(600));
        assert_eq!(parse_duration("2h"), Ok(7200));
        assert_eq!(parse_duration("1h30m"), Ok(5400));
        assert_eq!(parse_duration("1d2h3m4s"), Ok(93_784));
        assert_eq!(parse_duration("2H"), Ok(7200));
        assert_eq!(parse_duration(" 45s "), Ok(45));
        for bad in
            ["", "h", "10", "10x", "1h30", "30m1h", "1m1m", "0m", "0", "-5m", "1.5h", "99999999999999999999d"]
        {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn spans() {
        assert_eq!(span(0), "0 s");
        assert_eq!(span(59), "59 s");
        assert_eq!(span(60), "1 min");
        assert_eq!(span(7199), "1 h 59 min");
        assert_eq!(span(7200), "2 h");
        assert_eq!(span(86_400 + 3600 * 4 + 5), "1 d 4 h");
        assert_eq!(span(86_400 * 2 + 30), "2 d");
    }

    #[test]
    fn relative_times() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(expires_in(now - time::Duration::seconds(5)), "expired");
        let later = expires_in(now + time::Duration::seconds(7199 + 30));
        assert!(later == "in 1 h 59 min" || later == "in 2 h", "{later}");
        assert_eq!(ago(now), "just now");
        assert_eq!(ago(now - time::Duration::seconds(185)), "3 min ago");
    }

    #[test]
    fn tables_align() {
        let text = table(&["ID", "NAME", "SIZE"], &[vec!["a".into(), "long name".into(), "1 KiB".into()]]);
        assert_eq!(text, "ID  NAME       SIZE\na   long name  1 KiB\n");
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("a\u{202e}b", 10), "a\\u{202e}b");
    }

    #[test]
    fn unused_paths_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(unused_path(dir.path(), "a.txt"), dir.path().join("a.txt"));
        std::fs::write(dir.path().join("a.txt"), "").unwrap();
        assert_eq!(unused_path(dir.path(), "a.txt"), dir.path().join("a (1).txt"));
        std::fs::write(dir.path().join("a (1).txt"), "").unwrap();
        assert_eq!(unused_path(dir.path(), "a.txt"), dir.path().join("a (2).txt"));
        std::fs::write(dir.path().join(".bashrc"), "").unwrap();
        assert_eq!(unused_path(dir.path(), ".bashrc"), dir.path().join(".bashrc (1)"));
        std::fs::write(dir.path().join("README"), "").unwrap();
        assert_eq!(unused_path(dir.path(), "README"), dir.path().join("README (1)"));
    }
}
