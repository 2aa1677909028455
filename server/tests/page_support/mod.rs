//! Helpers shared by `page.rs` and `page_states.rs`: a rendered share page
//! with the headers every page must carry, and shortcuts to fetch one.
#![allow(dead_code)]

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::common::{pseudo_random, TestServer, TestUser};

/// A rendered page.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl Page {
    pub async fn from(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap();
        Page { status, headers, html }
    }

    pub fn has(&self, needle: &str) -> bool {
        self.html.contains(needle)
    }

    /// Asserts the status, the HTML headers and the page's head.
    pub fn expect(&self, status: StatusCode) -> &Page {
        assert_eq!(self.status, status, "page: {}", self.html);
        assert_eq!(self.headers["content-type"], "text/html; charset=utf-8");
        assert_eq!(self.headers["cache-control"], "no-store");
        assert_eq!(self.headers["referrer-policy"], "no-referrer");
        assert_eq!(self.headers["x-content-type-options"], "nosniff");
        assert_eq!(
            self.headers["content-security-policy"],
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        assert!(self.html.starts_with("<!DOCTYPE html>"), "{}", self.html);
        assert!(self.has(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
        assert!(self.has(r#"<meta name="robots" content="noindex">"#));
        self
    }
}

pub async fn get_page(server: &TestServer, token: &str) -> Page {
    Page::from(server.request(Method::GET, &format!("/s/{token}")).send().await.unwrap()).await
}

pub async fn post_page(server: &TestServer, token: &str, form: &[(&str, &str)]) -> Page {
    Page::from(server.request(Method::POST, &format!("/s/{token}")).form(form).send().await.unwrap()).await
}

/// Creates a share; returns its token.
pub async fn share(server: &TestServer, user: &TestUser, request: Value) -> String {
    let response = server.share(user, request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let share: Value = response.json().await.unwrap();
    share["token"].as_str().unwrap().to_string()
}

/// The page once it answers `status` (downloads are counted just after
/// the last byte goes out, and expiry is a moment away).
pub async fn page_once(server: &TestServer, token: &str, status: StatusCode) -> Page {
    for _ in 0..150 {
        let page = get_page(server, token).await;
        if page.status == status {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the page of {token} never answered {status}");
}

/// A small real PNG.
pub fn png_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 4, 4);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pseudo_random(4 * 4 * 3, 7)).unwrap();
    writer.finish().unwrap();
    out
}
