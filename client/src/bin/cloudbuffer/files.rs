//! Files and share links: `send`, `get`, `ls`, `rm`, `share`, `shares`.

use std::path::Path;

use cloudbuffer_client::{Client, ClientError};
use cloudbuffer_protocol::{ClipKind, CreateShare, Share, ShareState};

use crate::account::to_json;
use crate::cli::{GetArgs, LsArgs, RmArgs, SendArgs, ShareArgs, ShareOptions, SharesAction, SharesArgs};
use crate::download;
use crate::format::{expires_in, human_bytes, one_line, printable, table};
use crate::ui::{self, note, out, SecretSource};
use crate::{CliResult, Context, Failure};

const SHARE_PASSWORD_ENV: &str = "CLOUDBUFFER_SHARE_PASSWORD";
/// What an encrypted item shows as on a device without the account key.
const LOCKED: &str = "encrypted — run `cloudbuffer e2e unlock`";

/// `cloudbuffer send FILE…`.
pub async fn send(context: &Context, args: SendArgs) -> CliResult {
    // Check every file before uploading any.
    for path in &args.files {
        let meta = std::fs::metadata(path).map_err(|e| ClientError::io(path, e))?;
        if !meta.is_file() {
            return Err(Failure::message(format!("{}: not a file", path.display())));
        }
    }
    let client = context.client()?;
    let request = if args.no_share { None } else { Some(share_request(&args.share)?) };
    for path in &args.files {
        let info = upload(&client, path).await?;
        match &request {
            None => out!("{}", info.id)?,
            Some(request) => {
                let request = CreateShare { file_id: Some(info.id.clone()), ..request.clone() };
                let share = client.create_share(&request).await?;
                print_share(&client, &share, &args.share).await?;
            }
        }
    }
    Ok(())
}

async fn upload(client: &Client, path: &Path) -> CliResult<cloudbuffer_protocol::FileInfo> {
    let name = cloudbuffer_client::transfer::file_name(path)?;
    let (bar, progress) = ui::transfer_bar(&name);
    ui::set_pending(Some(ui::Pending::Upload(name)));
    let result = client.upload_file(path, progress).await;
    ui::set_pending(None);
    bar.finish_and_clear();
    match result {
        Ok(info) => {
            let shown = client.reveal_file(&info)?;
            note!(
                "Uploaded {} ({}{}), id {}.",
                printable(&shown.name),
                human_bytes(shown.size),
                if info.encrypted { ", end-to-end encrypted" } else { "" },
                printable(&info.id)
            );
            Ok(info)
        }
        // Say which file, unless the message already does (or is not about it).
        Err(e @ (ClientError::Io { .. } | ClientError::E2eLocked)) => Err(e.into()),
        Err(e) => Err(Failure::message(format!("{}: {e}", path.display()))),
    }
}

/// The share settings of the command line (asks for the password now,
/// before anything is sent).
fn share_request(options: &ShareOptions) -> CliResult<CreateShare> {
    let password = if options.password {
        Some(ui::read_secret(&SecretSource {
            env: SHARE_PASSWORD_ENV,
            prompt: "Password for the link: ",
            confirm: true,
        })?)
    } else {
        None
    };
    Ok(CreateShare {
        file_id: None,
        clip_id: None,
        expires_in: options.expires.map(|s| i64::try_from(s).unwrap_or(i64::MAX)),
        password,
        max_downloads: if options.once { Some(1) } else { options.max_downloads },
    })
}

/// The link on standard output (and its QR code), the details on standard
/// error. An encrypted item's link carries its key (`#k=…`): the QR code is
/// drawn here from that whole link (the server's has no key in it).
async fn print_share(client: &Client, share: &Share, options: &ShareOptions) -> CliResult {
    let link = match client.share_link(share).await {
        Ok(link) => link,
        Err(e) => {
            // A link without its key opens nothing: do not leave it behind.
            let _ = client.revoke_share(&share.token).await;
            return Err(e.into());
        }
    };
    out!("{link}")?;
    if options.qr || (!options.no_qr && ui::stdout_is_terminal()) {
        if let Some(qr) = ui::qr_code(&link) {
            out!("{}", qr.trim_end())?;
        }
    }
    let mut details = vec![item_name(client, share), format!("expires {}", expires_in(share.expires_at))];
    match share.max_downloads {
        Some(1) => details.push("one download".into()),
        Some(n) => details.push(format!("{n} downloads")),
        None => {}
    }
    if share.password_protected {
        details.push("password protected".into());
    }
    note!("{}", details.join(" · "));
    crate::pair::warn_if_loopback(&share.url);
    Ok(())
}

