//! The client crate's API calls against a real server: every endpoint it
//! wraps, the errors people see, and tokens refreshed without anyone
//! noticing.

use std::time::Duration;

use cloudbuffer_client::transfer::no_progress;
use cloudbuffer_client::{Client, ClientError, QrFormat, SessionStore};
use cloudbuffer_protocol::{ClipKind, CreateShare, ShareState};
use cloudbuffer_tests::TestServer;

async fn signed_in(server: &TestServer, user: &str, device: &str) -> Client {
    let client = Client::new(&server.url).unwrap();
    client.register(user, &format!("password-of-{user}"), device).await.unwrap();
    client
}

#[tokio::test]
async fn account_usage_and_operations() {
    let server = TestServer::start().await;
    client_health(&server).await;
    let admin = signed_in(&server, "root", "server-box").await; // the first account is the admin
    let alice = signed_in(&server, "alice", "laptop").await;

    let me = alice.me().await.unwrap();
    assert_eq!((me.username.as_str(), me.is_admin), ("alice", false));
    assert_eq!(alice.limits().await.unwrap().expiry_seconds, 7200);

    let phone = Client::new(&server.url).unwrap();
    phone.login("alice", "password-of-alice", "phone").await.unwrap();
    let devices = alice.devices().await.unwrap();
    assert_eq!(devices.len(), 2);
    let phone_id = devices.iter().find(|d| d.name == "phone").unwrap().id.clone();
    alice.revoke_device(&phone_id).await.unwrap();
    assert!(matches!(phone.me().await, Err(ClientError::SessionExpired)), "the phone was signed out");

    match alice.admin_stats().await {
        Err(ClientError::Api { status: 403, .. }) => {}
        other => panic!("a non-admin got {other:?}"),
    }
    alice.copy_text("counted").await.unwrap();
    let totals = admin.admin_stats().await.unwrap();
    assert_eq!(totals.users, 2);
    assert_eq!(totals.per_user.len(), 2);

    alice.logout().await.unwrap();
    assert!(matches!(alice.me().await, Err(ClientError::NotLoggedIn)), "signed out here");
    match Client::new(&server.url).unwrap().login("alice", "nope", "x").await {
        Err(e @ ClientError::InvalidCredentials) => assert_eq!(e.to_string(), "wrong user name or password"),
        other => panic!("{other:?}"),
    }
}

async fn client_health(server: &TestServer) {
    Client::new(&server.url).unwrap().health().await.unwrap();
    let nobody = Client::new("http://127.0.0.1:9").unwrap();
    let error = nobody.health().await.unwrap_err();
    assert!(error.to_string().starts_with("cannot reach the server at http://127.0.0.1:9"), "{error}");
}

#[tokio::test]
async fn files_clips_and_shares() {
    let server = TestServer::start().await;
    let alice = signed_in(&server, "alice", "laptop").await;
    let bob = signed_in(&server, "bob", "desk").await;
    let dir = tempfile::tempdir().unwrap();

    let path = dir.path().join("notes.txt");
    std::fs::write(&path, "some notes\n").unwrap();
    let file = alice.upload_file(&path, no_progress()).await.unwrap();
    assert_eq!(alice.file(&file.id).await.unwrap().name, "notes.txt");
    assert_eq!(alice.files().await.unwrap().len(), 1);
    assert!(matches!(bob.file(&file.id).await, Err(ClientError::NotFound(_))), "others' ids are not found");

    let text = alice.copy_text("hello from the laptop").await.unwrap();
    assert_eq!(text.kind, ClipKind::Text);
    assert_eq!(alice.clip_text(&text.id).await.unwrap(), "hello from the laptop");
    let file_clip = alice.copy_file(&path, no_progress()).await.unwrap();
    assert_eq!(file_clip.kind, ClipKind::File);
    let clips = alice.clips().await.unwrap();
    assert_eq!(clips.iter().map(|c| &c.id).collect::<Vec<_>>(), [&file_clip.id, &text.id], "newest first");
    assert_eq!(alice.clip(&text.id).await.unwrap().id, text.id);

    let share = alice
        .create_share(&CreateShare {
            file_id: Some(file.id.clone()),
            max_downloads: Some(1),
            ..CreateShare::default()
        })
        .await
        .unwrap();
    assert_eq!(share.state, ShareState::Active);
    assert!(share.url.starts_with(&format!("{}/s/", server.url)));
    let png = alice.share_qr(&share.token, QrFormat::Png).await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = String::from_utf8(alice.share_qr(&share.token, QrFormat::Svg).await.unwrap()).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    assert!(matches!(alice.share_qr("no-such-token", QrFormat::Svg).await, Err(ClientError::NotFound(_))));

    let saved = dir.path().join("from-link.txt");
    alice.download_share(&share.url, None, &saved, no_progress()).await.unwrap();
    assert_eq!(std::fs::read_to_string(&saved).unwrap(), "some notes\n");
    assert_eq!(alice.shares().await.unwrap()[0].state, ShareState::Exhausted);
    alice.revoke_share(&share.token).await.unwrap();
    assert_eq!(alice.shares().await.unwrap()[0].state, ShareState::Revoked);

    alice.delete_clip(&text.id).await.unwrap();
    assert_eq!(alice.clips().await.unwrap().len(), 1);
    alice.clear_clips().await.unwrap();
    assert!(alice.clips().await.unwrap().is_empty());
    alice.delete_file(&file.id).await.unwrap();
    assert!(matches!(alice.file(&file.id).await, Err(ClientError::NotFound(_))));
    let stats = alice.stats().await.unwrap();
    assert_eq!((stats.clips, stats.shares_active), (0, 0));
}

