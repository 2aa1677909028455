//! Names that come from elsewhere (the server, a share link, another
//! device) made safe to use locally: [`safe_file_name`] as one file name
//! inside a folder of our choosing, [`printable`] for a terminal.
//!
//! A file name is chosen by whoever uploaded the file, so it is hostile
//! until proven otherwise: it may climb out of the folder (`../x`), hide
//! itself (`.bashrc`), disguise its extension with bidi controls
//! (`exe\u{202e}txt.scr`), or be a name Windows opens as a device (`CON`).

/// Longest file name most file systems take, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// Used when nothing of a name is left.
pub const FALLBACK_NAME: &str = "download";

/// Extensions up to this many bytes (with the dot) survive shortening, so
/// `very-long….pdf` still opens as a PDF.
const MAX_KEPT_EXTENSION: usize = 32;

/// Characters Windows refuses in file names (the separators are gone by then).
const WINDOWS_RESERVED: [char; 9] = ['<', '>', ':', '"', '/', '\\', '|', '?', '*'];

/// Names Windows takes for devices whatever their extension (`nul.txt`);
/// superscript digits count too on Windows.
const DEVICE_NAMES: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];

/// True for the Unicode bidirectional controls, which reorder how the rest
/// of a name is shown.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters no local name keeps: control characters (NUL, newlines,
/// escapes) and bidi controls.
fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// A name from the server or a share made safe to create as one file in a
/// folder of our choosing:
/// - only its last path component (split on `/` and `\`);
/// - no control or bidi characters;
/// - no leading dots or spaces (no hidden files, never `.` or `..`), no
///   trailing dots or spaces (Windows drops them, so two names would meet);
/// - `<>:"/\|?*` become `_`;
/// - Windows device names (`CON`, `nul.txt`, `COM1`…) get a `_` prefix;
/// - at most [`MAX_NAME_BYTES`] bytes, keeping a short extension, never
///   splitting a character;
/// - [`FALLBACK_NAME`] when nothing is left.
///
/// Applying it twice changes nothing more.
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !is_unsafe_char(c))
        .map(|c| if WINDOWS_RESERVED.contains(&c) { '_' } else { c })
        .collect();
    let mut name = shorten(trim(&cleaned));
    if is_device_name(&name) {
        // Prefixed after shortening (which may have made the device name),
        // then shortened again: the `_` stays first, so it stays safe.
        name = shorten(&format!("_{name}"));
    }
    if name.is_empty() {
        FALLBACK_NAME.into()
    } else {
        name
    }
}

/// Without leading dots/whitespace and trailing dots/whitespace.
fn trim(name: &str) -> &str {
    let edge = |c: char| c == '.' || c.is_whitespace();
    name.trim_start_matches(edge).trim_end_matches(edge)
}

/// `name` cut to [`MAX_NAME_BYTES`] on a character boundary, keeping its
/// extension when that is short; never ends in a dot or space.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_string();
    }
    let edge = |c: char| c == '.' || c.is_whitespace();
    let extension = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_KEPT_EXTENSION => &name[dot..],
        _ => "",
    };
    let stem = &name[..name.len() - extension.len()];
    let stem = &stem[..floor_char_boundary(stem, MAX_NAME_BYTES - extension.len())];
    // The stem starts with what the name started with (never a dot or
    // space), so trimming its end cannot empty it.
    let stem = stem.trim_end_matches(edge);
    format!("{stem}{extension}")
}

/// `name (n).ext`: the `n`th alternative to a taken `name`, cut (before
/// the number) to stay within [`MAX_NAME_BYTES`].
pub fn numbered(name: &str, n: u64) -> String {
    let suffix = format!(" ({n})");
    let extension = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= MAX_KEPT_EXTENSION => &name[dot..],
        _ => "",
    };
    let stem = &name[..name.len() - extension.len()];
    let room = MAX_NAME_BYTES.saturating_sub(suffix.len() + extension.len());
    let stem = &stem[..floor_char_boundary(stem, room)];
    format!("{stem}{suffix}{extension}")
}

/// The largest index ≤ `at` that starts a character of `s`.
fn floor_char_boundary(s: &str, at: usize) -> usize {
    if at >= s.len() {
        return s.len();
    }
    (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0)
}

/// True for a name Windows opens as a device: `CON`, `prn.txt`,
/// `Com1.tar.gz`, `LPT9 .log`… (what comes before the first dot, with
/// trailing spaces dropped, case-insensitive).
pub fn is_device_name(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default().trim_end_matches(' ');
    let upper = stem.to_ascii_uppercase();
    if DEVICE_NAMES.contains(&upper.as_str()) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: Vec<char> = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && matches!(rest.as_slice(), ['0'..='9' | '\u{00B9}' | '\u{00B2}' | '\u{00B3}'])
}

