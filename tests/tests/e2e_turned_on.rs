//! A device without the account key, in a long-running client (the sync
//! engine, the desktop app), stops sending plaintext the moment another
//! device turns end-to-end encryption on — not after some cache expires.

use cloudbuffer_client::crypto::{AccountKey, KdfParams};
use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_tests::TestServer;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyless_client_refuses_plaintext_as_soon_as_e2e_is_on() {
    let server = TestServer::start().await;
    let password = server.register("alice").await;
    let keyless = Client::new(&server.url).unwrap();
    keyless.login("alice", &password, "old laptop").await.unwrap();
    let first = keyless.copy_text("before encryption").await.expect("plaintext is fine while E2E is off");
    assert!(!first.encrypted);

    // Another device turns it on.
    let other = Client::new(&server.url).unwrap();
    other.login("alice", &password, "new laptop").await.unwrap();
    let wrapped = AccountKey::generate().unwrap().wrap(b"passphrase", KdfParams::INSECURE_FOR_TESTS).unwrap();
    other.put_e2e_key(serde_json::to_value(&wrapped).unwrap(), 0).await.unwrap();

    // The very next upload of the same client object is refused...
    match keyless.copy_text("after encryption").await {
        Err(ClientError::E2eLocked) => {}
        other => panic!("expected E2eLocked, got {other:?}"),
    }
    // ...and nothing reached the server.
    let clips = other.clips().await.unwrap();
    assert_eq!(clips.len(), 1, "{clips:?}");
    assert_eq!(clips[0].id, first.id);
}