#[tokio::test]
async fn expired_access_tokens_are_refreshed_transparently() {
    let server = TestServer::start_with(|s| s.access_token_seconds = Some(1)).await;
    let alice = signed_in(&server, "alice", "laptop").await;
    let first = alice.access_token().await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Several calls at once: one refresh between them (a second would
    // replay the rotated refresh token and sign the device out).
    let (a, b, c) = tokio::join!(alice.me(), alice.stats(), alice.clips());
    a.unwrap();
    b.unwrap();
    c.unwrap();
    assert_ne!(alice.access_token().await.unwrap(), first, "a new access token");
    assert_eq!(alice.devices().await.unwrap().len(), 1);
}

/// The CLI, `cloudbuffer sync` and the desktop app share one saved session:
/// when one of them rotates the refresh token, the others must take the new
/// one from the file rather than replay theirs (which signs the device out).
#[tokio::test]
async fn processes_sharing_a_saved_session_never_replay_a_spent_refresh_token() {
    let server = TestServer::start_with(|s| s.access_token_seconds = Some(1)).await;
    let dir = tempfile::tempdir().unwrap();
    let store = SessionStore::at(dir.path());
    let first = Client::new(&server.url).unwrap().with_store(store.clone());
    first.register("alice", "password-of-alice", "laptop").await.unwrap();
    // Two "processes": each loaded the file once and keeps its tokens in memory.
    let cli = Client::from_store(store.clone(), None).unwrap();
    let app = Client::from_store(store.clone(), None).unwrap();
    for round in 0..3 {
        // Every call refreshes (a 1 s token is always within the margin).
        cli.me().await.unwrap_or_else(|e| panic!("round {round}, cli: {e}"));
        app.me().await.unwrap_or_else(|e| panic!("round {round}, app: {e}"));
        let (a, b, c) = tokio::join!(cli.stats(), app.stats(), first.clips());
        for (who, result) in [("cli", a.err()), ("app", b.err())] {
            assert!(result.is_none(), "round {round}, {who}: {result:?}");
        }
        c.unwrap_or_else(|e| panic!("round {round}, first: {e}"));
    }
    assert_eq!(app.devices().await.unwrap().len(), 1, "still one signed-in device");
    let saved = store.load().unwrap().expect("the session is still saved");
    assert_eq!(saved.refresh_token, app.session().await.unwrap().refresh_token);

    // Signed in as someone else meanwhile: an old process neither clears nor
    // overwrites the new session.
    cli.me().await.unwrap(); // (now the cli holds alice's newest token)
    let bob = Client::new(&server.url).unwrap().with_store(store.clone());
    bob.register("bob", "password-of-bob", "laptop").await.unwrap();
    cli.me().await.unwrap();
    assert_eq!(store.load().unwrap().unwrap().username, "bob");
}

#[tokio::test]
async fn an_upload_over_the_limit_names_the_limit() {
    let server = TestServer::start_with(|s| s.max_file_bytes = Some(1 << 20)).await;
    let alice = signed_in(&server, "alice", "laptop").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    std::fs::write(&path, vec![7u8; (1 << 20) + 1]).unwrap();
    let error = alice.upload_file(&path, no_progress()).await.unwrap_err();
    assert_eq!(error.to_string(), "file too large for this server's 1 MiB limit");
    assert!(alice.files().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_file_that_shrinks_mid_upload_is_not_stored() {
    let server = TestServer::start().await;
    let alice = signed_in(&server, "alice", "laptop").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.log");
    // (A file that grows is sent as long as it was when the upload began.)
    for (what, change) in [("shrinks", 1u64 << 20), ("is emptied", 0)] {
        std::fs::write(&path, vec![1u8; 8 << 20]).unwrap();
        // The progress callback runs as chunks are read: change the file
        // under the upload once it is under way.
        let (target, once) = (path.clone(), std::sync::Once::new());
        let progress: cloudbuffer_client::transfer::Progress = std::sync::Arc::new(move |sent, _| {
            if sent >= 512 << 10 {
                once.call_once(|| {
                    let file = std::fs::OpenOptions::new().write(true).open(&target).unwrap();
                    file.set_len(change).unwrap();
                });
            }
        });
        let error = alice.upload_file(&path, progress).await.unwrap_err();
        let message = error.to_string();
        assert!(message.contains("growing.log"), "{what}: {message}");
        assert!(message.contains("it changed while it was being uploaded"), "{what}: {message}");
        assert!(alice.files().await.unwrap().is_empty(), "{what}: nothing stored");
    }
}
