//! The HTML shell of every page and its inline style sheet: one column made
//! for phones (fine from 320 px up), system fonts, large tap targets, light
//! or dark following `prefers-color-scheme`.

use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The style sheet (a constant, inlined; the CSP allows inline styles).
const CSS: &str = r#"
:root{color-scheme:light dark;--bg:#f2f4f7;--card:#fff;--fg:#161b22;--muted:#5b6675;--line:#d9dee5;
--field:#f7f8fa;--accent:#1f6feb;--accent-fg:#fff;--err:#a4161a;--err-bg:#fde8e8;--ok:#1a7f37}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--fg:#e6edf3;--muted:#9aa5b4;
--line:#30363d;--field:#0d1117;--accent:#4493f8;--accent-fg:#06101f;--err:#ffa198;--err-bg:#3c1618;
--ok:#56d364}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);
font:17px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif}
main{max-width:36rem;margin:0 auto;padding:16px 16px 32px}
.brand{margin:4px 4px 14px;font-size:.95rem;font-weight:600;color:var(--muted)}
.card{background:var(--card);border:1px solid var(--line);border-radius:18px;padding:20px}
.badge{display:inline-block;min-width:3.25rem;padding:.4rem .65rem;border-radius:10px;background:var(--accent);
color:var(--accent-fg);font-size:.85rem;font-weight:700;letter-spacing:.05em;text-align:center}
h1{margin:14px 0 16px;font-size:1.4rem;line-height:1.3;overflow-wrap:anywhere}
p{margin:0 0 16px;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:max-content 1fr;gap:8px 16px;margin:0 0 20px}
dt{color:var(--muted)}
dd{margin:0;font-weight:500;overflow-wrap:anywhere}
.preview{display:block;max-width:100%;height:auto;max-height:60vh;margin:0 auto 20px;border-radius:12px;
background:var(--field)}
textarea{display:block;width:100%;margin:0 0 16px;padding:12px;border:1px solid var(--line);border-radius:12px;
background:var(--field);color:inherit;font:15px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
resize:vertical;white-space:pre-wrap;overflow-wrap:anywhere}
.actions{display:grid;gap:12px}
.actions form{margin:0}
.button{display:block;width:100%;min-height:52px;padding:13px 20px;border:2px solid var(--accent);border-radius:14px;
background:var(--accent);color:var(--accent-fg);font:inherit;font-weight:650;line-height:1.4;text-align:center;
text-decoration:none;cursor:pointer;-webkit-appearance:none;appearance:none}
.button.secondary{background:transparent;color:var(--accent)}
.button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
label{display:block;font-weight:600}
input[type=password]{display:block;width:100%;min-height:52px;margin:8px 0 16px;padding:12px 14px;
border:1px solid var(--line);border-radius:12px;background:var(--field);color:inherit;font:inherit}
.error{margin:0 0 16px;padding:12px 14px;border-radius:12px;background:var(--err-bg);color:var(--err);font-weight:600}
.symbol{display:flex;align-items:center;justify-content:center;width:56px;height:56px;border-radius:50%;
background:var(--field);border:1px solid var(--line);color:var(--muted);font-size:1.6rem;font-weight:700}
.muted{color:var(--muted)}
.note{margin:16px 4px 0;font-size:.9rem;color:var(--muted);text-align:center}
.note a{color:var(--accent)}
"#;

/// A whole page: `title` (shown as "title · Cloud Buffer") and the body.
pub fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, html! {}))
            body {
                main {
                    p.brand { "Cloud Buffer" }
                    (body)
                    (note())
                }
            }
        }
    }
}

/// The `<head>` of every page, with `extra` (e.g. a script) at its end.
pub fn head(title: &str, extra: Markup) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="robots" content="noindex";
            meta name="referrer" content="no-referrer";
            meta name="color-scheme" content="light dark";
            title { (title) " · Cloud Buffer" }
            // A constant: no user data ever goes through PreEscaped.
            style { (PreEscaped(CSS)) }
            (extra)
        }
    }
}

/// The line under every page's card, pointing at the web app.
pub fn note() -> Markup {
    html! {
        p.note { a href="/app/" { "Open Cloud Buffer" } " — send text and files from this phone" }
    }
}
