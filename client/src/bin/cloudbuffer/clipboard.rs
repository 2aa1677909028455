//! `copy` and `paste`: the shared clipboard from the shell.

use std::io::{IsTerminal, Read};

use cloudbuffer_client::e2e::MAX_ENCRYPTED_TEXT;
use cloudbuffer_client::ClientError;
use cloudbuffer_protocol::ClipKind;

use crate::cli::{CopyArgs, PasteArgs};
use crate::download::{self, Dest};
use crate::format::human_bytes;
use crate::ui::{self, note};
use crate::{CliResult, Context, Failure};

/// The largest text clip the server takes; bigger text travels as a file.
const MAX_TEXT: usize = 1024 * 1024;

/// `cloudbuffer copy [TEXT…] [--file PATH]`.
pub async fn copy(context: &Context, args: CopyArgs) -> CliResult {
    if let Some(path) = args.file {
        let meta = std::fs::metadata(&path).map_err(|e| ClientError::io(&path, e))?;
        if !meta.is_file() {
            return Err(Failure::message(format!("{}: not a file", path.display())));
        }
        let client = context.client()?;
        let name = cloudbuffer_client::transfer::file_name(&path)?;
        let (bar, progress) = ui::transfer_bar(&name);
        ui::set_pending(Some(ui::Pending::Upload(name.clone())));
        let clip = client.copy_file(&path, progress).await;
        ui::set_pending(None);
        bar.finish_and_clear();
        let clip = client.reveal_clip(&clip?)?;
        note!("Copied {name} ({}) to the clipboard{}.", human_bytes(clip.size), sealed(&clip));
        return Ok(());
    }
    let text = if args.text.is_empty() { read_stdin_text()? } else { args.text.join(" ") };
    let client = context.client()?;
    // An encrypted text clip is 4/3 of its text, and still at most 1 MiB.
    let max = if client.account_key()?.is_some() { MAX_ENCRYPTED_TEXT } else { MAX_TEXT };
    if text.len() > max {
        return Err(Failure::message(format!(
            "text over {} cannot be a clip: save it to a file and run `cloudbuffer copy --file PATH`",
            human_bytes(max as u64)
        )));
    }
    let clip = client.copy_text(&text).await?;
    note!("Copied {} of text to the clipboard{}.", human_bytes(text.len() as u64), sealed(&clip));
    Ok(())
}

/// ", end-to-end encrypted" for an encrypted clip.
fn sealed(clip: &cloudbuffer_protocol::Clip) -> &'static str {
    if clip.encrypted || clip.file.as_ref().is_some_and(|f| f.encrypted) {
        ", end-to-end encrypted"
    } else {
        ""
    }
}

/// All of standard input as UTF-8 text (at most one byte over the limit
/// is read, so a huge pipe is refused without filling memory).
fn read_stdin_text() -> CliResult<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        note!("Reading the text to copy; end it with Ctrl-D.");
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .take(MAX_TEXT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::message(format!("cannot read standard input: {e}")))?;
    String::from_utf8(bytes).map_err(|_| {
        Failure::message(
            "standard input is not UTF-8 text: copy binary data with `cloudbuffer copy --file PATH`",
        )
    })
}

/// `cloudbuffer paste [-o PATH]` (an encrypted clip is decrypted; without
/// the key nothing is written).
pub async fn paste(context: &Context, args: PasteArgs) -> CliResult {
    let client = context.client()?;
    let clips = client.clips().await?;
    let Some(clip) = clips.into_iter().next() else {
        return Err(Failure::message("the clipboard is empty"));
    };
    match clip.kind {
        ClipKind::File => {
            let file = clip.file.ok_or_else(|| ClientError::BadResponse {
                url: client.server().to_string(),
                detail: format!("file clip {} without its file", clip.id),
            })?;
            download::stored_file(&client, &file, args.output.as_deref()).await
        }
        ClipKind::Text => {
            let text = client.clip_text(&clip.id).await?;
            let Some(output) = args.output.as_deref() else {
                ui::write_stdout(text.as_bytes())?;
                // A terminal prompt should not end up after the text.
                if ui::stdout_is_terminal() && !text.is_empty() && !text.ends_with('\n') {
                    ui::write_stdout(b"\n")?;
                }
                return Ok(());
            };
            match download::destination(Some(output), "clip.txt")? {
                Dest::Stdout => ui::write_stdout(text.as_bytes()),
                Dest::File(path) => {
                    let part = cloudbuffer_client::transfer::part_path(&path);
                    let written = std::fs::write(&part, &text)
                        .map_err(|e| ClientError::io(&part, e))
                        .and_then(|()| std::fs::rename(&part, &path).map_err(|e| ClientError::io(&path, e)));
                    if let Err(e) = written {
                        let _ = std::fs::remove_file(&part);
                        return Err(e.into());
                    }
                    note!("Saved the text ({}) to {}", human_bytes(text.len() as u64), path.display());
                    Ok(())
                }
                Dest::Special(path) => {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
                        .map_err(|e| ClientError::io(&path, e))?;
                    Ok(())
                }
            }
        }
    }
}
