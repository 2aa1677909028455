//! The terminal: results on standard output, notes and progress bars on
//! standard error, password prompts, and QR codes drawn with characters.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cloudbuffer_client::transfer::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::Failure;

/// Writes a result line to standard output (a closed pipe ends the
/// program quietly, like `head` expects).
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::ui::write_stdout(format!("{}\n", format_args!($($arg)*)).as_bytes())
    };
}

/// A note for people on standard error (never fails the command).
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::ui::write_stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}

pub(crate) use {note, out};

/// Writes bytes to standard output.
pub fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).and_then(|()| stdout.flush()).map_err(Failure::stdout)
}

/// Writes text to standard error, above any progress bar.
pub fn write_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// True when standard output is a terminal.
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// The transfer in progress, for the interrupt message.
#[derive(Debug, Clone)]
pub enum Pending {
    /// A download into `part` (`<dest>.part`); `resumable` when running
    /// the same command again continues it (else it is removed).
    Download {
        /// `<dest>.part`.
        part: PathBuf,
        /// Whether the same command continues it.
        resumable: bool,
    },
    /// An upload of this file (the server keeps nothing of it).
    Upload(String),
}

static PENDING: Mutex<Option<Pending>> = Mutex::new(None);

/// Records (or, with `None`, forgets) the transfer in progress.
pub fn set_pending(pending: Option<Pending>) {
    if let Ok(mut slot) = PENDING.lock() {
        *slot = pending;
    }
}

/// The transfer in progress, if any.
pub fn take_pending() -> Option<Pending> {
    PENDING.lock().ok().and_then(|mut slot| slot.take())
}

/// A progress bar for one transfer, on standard error (hidden when that
/// is not a terminal), and the callback that drives it.
pub fn transfer_bar(label: &str) -> (ProgressBar, Progress) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg:24!} [{bar:30}] {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4}",
    )
    .map(|style| style.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(label.to_string());
    let driven = bar.clone();
    let progress: Progress = Arc::new(move |done, total| {
        if driven.length() != Some(total) {
            driven.set_length(total);
        }
        driven.set_position(done);
    });
    (bar, progress)
}

/// Where a secret comes from.
pub struct SecretSource<'a> {
    /// Environment variable checked first.
    pub env: &'a str,
    /// The prompt shown on a terminal.
    pub prompt: &'a str,
    /// Ask twice on a terminal (for new passwords).
    pub confirm: bool,
}

/// A password: the environment variable, else a prompt on the terminal
/// (without echo), else the first line of standard input.
pub fn read_secret(source: &SecretSource) -> Result<String, Failure> {
    if let Some(value) = std::env::var_os(source.env) {
        return value
            .into_string()
            .map_err(|_| Failure::message(format!("{} is not valid UTF-8", source.env)))
            .and_then(|v| non_empty(v, source));
    }
    if std::io::stdin().is_terminal() {
        let first = prompt_secret(source.prompt, "password")?;
        if source.confirm {
            let again = prompt_secret("Again, to confirm: ", "password")?;
            if again != first {
                return Err(Failure::message("the two passwords differ"));
            }
        }
        return non_empty(first, source);
    }
    let text = read_stdin_line("password")?;
    non_empty(text, source)
}

/// The first line of standard input (without its line end), read byte by
/// byte so the rest stays unread for the next call. `what` names the
/// secret in errors ("password", "passphrase").
pub fn read_stdin_line(what: &str) -> Result<String, Failure> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let mut stdin = std::io::stdin().lock();
    loop {
        match stdin.read(&mut byte) {
            Ok(0) => break,
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Failure::message(format!("cannot read the {what} from standard input: {e}")))
            }
        }
        if line.len() > 4096 {
            return Err(Failure::message(format!("the {what} on standard input is too long")));
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map_err(|_| Failure::message(format!("the {what} on standard input is not valid UTF-8")))
}

/// Asks for a secret on the terminal, without echo.
pub fn prompt_secret(text: &str, what: &str) -> Result<String, Failure> {
    rpassword::prompt_password(text).map_err(|e| Failure::message(format!("cannot read the {what}: {e}")))
}

fn non_empty(value: String, source: &SecretSource) -> Result<String, Failure> {
    if value.is_empty() {
        Err(Failure::message(format!(
            "no password given: type it when asked, pipe it on standard input, or set {}",
            source.env
        )))
    } else {
        Ok(value)
    }
}

/// The QR code of `text` drawn with half blocks, two rows per line, with
/// a quiet zone. Light modules are drawn, so it reads on the usual light
/// text on a dark background.
pub fn qr_code(text: &str) -> Option<String> {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn qr_codes_are_drawn_inverted_with_a_quiet_zone() {
        let url = "http://127.0.0.1:8080/s/AAAAAAAAAAAAAAAAAAAAAAAA";
        let drawn = super::qr_code(url).unwrap();
        // Read the half blocks back into modules: drawn = light.
        let mut rows: Vec<Vec<bool>> = Vec::new();
        for line in drawn.lines() {
            let (mut top, mut bottom) = (Vec::new(), Vec::new());
            for c in line.chars() {
                let (t, b) = match c {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected {other:?}"),
                };
                top.push(!t);
                bottom.push(!b);
            }
            rows.push(top);
            rows.push(bottom);
        }
        let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M).unwrap();
        let width = code.width();
        let quiet = 4;
        let size = width + 2 * quiet;
        assert_eq!(rows[0].len(), size);
        for (y, row) in rows.iter().enumerate().take(size) {
            for (x, &dark) in row.iter().enumerate() {
                let inside = (quiet..quiet + width).contains(&x) && (quiet..quiet + width).contains(&y);
                let expected = inside && code[(x - quiet, y - quiet)] == qrcode::Color::Dark;
                assert_eq!(dark, expected, "module ({x}, {y})");
            }
        }
    }
}