/// `name` for a terminal: control and bidi characters written as escapes
/// (`\u{1b}`, `\u{202e}`), so a hostile name can neither move the cursor,
/// recolour or retitle the terminal, nor reorder what is shown after it.
pub fn printable(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if is_unsafe_char(c) || matches!(c, '\u{2028}' | '\u{2029}') {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_the_last_component_stays() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("..\\..\\boot.ini"), "boot.ini");
        assert_eq!(safe_file_name("/abs/path/"), FALLBACK_NAME);
        assert_eq!(safe_file_name("C:\\Users\\x\\a.txt"), "a.txt");
    }

    #[test]
    fn hidden_and_dot_names_are_refused() {
        assert_eq!(safe_file_name(".."), FALLBACK_NAME);
        assert_eq!(safe_file_name("."), FALLBACK_NAME);
        assert_eq!(safe_file_name(""), FALLBACK_NAME);
        assert_eq!(safe_file_name(".bashrc"), "bashrc");
        assert_eq!(safe_file_name(" . .profile"), "profile");
        assert_eq!(safe_file_name("report. . "), "report");
        assert_eq!(safe_file_name("a.tar.gz"), "a.tar.gz");
    }

    #[test]
    fn control_and_bidi_characters_go() {
        assert_eq!(safe_file_name("a\u{0}b\n.txt"), "ab.txt");
        assert_eq!(safe_file_name("invoice\u{202e}fdp.exe"), "invoicefdp.exe");
        assert_eq!(safe_file_name("\u{2066}x\u{2069}\u{200e}\u{200f}\u{061c}\u{1b}[31m"), "x[31m");
    }

    #[test]
    fn windows_reserved_characters_and_devices() {
        assert_eq!(safe_file_name("a<b>c:d\"e|f?g*h"), "a_b_c_d_e_f_g_h");
        assert_eq!(safe_file_name("CON"), "_CON");
        assert_eq!(safe_file_name("nul.txt"), "_nul.txt");
        assert_eq!(safe_file_name("Com1.tar.gz"), "_Com1.tar.gz");
        assert_eq!(safe_file_name("lpt9"), "_lpt9");
        assert_eq!(safe_file_name("AUX .log"), "_AUX .log");
        assert_eq!(safe_file_name("CONSOLE.txt"), "CONSOLE.txt");
        assert_eq!(safe_file_name("COM10"), "COM10");
        assert!(is_device_name("com\u{00B9}"));
    }

    #[test]
    fn long_names_keep_their_extension_and_characters() {
        let long = format!("{}.pdf", "é".repeat(200));
        let safe = safe_file_name(&long);
        assert!(safe.len() <= MAX_NAME_BYTES, "{}", safe.len());
        assert!(safe.ends_with("é.pdf"));
        let no_ext = "ab".repeat(200);
        assert_eq!(safe_file_name(&no_ext).len(), MAX_NAME_BYTES);
        // Cut to "CON" + spaces, then trimmed: still not a device.
        let sneaky = format!("CON{}x.txt", " ".repeat(300));
        assert_eq!(safe_file_name(&sneaky), "_CON.txt");
    }

    #[test]
    fn numbered_names_stay_short() {
        assert_eq!(numbered("a.txt", 1), "a (1).txt");
        assert_eq!(numbered(".bashrc", 2), ".bashrc (2)");
        assert_eq!(numbered("README", 3), "README (3)");
        let long = safe_file_name(&format!("{}.pdf", "é".repeat(200)));
        let alt = numbered(&long, 12);
        assert!(alt.len() <= MAX_NAME_BYTES && alt.ends_with(" (12).pdf"), "{alt}");
    }

    #[test]
    fn printable_escapes_what_a_terminal_obeys() {
        assert_eq!(printable("a\u{1b}]0;pwned\u{7}b"), "a\\u{1b}]0;pwned\\u{7}b");
        assert_eq!(printable("x\u{202e}txt.exe"), "x\\u{202e}txt.exe");
        assert_eq!(printable("naïve 名前.txt"), "naïve 名前.txt");
        assert_eq!(printable("a\nb"), "a\\u{a}b");
    }

    fn hostile_name() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            Just(".".to_string()),
            Just("..".to_string()),
            Just("/".to_string()),
            Just("\\".to_string()),
            Just(" ".to_string()),
            Just("CON".to_string()),
            Just("com1".to_string()),
            Just("\u{202e}".to_string()),
            Just("\u{0}".to_string()),
            Just("é".to_string()),
            Just("💾".to_string()),
            "[a-z<>:\"|?*]{1,8}",
            any::<char>().prop_map(String::from),
        ];
        prop::collection::vec(pieces, 0..120).prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn safe_names_hold_their_invariants(raw in hostile_name()) {
            let safe = safe_file_name(&raw);
            prop_assert!(!safe.is_empty());
            prop_assert!(safe.len() <= MAX_NAME_BYTES, "{} bytes", safe.len());
            prop_assert!(!safe.contains(['/', '\\']));
            prop_assert!(!safe.chars().any(|c| c.is_control() || is_bidi_control(c)));
            prop_assert!(!safe.chars().any(|c| WINDOWS_RESERVED.contains(&c)));
            prop_assert!(!safe.starts_with('.'));
            prop_assert!(!safe.ends_with(['.', ' ']));
            prop_assert!(!is_device_name(&safe));
            prop_assert_eq!(safe_file_name(&safe), safe.clone());
        }

        #[test]
        fn printable_names_have_no_terminal_controls(raw in hostile_name()) {
            let shown = printable(&raw);
            prop_assert!(!shown.chars().any(|c| c.is_control() || is_bidi_control(c)));
        }
    }
}
