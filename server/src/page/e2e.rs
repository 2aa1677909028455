//! The share page of an end-to-end encrypted item: a shell for the script
//! `/app/share-e2e.js`, which reads the key from the link's fragment (never
//! sent here), fetches the ciphertext from `data-raw-url` and decrypts it
//! in the browser. The server has nothing readable to show, so without
//! JavaScript the page only says why it cannot open.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::layout::{head, note};
use super::share::LOCK_ICON;

/// What the shell tells the script, in `data-` attributes of `<main>`.
#[derive(Debug, Clone)]
pub struct EncryptedShare {
    /// The share token (URL-safe; it came from the database).
    pub token: String,
    /// `text` or `file`.
    pub kind: &'static str,
    /// Ciphertext bytes; None on a password-protected link.
    pub size: Option<u64>,
    /// The `name` field; empty for text, and on a password-protected link.
    pub name: String,
    /// The `content-type` field; empty if none, and on a protected link.
    pub content_type: String,
    /// The link has a password: the script asks for it and posts it to
    /// the raw URL.
    pub password: bool,
}

/// The page; `version` is the web app's asset version (cache busting).
pub fn encrypted_share(share: &EncryptedShare, version: &str) -> Markup {
    let raw_url = format!("/s/{}/raw", share.token);
    let script = format!("/app/share-e2e.js?v={version}");
    let size = share.size.map(|n| n.to_string()).unwrap_or_default();
    let password = if share.password { "1" } else { "0" };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head("Encrypted link", html! { script type="module" src=(script) {} }))
            body {
                // Every value is a token, a number or a base64url field
                // (checked on upload), and maud escapes them anyway.
                main #e2e-share data-raw-url=(raw_url) data-kind=(share.kind) data-size=(size)
                    data-name=(share.name) data-content-type=(share.content_type) data-password=(password) {
                    p.brand { "Cloud Buffer" }
                    div.card {
                        div.symbol { (PreEscaped(LOCK_ICON)) }
                        h1 { "End-to-end encrypted link" }
                        noscript {
                            p {
                                "This link is end-to-end encrypted: only your browser can decrypt it, "
                                "and that needs JavaScript. Turn JavaScript on for this site and reload the page."
                            }
                        }
                    }
                    (note())
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_carries_the_data_and_the_versioned_script() {
        let share = EncryptedShare {
            token: "tok".into(),
            kind: "file",
            size: Some(72),
            name: "bmFtZQ".into(),
            content_type: String::new(),
            password: false,
        };
        let html = encrypted_share(&share, "abc123").into_string();
        assert!(
            html.contains(r#"<script type="module" src="/app/share-e2e.js?v=abc123"></script>"#),
            "{html}"
        );
        assert!(html.contains(
            r#"<main id="e2e-share" data-raw-url="/s/tok/raw" data-kind="file" data-size="72" data-name="bmFtZQ" data-content-type="" data-password="0">"#
        ), "{html}");
        assert!(html.contains("<noscript>"));
        let protected = EncryptedShare { size: None, name: String::new(), password: true, ..share };
        let html = encrypted_share(&protected, "v").into_string();
        assert!(
            html.contains(r#"data-size="" data-name="" data-content-type="" data-password="1""#),
            "{html}"
        );
    }
}
