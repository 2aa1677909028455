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
    let body: Value = response.json().await.unwrap();
    let backend = if common::testdb::is_postgres() { "postgres" } else { "sqlite" };
    let store = if common::testdb::is_s3() { "s3" } else { "local" };
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "database": {"backend": backend, "status": "ok"},
                           "store": {"backend": store, "status": "ok"}})
    );
    assert!(server.pending_uploads() == 0, "the write probe cleans up");
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
    let backend = if common::testdb::is_postgres() { "postgres" } else { "sqlite" };
    let backend_line = format!("cloudbuffer_database_backend{{backend=\"{backend}\"}} 1");
    assert!(text.lines().any(|l| l == backend_line), "missing {backend_line:?} in\n{text}");
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
    let expected = [
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
        ("/api/v1/files/{id}", "put"),
        ("/api/v1/files/{id}", "get"),
        ("/api/v1/files/{id}", "delete"),
        ("/api/v1/files/{id}/content", "get"),
        ("/api/v1/buffer", "put"),
        ("/api/v1/buffer", "post"),
        ("/api/v1/buffer", "get"),
        ("/api/v1/buffer", "delete"),
        ("/api/v1/buffer/clips", "get"),
        ("/api/v1/buffer/clips/{id}", "get"),
        ("/api/v1/buffer/clips/{id}", "delete"),
        ("/api/v1/buffer/clips/{id}/content", "get"),
        ("/api/v1/events", "get"),
        ("/api/v1/shares", "post"),
        ("/api/v1/shares", "get"),
        ("/api/v1/shares/{token}", "delete"),
        ("/s/{token}", "get"),
        ("/s/{token}", "post"),
        ("/s/{token}/raw", "get"),
        ("/s/{token}/raw", "post"),
        ("/s/{token}/qr.svg", "get"),
        ("/s/{token}/qr.png", "get"),
        ("/healthz", "get"),
        ("/metrics", "get"),
    ];
    for (path, method) in expected {
        assert!(paths.get(path).and_then(|p| p.get(method)).is_some(), "{method} {path} missing");
    }
    // Valid OpenAPI: every `{name}` of a path is a path parameter of each of
    // its operations, and no operation names one the path does not have.
    for (path, item) in paths {
        let mut in_path: Vec<&str> =
            path.split('{').skip(1).filter_map(|rest| rest.split('}').next()).collect();
        in_path.sort();
        for (method, operation) in item.as_object().unwrap() {
            let mut declared: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter().filter(|p| p["in"] == "path").filter_map(|p| p["name"].as_str()).collect()
                })
                .unwrap_or_default();
            declared.sort();
            assert_eq!(declared, in_path, "{method} {path}: path parameters");
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for schema in ["FileInfo", "Tokens", "Me", "Stats", "ErrorBody", "Device"] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}
