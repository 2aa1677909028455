//! Users, devices (sessions) and refresh tokens.

use std::sync::LazyLock;

use super::sqlite_read::Query;

use sqlx::Row;

use super::clips::{clip_with_text_columns, clip_with_text_from_row, ClipRow};
use super::files::{file_from_prefixed_row, FileRow, FILE_COLUMNS_AS_F};
use super::{Columns, Database};

/// A user as stored.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub username: String,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
    /// Admin flag.
    pub is_admin: bool,
    /// Creation time, ms.
    pub created_at: i64,
}

/// A device as stored.
#[derive(Debug, Clone)]
pub struct DeviceRow {
    /// Id.
    pub id: String,
    /// Name given at sign-in.
    pub name: String,
    /// Sign-in time, ms.
    pub created_at: i64,
    /// Last seen, ms.
    pub last_seen_at: i64,
}

/// A device together with its user, as the authentication check needs it.
#[derive(Debug, Clone)]
pub struct SessionRow {
    /// The user.
    pub user: UserRow,
    /// Last seen of the device, ms.
    pub last_seen_at: i64,
    /// With [`Along::File`]: that file, if it is the user's.
    pub file: Option<FileRow>,
    /// With [`Along::NewestClip`]: the user's newest live clip and, for a
    /// text clip, its text.
    pub newest_clip: Option<(ClipRow, Option<String>)>,
}

/// What a request needs besides its session, fetched in the same query:
/// the busiest authenticated reads (`GET /files/{id}/content`, `GET
/// /buffer`) then cost one query, like `GET /me`.
#[derive(Debug, Clone, Copy)]
pub enum Along<'a> {
    /// Only the session.
    Nothing,
    /// The user's file of this id.
    File(&'a str),
    /// The user's newest clip still live at this time (ms).
    NewestClip(i64),
}

/// What presenting a refresh token found.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// Valid and now spent: issue new tokens for this device.
    Valid {
        /// The device.
        device_id: String,
        /// Its user.
        user_id: String,
        /// When the presented token was issued, ms.
        issued_at: i64,
    },
    /// Already spent: the device was revoked.
    Reused,
    /// Never issued, or its device is gone.
    Unknown,
}

const USER_COLUMNS: &str = "id, username, password_hash, is_admin, created_at";

fn user_from_row(row: &impl Columns) -> UserRow {
    UserRow {
        id: row.text("id"),
        username: row.text("username"),
        password_hash: row.text("password_hash"),
        is_admin: row.int("is_admin") != 0,
        created_at: row.int("created_at"),
    }
}

fn session_from_row(r: &impl Columns, along: Along<'_>) -> SessionRow {
    let mut session = SessionRow {
        user: user_from_row(r),
        last_seen_at: r.int("last_seen_at"),
        file: None,
        newest_clip: None,
    };
    match along {
        Along::Nothing => {}
        Along::File(_) => session.file = r.opt_text("f_id").map(|_| file_from_prefixed_row(r)),
        Along::NewestClip(_) => session.newest_clip = r.opt_text("c_id").map(|_| clip_with_text_from_row(r)),
    }
    session
}