/// What a share link serves, for people (an encrypted item's name decrypted).
fn item_name(client: &Client, share: &Share) -> String {
    let file = share.file.as_ref().map(|f| client.reveal_file(f));
    let clip = share.clip.as_ref().map(|c| client.reveal_clip(c));
    match (file, clip) {
        (Some(Err(_)), _) | (None, Some(Err(_))) => LOCKED.into(),
        (Some(Ok(file)), _) => format!("{} ({})", one_line(&file.name, 60), human_bytes(file.size)),
        (None, Some(Ok(clip))) => match (&clip.file, &clip.preview) {
            (Some(file), _) => format!("{} ({})", one_line(&file.name, 60), human_bytes(file.size)),
            (None, Some(preview)) => format!("text \"{}\"", one_line(preview, 40)),
            (None, None) => "a clip".into(),
        },
        (None, None) => "(gone)".into(),
    }
}

/// `cloudbuffer get ID|SHARE_URL [-o PATH] [--password]`.
pub async fn get(context: &Context, args: GetArgs) -> CliResult {
    let target = args.target.trim();
    if target.starts_with("http://") || target.starts_with("https://") {
        let password = if args.password || std::env::var_os(SHARE_PASSWORD_ENV).is_some() {
            Some(ui::read_secret(&SecretSource {
                env: SHARE_PASSWORD_ENV,
                prompt: "Password for the link: ",
                confirm: false,
            })?)
        } else {
            None
        };
        return download::share_link(target, password.as_deref(), args.output.as_deref()).await;
    }
    if args.password {
        return Err(Failure::usage("--password is for share links; your own files need none"));
    }
    let client = context.client()?;
    let file = client.file(target).await.map_err(|e| unknown("file", target, e))?;
    download::stored_file(&client, &file, args.output.as_deref()).await
}

/// "no file abc": an id that is unknown (or another user's) said plainly.
fn unknown(kind: &str, id: &str, error: ClientError) -> Failure {
    let list = if kind == "clip" { "cloudbuffer ls --clips" } else { "cloudbuffer ls" };
    match error {
        ClientError::NotFound(_) => {
            Failure::message(format!("no {kind} {id}: it may have expired or been deleted (see `{list}`)"))
        }
        other => other.into(),
    }
}

