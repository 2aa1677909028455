//! `cloudbuffer-server`: serve (the default) or manage users.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cloudbuffer_server::admin::{self, UserCommand};
use cloudbuffer_server::config::{LogFormat, Settings};
use cloudbuffer_server::{launch_with_tcp_listener, shutdown_signal, AppState};

/// Cloud Buffer server: a self-hosted clipboard and file buffer.
///
/// Every option can also be set with its CLOUDBUFFER_* environment
/// variable or in a TOML file given with --config (same names in
/// snake_case); flags win over the environment, which wins over the file.
#[derive(Debug, Parser)]
#[command(version, about, long_about)]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    /// TOML config file
    #[arg(long, env = "CLOUDBUFFER_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default)
    Serve,
    /// Manage user accounts
    #[command(subcommand)]
    User(UserCommand),
}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let cli = Cli::parse();
    let settings = match &cli.config {
        Some(path) => match Settings::from_file(path) {
            Ok(file) => cli.settings.clone().or(file),
            Err(e) => return fail(&e.to_string()),
        },
        None => cli.settings.clone(),
    };
    let config = match settings.resolve() {
        Ok(config) => config,
        Err(e) => return fail(&e.to_string()),
    };
    init_tracing(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => {
                let listener = match tokio::net::TcpListener::bind(config.bind).await {
                    Ok(listener) => listener,
                    Err(e) => return fail(&format!("cannot listen on {}: {e}", config.bind)),
                };
                let state = match AppState::open(config).await {
                    Ok(state) => state,
                    Err(e) => return fail(&e.to_string()),
                };
                match launch_with_tcp_listener(state, listener, shutdown_signal()).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => fail(&format!("server error: {e}")),
                }
            }
            Command::User(command) => match admin::run(&config, command).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            },
        }
    })
}

/// glibc raises its mmap threshold each time a large block is freed, so after
/// the first argon2id hash (19 MiB) later hashes are carved from the heap arenas
/// and stay resident: about 8 MiB per sign-in, some 800 MiB after a hundred
/// (bench/events.sh). A fixed threshold keeps blocks of 1 MiB and more mapped
/// on their own, returned to the system when freed.
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("cloudbuffer-server: {message}");
    ExitCode::FAILURE
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,tower_http=info".into());
    // Colours only for a person at a terminal: a log file or the journal
    // would get the escape codes as text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
