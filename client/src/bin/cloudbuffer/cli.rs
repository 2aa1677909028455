//! The command line: every subcommand, flag and environment variable.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::format::parse_duration;

/// Cloud Buffer: a clipboard and file buffer shared by your devices.
///
/// Sign in once with `cloudbuffer login`; the session is kept in your
/// config folder (CLOUDBUFFER_CONFIG_DIR overrides it) and every other
/// command uses it. Exit codes: 0 ok, 1 error, 2 usage, 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "cloudbuffer", version, about, long_about)]
pub struct Cli {
    /// Server URL, overriding the one saved at login (e.g. http://host:8080)
    #[arg(long, global = true, env = "CLOUDBUFFER_SERVER", value_name = "URL")]
    pub server: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign this device in (the password comes from a prompt, standard input or CLOUDBUFFER_PASSWORD)
    Login(LoginArgs),
    /// Sign this device out and forget the session
    Logout,
    /// Put text (the arguments, else standard input) or a file on the shared clipboard
    Copy(CopyArgs),
    /// Print the newest clip; a file clip is saved in the current folder
    Paste(PasteArgs),
    /// Upload files and print a share link and QR code for each
    Send(SendArgs),
    /// Download a file by id, or a share link by URL
    Get(GetArgs),
    /// List your files (or, with --clips, the clipboard history)
    Ls(LsArgs),
    /// Delete files (or, with --clip, clips)
    Rm(RmArgs),
    /// Make a share link for a file (or, with --clip, a clip)
    Share(ShareArgs),
    /// List your share links, or revoke one
    Shares(SharesArgs),
    /// Show your usage and limits
    Stats(JsonArgs),
    /// List the devices signed in to your account, or sign one out
    Devices(DevicesArgs),
    /// Add a phone: show a one-time link and QR code to scan, and wait until the phone uses it
    ///
    /// Scan the QR code with the phone's camera (or open the link on the phone):
    /// Cloud Buffer's web app opens there, signed in to your account as a new
    /// device, with no password to type. The code works once, for 5 minutes.
    ///
    /// The link is printed on standard output, with the QR code when that is a
    /// terminal. Then the command waits until a phone uses the code, prints
    /// "Paired: NAME" and exits with 0, or exits with 1 when the code expires.
    /// `cloudbuffer devices` lists the phone; `cloudbuffer devices revoke ID`
    /// signs it out.
    ///
    /// The phone must be able to reach the server: a link that starts with
    /// 127.0.0.1 or localhost only works on this machine (the command says
    /// so). Start the server with `--bind 0.0.0.0 --public-url
    /// http://LAN-ADDRESS:8080`, or with `scripts/run-server.sh --lan`.
    Pair(PairArgs),
    /// Keep this machine's clipboard in sync, in the foreground
    Sync(SyncArgs),
    /// End-to-end encryption: set up your account's key, so clips and files are encrypted on your devices
    ///
    /// `enable` on a first device makes a random account key and stores it
    /// on the server only wrapped under an encryption passphrase, which never
    /// leaves your devices (and is not your login password: the server cannot
    /// recover it). `unlock` on each other device fetches the wrapped key and
    /// opens it with the passphrase. The unlocked key is kept in your config
    /// folder, readable by you only.
    ///
    /// Passphrases come from a prompt, from standard input with
    /// --passphrase-stdin (one per line), or from CLOUDBUFFER_E2E_PASSPHRASE
    /// (and CLOUDBUFFER_E2E_NEW_PASSPHRASE for the new one of `passwd`).
    ///
    /// A device that holds the key encrypts the clips and files it sends
    /// (content, names, content types, previews) and decrypts what it gets;
    /// share links of encrypted items carry their key after `#k=`, and
    /// `cloudbuffer get URL#k=…` decrypts. A device without the key refuses
    /// to send while encryption is on, and shows encrypted items as locked.
    /// The server still sees sizes, times and counts. See docs/encryption.md.
    E2e(E2eArgs),
    /// Print a shell completion script (e.g. `cloudbuffer completions bash > ~/.local/share/bash-completion/completions/cloudbuffer`)
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your user name (defaults to the saved one)
    #[arg(long, short = 'u', value_name = "NAME")]
    pub username: Option<String>,
    /// Create the account instead of signing in to an existing one
    #[arg(long)]
    pub register: bool,
    /// The name this device gets in `cloudbuffer devices` [default: the host name]
    #[arg(long, value_name = "NAME")]
    pub device_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The text (words are joined with spaces); without it, standard input is copied
    #[arg(value_name = "TEXT", conflicts_with = "file")]
    pub text: Vec<String>,
    /// Copy this file as a file clip instead
    #[arg(long, short = 'f', value_name = "PATH")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PasteArgs {
    /// Where to save (a file, a folder, or - for standard output) [default: the clip's name in the current folder, never overwriting]
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// How a share link is made.
#[derive(Debug, Args)]
pub struct ShareOptions {
    /// How long the link works, e.g. 10m, 2h, 1h30m [default: as long as the item lives]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expires: Option<u64>,
    /// Protect the link with a password (asked for, or CLOUDBUFFER_SHARE_PASSWORD)
    #[arg(long)]
    pub password: bool,
    /// The link works for one download only
    #[arg(long, conflicts_with = "max_downloads")]
    pub once: bool,
    /// The link works for this many downloads
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_downloads: Option<u64>,
    /// Always draw the QR code (by default only when standard output is a terminal)
    #[arg(long, conflicts_with = "no_qr")]
    pub qr: bool,
    /// Never draw the QR code
    #[arg(long)]
    pub no_qr: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The files to upload
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
    /// Only upload: print the files' ids, make no share link
    #[arg(long, conflicts_with_all = ["expires", "password", "once", "max_downloads", "qr"])]
    pub no_share: bool,
    #[command(flatten)]
    pub share: ShareOptions,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// A file id (see `cloudbuffer ls`) or a share link (http://host/s/TOKEN)
    #[arg(value_name = "ID|SHARE_URL")]
    pub target: String,
    /// Where to save (a file, a folder, or - for standard output) [default: the file's name in the current folder, never overwriting]
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The share link's password (asked for, or CLOUDBUFFER_SHARE_PASSWORD)
    #[arg(long)]
    pub password: bool,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print the API's JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// List the clipboard history instead of the files
    #[arg(long)]
    pub clips: bool,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// The ids to delete
    #[arg(value_name = "ID", required = true)]
    pub ids: Vec<String>,
    /// The ids are clips (their files stay until they expire or are deleted)
    #[arg(long)]
    pub clip: bool,
}

#[derive(Debug, Args)]
pub struct ShareArgs {
    /// A file id (or a clip id with --clip)
    #[arg(value_name = "ID")]
    pub id: String,
    /// The id is a clip's
    #[arg(long)]
    pub clip: bool,
    #[command(flatten)]
    pub share: ShareOptions,
}

#[derive(Debug, Args)]
pub struct SharesArgs {
    #[command(subcommand)]
    pub action: Option<SharesAction>,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Subcommand)]
