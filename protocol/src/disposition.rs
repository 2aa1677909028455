//! Reading the file name out of a `Content-Disposition` header, as the
//! server does for uploads and the clients for downloads.

/// The filename parameter of a Content-Disposition value.
pub fn filename_from_disposition(value: &str) -> Option<String> {
    let mut plain = None;
    for param in parameters(value) {
        let Some((key, val)) = param.split_once('=') else { continue };
        match key.trim().to_ascii_lowercase().as_str() {
            "filename*" => {
                // A broken extended value falls back to the plain one.
                let Some(encoded) = val.trim().splitn(3, '\'').nth(2) else { continue };
                let name = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned();
                if !name.trim().is_empty() {
                    return Some(name);
                }
            }
            "filename" => plain = Some(val.trim().trim_matches('"').replace("\\\"", "\"")),
            _ => {}
        }
    }
    plain.filter(|n| !n.trim().is_empty())
}

/// The `;`-separated parameters of a header value, trimmed; a `;` inside a
/// quoted string (with `\"` escapes) does not separate.
fn parameters(value: &str) -> Vec<&str> {
    let (mut pieces, mut start, mut quoted, mut escaped) = (Vec::new(), 0, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(value[start..].trim());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disposition_names() {
        let header = "attachment; filename=\"na_ve.pdf\"; filename*=UTF-8''na%C3%AFve.pdf";
        assert_eq!(filename_from_disposition(header).as_deref(), Some("naïve.pdf"));
        assert_eq!(filename_from_disposition("attachment; filename=\"a b.txt\"").as_deref(), Some("a b.txt"));
        assert_eq!(filename_from_disposition("attachment; filename=\"a;b.txt\"").as_deref(), Some("a;b.txt"));
        assert_eq!(
            filename_from_disposition("attachment; filename=\"x\"; filename*=broken").as_deref(),
            Some("x")
        );
        assert_eq!(filename_from_disposition("inline"), None);
    }
}
