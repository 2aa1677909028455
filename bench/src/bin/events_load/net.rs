//! Accounts and connections: signing users and devices in over HTTP, and
//! opening event WebSockets.

use std::io::Write;

use super::*;

pub(crate) fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().pool_idle_timeout(Duration::from_secs(300)).build()?)
}

/// A signed-in device of a user.
#[derive(Clone)]
pub(crate) struct Account {
    pub(crate) username: String,
    pub(crate) token: String,
    pub(crate) device_id: String,
}

/// POSTs credentials to `/api/v1/auth/{endpoint}` and returns the device's tokens.
pub(crate) async fn sign_in(
    http: &reqwest::Client,
    server: &str,
    endpoint: &str,
    expect: reqwest::StatusCode,
    username: String,
    device_name: String,
) -> Result<Account> {
    let body = serde_json::json!({ "username": username, "password": PASSWORD, "device_name": device_name });
    let response = http.post(format!("{server}/api/v1/auth/{endpoint}")).json(&body).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if status != expect {
        return Err(format!("POST /api/v1/auth/{endpoint}: HTTP {status}: {text:.300}").into());
    }
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let field = |name: &str| -> Result<String> {
        Ok(json[name].as_str().ok_or(format!("no {name} in the {endpoint} response"))?.to_string())
    };
    Ok(Account { username, token: field("access_token")?, device_id: field("device_id")? })
}

/// Registers `count` fresh users (names unique per run) and returns their first devices.
pub(crate) async fn register(
    http: &reqwest::Client,
    server: &str,
    count: usize,
    concurrency: usize,
) -> Result<Vec<Account>> {
    let run = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let prefix = format!("evl{:x}{:x}", std::process::id(), run % (1 << 40));
    log(&format!("registering {count} users ({prefix}-N)"));
    let started = Instant::now();
    let results: Vec<Result<(usize, Account)>> = stream::iter(0..count)
        .map(|i| {
            let created = reqwest::StatusCode::CREATED;
            let request =
                sign_in(http, server, "register", created, format!("{prefix}-{i}"), "device 0".into());
            async move { Ok((i, request.await?)) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut accounts = vec![None; count];
    for result in results {
        let (i, account) = result?;
        accounts[i] = Some(account);
    }
    log(&format!("registered {count} users in {:.1} s", started.elapsed().as_secs_f64()));
    Ok(accounts.into_iter().flatten().collect())
}

/// Signs each user in `more` more times: `devices[u][d]` is device d of user u,
/// device 0 being the one `register` made. Checks the device ids are all different.
pub(crate) async fn sign_in_devices(
    http: &reqwest::Client,
    server: &str,
    users: Vec<Account>,
    more: usize,
    concurrency: usize,
) -> Result<Vec<Vec<Account>>> {
    log(&format!("signing {} users in {more} more times each", users.len()));
    let started = Instant::now();
    let results: Vec<Result<(usize, usize, Account)>> = stream::iter(0..users.len() * more)
        .map(|k| {
            let (u, d) = (k / more, k % more + 1);
            let ok = reqwest::StatusCode::OK;
            let request =
                sign_in(http, server, "login", ok, users[u].username.clone(), format!("device {d}"));
            async move { Ok((u, d, request.await?)) }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut devices: Vec<Vec<Option<Account>>> = users
        .into_iter()
        .map(|a| std::iter::once(Some(a)).chain(std::iter::repeat_n(None, more)).collect())
        .collect();
    for result in results {
        let (u, d, account) = result?;
        devices[u][d] = Some(account);
    }
    let devices: Vec<Vec<Account>> = devices.into_iter().map(|d| d.into_iter().flatten().collect()).collect();
    for (u, list) in devices.iter().enumerate() {
        let ids: HashSet<&str> = list.iter().map(|a| a.device_id.as_str()).collect();
        if ids.len() != more + 1 {
            return Err(
                format!("user {u}: {} distinct device ids for {} sign-ins", ids.len(), more + 1).into()
            );
        }
    }
    log(&format!("signed {} devices in, in {:.1} s", devices.len() * more, started.elapsed().as_secs_f64()));
    Ok(devices)
}

/// The tokens of `--users` (registered now) or `--tokens-file` (one a line).
pub(crate) async fn tokens(opts: &Opts, http: &reqwest::Client) -> Result<Vec<String>> {
    if let Some(path) = &opts.tokens_file {
        let file = std::fs::File::open(path).map_err(|e| format!("{path}: {e}"))?;
        let mut tokens = Vec::new();
        for line in std::io::BufReader::new(file).lines() {
            let line = line?;
            if !line.trim().is_empty() {
                tokens.push(line.trim().to_string());
            }
        }
        if tokens.is_empty() {
            return Err(format!("{path}: no tokens").into());
        }
        return Ok(tokens);
    }
    let accounts = register(http, &opts.server, opts.users.unwrap_or(1), REGISTER_CONCURRENCY).await?;
    Ok(accounts.into_iter().map(|a| a.token).collect())
}

// --- WebSocket --------------------------------------------------------------------------

/// How a connection presents its token; `latency` uses all three.
#[derive(Clone, Copy)]
pub(crate) enum Auth {
    Header,
    Query,
    Protocol,
}

pub(crate) async fn open_socket(server: &str, token: &str, auth: Auth) -> Result<Socket> {
    let base = format!("ws{}/api/v1/events", &server["http".len()..]);
    let url = match auth {
        Auth::Query => format!("{base}?access_token={token}"),
        Auth::Header | Auth::Protocol => base,
    };
    let mut request = url.into_client_request()?;
    match auth {
        Auth::Header => {
            request.headers_mut().insert("authorization", HeaderValue::from_str(&format!("Bearer {token}"))?);
        }
        Auth::Protocol => {
            request
                .headers_mut()
                .insert("sec-websocket-protocol", HeaderValue::from_str(&format!("bearer.{token}"))?);
        }
        Auth::Query => {}
    }
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER).write_buffer_size(0);
    let (socket, _response) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    Ok(socket)
}

/// Opens `count` sockets, at most `concurrency` handshakes at a time; `target(i)`
/// gives socket i's token and auth method. Returns the results in order of i.
pub(crate) async fn open_sockets<'a>(
    server: &'a str,
    count: usize,
    concurrency: usize,
    target: impl Fn(usize) -> (&'a str, Auth),
) -> Vec<Result<Socket>> {
    let opened = AtomicUsize::new(0);
    let started = Instant::now();
    let mut results: Vec<(usize, Result<Socket>)> = stream::iter(0..count)
        .map(|i| {
            let (token, auth) = target(i);
            let opened = &opened;
            async move {
                let result = open_socket(server, token, auth).await;
                let n = opened.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_multiple_of(1000) && n < count {
                    log(&format!("{n} of {count} connections attempted"));
                }
                (i, result)
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    log(&format!("{count} connections attempted in {:.1} s", started.elapsed().as_secs_f64()));
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

// --- register -----------------------------------------------------------------------------

pub(crate) async fn register_mode(opts: &Opts) -> Result<ExitCode> {
    let http = http_client()?;
    let accounts = register(&http, &opts.server, opts.users.unwrap_or(1), opts.concurrency).await?;
    let mut stdout = std::io::stdout().lock();
    for account in accounts {
        writeln!(stdout, "{}", account.token)?;
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}
