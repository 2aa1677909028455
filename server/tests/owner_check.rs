//! Ownership, driven by the server's own OpenAPI document: every
//! authenticated operation whose path has a parameter, called by bob with
//! the ids and tokens of alice's real resources (files, text and file clips,
//! shares, devices), answers 404 with the usual JSON error body, the same
//! body as for an id that never existed (no existence oracle), also for
//! HEAD; the one upload-by-name route (`PUT /api/v1/files/{id}`) creates a
//! file of bob's own. Afterwards every resource of alice's is still there,
//! unchanged and usable. A new authenticated path-parameter route is tested
//! without anyone listing it here; a parameter nobody said how to build, or
//! a new public path-parameter route outside `/s/`, fails the test.

mod common;

use std::collections::BTreeSet;

use common::{blake3_hex, encode_segment, pseudo_random, TestServer, TestUser};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// Alice's resources, by the kind of thing a parameter names.
struct Alice {
    user: TestUser,
    file_bytes: Vec<u8>,
    file_id: String,
    file_clip_bytes: Vec<u8>,
    text: String,
    text_clip: String,
    file_clip: String,
    file_share: String,
    clip_share: String,
}

/// How to build each path parameter: (path prefix, parameter name, values).
/// The only hand-written part; a parameter not in it fails the test.
fn parameter_values(alice: &Alice, path: &str, name: &str) -> Vec<String> {
    let table: [(&str, &str, Vec<&str>); 4] = [
        ("/api/v1/files/", "id", vec![&alice.file_id]),
        ("/api/v1/buffer/clips/", "id", vec![&alice.text_clip, &alice.file_clip]),
        ("/api/v1/shares/", "token", vec![&alice.file_share, &alice.clip_share]),
        ("/api/v1/devices/", "id", vec![&alice.user.device_id]),
    ];
    table
        .into_iter()
        .find(|(prefix, param, _)| path.starts_with(prefix) && *param == name)
        .map(|(_, _, values)| values.into_iter().map(str::to_string).collect())
        .unwrap_or_else(|| {
            panic!("{path}: no rule for building parameter {{{name}}}: add one to parameter_values")
        })
}

/// Operations that take the parameter as the name of something new, not as
/// the id of something existing.
const CREATE_BY_NAME: &[(&str, &str)] = &[("put", "/api/v1/files/{id}")];

/// Public operations may take a share token in the path (the link is the
/// secret); every other path-parameter operation must require auth.
const PUBLIC_PREFIX: &str = "/s/{token}";

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "options", "trace"];

/// The `{name}`s of a path template, in order.
fn path_params(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).collect()
}

/// A value of the same shape (hex stays hex, length kept) that names nothing.
fn never_existed(value: &str) -> String {
    let rotate = |c: char, lo: char, hi: char| {
        let (lo, hi) = (lo as u8, hi as u8);
        (lo + (c as u8 - lo + 1) % (hi - lo + 1)) as char
    };
    value
        .chars()
        .map(|c| match c {
            '0'..='9' => rotate(c, '0', '9'),
            'a'..='f' => rotate(c, 'a', 'f'),
            'g'..='z' => rotate(c, 'g', 'z'),
            'A'..='Z' => rotate(c, 'A', 'Z'),
            c => c,
        })
        .collect()
}

/// JSON without the fields that change with time alone.
fn timeless(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.retain(|k, _| k != "time_left" && k != "last_seen_at");
            for v in map.values_mut() {
                *v = timeless(v.take());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| *v = timeless(v.take())),
        _ => {}
    }
    value
}

async fn get_json(server: &TestServer, user: &TestUser, path: &str) -> Value {
    let response = server.as_user(user, Method::GET, path).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "GET {path} as {}", user.username);
    timeless(response.json().await.unwrap())
}

/// Everything alice can list.
async fn snapshot(server: &TestServer, alice: &TestUser) -> Vec<Value> {
    let mut all = Vec::new();
    for path in ["/api/v1/files", "/api/v1/buffer/clips", "/api/v1/shares", "/api/v1/devices", "/api/v1/me"] {
        all.push(get_json(server, alice, path).await);
    }
    all
}