impl Database {
    /// Creates a user. `admin: None` makes the very first user an admin.
    /// Returns false when the name is taken.
    pub async fn create_user(&self, user: &UserRow, admin: Option<bool>) -> Result<bool, sqlx::Error> {
        let admin_expr = match admin {
            Some(true) => "1",
            Some(false) => "0",
            None => "CASE WHEN EXISTS (SELECT 1 FROM users) THEN 0 ELSE 1 END",
        };
        let sql = format!(
            "INSERT INTO users (id, username, password_hash, is_admin, created_at) \
             SELECT $1, $2, $3, {admin_expr}, $4 ON CONFLICT (username) DO NOTHING"
        );
        let done = sqlx::query(&sql)
            .bind(&user.id)
            .bind(&user.username)
            .bind(&user.password_hash)
            .bind(user.created_at)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user with this name.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row = sqlx::query(&sql).bind(username).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(user_from_row))
    }

    /// The user with this id.
    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(user_from_row))
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(user_from_row).collect())
    }

    /// Replaces a user's password hash and signs out all their devices.
    pub async fn set_password(&self, username: &str, hash: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE username = $2")
            .bind(hash)
            .bind(username)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM devices WHERE user_id = (SELECT id FROM users WHERE username = $1)")
            .bind(username)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Grants or takes away admin rights.
    pub async fn set_admin(&self, username: &str, admin: bool) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE users SET is_admin = $1 WHERE username = $2")
            .bind(i64::from(admin))
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a user row (files must have been removed first so blob
    /// reference counts stay right). Devices and tokens cascade.
    pub async fn delete_user_row(&self, user_id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Creates a device and its first refresh token in one transaction.
    pub async fn create_device(
        &self,
        user_id: &str,
        device: &DeviceRow,
        refresh_hash: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        insert_device(&mut tx, user_id, device, refresh_hash).await?;
        tx.commit().await
    }

    /// The user behind a device, if the device is still signed in, with
    /// what `along` asks for.
    pub async fn session(
        &self,
        device_id: &str,
        user_id: &str,
        along: Along<'_>,
    ) -> Result<Option<SessionRow>, sqlx::Error> {
        const SESSION: &str = "u.id, u.username, u.password_hash, u.is_admin, u.created_at, d.last_seen_at";
        const FROM: &str = "FROM devices d JOIN users u ON u.id = d.user_id";
        const WHERE: &str = "WHERE d.id = $1 AND d.user_id = $2";
        // Built once: these run on every authenticated request, and building
        // (and freeing) a kilobyte of SQL each time showed in profiles.
        static SQL: LazyLock<[Query; 3]> = LazyLock::new(|| {
            [
                Query::new(format!("SELECT {SESSION} {FROM} {WHERE}")),
                Query::new(format!(
                    "SELECT {SESSION}, {FILE_COLUMNS_AS_F} {FROM} \
                     LEFT JOIN files f ON f.id = $3 AND f.user_id = d.user_id {WHERE}"
                )),
                Query::new(format!(
                    "SELECT {SESSION}, {} {FROM} \
                     LEFT JOIN clips c ON c.id = (SELECT id FROM clips \
                         WHERE user_id = d.user_id AND expires_at > $3 ORDER BY seq DESC LIMIT 1) \
                     LEFT JOIN files f ON f.id = c.file_id {WHERE}",
                    clip_with_text_columns()
                )),
            ]
        });
        let sql = match along {
            Along::Nothing => &SQL[0],
            Along::File(_) => &SQL[1],
            Along::NewestClip(_) => &SQL[2],
        };
        if let Some(local) = &self.local {
            let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = vec![("$1", &device_id), ("$2", &user_id)];
            match &along {
                Along::Nothing => {}
                Along::File(id) => params.push(("$3", id)),
                Along::NewestClip(now) => params.push(("$3", now)),
            }
            return local.row(sql, &params, |r| session_from_row(r, along));
        }
        let query = sqlx::query(sql.sql()).bind(device_id).bind(user_id);
        let query = match along {
            Along::Nothing => query,
            Along::File(id) => query.bind(id),
            Along::NewestClip(now) => query.bind(now),
        };
        let row = query.fetch_optional(&self.pool).await?;
        Ok(row.map(|r| session_from_row(&r, along)))
    }

    /// Records that a device was seen.
    pub async fn touch_device(&self, device_id: &str, now: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE devices SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(device_id)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    /// A user's devices, oldest first.
    pub async fn list_devices(&self, user_id: &str) -> Result<Vec<DeviceRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, name, created_at, last_seen_at FROM devices WHERE user_id = $1 ORDER BY created_at, id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| DeviceRow {
                id: r.get("id"),
                name: r.get("name"),
                created_at: r.get("created_at"),
                last_seen_at: r.get("last_seen_at"),
            })
            .collect())
    }

    /// Signs a device out. False if it is not this user's.
    pub async fn delete_device(&self, user_id: &str, device_id: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM devices WHERE id = $1 AND user_id = $2")
            .bind(device_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Spends a refresh token. A replay of a spent one revokes its device.
    pub async fn use_refresh(&self, token_hash: &str, now: i64) -> Result<RefreshOutcome, sqlx::Error> {
        let mut tx = self.write_tx().await?;
        // The conditional UPDATE makes two racing refreshes of one token
        // succeed at most once.
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL \
             RETURNING device_id, created_at",
        )
        .bind(now)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = if let Some(row) = spent {
            let device_id: String = row.get("device_id");
            let user_id: Option<String> = sqlx::query_scalar("SELECT user_id FROM devices WHERE id = $1")
                .bind(&device_id)
                .fetch_optional(&mut *tx)
                .await?;
            match user_id {
                Some(user_id) => {
                    RefreshOutcome::Valid { device_id, user_id, issued_at: row.get("created_at") }
                }
                None => RefreshOutcome::Unknown,
            }
        } else {
            let device: Option<String> =
                sqlx::query_scalar("SELECT device_id FROM refresh_tokens WHERE token_hash = $1")
                    .bind(token_hash)
                    .fetch_optional(&mut *tx)
                    .await?;
            match device {
                Some(device_id) => {
                    sqlx::query("DELETE FROM devices WHERE id = $1")
                        .bind(device_id)
                        .execute(&mut *tx)
                        .await?;
                    RefreshOutcome::Reused
                }
                None => RefreshOutcome::Unknown,
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Issues the next refresh token of a device.
    pub async fn add_refresh(&self, token_hash: &str, device_id: &str, now: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.write_tx().await?;
        insert_refresh(&mut tx, token_hash, device_id, now).await?;
        sqlx::query("UPDATE devices SET last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await
    }
}

/// Signs `device` in to `user_id` with its first refresh token.
pub(super) async fn insert_device(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user_id: &str,
    device: &DeviceRow,
    refresh_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO devices (id, user_id, name, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&device.id)
    .bind(user_id)
    .bind(&device.name)
    .bind(device.created_at)
    .bind(device.last_seen_at)
    .execute(&mut **tx)
    .await?;
    insert_refresh(tx, refresh_hash, &device.id, device.created_at).await
}

async fn insert_refresh(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    token_hash: &str,
    device_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO refresh_tokens (token_hash, device_id, created_at) VALUES ($1, $2, $3)")
        .bind(token_hash)
        .bind(device_id)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}
