//! `cloudbuffer pair`: add a phone by scanning a QR code, no password typing.

use std::time::Duration;

use cloudbuffer_client::loopback_warning;
use cloudbuffer_client::pairing::with_account_key;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::time::Instant;

use crate::cli::PairArgs;
use crate::format::{one_line, span};
use crate::ui::{self, note, out};
use crate::{CliResult, Context, Failure};

/// `cloudbuffer pair [--no-wait] [--qr|--no-qr]`.
pub async fn pair(context: &Context, args: PairArgs) -> CliResult {
    let client = context.client()?;
    // Listening before the code exists: a phone quicker than this
    // process's next step is not missed.
    let mut watch = if args.no_wait { None } else { Some(client.watch_new_devices().await?) };
    let pairing = client.create_pairing().await?;
    let deadline = Instant::now() + Duration::from_secs(pairing.expires_in);
    let key = if args.no_key { None } else { client.account_key()? };
    let url = match &key {
        Some(key) => with_account_key(&pairing.url, key),
        None => pairing.url.clone(),
    };
    out!("{url}")?;
    if args.qr || (!args.no_qr && ui::stdout_is_terminal()) {
        if let Some(qr) = ui::qr_code(&url) {
            out!("{}", qr.trim_end())?;
        }
    }
    warn_if_loopback(&url);
    if key.is_some() {
        note!(
            "The link carries your end-to-end encryption key, so the phone can open encrypted items: \
             show it only to your own phone (`--no-key` leaves the key out)."
        );
    }
    note!(
        "Scan the QR code with the phone's camera, or open the link on the phone: it opens Cloud Buffer \
         signed in as a new device. The code works once, for the next {}.",
        span(pairing.expires_in)
    );
    let Some(watch) = watch.as_mut() else { return Ok(()) };
    let countdown = countdown(deadline);
    let added = watch.next_device(deadline).await;
    countdown.finish_and_clear();
    match added? {
        Some(device) => {
            out!("Paired: {}", one_line(&device.name, 60))?;
            note!("`cloudbuffer devices` lists it; `cloudbuffer devices revoke {}` signs it out.", device.id);
            Ok(())
        }
        None => Err(Failure::message(format!(
            "the pairing code expired after {} without a phone using it; run `cloudbuffer pair` again",
            span(pairing.expires_in)
        ))),
    }
}

/// The plain-words warning on standard error when a link the CLI prints
/// starts with a loopback address, which a phone cannot open.
pub fn warn_if_loopback(url: &str) {
    if let Some(warning) = loopback_warning(url) {
        note!("Warning: {warning}.");
    }
}

/// "Waiting for the phone… 4:59 left" on standard error, when that is a
/// terminal (indicatif draws nothing otherwise).
fn countdown(deadline: Instant) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let ticking = bar.clone();
    tokio::spawn(async move {
        while !ticking.is_finished() {
            let left = deadline.saturating_duration_since(Instant::now()).as_secs();
            ticking.set_message(format!(
                "Waiting for the phone… {}:{:02} left (Ctrl-C to stop)",
                left / 60,
                left % 60
            ));
            ticking.tick();
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    bar
}