pub enum SharesAction {
    /// Revoke a share link (its token or URL)
    Revoke {
        /// The link's token or URL
        #[arg(value_name = "TOKEN|URL")]
        token: String,
    },
}

#[derive(Debug, Args)]
pub struct DevicesArgs {
    #[command(subcommand)]
    pub action: Option<DevicesAction>,
    #[command(flatten)]
    pub json: JsonArgs,
}

#[derive(Debug, Subcommand)]
pub enum DevicesAction {
    /// Sign a device out
    Revoke {
        /// The device's id (see `cloudbuffer devices`)
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct PairArgs {
    /// Print the link (and QR code) and exit, without waiting for the phone
    #[arg(long)]
    pub no_wait: bool,
    /// Always draw the QR code (by default only when standard output is a terminal)
    #[arg(long, conflicts_with = "no_qr")]
    pub qr: bool,
    /// Never draw the QR code
    #[arg(long)]
    pub no_qr: bool,
    /// Leave the encryption key out of the link. By default, when this
    /// device holds the account's end-to-end key, the link carries it (after
    /// `#`, which never reaches the server) so the phone can open encrypted
    /// clips and files
    #[arg(long)]
    pub no_key: bool,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Upload files that appear in this folder once they stop changing
    #[arg(long, value_name = "DIR")]
    pub outbox: Option<PathBuf>,
    /// Save incoming file clips in this folder (never overwriting)
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct E2eArgs {
    #[command(subcommand)]
    pub action: E2eAction,
}

#[derive(Debug, Subcommand)]
pub enum E2eAction {
    /// Turn end-to-end encryption on: make the account key and protect it with a new passphrase
    Enable(PassphraseArgs),
    /// Open the account key with the passphrase and keep it on this device
    Unlock(PassphraseArgs),
    /// Show whether encryption is on and whether this device holds the current key
    Status(JsonArgs),
    /// Change the passphrase (the same key is re-wrapped: nothing is re-encrypted)
    Passwd(PassphraseArgs),
    /// Delete the account key from this device only (the server and other devices keep theirs)
    Forget,
}

#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// Read the passphrase from standard input, one line (for passwd: the current one, then the new one)
    #[arg(long)]
    pub passphrase_stdin: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn durations_and_conflicts_are_checked() {
        let cli =
            Cli::try_parse_from(["cloudbuffer", "share", "abc", "--expires", "1h30m", "--once"]).unwrap();
        match cli.command {
            Command::Share(args) => {
                assert_eq!(args.share.expires, Some(5400));
                assert!(args.share.once);
            }
            other => panic!("parsed as {other:?}"),
        }
        assert!(Cli::try_parse_from(["cloudbuffer", "share", "abc", "--expires", "soon"]).is_err());
        assert!(Cli::try_parse_from(["cloudbuffer", "send"]).is_err());
        assert!(Cli::try_parse_from(["cloudbuffer", "send", "f", "--no-share", "--once"]).is_err());
        assert!(Cli::try_parse_from(["cloudbuffer", "copy", "x", "--file", "f"]).is_err());
        assert!(Cli::try_parse_from(["cloudbuffer", "pair", "--qr", "--no-qr"]).is_err());
        let cli = Cli::try_parse_from(["cloudbuffer", "pair", "--no-wait"]).unwrap();
        assert!(matches!(cli.command, Command::Pair(PairArgs { no_wait: true, .. })));
        let cli = Cli::try_parse_from(["cloudbuffer", "e2e", "unlock", "--passphrase-stdin"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::E2e(E2eArgs { action: E2eAction::Unlock(PassphraseArgs { passphrase_stdin: true }) })
        ));
        assert!(Cli::try_parse_from(["cloudbuffer", "e2e"]).is_err());
        assert!(Cli::try_parse_from(["cloudbuffer", "e2e", "forget", "--passphrase-stdin"]).is_err());
    }
}
