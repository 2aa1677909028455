//! Device tokens against a real server over loopback: kept at sign-in in
//! their own 0600 file, sent at the next sign-in (which then gets through
//! while the user name is throttled by guesses), kept across sign-out.

use cloudbuffer_client::{Client, ClientError, DeviceTokens, SessionStore};
use cloudbuffer_tests::TestServer;

/// One wrong-password attempt with no device token, as a guesser makes it.
async fn guess(server: &TestServer) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.url))
        .json(&serde_json::json!({"username": "alice", "password": "not-her-password"}))
        .send()
        .await
        .expect("login request")
        .status()
}

#[tokio::test]
async fn a_known_device_signs_in_while_its_user_is_throttled() {
    // Three attempts a minute per (name, address): guessers run out fast.
    let server = TestServer::start_with(|s| s.auth_attempts_per_minute = Some(3)).await;
    let password = server.register("alice").await;
    let config = tempfile::tempdir().unwrap();
    let store = SessionStore::at(config.path());
    let tokens = DeviceTokens::of(&store);

    let client = Client::new(&server.url).unwrap().with_store(store.clone());
    client.login("alice", &password, "laptop").await.expect("first sign-in");
    let first = tokens.get(&server.url, "alice").expect("a device token is kept");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config.path().join("device-tokens.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let session = std::fs::read_to_string(config.path().join("session.json")).unwrap();
    assert!(!session.contains(&first), "the device token lives in its own file");

    client.logout().await.expect("sign-out");
    assert!(store.load().unwrap().is_none(), "the session is gone");
    assert_eq!(tokens.get(&server.url, "alice").as_deref(), Some(first.as_str()), "the token stays");

    // Someone on this address guesses until the name is refused here.
    let mut refused = false;
    for _ in 0..5 {
        if guess(&server).await == reqwest::StatusCode::TOO_MANY_REQUESTS {
            refused = true;
            break;
        }
    }
    assert!(refused, "the guesses were throttled");
    let stranger = Client::new(&server.url).unwrap();
    assert!(
        matches!(stranger.login("alice", &password, "other").await, Err(ClientError::RateLimited { .. })),
        "without a device token the right password is throttled too"
    );

    // This device shows its token: it gets through, and keeps the new one.
    let again = Client::new(&server.url).unwrap().with_store(store.clone());
    again.login("alice", &password, "laptop").await.expect("the known device signs in");
    let second = tokens.get(&server.url, "alice").expect("still kept");
    assert_ne!(second, first, "replaced by the one the server answered");
    assert!(store.load().unwrap().is_some());
}

#[tokio::test]
async fn tokens_are_per_server_and_user() {
    let server = TestServer::start().await;
    let alice = server.register("alice").await;
    let bob = server.register("bob").await;
    let config = tempfile::tempdir().unwrap();
    let store = SessionStore::at(config.path());
    // As `cloudbuffer login` does it: tokens kept, the session saved by the caller.
    let client = Client::new(&server.url).unwrap().with_device_tokens(DeviceTokens::of(&store));
    client.login("alice", &alice, "laptop").await.unwrap();
    client.login("bob", &bob, "laptop").await.unwrap();
    let tokens = DeviceTokens::of(&store);
    let (a, b) = (tokens.get(&server.url, "alice").unwrap(), tokens.get(&server.url, "bob").unwrap());
    assert_ne!(a, b);
    assert_eq!(tokens.get("http://127.0.0.1:1", "alice"), None);
    assert!(store.load().unwrap().is_none(), "with_device_tokens does not save the session");
}
