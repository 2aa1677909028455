//! Fuzzing of what untrusted clients control. Property tests (proptest, 256
//! cases each; `PROPTEST_CASES=N` for a longer run by hand) over the pure functions: `parse_range` never panics, any
//! range it returns lies within the content, and `bytes=a-b` means exactly
//! what RFC 9110 says; `sanitize_file_name` leaves one bounded, printable
//! path component and is idempotent; `content_disposition` is a valid ASCII
//! header value from which `filename_from_disposition` reads the name back.
//! Two server bugs found here are fixed (see the properties' comments).
//! Then ~100 random and malformed multipart bodies (`FUZZ_MULTIPART_CASES=N`
//! for more) POSTed to a real server
//! (`run_multipart_fuzz`): never a 5xx, a file only from a body that holds
//! one (with exactly its name and bytes), no temp file or blob left behind.

mod common;

use axum::http::HeaderValue;
use cloudbuffer_server::error::ApiError;
use cloudbuffer_server::files::download::{parse_range, ByteRange};
use cloudbuffer_server::files::names::{
    content_disposition, filename_from_disposition, sanitize_file_name, MAX_NAME_BYTES,
};
use proptest::prelude::*;

/// Cases from `var`, or `default` when unset or not a positive number.
fn cases_from_env(var: &str, default: u32) -> u32 {
    std::env::var(var).ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(default)
}

fn config() -> ProptestConfig {
    // No regression files written into the source tree.
    let cases = cases_from_env("PROPTEST_CASES", 256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// What `parse_range` may answer for `value` against `size`.
fn check_range(value: Option<&str>, size: u64) {
    match parse_range(value, size) {
        Ok(ByteRange::Full) => {}
        Ok(ByteRange::Partial(start, end)) => {
            assert!(start <= end && end < size, "{value:?} / {size}: {start}-{end} outside the content");
            assert!(start > 0 || end < size - 1, "{value:?} / {size}: the whole content must be Full");
        }
        Err(ApiError::RangeNotSatisfiable { size: told }) => {
            assert_eq!(told, size, "{value:?}: 416 names the size");
            assert!(value.is_some(), "no Range header, no 416");
        }
        Err(other) => panic!("{value:?} / {size}: unexpected error {other:?}"),
    }
}

fn sizes() -> impl Strategy<Value = u64> {
    prop_oneof![0..=16u64, any::<u64>(), Just(u64::MAX)]
}

/// Range-like header values: units, digits past u64, spaces, lists.
const RANGE_LIKE: &str =
    "[ ]?(bytes|Bytes|items)?=?[ ]?[0-9]{0,21}[ ]?-?[ ]?[0-9]{0,21}(,[ ]?[0-9]{0,3}-[0-9]{0,3})?[ ]?";

/// Names with what hostile clients send: separators, dots, controls,
/// bidi and zero-width marks, whitespace, multi-byte characters, length.
fn hostile_names() -> impl Strategy<Value = String> {
    let fixed: Vec<&str> =
        "/|\\|.|..| |\0|\r\n\t|\u{202E}\u{200B}\u{2066}|\u{3000}\u{a0}|日本語é|.txt".split('|').collect();
    let piece = prop_oneof![
        "[a-zA-Z0-9_-]{1,12}",
        prop::sample::select(fixed).prop_map(String::from),
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        prop::collection::vec(piece.clone(), 0..12).prop_map(|p| p.concat()),
        prop::collection::vec(piece.clone(), 20..120).prop_map(|p| p.concat()),
        // Whitespace where a 255-byte cut falls.
        (
            250..256usize,
            prop::sample::select(vec![" ", "\u{3000}", "\u{a0}"]),
            prop::collection::vec(piece, 1..6)
        )
            .prop_map(|(n, ws, p)| "x".repeat(n) + ws + &p.concat()),
        any::<String>(),
    ]
}

/// Names with what confuses a header parser: `;`, `=`, quotes, `%`.
fn tricky_names() -> impl Strategy<Value = String> {
    let fixed = [";", "=", "\"", "'", "filename*=", "filename=", "UTF-8''", "%", "%2", "%41", "日本語é"];
    let piece = prop_oneof![
        "[a-zA-Z0-9 ._-]{1,8}",
        prop::sample::select(fixed.to_vec()).prop_map(String::from),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 1..12).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_range_never_panics_and_stays_within_the_content(
        value in proptest::option::of(prop_oneof![".{0,40}", RANGE_LIKE]),
        size in sizes(),
    ) {
        check_range(value.as_deref(), size);
    }

    #[test]
    fn a_well_formed_range_means_what_rfc_9110_says(a in sizes(), len in sizes(), size in sizes()) {
        let b = a.saturating_add(len);
        let value = format!("bytes={a}-{b}");
        let expected = if a >= size {
            None
        } else if a == 0 && b >= size - 1 {
            Some(ByteRange::Full)
        } else {
            Some(ByteRange::Partial(a, b.min(size - 1)))
        };
        match (parse_range(Some(&value), size), expected) {
            (Ok(got), Some(expected)) => prop_assert_eq!(got, expected, "{} / {}", value, size),
            (Err(ApiError::RangeNotSatisfiable { .. }), None) => {}
            (got, expected) => prop_assert!(false, "{} / {}: {:?}, expected {:?}", value, size, got, expected),
        }
        // The suffix form: the last n bytes.
        let n = len.max(1);
        let suffix = parse_range(Some(&format!("bytes=-{n}")), size);
        match suffix {
            Ok(ByteRange::Full) => prop_assert!(size > 0 && n >= size),
            Ok(ByteRange::Partial(start, end)) => prop_assert!(end == size - 1 && start == size - n),
            Err(_) => prop_assert_eq!(size, 0),
        }
    }

    #[test]
    fn sanitized_names_are_one_bounded_printable_component(raw in hostile_names()) {
        let name = sanitize_file_name(&raw);
        prop_assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES, "{:?} -> {:?}", raw, name);
        prop_assert!(name != "." && name != ".." && !name.chars().all(|c| c == '.'), "{:?} -> {:?}", raw, name);
        prop_assert!(!name.contains(['/', '\\', '\0']), "{:?} -> {:?}", raw, name);
        prop_assert!(!name.chars().any(char::is_control), "{:?} -> {:?}", raw, name);
        prop_assert!(!name.contains(['\u{202E}', '\u{200B}', '\u{2066}']), "{:?} -> {:?}", raw, name);
    }

    #[test]
    fn sanitizing_short_names_is_idempotent(raw in hostile_names().prop_filter("short", |r| r.len() <= 200)) {
        let once = sanitize_file_name(&raw);
        prop_assert_eq!(sanitize_file_name(&once), once.clone(), "{:?}", raw);
    }

    #[test]
    fn content_disposition_is_an_ascii_header_value(
        raw in prop_oneof![hostile_names(), tricky_names()],
        inline in any::<bool>(),
    ) {
        let name = sanitize_file_name(&raw);
        let value = content_disposition(if inline { "inline" } else { "attachment" }, &name);
        prop_assert!(value.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)), "{:?}", value);
        prop_assert!(HeaderValue::from_str(&value).is_ok(), "{:?}", value);
    }

    #[test]
    fn the_name_comes_back_from_content_disposition_without_semicolons(
        raw in prop_oneof![hostile_names(), tricky_names()].prop_filter("no ;", |r| !r.contains(';')),
    ) {
        let name = sanitize_file_name(&raw);
        let value = content_disposition("attachment", &name);
        prop_assert_eq!(filename_from_disposition(&value), Some(name.clone()), "{:?}", value);
    }
}