/// `cloudbuffer ls [--clips] [--json]`.
pub async fn ls(context: &Context, args: LsArgs) -> CliResult {
    let client = context.client()?;
    if args.clips {
        let clips = client.clips().await?;
        if args.json.json {
            return out!("{}", to_json(&clips)?);
        }
        if clips.is_empty() {
            note!("The clipboard history is empty.");
            return Ok(());
        }
        let rows: Vec<Vec<String>> = clips
            .iter()
            .map(|c| {
                let (c, locked) = match client.reveal_clip(c) {
                    Ok(shown) => (shown, false),
                    Err(_) => (c.clone(), true),
                };
                let content = match (&c.kind, &c.file, &c.preview) {
                    _ if locked => LOCKED.into(),
                    (ClipKind::File, Some(file), _) => one_line(&file.name, 50),
                    (_, _, Some(preview)) => format!("\"{}\"", one_line(preview, 48)),
                    _ => String::new(),
                };
                let kind = match c.kind {
                    ClipKind::Text => "text",
                    ClipKind::File => "file",
                };
                vec![c.id.clone(), kind.into(), human_bytes(c.size), expires_in(c.expires_at), content]
            })
            .collect();
        return out!("{}", table(&["ID", "KIND", "SIZE", "EXPIRES", "CONTENT"], &rows).trim_end());
    }
    let files = client.files().await?;
    if args.json.json {
        return out!("{}", to_json(&files)?);
    }
    if files.is_empty() {
        note!("No files.");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = files
        .iter()
        .map(|f| {
            let (size, name) = match client.reveal_file(f) {
                Ok(shown) => (shown.size, one_line(&shown.name, 60)),
                Err(_) => (f.size, LOCKED.into()),
            };
            vec![f.id.clone(), human_bytes(size), expires_in(f.expires_at), f.downloads.to_string(), name]
        })
        .collect();
    out!("{}", table(&["ID", "SIZE", "EXPIRES", "DOWNLOADS", "NAME"], &rows).trim_end())
}

/// `cloudbuffer rm ID… [--clip]`.
pub async fn rm(context: &Context, args: RmArgs) -> CliResult {
    let client = context.client()?;
    for id in &args.ids {
        if args.clip {
            client.delete_clip(id).await.map_err(|e| unknown("clip", id, e))?;
            note!("Deleted clip {id}.");
        } else {
            client.delete_file(id).await.map_err(|e| unknown("file", id, e))?;
            note!("Deleted file {id}.");
        }
    }
    Ok(())
}

/// `cloudbuffer share ID [--clip] [--expires D] [--password] [--once]`.
pub async fn share(context: &Context, args: ShareArgs) -> CliResult {
    let client = context.client()?;
    let mut request = share_request(&args.share)?;
    let kind = if args.clip { "clip" } else { "file" };
    if args.clip {
        request.clip_id = Some(args.id.clone());
    } else {
        request.file_id = Some(args.id.clone());
    }
    let share = client.create_share(&request).await.map_err(|e| unknown(kind, &args.id, e))?;
    print_share(&client, &share, &args.share).await
}

/// `cloudbuffer shares [--json]`, `cloudbuffer shares revoke TOKEN|URL`.
pub async fn shares(context: &Context, args: SharesArgs) -> CliResult {
    let client = context.client()?;
    if let Some(SharesAction::Revoke { token }) = args.action {
        let token = match download::split_share_url(&token) {
            Ok((_, token)) => token,
            Err(_) => token,
        };
        client.revoke_share(&token).await?;
        note!("Revoked the link {token}.");
        return Ok(());
    }
    let shares = client.shares().await?;
    if args.json.json {
        return out!("{}", to_json(&shares)?);
    }
    if shares.is_empty() {
        note!("No share links.");
        return Ok(());
    }
    let rows_of: Vec<_> = shares
        .iter()
        .map(|s| {
            let state = match s.state {
                ShareState::Active => "active",
                ShareState::Expired => "expired",
                ShareState::Exhausted => "used up",
                ShareState::Revoked => "revoked",
            };
            let downloads = match s.max_downloads {
                Some(max) => format!("{}/{max}", s.downloads),
                None => s.downloads.to_string(),
            };
            let expires = if s.state == ShareState::Active { expires_in(s.expires_at) } else { "-".into() };
            let password = if s.password_protected { "yes" } else { "no" };
            (s, state, expires, downloads, password)
        })
        .collect();
    // Active links of encrypted items are listed with their key (`#k=`);
    // without the account key here, as they are.
    let mut rows = Vec::with_capacity(shares.len());
    for (s, state, expires, downloads, password) in rows_of {
        let url = match s.state {
            ShareState::Active => client.share_link(s).await.unwrap_or_else(|_| s.url.clone()),
            _ => s.url.clone(),
        };
        rows.push(vec![url, state.into(), expires, downloads, password.into(), item_name(&client, s)]);
    }
    let header = ["URL", "STATE", "EXPIRES", "DOWNLOADS", "PASSWORD", "ITEM"];
    out!("{}", table(&header, &rows).trim_end())?;
    if let Some(active) = shares.iter().find(|s| s.state == ShareState::Active) {
        crate::pair::warn_if_loopback(&active.url);
    }
    Ok(())
}
