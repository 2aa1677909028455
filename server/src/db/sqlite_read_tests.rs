//! The reads on the calling thread give exactly what the pool gives.

use super::{Along, Database};

const ROWS: &str = "
INSERT INTO users (id, username, password_hash, is_admin, created_at) VALUES ('u1', 'ann', 'h', 1, 10);
INSERT INTO devices (id, user_id, name, created_at, last_seen_at) VALUES ('d1', 'u1', 'laptop', 11, 12);
INSERT INTO blobs (hash, size, refcount, created_at) VALUES ('b1', 5, 1, 13);
INSERT INTO files (id, user_id, name, size, hash, content_type, created_at, expires_at, downloads)
    VALUES ('f1', 'u1', 'a.txt', 5, 'b1', 'text/plain', 14, 9000, 2);
INSERT INTO clips (id, user_id, kind, text_content, file_id, size, origin_device_id, created_at, expires_at)
    VALUES ('c1', 'u1', 'text', 'hello', NULL, 5, 'd1', 15, 9000);
INSERT INTO clips (id, user_id, kind, text_content, file_id, size, origin_device_id, created_at, expires_at)
    VALUES ('c2', 'u1', 'file', NULL, 'f1', 5, NULL, 16, 9000);
INSERT INTO shares (token, user_id, file_id, clip_id, password_hash, max_downloads, downloads, created_at, expires_at, revoked_at)
    VALUES ('s-file', 'u1', 'f1', NULL, 'p', 3, 1, 17, 9000, NULL);
INSERT INTO shares (token, user_id, file_id, clip_id, password_hash, max_downloads, downloads, created_at, expires_at, revoked_at)
    VALUES ('s-clip', 'u1', NULL, 'c1', NULL, NULL, 0, 18, 9000, 19);
";

/// A database file in a temporary directory, holding [`ROWS`].
async fn database_with_rows() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let db = Database::connect(&url).await.unwrap();
    sqlx::raw_sql(ROWS).execute(&db.pool).await.unwrap();
    (dir, db)
}

/// Every read that has a calling-thread path, as text, through `db`.
async fn reads(db: &Database) -> Vec<String> {
    let mut out = Vec::new();
    for along in [
        Along::Nothing,
        Along::File("f1"),
        Along::File("nope"),
        Along::NewestClip(100),
        Along::NewestClip(9999),
    ] {
        out.push(format!("{:?}", db.session("d1", "u1", along).await.unwrap()));
    }
    out.push(format!("{:?}", db.session("d1", "someone-else", Along::Nothing).await.unwrap()));
    for token in ["s-file", "s-clip", "unknown"] {
        out.push(format!("{:?}", db.share_with_item(token).await.unwrap()));
    }
    out.push(format!("{:?}", db.file_of("u1", "f1").await.unwrap()));
    out.push(format!("{:?}", db.file_of("u2", "f1").await.unwrap()));
    out.push(format!("{:?}", db.newest_clip_with_text("u1", 100).await.unwrap()));
    out.push(format!("{:?}", db.clip_text("c1").await.unwrap()));
    out.push(format!("{:?}", db.clip_text("c2").await.unwrap()));
    out
}

#[tokio::test]
async fn same_rows_as_the_pool() {
    let (_dir, db) = database_with_rows().await;
    assert!(db.local.is_some(), "a file database reads on the calling thread");

    let local = reads(&db).await;
    let pooled = reads(&Database { local: None, ..db.clone() }).await;
    assert_eq!(local, pooled);
    // Not vacuous: the rows were found, with their joins.
    assert!(local[0].contains("username: \"ann\"") && local[1].contains("name: \"a.txt\""), "{local:?}");
    assert!(local[3].contains("Some(\"hello\")") || local[3].contains("file: Some"), "{local:?}");
    assert!(local[6].contains("password_hash: Some(\"p\")") && local[7].contains("clip: Some"), "{local:?}");
    assert_eq!(local[5], "None");
    assert_eq!(local[12], "Some(\"hello\")");
    assert_eq!(local[13], "None");
}

#[tokio::test]
async fn a_write_is_seen_by_the_next_read() {
    let (_dir, db) = database_with_rows().await;
    assert!(db.session("d1", "u1", Along::Nothing).await.unwrap().is_some());
    assert!(db.delete_device("u1", "d1").await.unwrap());
    assert!(db.session("d1", "u1", Along::Nothing).await.unwrap().is_none());
}

/// A clip read with its whole text gets its preview cut in Rust; every
/// other read has SQLite's `substr`. Both count characters, not bytes.
#[tokio::test]
async fn a_preview_cut_from_the_text_is_the_one_sqlite_cuts() {
    let (_dir, db) = database_with_rows().await;
    for (id, text) in [("c3", "é🎉a".repeat(90)), ("c4", "short ü".to_string()), ("c5", "x".repeat(200))]
    {
        sqlx::query(
            "INSERT INTO clips (id, user_id, kind, text_content, size, created_at, expires_at) \
             VALUES ($1, 'u1', 'text', $2, 1, 20, 9000)",
        )
        .bind(id)
        .bind(&text)
        .execute(&db.pool)
        .await
        .unwrap();
        let by_sql = db.clip_by_id(Some("u1"), id).await.unwrap().unwrap().preview.unwrap();
        let (newest, whole) = db.newest_clip_with_text("u1", 100).await.unwrap().unwrap();
        let session = db.session("d1", "u1", Along::NewestClip(100)).await.unwrap().unwrap();
        let (in_session, _) = session.newest_clip.unwrap();
        assert_eq!(newest.id, id);
        assert_eq!(whole.as_deref(), Some(text.as_str()));
        assert_eq!(newest.preview.as_deref(), Some(by_sql.as_str()), "{id}");
        assert_eq!(in_session.preview.as_deref(), Some(by_sql.as_str()), "{id}");
        assert_eq!(by_sql.chars().count(), text.chars().count().min(200), "{id}");
    }
}
