//! `cloudbuffer-server user …`: account management from the command line,
//! for servers with registration closed. Works on the database directly,
//! so it runs beside a live server; blobs freed here are unlinked by the
//! server's next expiry sweep.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use crate::auth::password::{hash_password, validate_password, validate_username};
use crate::config::Config;
use crate::db::{now_ms, to_time, Database, UserRow};
use crate::ids;

/// User management commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (password from CLOUDBUFFER_PASSWORD, stdin, or a prompt).
    Add {
        /// User name.
        username: String,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List,
    /// Delete a user, their devices and their files.
    Remove {
        /// User name.
        username: String,
    },
    /// Set a user's password (signs all their devices out).
    Passwd {
        /// User name.
        username: String,
    },
    /// Grant admin rights (or take them away with --revoke).
    SetAdmin {
        /// User name.
        username: String,
        /// Take admin rights away instead.
        #[arg(long)]
        revoke: bool,
    },
}

/// Runs a user command; the error is a sentence for the terminal.
pub async fn run(config: &Config, command: UserCommand) -> Result<(), String> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| format!("cannot create {}: {e}", config.data_dir.display()))?;
    let db = Database::connect(&config.database_url)
        .await
        .map_err(|e| format!("cannot open database {}: {e}", crate::db::redact_url(&config.database_url)))?;
    let result = execute(&db, command).await;
    db.close().await;
    result
}

async fn execute(db: &Database, command: UserCommand) -> Result<(), String> {
    let db_error = |e: sqlx::Error| format!("database error: {e}");
    match command {
        UserCommand::Add { username, admin } => {
            validate_username(&username).map_err(|e| e.to_string())?;
            let password = read_password()?;
            let user = UserRow {
                id: ids::new_id(),
                password_hash: hash_password(password).await.map_err(|e| e.to_string())?,
                username,
                is_admin: admin,
                created_at: now_ms(),
            };
            if !db.create_user(&user, Some(admin)).await.map_err(db_error)? {
                return Err(format!("user {:?} already exists", user.username));
            }
            println!("created user {}{}", user.username, if admin { " (admin)" } else { "" });
        }
        UserCommand::List => {
            let users = db.list_users().await.map_err(db_error)?;
            println!("{:<32} {:<6} CREATED", "USERNAME", "ADMIN");
            for user in users {
                let created = to_time(user.created_at)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                println!("{:<32} {:<6} {}", user.username, if user.is_admin { "yes" } else { "no" }, created);
            }
        }
        UserCommand::Remove { username } => {
            let user = db.user_by_name(&username).await.map_err(db_error)?;
            let user = user.ok_or_else(|| format!("no user named {username:?}"))?;
            db.delete_all_files(&user.id).await.map_err(db_error)?;
            db.delete_user_row(&user.id).await.map_err(db_error)?;
            println!("removed user {username}");
        }
        UserCommand::Passwd { username } => {
            if db.user_by_name(&username).await.map_err(db_error)?.is_none() {
                return Err(format!("no user named {username:?}"));
            }
            let hash = hash_password(read_password()?).await.map_err(|e| e.to_string())?;
            db.set_password(&username, &hash).await.map_err(db_error)?;
            println!("password of {username} changed; their devices were signed out");
        }
        UserCommand::SetAdmin { username, revoke } => {
            if !db.set_admin(&username, !revoke).await.map_err(db_error)? {
                return Err(format!("no user named {username:?}"));
            }
            println!("{username} is {}an admin", if revoke { "no longer " } else { "now " });
        }
    }
    Ok(())
}

/// The new password: `CLOUDBUFFER_PASSWORD`, else a line of stdin when it
/// is not a terminal, else an interactive prompt (asked twice).
fn read_password() -> Result<String, String> {
    let password = if let Ok(password) = std::env::var("CLOUDBUFFER_PASSWORD") {
        password
    } else if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read stdin: {e}"))?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        let first = rpassword::prompt_password("Password: ").map_err(|e| e.to_string())?;
        let again = rpassword::prompt_password("Again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the passwords differ".into());
        }
        first
    };
    validate_password(&password).map_err(|e| e.to_string())?;
    Ok(password)
}