// Two properties that found server bugs (a cut ending on whitespace; a `;`
// inside the quoted filename), fixed since.
proptest! {
    #![proptest_config(config())]

    /// A name cut to 255 bytes keeps the whitespace at the cut, which the
    /// next pass trims: `"x"*254 + " y…"` → `"x"*254 + " "` → `"x"*254`.
    #[test]
    fn sanitizing_is_idempotent(raw in hostile_names()) {
        let once = sanitize_file_name(&raw);
        prop_assert_eq!(sanitize_file_name(&once), once.clone(), "{:?}", raw);
    }

    /// `filename_from_disposition` splits on every `;`, also inside the
    /// quoted `filename="…"`, and gives up (None) on a piece that looks like
    /// a broken `filename*=`: the name `;filename*=` does not come back from
    /// `attachment; filename=";filename*="; filename*=UTF-8''%3Bfilename%2A%3D`.
    #[test]
    fn the_name_comes_back_from_content_disposition(raw in prop_oneof![hostile_names(), tricky_names()]) {
        let name = sanitize_file_name(&raw);
        let value = content_disposition("attachment", &name);
        prop_assert_eq!(filename_from_disposition(&value), Some(name.clone()), "{:?}", value);
    }
}

#[tokio::test]
async fn malformed_multipart_bodies_never_store_a_file_or_leave_a_trace() {
    run_multipart_fuzz(cases_from_env("FUZZ_MULTIPART_CASES", 100).into()).await;
}

// --- multipart bodies over loopback ---------------------------------------------

