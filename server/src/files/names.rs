//! File names from untrusted clients, and the headers built from them.
//!
//! Names never reach the file system (blobs are stored by hash), but they
//! are echoed in JSON and in `Content-Disposition`, so they are reduced to
//! a single printable path component of bounded length.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Longest stored name, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// A name used when nothing printable is left.
const FALLBACK_NAME: &str = "file";

/// Reduces a client-supplied name to a safe display name: the last path
/// component, without control characters (NUL included), trimmed, not only
/// dots, at most 255 bytes (keeping a short extension).
pub fn sanitize_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let printable: String = last
        .chars()
        .filter(|c| {
            !c.is_control()
                && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect();
    let trimmed = printable.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c == '.') {
        return FALLBACK_NAME.to_string();
    }
    // The cut may end on whitespace: trim again, so a second pass is a no-op.
    truncate_keeping_extension(trimmed, MAX_NAME_BYTES).trim_end().to_string()
}

fn truncate_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_string();
    }
    let extension = match name.rfind('.') {
        Some(dot) if dot > 0 && name.len() - dot <= 16 => &name[dot..],
        _ => "",
    };
    let mut stem_end = max - extension.len();
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    format!("{}{}", &name[..stem_end], extension)
}

/// Characters left as-is in RFC 5987 `filename*` values.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// `attachment` with an ASCII fallback name and the exact UTF-8 name
/// (RFC 6266 / RFC 5987).
pub fn content_disposition(disposition: &str, name: &str) -> String {
    // Written into one buffer: this runs on every download.
    let mut value = String::with_capacity(disposition.len() + 3 * name.len() + 32);
    value.push_str(disposition);
    value.push_str("; filename=\"");
    value.extend(name.chars().map(|c| {
        if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
            c
        } else {
            '_'
        }
    }));
    value.push_str("\"; filename*=UTF-8''");
    value.extend(utf8_percent_encode(name, ATTR_CHAR));
    value
}

pub use cloudbuffer_protocol::disposition::filename_from_disposition;

/// The file name a client sent in `X-Filename` (percent-encoded UTF-8) or
/// `Content-Disposition` (`filename*=UTF-8''…` preferred over `filename=`).
/// Bytes that are not UTF-8 are replaced, never rejected: the result is
/// sanitized by the caller anyway.
pub fn name_from_headers(headers: &axum::http::HeaderMap) -> Option<String> {
    if let Some(value) = headers.get("x-filename") {
        let raw = String::from_utf8_lossy(value.as_bytes());
        let decoded = percent_encoding::percent_decode_str(&raw).decode_utf8_lossy().into_owned();
        return Some(decoded).filter(|n| !n.trim().is_empty());
    }
    let value = headers.get(axum::http::header::CONTENT_DISPOSITION)?;
    filename_from_disposition(&String::from_utf8_lossy(value.as_bytes()))
}

/// The media type from the name's extension, else from the first bytes.
pub fn content_type_for(name: &str, head: &[u8]) -> String {
    if let Some(mime) = mime_guess::from_path(name).first() {
        return mime.essence_str().to_string();
    }
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_string();
    }
    if !head.is_empty() && std::str::from_utf8(trim_partial_utf8(head)).is_ok() && !head.contains(&0) {
        return "text/plain; charset=utf-8".to_string();
    }
    "application/octet-stream".to_string()
}

/// Drops a UTF-8 sequence cut off at the end of a sniffing window.
fn trim_partial_utf8(head: &[u8]) -> &[u8] {
    match std::str::from_utf8(head) {
        Err(e) if e.error_len().is_none() => &head[..e.valid_up_to()],
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_safe_component() {
        assert_eq!(sanitize_file_name("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_file_name("..\\..\\win.ini"), "win.ini");
        assert_eq!(sanitize_file_name("a\0b\r\n.txt"), "ab.txt");
        assert_eq!(sanitize_file_name(".."), "file");
        assert_eq!(sanitize_file_name("....."), "file");
        assert_eq!(sanitize_file_name("dir/"), "file");
        assert_eq!(sanitize_file_name("  "), "file");
        assert_eq!(sanitize_file_name(".bashrc"), ".bashrc");
        assert_eq!(sanitize_file_name("évian \u{202E}txt.exe"), "évian txt.exe");
    }

    #[test]
    fn long_names_keep_their_extension_and_utf8() {
        let long = format!("{}.tar.gz", "é".repeat(3000));
        let clean = sanitize_file_name(&long);
        assert!(clean.len() <= MAX_NAME_BYTES);
        assert!(clean.ends_with(".gz"));
        assert!(clean.starts_with('é'));
    }

    #[test]
    fn disposition_has_ascii_fallback_and_utf8_name() {
        let header = content_disposition("attachment", "naïve \"résumé\".pdf");
        assert_eq!(
            header,
            "attachment; filename=\"na_ve _r_sum__.pdf\"; filename*=UTF-8''na%C3%AFve%20%22r%C3%A9sum%C3%A9%22.pdf"
        );
    }

    #[test]
    fn names_from_disposition() {
        assert_eq!(filename_from_disposition("attachment; filename=\"a b.txt\"").as_deref(), Some("a b.txt"));
        assert_eq!(
            filename_from_disposition("attachment; filename=\"x\"; filename*=UTF-8''%C3%A9t%C3%A9.txt")
                .as_deref(),
            Some("été.txt")
        );
        assert_eq!(filename_from_disposition("inline").as_deref(), None);
        assert_eq!(filename_from_disposition("attachment; filename=\"\"").as_deref(), None);
    }

    #[test]
    fn content_types_from_name_then_content() {
        assert_eq!(content_type_for("a.png", b""), "image/png");
        assert_eq!(content_type_for("noext", b"\x89PNG\r\n\x1a\n0000"), "image/png");
        assert_eq!(content_type_for("noext", b"hello"), "text/plain; charset=utf-8");
        assert_eq!(content_type_for("noext", b"\x00\x01\x02"), "application/octet-stream");
    }
}