async fn setup(server: &TestServer) -> Alice {
    let user = server.register("alice").await;
    let file_bytes = pseudo_random(50_000, 7);
    let file = server.upload(&user, "alice-private.bin", file_bytes.clone()).await;
    assert_eq!(file["hash"], blake3_hex(&file_bytes));
    let text = "alice's secret text".to_string();
    let text_clip = server.copy_text(&user, &text).await;
    let file_clip_bytes = pseudo_random(20_000, 8);
    let response = server
        .as_user(&user, Method::PUT, "/api/v1/buffer")
        .header("x-data-type", "file")
        .header("x-filename", "alice-clip.bin")
        .body(file_clip_bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let file_clip: Value = response.json().await.unwrap();
    let file_id = file["id"].as_str().unwrap().to_string();
    let mut tokens = Vec::new();
    for target in [json!({"file_id": file_id}), json!({"clip_id": text_clip["id"]})] {
        let response = server.share(&user, target).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let share: Value = response.json().await.unwrap();
        tokens.push(share["token"].as_str().unwrap().to_string());
    }
    let id = |v: &Value| v["id"].as_str().unwrap().to_string();
    Alice {
        file_id,
        file_bytes,
        file_clip_bytes,
        text,
        text_clip: id(&text_clip),
        file_clip: id(&file_clip),
        clip_share: tokens.pop().unwrap(),
        file_share: tokens.pop().unwrap(),
        user,
    }
}

/// Bob's answer for `path`: status and body (JSON if it parses, else text).
async fn call(server: &TestServer, bob: &TestUser, method: &Method, path: &str) -> (StatusCode, Value) {
    let mut request = server.as_user(bob, method.clone(), path);
    if matches!(*method, Method::PUT | Method::POST | Method::PATCH) {
        request = request.body("bob's bytes");
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The 404 of the usual shape.
fn assert_not_found(what: &str, status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::NOT_FOUND, "{what} must be 404, got {status}: {body}");
    assert_eq!(body["error"]["code"], "not_found", "{what}: {body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
}

#[tokio::test]
async fn no_authenticated_path_parameter_route_reaches_another_users_resources() {
    let server = TestServer::start().await;
    let alice = setup(&server).await;
    let bob = server.register("bob").await;
    let before = snapshot(&server, &alice.user).await;

    let doc: Value =
        server.request(Method::GET, "/api/v1/openapi.json").send().await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().expect("the document has paths");
    let mut tested = BTreeSet::new();
    let mut created_by_bob = Vec::new();
    for (template, item) in paths {
        let params = path_params(template);
        if params.is_empty() {
            continue;
        }
        for method_name in METHODS {
            let Some(op) = item.get(method_name) else { continue };
            let authenticated = op["security"].as_array().is_some_and(|s| {
                !s.is_empty() && s.iter().all(|r| r.as_object().is_some_and(|r| !r.is_empty()))
            });
            if !authenticated {
                assert!(
                    template.starts_with(PUBLIC_PREFIX),
                    "{method_name} {template} takes a path parameter without auth: document its security, \
                     or make it a public share route under {PUBLIC_PREFIX}"
                );
                continue;
            }
            assert_eq!(params.len(), 1, "{template}: several parameters: extend the test to combine them");
            let method = Method::from_bytes(method_name.to_uppercase().as_bytes()).unwrap();
            for value in parameter_values(&alice, template, params[0]) {
                let path = template.replace(&format!("{{{}}}", params[0]), &encode_segment(&value));
                let what = format!("bob: {method} {path} ({template})");
                let (status, body) = call(&server, &bob, &method, &path).await;
                if CREATE_BY_NAME.contains(&(method_name, template.as_str())) {
                    assert_eq!(status, StatusCode::CREATED, "{what} is an upload by name: {body}");
                    assert_eq!(body["name"], value.as_str(), "{what}: named by the path: {body}");
                    assert_ne!(body["id"], value.as_str(), "{what}: a new file, not alice's: {body}");
                    assert_eq!(body["hash"], blake3_hex(b"bob's bytes"), "{what}: bob's bytes: {body}");
                    created_by_bob.push(body["id"].as_str().unwrap().to_string());
                } else {
                    assert_not_found(&what, status, &body);
                    let unknown = template.replace(&format!("{{{}}}", params[0]), &never_existed(&value));
                    let (status2, body2) = call(&server, &bob, &method, &unknown).await;
                    assert_eq!(
                        (status2, &body2),
                        (status, &body),
                        "{what}: unlike an unknown id ({unknown})"
                    );
                    if method == Method::GET {
                        let head = server.as_user(&bob, Method::HEAD, &path).send().await.unwrap();
                        assert_eq!(head.status(), StatusCode::NOT_FOUND, "HEAD {path} as bob");
                    }
                }
            }
            tested.insert(format!("{method_name} {template}"));
        }
    }
    // The document really drove the test: the routes known today are in it.
    for known in [
        "get /api/v1/files/{id}",
        "delete /api/v1/files/{id}",
        "put /api/v1/files/{id}",
        "get /api/v1/files/{id}/content",
        "get /api/v1/buffer/clips/{id}",
        "delete /api/v1/buffer/clips/{id}",
        "get /api/v1/buffer/clips/{id}/content",
        "delete /api/v1/shares/{token}",
        "delete /api/v1/devices/{id}",
    ] {
        assert!(tested.contains(known), "{known} was not tested; tested: {tested:?}");
    }

    // Alice: the same lists (bar the clock), the same bytes, links that work.
    assert_eq!(snapshot(&server, &alice.user).await, before, "alice's resources changed");
    let bytes = |path: String| {
        let request = server.as_user(&alice.user, Method::GET, &path);
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "alice: GET {path}");
            response.bytes().await.unwrap().to_vec()
        }
    };
    assert_eq!(bytes(format!("/api/v1/files/{}/content", alice.file_id)).await, alice.file_bytes);
    assert_eq!(
        bytes(format!("/api/v1/buffer/clips/{}/content", alice.text_clip)).await,
        alice.text.as_bytes()
    );
    assert_eq!(
        bytes(format!("/api/v1/buffer/clips/{}/content", alice.file_clip)).await,
        alice.file_clip_bytes
    );
    for (token, expected) in
        [(&alice.file_share, &alice.file_bytes), (&alice.clip_share, &alice.text.as_bytes().to_vec())]
    {
        let response = server.request(Method::GET, &format!("/s/{token}/raw")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "alice's share {token} still works");
        assert_eq!(&response.bytes().await.unwrap().to_vec(), expected);
    }

    // Bob: only what he uploaded by name, nothing of alice's.
    let bob_files: Vec<String> =
        server.files(&bob).await.iter().map(|f| f["id"].as_str().unwrap().to_string()).collect();
    created_by_bob.sort();
    let mut listed = bob_files.clone();
    listed.sort();
    assert_eq!(listed, created_by_bob, "bob's files are those he uploaded");
    assert!(server.clips(&bob).await.is_empty());
    assert_eq!(get_json(&server, &bob, "/api/v1/shares").await, json!([]));
}

#[tokio::test]
async fn sharing_another_users_file_or_clip_is_not_found() {
    let server = TestServer::start().await;
    let alice = setup(&server).await;
    let bob = server.register("bob").await;
    let before = snapshot(&server, &alice.user).await;
    for target in [
        json!({"file_id": alice.file_id}),
        json!({"clip_id": alice.text_clip}),
        json!({"clip_id": alice.file_clip}),
    ] {
        let response = server.share(&bob, target.clone()).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_not_found(&format!("bob shares {target}"), status, &body);
    }
    assert_eq!(get_json(&server, &bob, "/api/v1/shares").await, json!([]));
    assert_eq!(snapshot(&server, &alice.user).await, before);
}
