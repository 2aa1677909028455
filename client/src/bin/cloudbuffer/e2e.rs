//! `cloudbuffer e2e`: the account key of end-to-end encryption (turning it
//! on, unlocking it on another device, changing its passphrase). A device
//! that holds the key encrypts what it sends and decrypts what it gets.

use std::io::IsTerminal;

use cloudbuffer_client::e2e::MIN_PASSPHRASE_CHARS as MIN_CHARS;
use cloudbuffer_client::{Client, ClientError, E2eAccount, LocalKeys, ServerKey};
use cloudbuffer_protocol::E2eKey;
use zeroize::Zeroizing;

use crate::cli::{E2eAction, JsonArgs, PassphraseArgs};
use crate::format::ago;
use crate::ui::{self, note, out};
use crate::{CliResult, Context, Failure};

/// The passphrase (for `passwd`: the current one) for scripts.
const ENV: &str = "CLOUDBUFFER_E2E_PASSPHRASE";
/// The new passphrase of `passwd` for scripts.
const ENV_NEW: &str = "CLOUDBUFFER_E2E_NEW_PASSPHRASE";

const ALREADY_ON: &str = "end-to-end encryption is already on for this account: run `cloudbuffer e2e unlock`";
const NOT_ON: &str = "end-to-end encryption is not on for this account: run `cloudbuffer e2e enable`";
const CHANGED: &str =
    "the account key was changed elsewhere meanwhile; run `cloudbuffer e2e unlock` and try again";

/// `cloudbuffer e2e ACTION`.
pub async fn e2e(context: &Context, action: E2eAction) -> CliResult {
    match action {
        E2eAction::Enable(args) => enable(context, args).await,
        E2eAction::Unlock(args) => unlock(context, args).await,
        E2eAction::Status(args) => status(context, args).await,
        E2eAction::Passwd(args) => passwd(context, args).await,
        E2eAction::Forget => forget(context),
    }
}

/// The signed-in account and where this device keeps its key. Keys are
/// filed under the saved session's server URL (not a `--server` override:
/// that is the same account at another address).
async fn open_account(context: &Context) -> CliResult<E2eAccount> {
    let store = context.store()?;
    let client = Client::from_store(store.clone(), context.server.as_deref())?;
    Ok(E2eAccount::of(client, &store).await?)
}

/// The server's state of the account key.
async fn server_state(account: &E2eAccount) -> CliResult<E2eKey> {
    account.state().await?.ok_or_else(|| {
        Failure::message("this server has no end-to-end encryption yet: it needs a newer Cloud Buffer")
    })
}

