//! `cloudbuffer`: the command-line client of Cloud Buffer.
//!
//! Results go to standard output, notes, progress bars and errors to
//! standard error. Every failure is one line, `cloudbuffer: <what went
//! wrong>`, and an exit code: 1 for errors, 2 for usage, 130 for Ctrl-C.

mod account;
mod cli;
mod clipboard;
mod download;
mod e2e;
mod files;
mod format;
mod http;
mod pair;
mod sync;
mod ui;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use cloudbuffer_client::{Client, ClientError, SessionStore};

use crate::cli::{Cli, Command};
use crate::ui::{note, Pending};

/// Why a command stopped: a message for people (or none) and an exit code.
#[derive(Debug)]
pub struct Failure {
    message: Option<String>,
    code: u8,
}

impl Failure {
    /// An error (exit code 1).
    pub fn message(message: impl Into<String>) -> Failure {
        Failure { message: Some(message.into()), code: 1 }
    }

    /// A usage error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure { message: Some(message.into()), code: 2 }
    }

    /// Standard output failed: a closed pipe (`cloudbuffer ls | head -1`)
    /// ends the program quietly and successfully.
    pub fn stdout(error: std::io::Error) -> Failure {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            Failure { message: None, code: 0 }
        } else {
            Failure::message(format!("cannot write to standard output: {error}"))
        }
    }
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Failure {
        match error {
            // Connected, but what came back was not HTTP at all.
            ClientError::Interrupted(reason) if reason.starts_with("invalid HTTP") => Failure::message(format!(
                "the server answered something unexpected ({reason}): is that the Cloud Buffer server's address?"
            )),
            error => Failure::message(error.to_string()),
        }
    }
}

/// What a command returns.
pub type CliResult<T = ()> = Result<T, Failure>;

/// What every command shares: the `--server` override.
pub struct Context {
    /// `--server` / `CLOUDBUFFER_SERVER`, if given.
    pub server: Option<String>,
}

impl Context {
    /// Where the session is kept.
    pub fn store(&self) -> CliResult<SessionStore> {
        Ok(SessionStore::default_location()?)
    }

    /// The signed-in client.
    pub fn client(&self) -> CliResult<Client> {
        Ok(Client::from_store(self.store()?, self.server.as_deref())?)
    }
}

fn main() -> ExitCode {
    // Usage errors print clap's message and exit with 2; --help and
    // --version exit with 0.
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => return finish(Err(Failure::message(format!("cannot start: {e}")))),
    };
    // The command runs first (`biased`): a password prompt or a read of
    // standard input happens before the Ctrl-C handler is installed, so
    // Ctrl-C there ends the program at once. Once the handler is in,
    // Ctrl-C drops the command (closing its connections and files) and
    // exits with 130.
    // `sync` runs until Ctrl-C by design: it stops itself cleanly.
    let stops_itself = matches!(cli.command, Command::Sync(_));
    let result = runtime.block_on(async {
        if stops_itself {
            return run(cli).await;
        }
        tokio::select! {
            biased;
            result = run(cli) => result,
            () = ctrl_c() => Err(interrupted()),
        }
    });
    runtime.shutdown_background();
    finish(result)
}

pub(crate) async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling here: let the default behaviour stand.
        std::future::pending::<()>().await;
    }
}

/// The interrupt message, after dealing with a partial download.
fn interrupted() -> Failure {
    let detail = match ui::take_pending() {
        Some(Pending::Download { part, resumable: true }) if part.exists() => {
            format!("; the partial download is kept in {} and the same command continues it", part.display())
        }
        Some(Pending::Download { part, .. }) => {
            let _ = std::fs::remove_file(&part);
            String::new()
        }
        Some(Pending::Upload(name)) => format!("; {name} was not uploaded"),
        None => String::new(),
    };
    Failure { message: Some(format!("interrupted{detail}")), code: 130 }
}

fn finish(result: CliResult) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if let Some(message) = failure.message {
                // Messages quote server text and file names: no terminal controls.
                note!("cloudbuffer: {}", cloudbuffer_client::printable(&message));
            }
            ExitCode::from(failure.code)
        }
    }
}

async fn run(cli: Cli) -> CliResult {
    let context = Context { server: cli.server };
    match cli.command {
        Command::Login(args) => account::login(&context, args).await,
        Command::Logout => account::logout(&context).await,
        Command::Devices(args) => account::devices(&context, args).await,
        Command::Pair(args) => pair::pair(&context, args).await,
        Command::Stats(args) => account::stats(&context, args).await,
        Command::Copy(args) => clipboard::copy(&context, args).await,
        Command::Paste(args) => clipboard::paste(&context, args).await,
        Command::Send(args) => files::send(&context, args).await,
        Command::Get(args) => files::get(&context, args).await,
        Command::Ls(args) => files::ls(&context, args).await,
        Command::Rm(args) => files::rm(&context, args).await,
        Command::Share(args) => files::share(&context, args).await,
        Command::Shares(args) => files::shares(&context, args).await,
        Command::Sync(args) => sync::sync(&context, args).await,
        Command::E2e(args) => e2e::e2e(&context, args.action).await,
        Command::Completions(args) => {
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "cloudbuffer", &mut script);
            ui::write_stdout(&script)
        }
    }
}
