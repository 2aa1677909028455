//! The page of a usable link (file, image, text) and the password form of
//! a protected one.
//!
//! Links are relative (`{token}/raw` from `/s/{token}`), so the page also
//! works behind a reverse proxy that serves the server under a path prefix.

use maud::{html, Markup, PreEscaped};

use super::layout::page;
use super::{badge, downloads_left, time_left, Content, Item};
use crate::files::human_bytes;

/// The copy button's progressive enhancement: the button stays hidden
/// without JavaScript (the text is still selectable). Uses the async
/// clipboard API where it exists (HTTPS, localhost) and falls back to
/// selecting the text and `execCommand("copy")` on plain HTTP.
const COPY_SCRIPT: &str = r#"(function(){var b=document.getElementById("copy"),t=document.getElementById("text");
if(!b||!t)return;b.hidden=false;function done(ok){b.textContent=ok?"Copied":"Select the text to copy";
setTimeout(function(){b.textContent="Copy"},2000)}function legacy(){t.focus();t.select();
var ok=false;try{ok=document.execCommand("copy")}catch(e){}done(ok)}
b.addEventListener("click",function(){if(navigator.clipboard&&window.isSecureContext){
navigator.clipboard.writeText(t.value).then(function(){done(true)},legacy)}else{legacy()}})})();"#;

/// A padlock, drawn inline (a constant; no user data).
pub(super) const LOCK_ICON: &str = r#"<svg width="28" height="28" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><rect x="4" y="10" width="16" height="11" rx="2"/><path d="M8 10V7a4 4 0 0 1 8 0v3"/></svg>"#;

/// The page of a usable (active, and unlocked if protected) link.
pub fn item(item: &Item) -> Markup {
    let raw = format!("{}/raw", item.token);
    let preview = format!("{}/preview", item.token);
    let is_text = matches!(item.content, Content::Text { .. });
    let shown_text = match &item.content {
        Content::Text { text: Some(text), .. } => Some(text.as_str()),
        _ => None,
    };
    let title = if is_text { "Shared text" } else { item.name.as_str() };
    let body = html! {
        div.card {
            span.badge { @if is_text { "TEXT" } @else { (badge(&item.name)) } }
            h1 { (breakable(title)) }
            dl {
                @match &item.content {
                    Content::File { size, content_type, .. } => {
                        dt { "Size" } dd { (human_bytes(*size)) }
                        dt { "Type" } dd { (content_type) }
                    }
                    Content::Text { size, .. } => {
                        dt { "Size" } dd { (human_bytes(*size)) }
                        dt { "Type" } dd { "Text" }
                    }
                }
                dt { "Expires in" } dd { (time_left(item.time_left)) }
                @if let Some(left) = item.downloads_left {
                    dt { "Limit" } dd { (downloads_left(left)) }
                }
            }
            // Only images on links with neither a password nor a download
            // limit have a preview (served uncounted by /preview, which
            // refuses anything else).
            @if let Content::File { preview: true, .. } = &item.content {
                img.preview src=(preview) alt=(item.name);
            }
            @if let Some(text) = shown_text {
                // The parser drops one newline right after <textarea>: give
                // it one so a text that starts with a newline keeps it.
                textarea #text readonly rows=(rows_for(text)) aria-label="Shared text" spellcheck="false" {
                    "\n" (text)
                }
            } @else if is_text {
                // A text link with a download limit: showing the text uses
                // a download, so it takes a POST, never a plain page view
                // (link previewers and reloads must not burn it).
                p.muted { "Showing the text uses one of this link's downloads." }
            }
            div.actions {
                @if shown_text.is_some() {
                    button #copy .button type="button" hidden { "Copy" }
                }
                @if is_text && shown_text.is_none() {
                    form method="post" action=(item.token) {
                        (password_field(item))
                        input type="hidden" name="reveal" value="1";
                        button.button type="submit" { "Show text" }
                    }
                }
                // After "Show text" used the last download there is none left.
                @if item.downloads_left != Some(0) {
                    (download(item, &raw, is_text))
                }
            }
        }
        @if shown_text.is_some() {
            script { (PreEscaped(COPY_SCRIPT)) }
        }
    };
    page(title, body)
}

/// The Download button: a plain link, or a form that posts the password
/// again (hidden field) for a protected link, so it never lands in a URL.
fn download(item: &Item, raw: &str, is_text: bool) -> Markup {
    let class = if is_text { "button secondary" } else { "button" };
    html! {
        @if item.password.is_some() {
            form method="post" action=(raw) {
                (password_field(item))
                button class=(class) type="submit" { "Download" }
            }
        } @else {
            a class=(class) href=(raw) { "Download" }
        }
    }
}

fn password_field(item: &Item) -> Markup {
    html! {
        @if let Some(password) = &item.password {
            input type="hidden" name="password" value=(password);
        }
    }
}

/// A long file name with line-break opportunities after `_`, `-` and `.`
/// (each part escaped), so it wraps between words where it can.
fn breakable(name: &str) -> Markup {
    html! {
        @for (i, part) in name.split_inclusive(['_', '-', '.']).enumerate() {
            @if i > 0 { wbr; }
            (part)
        }
    }
}

/// Rows for the text box: its wrapped lines (about 34 characters fit at
/// 360 px), at least 3 and at most 16; it scrolls beyond.
fn rows_for(text: &str) -> usize {
    let lines: usize = text.lines().map(|line| line.chars().count().div_ceil(34).max(1)).sum();
    lines.clamp(3, 16)
}

/// Why the password form is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordPrompt {
    /// First visit.
    Fresh,
    /// The form was sent empty.
    Missing,
    /// The password was wrong.
    Wrong,
}

/// The password form of a protected link. It reveals nothing about the
/// shared item (not even its name) until the password is right.
pub fn password_form(token: &str, prompt: PasswordPrompt) -> Markup {
    let error = match prompt {
        PasswordPrompt::Fresh => None,
        PasswordPrompt::Missing => Some("Enter the password"),
        PasswordPrompt::Wrong => Some("Wrong password"),
    };
    let body = html! {
        div.card {
            div.symbol { (PreEscaped(LOCK_ICON)) }
            h1 { "This link is protected" }
            p.muted { "Enter the password you were given to open it." }
            @if let Some(error) = error {
                p.error role="alert" { (error) }
            }
            form method="post" action=(token) {
                label for="password" { "Password" }
                input #password type="password" name="password" required autocomplete="off"
                    autocapitalize="none" spellcheck="false";
                button.button type="submit" { "Open" }
            }
        }
    };
    page("Protected link", body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_break_after_separators_and_stay_escaped() {
        assert_eq!(breakable("report.pdf").into_string(), "report.<wbr>pdf");
        assert_eq!(breakable("IMG_2025-06.png").into_string(), "IMG_<wbr>2025-<wbr>06.<wbr>png");
        assert_eq!(breakable("<b>.txt").into_string(), "&lt;b&gt;.<wbr>txt");
        assert_eq!(breakable("plain").into_string(), "plain");
    }

    #[test]
    fn text_box_rows_follow_the_text() {
        assert_eq!(rows_for(""), 3);
        assert_eq!(rows_for("one line"), 3);
        assert_eq!(rows_for("a\nb\nc\nd\ne"), 5);
        assert_eq!(rows_for(&"x".repeat(34 * 5)), 5);
        assert_eq!(rows_for(&"line\n".repeat(100)), 16);
    }
}
