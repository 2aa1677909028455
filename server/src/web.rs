//! The web app's files: compiled in from `server/web/` (see `build.rs`), or
//! read from a folder on every request while developing it
//! (`CLOUDBUFFER_WEB_DIR`). `index.html` names the other files with
//! `?v=__VERSION__`; the placeholder becomes a hash of every file, so a new
//! build's assets are never mixed with a browser's cached old ones.

use std::collections::HashMap;
use std::path::PathBuf;

use bytes::Bytes;

include!(concat!(env!("OUT_DIR"), "/web_files.rs"));

/// The page that starts the app.
pub const INDEX: &str = "index.html";
const VERSION_PLACEHOLDER: &str = "__VERSION__";

/// One file of the app.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Its bytes (`index.html` with the version filled in).
    pub body: Bytes,
    /// The same, gzipped, for text files (compressed once, at start).
    pub gzipped: Option<Bytes>,
    /// Its media type.
    pub content_type: &'static str,
}

/// Where the app's files come from.
#[derive(Debug)]
pub struct WebApp {
    files: HashMap<&'static str, Asset>,
    version: String,
    /// Set while developing the app: files are read from here each time.
    dev_dir: Option<PathBuf>,
}

impl WebApp {
    /// The files compiled into this build.
    pub fn embedded() -> WebApp {
        let mut hasher = blake3::Hasher::new();
        for (name, body) in WEB_FILES {
            hasher.update(&(name.len() as u64).to_le_bytes());
            hasher.update(name.as_bytes());
            hasher.update(&(body.len() as u64).to_le_bytes());
            hasher.update(body);
        }
        let version = hasher.finalize().to_hex()[..12].to_string();
        let files = WEB_FILES
            .iter()
            .map(|(name, body)| {
                let mut asset = asset(name, Bytes::from_static(body), &version);
                asset.gzipped = gzip(&asset);
                (*name, asset)
            })
            .collect();
        WebApp { files, version, dev_dir: None }
    }

    /// Files read from `dir` on every request (for working on the app
    /// without rebuilding the server); the version is `dev`.
    pub fn from_dir(dir: PathBuf) -> WebApp {
        WebApp { files: HashMap::new(), version: "dev".into(), dev_dir: Some(dir) }
    }

    /// `CLOUDBUFFER_WEB_DIR` when set, else the embedded files.
    pub fn from_env() -> WebApp {
        match std::env::var_os("CLOUDBUFFER_WEB_DIR") {
            Some(dir) if !dir.is_empty() => {
                tracing::warn!(dir = %PathBuf::from(&dir).display(), "serving the web app from a folder (development)");
                WebApp::from_dir(dir.into())
            }
            _ => WebApp::embedded(),
        }
    }

    /// The hash that versions the assets.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// True when assets may be cached for good when asked for with the
    /// current version.
    pub fn is_immutable(&self) -> bool {
        self.dev_dir.is_none()
    }

    /// The file called `name`, if the app has one. Names are plain file
    /// names: anything with a path separator or a leading dot is unknown.
    pub async fn get(&self, name: &str) -> Option<Asset> {
        if !is_plain_name(name) {
            return None;
        }
        match &self.dev_dir {
            None => self.files.get(name).cloned(),
            Some(dir) => {
                let body = tokio::fs::read(dir.join(name)).await.ok()?;
                Some(asset(name, Bytes::from(body), &self.version))
            }
        }
    }
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn asset(name: &str, body: Bytes, version: &str) -> Asset {
    let body = if name == INDEX {
        Bytes::from(String::from_utf8_lossy(&body).replace(VERSION_PLACEHOLDER, version))
    } else {
        body
    };
    Asset { body, gzipped: None, content_type: content_type(name) }
}

/// The gzipped body of a text asset, when that is smaller.
fn gzip(asset: &Asset) -> Option<Bytes> {
    use std::io::Write;
    let compressible = asset.content_type.starts_with("text/")
        || asset.content_type.contains("json")
        || asset.content_type == "image/svg+xml";
    if !compressible {
        return None;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&asset.body).ok()?;
    let gzipped = encoder.finish().ok()?;
    (gzipped.len() < asset.body.len()).then(|| Bytes::from(gzipped))
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("webmanifest") => "application/manifest+json",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_files() {
        assert!(is_plain_name("app.js"));
        assert!(is_plain_name("icon-192.png"));
        for bad in ["", "../secrets", "a/b.js", ".hidden", "a\\b", "x%2e%2e", "nul\0.js"] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
        assert!(!is_plain_name(&"a".repeat(101)));
    }

    #[test]
    fn the_index_carries_the_version() {
        let index = asset(INDEX, Bytes::from_static(b"<script src=\"/app/app.js?v=__VERSION__\">"), "abc123");
        assert_eq!(&index.body[..], b"<script src=\"/app/app.js?v=abc123\">");
        assert_eq!(index.content_type, "text/html; charset=utf-8");
        let js = asset("app.js", Bytes::from_static(b"x = '__VERSION__'"), "abc123");
        assert_eq!(&js.body[..], b"x = '__VERSION__'");
    }

    #[test]
    fn text_is_gzipped_and_images_are_not() {
        use std::io::Read;
        let text = "body { color: red }\n".repeat(50);
        let css = asset("app.css", Bytes::from(text.clone()), "v");
        let gzipped = gzip(&css).expect("CSS compresses");
        let mut back = String::new();
        flate2::read::GzDecoder::new(&gzipped[..]).read_to_string(&mut back).unwrap();
        assert_eq!(back, text);
        assert!(gzip(&asset("icon-192.png", Bytes::from(vec![0u8; 4096]), "v")).is_none());
    }

    #[test]
    fn the_version_is_a_hash_of_the_files() {
        let app = WebApp::embedded();
        assert_eq!(app.version().len(), 12);
        assert_eq!(app.version(), WebApp::embedded().version());
    }
}