/// The wrapped key the server keeps, when encryption is on.
fn server_key(state: &E2eKey) -> CliResult<ServerKey> {
    match ServerKey::of(state) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(Failure::message(NOT_ON)),
        Err(ClientError::UnreadableAccountKey(e)) => Err(Failure::message(format!(
            "the server's wrapped account key is not one this cloudbuffer can read ({e})"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Where one passphrase comes from.
struct Ask<'a> {
    /// The environment variable for scripts.
    env: &'a str,
    /// The terminal prompt.
    prompt: &'a str,
    /// A new passphrase: asked twice on a terminal, and at least [`MIN_CHARS`] long.
    new: bool,
    /// `--passphrase-stdin`: a line of standard input.
    stdin: bool,
}

/// A passphrase: `--passphrase-stdin`, else the environment variable, else
/// a prompt on the terminal (without echo).
fn passphrase(ask: Ask) -> CliResult<Zeroizing<String>> {
    let value = Zeroizing::new(if ask.stdin {
        ui::read_stdin_line("passphrase")?
    } else if let Some(value) = std::env::var_os(ask.env) {
        value.into_string().map_err(|_| Failure::message(format!("{} is not valid UTF-8", ask.env)))?
    } else if std::io::stdin().is_terminal() {
        let first = Zeroizing::new(ui::prompt_secret(ask.prompt, "passphrase")?);
        if ask.new {
            let again = Zeroizing::new(ui::prompt_secret("Again, to confirm: ", "passphrase")?);
            if again != first {
                return Err(Failure::message("the two passphrases differ"));
            }
        }
        first.to_string()
    } else {
        return Err(Failure::usage(format!(
            "no passphrase: type it at a terminal, pipe it with --passphrase-stdin, or set {}",
            ask.env
        )));
    });
    if value.is_empty() {
        return Err(Failure::message("the passphrase is empty"));
    }
    if ask.new && value.chars().count() < MIN_CHARS {
        return Err(Failure::message(format!(
            "the passphrase is too short: use at least {MIN_CHARS} characters (a few words are best)"
        )));
    }
    Ok(value)
}

/// `cloudbuffer e2e enable`.
async fn enable(context: &Context, args: PassphraseArgs) -> CliResult {
    let account = open_account(context).await?;
    if server_state(&account).await?.enabled {
        return Err(Failure::message(ALREADY_ON));
    }
    let passphrase = passphrase(Ask {
        env: ENV,
        prompt: "New encryption passphrase (not your login password; the server never sees it): ",
        new: true,
        stdin: args.passphrase_stdin,
    })?;
    account.enable(&passphrase).await.map_err(|e| match e.code() {
        Some("e2e_already_enabled") => Failure::message(ALREADY_ON),
        _ => e.into(),
    })?;
    note!(
        "End-to-end encryption is on for {} at {}: this device holds the new account key.",
        account.username(),
        account.server()
    );
    note!("Run `cloudbuffer e2e unlock` on your other devices, with the same passphrase.");
    note!(
        "Keep the passphrase safe: the server never sees it and cannot recover it, so without it \
         only devices that hold the key can unlock new ones."
    );
    note!("From now on this device encrypts the clips and files it sends.");
    Ok(())
}

/// `cloudbuffer e2e unlock`.
async fn unlock(context: &Context, args: PassphraseArgs) -> CliResult {
    let account = open_account(context).await?;
    let server = server_key(&server_state(&account).await?)?;
    let prompt = format!("Encryption passphrase for {} at {}: ", account.username(), account.server());
    let passphrase = passphrase(Ask { env: ENV, prompt: &prompt, new: false, stdin: args.passphrase_stdin })?;
    account.unlock(&server, &passphrase).await?;
    note!("Unlocked: this device holds the account key (version {}).", server.version);
    Ok(())
}

/// `cloudbuffer e2e status`.
async fn status(context: &Context, args: JsonArgs) -> CliResult {
    let account = open_account(context).await?;
    let state = server_state(&account).await?;
    let local = account.local()?;
    let local_version = local.as_ref().map(|l| l.version);
    let current = state.enabled && local_version == Some(state.version);
    if args.json {
        let json = serde_json::json!({
            "enabled": state.enabled,
            "version": state.version,
            "updated_at": state.updated_at.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
            "this_device": { "has_key": local.is_some(), "key_version": local_version, "current": current },
        });
        return out!("{}", crate::account::to_json(&json)?);
    }
    let server = if state.enabled {
        let when = state.updated_at.map(|t| format!(", set {}", ago(t))).unwrap_or_default();
        format!("on (key version {}{when})", state.version)
    } else {
        "off".into()
    };
    let device = match (state.enabled, local_version) {
        (true, Some(_)) if current => "holds the current key".to_string(),
        (true, Some(v)) => format!(
            "holds the key of version {v}, the server's is version {}: run `cloudbuffer e2e unlock`",
            state.version
        ),
        (true, None) => "does not hold the key: run `cloudbuffer e2e unlock`".into(),
        (false, Some(_)) => {
            "holds a key, but encryption is off on the server (`cloudbuffer e2e forget` deletes it)".into()
        }
        (false, None) => "holds no key".into(),
    };
    out!("End-to-end encryption: {server}\nThis device: {device}")
}

/// `cloudbuffer e2e passwd`.
async fn passwd(context: &Context, args: PassphraseArgs) -> CliResult {
    let account = open_account(context).await?;
    let server = server_key(&server_state(&account).await?)?;
    let prompt =
        format!("Current encryption passphrase for {} at {}: ", account.username(), account.server());
    let old = passphrase(Ask { env: ENV, prompt: &prompt, new: false, stdin: args.passphrase_stdin })?;
    let new = passphrase(Ask {
        env: ENV_NEW,
        prompt: "New encryption passphrase: ",
        new: true,
        stdin: args.passphrase_stdin,
    })?;
    if old == new {
        return Err(Failure::message("the new passphrase is the same as the current one: nothing to change"));
    }
    // The server's key, opened with the current passphrase: the one to re-wrap.
    let key = account.open(&server, &old).await?;
    if account.local()?.is_some_and(|local| local.key.as_bytes() != key.as_bytes()) {
        note!("This device held an outdated account key: it now holds the server's.");
    }
    let updated = account.store_key(key, &new, server.version).await.map_err(|e| match e.code() {
        Some("e2e_version_mismatch") => Failure::message(CHANGED),
        _ => e.into(),
    })?;
    note!(
        "Changed the encryption passphrase (key version {}). The account key is the same, so nothing is \
         re-encrypted and unlocked devices keep working; new devices unlock with the new passphrase.",
        updated.version
    );
    Ok(())
}

/// `cloudbuffer e2e forget`: this device only, and no network.
fn forget(context: &Context) -> CliResult {
    let store = context.store()?;
    let session = store.load()?.ok_or(ClientError::NotLoggedIn)?;
    if LocalKeys::of(&store).forget(&session.server, &session.username)? {
        note!(
            "Deleted the account key from this device; the server and your other devices keep theirs \
             (`cloudbuffer e2e unlock` brings it back)."
        );
    } else {
        note!("This device holds no account key for {} at {}.", session.username, session.server);
    }
    Ok(())
}
