//! Signing in and out, the device list and the usage figures.

use cloudbuffer_client::{Client, ClientError, DeviceTokens};

use crate::cli::{DevicesAction, DevicesArgs, JsonArgs, LoginArgs};
use crate::format::{ago, expires_in, human_bytes, table};
use crate::ui::{self, note, out, SecretSource};
use crate::{CliResult, Context, Failure};

/// `cloudbuffer login`.
pub async fn login(context: &Context, args: LoginArgs) -> CliResult {
    let store = context.store()?;
    // A damaged session file must not stop anyone from signing in again.
    let saved = store.load().ok().flatten();
    let server =
        match (&context.server, &saved) {
            (Some(server), _) => server.clone(),
            (None, Some(saved)) => saved.server.clone(),
            (None, None) => return Err(Failure::usage(
                "which server? give --server URL (or set CLOUDBUFFER_SERVER), e.g. --server http://host:8080",
            )),
        };
    // Not with_store: the old session is signed out below before this one is saved.
    let client = Client::new(&server)?.with_device_tokens(DeviceTokens::of(&store));
    let username = match (args.username, &saved) {
        (Some(username), _) => username,
        (None, Some(saved)) if saved.server == client.server() => saved.username.clone(),
        _ => return Err(Failure::usage("who are you? give --username NAME")),
    };
    let device_name = args.device_name.unwrap_or_else(host_name);
    let prompt = format!("Password for {username} at {}: ", client.server());
    let password = ui::read_secret(&SecretSource {
        env: "CLOUDBUFFER_PASSWORD",
        prompt: &prompt,
        confirm: args.register,
    })?;
    let session = if args.register {
        client.register(&username, &password, &device_name).await?
    } else {
        client.login(&username, &password, &device_name).await.map_err(|e| match e {
            ClientError::InvalidCredentials => {
                Failure::message(format!("{e} (no account yet? `cloudbuffer login --register` creates one)"))
            }
            e => e.into(),
        })?
    };
    // This machine's previous session on that server is replaced: sign
    // it out there too (best effort), so it does not linger in the list.
    if saved.as_ref().is_some_and(|old| old.server == session.server && old.device_id != session.device_id) {
        if let Ok(old) = Client::from_store(store.clone(), None) {
            let _ = old.logout().await;
        }
    }
    store.save(&session)?;
    let verb = if args.register { "Created the account" } else { "Signed in as" };
    note!("{verb} {} at {} (this device: {device_name}).", session.username, session.server);
    Ok(())
}

/// This machine's name, for the device list.
fn host_name() -> String {
    let name = gethostname::gethostname().to_string_lossy().trim().to_string();
    if name.is_empty() {
        "cloudbuffer".into()
    } else {
        name
    }
}

/// `cloudbuffer logout`.
pub async fn logout(context: &Context) -> CliResult {
    let store = context.store()?;
    match store.load() {
        Ok(Some(_)) => {}
        Ok(None) => {
            note!("Not signed in.");
            return Ok(());
        }
        Err(e) => {
            // A damaged session file cannot be signed out on the server:
            // forget it all the same.
            store.clear()?;
            note!("Signed out on this machine ({e}).");
            return Ok(());
        }
    }
    let client = Client::from_store(store, context.server.as_deref())?;
    match client.logout().await {
        Ok(()) => {
            note!("Signed out.");
            Ok(())
        }
        Err(e) => Err(Failure::message(format!(
            "signed out on this machine, but the server could not sign this device out ({e}); \
             `cloudbuffer devices revoke ID` from another device does it"
        ))),
    }
}

/// `cloudbuffer devices [revoke ID]`.
pub async fn devices(context: &Context, args: DevicesArgs) -> CliResult {
    let client = context.client()?;
    if let Some(DevicesAction::Revoke { id }) = args.action {
        let this_device = client.session().await.map(|s| s.device_id);
        if this_device.as_deref() == Some(id.as_str()) {
            client.logout().await?;
            note!("Signed this device out.");
        } else {
            client.revoke_device(&id).await?;
            note!("Signed device {id} out.");
        }
        return Ok(());
    }
    let devices = client.devices().await?;
    if args.json.json {
        return out!("{}", to_json(&devices)?);
    }
    let rows: Vec<Vec<String>> = devices
        .iter()
        .map(|d| {
            vec![
                if d.current { "*".into() } else { String::new() },
                d.id.clone(),
                crate::format::one_line(&d.name, 40),
                ago(d.created_at),
                ago(d.last_seen_at),
            ]
        })
        .collect();
    out!("{}", table(&["", "ID", "NAME", "SIGNED IN", "LAST SEEN"], &rows).trim_end())
}

/// `cloudbuffer stats`.
pub async fn stats(context: &Context, args: JsonArgs) -> CliResult {
    let stats = context.client()?.stats().await?;
    if args.json {
        return out!("{}", to_json(&stats)?);
    }
    let percent = if stats.quota_bytes > 0 {
        format!(" ({:.1} %)", stats.bytes_used as f64 * 100.0 / stats.quota_bytes as f64)
    } else {
        String::new()
    };
    let rows = vec![
        vec!["Files".into(), format!("{} of {}", stats.files, stats.max_files)],
        vec![
            "Storage".into(),
            format!("{} of {}{percent}", human_bytes(stats.bytes_used), human_bytes(stats.quota_bytes)),
        ],
        vec!["Clips".into(), stats.clips.to_string()],
        vec!["Active shares".into(), stats.shares_active.to_string()],
        vec!["Downloads".into(), format!("{} ({})", stats.downloads, human_bytes(stats.bytes_downloaded))],
        vec!["Next expiry".into(), stats.next_expiry_at.map_or("none".into(), expires_in)],
    ];
    let text = table(&["", ""], &rows);
    out!("{}", text.trim_start_matches('\n').trim_end())
}

/// Pretty JSON, as the API shapes it.
pub fn to_json<T: serde::Serialize>(value: &T) -> CliResult<String> {
    serde_json::to_string_pretty(value)
        .map_err(|e| Failure::from(ClientError::Invalid(format!("cannot print JSON: {e}"))))
}