/// What a body must lead to: a file with its name and bytes, a 4xx, or
/// either of the two (never another file, never a 5xx).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Stored,
    Rejected,
    Either,
}

/// xorshift, seeded per case: every run sends the same bodies.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn has(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn part(boundary: &str, headers: &[Vec<u8>], data: &[u8]) -> Vec<u8> {
    let mut out = format!("--{boundary}\r\n").into_bytes();
    for header in headers {
        out.extend_from_slice(header);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn file_headers(name: &[u8]) -> Vec<Vec<u8>> {
    let mut disposition = b"Content-Disposition: form-data; name=\"file\"; filename=\"".to_vec();
    disposition.extend_from_slice(name);
    disposition.push(b'"');
    vec![disposition, b"Content-Type: application/octet-stream".to_vec()]
}

fn note(boundary: &str, extra: Vec<Vec<u8>>) -> Vec<u8> {
    let mut headers = vec![b"Content-Disposition: form-data; name=\"note\"".to_vec()];
    headers.extend(extra);
    part(boundary, &headers, b"a note")
}

/// Case `i`: (kind, Content-Type, body, expectation, file name, file bytes).
fn case(i: u64) -> (&'static str, String, Vec<u8>, Expect, String, Vec<u8>) {
    let mut rng = Rng(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    const BCHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?";
    let b: String = (0..1 + rng.below(70)).map(|_| BCHARS[rng.below(BCHARS.len())] as char).collect();
    let content_type = if b.bytes().all(|c| c.is_ascii_alphanumeric()) && rng.below(2) == 0 {
        format!("multipart/form-data; boundary={b}")
    } else {
        format!("multipart/form-data; boundary=\"{b}\"")
    };
    const NAME: &[&str] = &["a", "Z", "0", " ", ".", "-", "_", "é", "日本", "report", ".txt"];
    let name = format!("f{}{i}", (0..rng.below(8)).map(|_| NAME[rng.below(NAME.len())]).collect::<String>());
    let mut data = common::pseudo_random(1 + rng.below(4096), 1000 + i);
    if i % 12 == 11 {
        // NULs and a near-miss of the delimiter inside the content.
        let last = b.as_bytes()[b.len() - 1];
        let miss = if last == b'X' { b'Y' } else { b'X' };
        data.extend_from_slice(b"\0\0\r\n--");
        data.extend_from_slice(&b.as_bytes()[..b.len() - 1]);
        data.extend_from_slice(&[miss, 0, b'\r', b'\n', b'-']);
    }
    if has(&data, format!("\r\n--{b}").as_bytes()) {
        data.iter_mut().filter(|c| **c == b'\r').for_each(|c| *c = b'\n');
    }
    let file = part(&b, &file_headers(name.as_bytes()), &data);
    let close = format!("--{b}--\r\n").into_bytes();
    let valid = [file.clone(), close.clone()].concat();
    let (kind, body, expect) = match i % 12 {
        0 => {
            let preamble: &[u8] = if rng.below(2) == 0 { b"" } else { b"a preamble\r\n" };
            let lead = if rng.below(2) == 0 { Vec::new() } else { note(&b, Vec::new()) };
            let body = [preamble, &lead, &file, &note(&b, Vec::new()), &close, b"epilogue"].concat();
            ("well-formed", body, Expect::Stored)
        }
        1 => {
            let second = part(&b, &file_headers(b"second.bin"), b"second part's bytes");
            ("duplicate file parts", [file.clone(), second, close].concat(), Expect::Stored)
        }
        2 => {
            let end = file.len() - 2 + format!("\r\n--{b}").len(); // the delimiter after the content
            let cut = rng.below(end - 1);
            ("truncated", valid[..cut].to_vec(), Expect::Rejected)
        }
        3 => ("wrong boundary", valid, Expect::Rejected),
        4 => {
            let mut body = valid;
            if rng.below(2) == 0 {
                body.drain(b.len() + 2..b.len() + 4); // CRLF after the opening boundary
            } else {
                let at = file.len() - 2;
                body.drain(at..at + 2); // CRLF before the closing boundary
            }
            ("missing CRLF", body, Expect::Rejected)
        }
        5 => {
            let mut headers = part(&b, &file_headers(name.as_bytes()), b"");
            headers.truncate(headers.len() - 4); // "\r\n" (blank line) and "\r\n" (end of content)
            let body = [&headers[..], b"@", &data, b"\r\n", &close].concat();
            ("no blank line", body, Expect::Rejected)
        }
        6 => {
            let size = [1 << 10, 60 << 10, (64 << 10) + 1, 100 << 10, 300 << 10][rng.below(5)];
            let pad = [b"X-Pad: ".to_vec(), vec![b'a'; size]].concat();
            let body = if rng.below(2) == 0 {
                let mut headers = file_headers(name.as_bytes());
                headers.push(pad);
                [part(&b, &headers, &data), close].concat()
            } else {
                [note(&b, vec![pad]), valid].concat()
            };
            ("huge header line", body, Expect::Either)
        }
        7 => {
            let headers = match rng.below(3) {
                0 => file_headers(format!("{name}\0.exe").as_bytes()),
                1 => [file_headers(name.as_bytes()), vec![b"X-\0Nul: v\0".to_vec()]].concat(),
                _ => vec![b"Content-Disposition: form-data; name=\"fi\0le\"; filename=\"x\"".to_vec()],
            };
            ("NUL in headers", [part(&b, &headers, &data), close].concat(), Expect::Either)
        }
        8 => ("garbage", common::pseudo_random(rng.below(8192), 5000 + i), Expect::Rejected),
        9 => {
            let body = match rng.below(3) {
                0 => Vec::new(),
                1 => close,
                _ => [note(&b, Vec::new()), close].concat(),
            };
            ("no file part", body, Expect::Rejected)
        }
        10 => {
            let head =
                format!("--{b}\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\n\n");
            let body = [head.as_bytes(), &data, format!("\n--{b}--\n").as_bytes()].concat();
            ("LF line ends", body, Expect::Either)
        }
        _ => ("content near the delimiter", valid, Expect::Stored),
    };
    let content_type = match kind {
        "wrong boundary" => {
            let at = content_type.rfind(&b).unwrap();
            format!("{}{b}x{}", &content_type[..at], &content_type[at + b.len()..])
        }
        "no file part" if i % 24 == 9 => "multipart/form-data".to_string(),
        _ => content_type,
    };
    (kind, content_type, body, expect, sanitize_file_name(&name), data)
}

async fn run_multipart_fuzz(cases: u64) {
    let server = common::TestServer::start_with(|s| {
        s.max_files = Some(10_000);
        s.quota_bytes = Some(1 << 40);
    })
    .await;
    let user = server.register("fuzzer").await;
    let mut stored = std::collections::BTreeMap::new(); // id -> hash
    let mut outcomes = std::collections::BTreeMap::<(&str, u16), usize>::new();
    for i in 0..cases {
        let (kind, content_type, body, expect, name, data) = case(i);
        let what = format!("case {i} ({kind}, {} bytes, {content_type:?})", body.len());
        let response = server
            .as_user(&user, reqwest::Method::POST, "/api/v1/files")
            .header("content-type", content_type.as_str())
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: no response: {e}"));
        let status = response.status();
        let json: serde_json::Value =
            response.json().await.unwrap_or_else(|e| panic!("{what}: {status}, body not JSON: {e}"));
        *outcomes.entry((kind, status.as_u16())).or_default() += 1;
        assert!(!status.is_server_error(), "{what}: {status} {json}");
        if status == reqwest::StatusCode::CREATED {
            assert_ne!(expect, Expect::Rejected, "{what}: a malformed body became a file: {json}");
            assert_eq!(json["name"], name.as_str(), "{what}: {json}");
            assert_eq!(json["size"], data.len(), "{what}: {json}");
            assert_eq!(json["hash"], common::blake3_hex(&data), "{what}: {json}");
            stored.insert(json["id"].as_str().unwrap().to_string(), common::blake3_hex(&data));
        } else {
            assert_ne!(expect, Expect::Stored, "{what}: a well-formed body was refused: {status} {json}");
            assert!(status.is_client_error(), "{what}: {status} {json}");
            assert!(json["error"]["code"].as_str().is_some_and(|c| !c.is_empty()), "{what}: {json}");
        }
    }
    eprintln!("outcomes (kind, status) -> count: {outcomes:?}");
    let created = outcomes.iter().filter(|((_, s), _)| *s == 201).map(|(_, n)| n).sum::<usize>();
    assert!(
        created >= cases as usize / 4 && created < cases as usize * 3 / 4,
        "a lopsided run: {outcomes:?}"
    );

    let listed: std::collections::BTreeMap<String, String> = server
        .files(&user)
        .await
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), f["hash"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(listed, stored, "the files listed are exactly those acknowledged with 201");
    let hashes: std::collections::BTreeSet<&String> = stored.values().collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while (server.pending_uploads() > 0 || server.stored_blobs().len() != hashes.len())
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.pending_uploads(), 0, "temp files left behind");
    assert_eq!(server.stored_blobs().len(), hashes.len(), "blobs on disk: one per stored content");
}
