//! Operations endpoints: health, Prometheus metrics, the OpenAPI document.

mod common;

use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::Value;

#[tokio::test]
async fn healthz_is_ok_when_database_and_store_work() {
    let server = TestServer::start().await;
    let response = server.request(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(server.temp_files() == 0, "the write probe cleans up");
}

#[tokio::test]
async fn metrics_speak_prometheus_and_move() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    server.upload(&alice, "a.txt", "metrics").await;
    let response = server.request(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for line in [
        "# TYPE cloudbuffer_files_stored_total counter",
        "cloudbuffer_users 1",
        "cloudbuffer_files 1",
        "cloudbuffer_blobs 1",
        "cloudbuffer_blob_bytes 7",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("cloudbuffer_http_responses_total{class=\"2xx\"}"));
}

#[tokio::test]
async fn openapi_describes_every_endpoint() {
    let server = TestServer::start().await;
    let doc: Value =
        server.request(Method::GET, "/api/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/devices", "get"),
        ("/api/v1/devices/{id}", "delete"),
        ("/api/v1/me", "get"),
        ("/api/v1/stats", "get"),
        ("/api/v1/admin/stats", "get"),
        ("/api/v1/files", "post"),
        ("/api/v1/files", "get"),
        ("/api/v1/files/{name}", "put"),
        ("/api/v1/files/{id}", "get"),
        ("/api/v1/files/{id}", "delete"),
        ("/api/v1/files/{id}/content", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in ["FileInfo", "Tokens", "Me", "Stats", "ErrorBody", "Device"] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}
