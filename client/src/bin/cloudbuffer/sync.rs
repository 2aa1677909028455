//! `cloudbuffer sync`: the sync engine in the foreground, with one line on
//! standard error whenever its state changes.

use std::sync::Arc;

use cloudbuffer_client::sync::{
    ArboardClipboard, Clipboard, Connection, MemoryClipboard, SyncEngine, SyncStatus,
};

use crate::cli::SyncArgs;
use crate::ui::note;
use crate::{CliResult, Context, Failure};

/// Runs until Ctrl-C (exit 0: the queue is on disk, so stopping at any
/// point loses nothing) or until the session ends (exit 1).
pub async fn sync(context: &Context, args: SyncArgs) -> CliResult {
    let client = context.client()?;
    let folders = args.outbox.is_some() || args.inbox.is_some();
    for dir in args.outbox.iter().chain(&args.inbox) {
        if !dir.is_dir() {
            return Err(Failure::message(format!("{} is not a folder", dir.display())));
        }
    }
    // A headless machine has no clipboard: it can still sync folders.
    let clipboard: Arc<dyn Clipboard> = match open_clipboard().await {
        Ok(clipboard) => Arc::new(clipboard),
        Err(why) if folders => {
            note!("no clipboard here ({why}): syncing folders only");
            Arc::new(MemoryClipboard::new())
        }
        Err(why) => {
            return Err(Failure::message(format!(
                "no clipboard here ({why}); give --outbox or --inbox to sync folders"
            )))
        }
    };
    let server = client.server().to_string();
    let mut builder = SyncEngine::builder_shared(client, clipboard);
    if let Some(dir) = args.outbox {
        builder = builder.outbox(dir);
    }
    if let Some(dir) = args.inbox {
        builder = builder.inbox(dir);
    }
    let engine = builder.build()?;
    let handle = engine.spawn();
    let mut status = handle.status();
    let mut shown = status.borrow().clone();
    note!("syncing with {server} (Ctrl-C to stop)");
    loop {
        tokio::select! {
            changed = status.changed() => if changed.is_err() { break },
            () = crate::ctrl_c() => {
                handle.stop().await?;
                note!("stopped");
                return Ok(());
            }
        }
        let now = status.borrow_and_update().clone();
        report(&shown, &now, &server);
        shown = now;
        if shown.connection == Connection::Stopped {
            break;
        }
    }
    handle.stop().await?;
    Ok(())
}

async fn open_clipboard() -> Result<ArboardClipboard, String> {
    // Connecting to the display can block: keep it off the event loop.
    match tokio::task::spawn_blocking(ArboardClipboard::new).await {
        Ok(result) => result.map_err(|e| e.0),
        Err(e) => Err(e.to_string()),
    }
}

/// One line per change people care about.
fn report(before: &SyncStatus, now: &SyncStatus, server: &str) {
    if now.connection != before.connection {
        match &now.connection {
            Connection::Connected => note!("connected to {server}"),
            Connection::Offline { retry_in } => {
                let why = cloudbuffer_client::printable(now.last_error.as_deref().unwrap_or("unreachable"));
                note!("offline: {why}; retrying in {:.1} s", retry_in.as_secs_f64());
            }
            Connection::Connecting | Connection::Stopped => {}
        }
    }
    if now.sent > before.sent {
        note!("sent a clip ({} so far)", now.sent);
    }
    if now.received > before.received {
        note!("received a clip ({} so far)", now.received);
    }
    if now.concealed_skipped > before.concealed_skipped {
        note!("kept a password manager's secret on this machine");
    }
    if now.queued > before.queued {
        note!("{} clip(s) queued until the server is back", now.queued);
    }
}
