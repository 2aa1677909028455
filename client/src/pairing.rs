//! Adding a phone: one-time pairing URLs (`POST /api/v1/pairings`),
//! redeeming their codes (`POST /api/v1/auth/pair`), waiting for the new
//! device to show up on the live events, and telling whether a link is one
//! a phone can open at all.

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::Duration;

use cloudbuffer_protocol::{Device, Event, PairRequest, Pairing, Tokens};
use tokio::time::Instant;

use crate::api::Client;
use crate::error::{ClientError, Result};
use crate::live::{LiveEnd, LiveOptions, LiveSocket};

/// A live socket silent this long is dead (the server pings every few seconds).
const LIVE_IDLE: Duration = Duration::from_secs(75);

/// What CLI and desktop app say about a link that starts with a loopback
/// address: a phone that scans it would try to reach itself.
pub const LOOPBACK_WARNING: &str = "phones can't open 127.0.0.1 — start the server with --bind 0.0.0.0 \
     --public-url http://<this machine's LAN address>:8080 (scripts/run-server.sh --lan does both)";

impl Client {
    /// A one-time pairing URL for this account (valid 5 minutes, single
    /// use) with its QR code; scanning it signs a browser in as a new device.
    pub async fn create_pairing(&self) -> Result<Pairing> {
        let url = self.url("/api/v1/pairings");
        let response =
            self.send(|token| self.http.post(&url).bearer_auth(token).json(&serde_json::json!({}))).await?;
        self.parse(response).await
    }

    /// Redeems a pairing code (no credentials needed): the tokens of a new
    /// device of the code's account. A used or expired code is
    /// [`ClientError::Gone`], an unknown one [`ClientError::NotFound`].
    /// The session is not kept by this client: it is the new device's.
    pub async fn pair(&self, code: &str, device_name: &str) -> Result<Tokens> {
        let body = PairRequest { code: code.into(), device_name: Some(device_name.into()) };
        let request = self.http.post(self.url("/api/v1/auth/pair")).json(&body);
        let response = self.transport(request).await?;
        self.parse(self.check(response).await?).await
    }

    /// Starts watching the account for new devices: opens the live
    /// events and notes the devices there are now. Start it before
    /// showing a pairing URL, so a phone that is quick misses nothing.
    pub async fn watch_new_devices(&self) -> Result<DeviceWatch> {
        let mut watch = DeviceWatch {
            client: self.clone(),
            socket: None,
            known: HashSet::new(),
            options: LiveOptions::default(),
        };
        watch.connect().await?;
        Ok(watch)
    }
}

/// The live events of an account, waiting for a device to be added (see
/// [`Client::watch_new_devices`]).
pub struct DeviceWatch {
    client: Client,
    socket: Option<LiveSocket>,
    /// Devices seen so far: after a reconnection, one not among them was
    /// added while the socket was down.
    known: HashSet<String>,
    options: LiveOptions,
}

impl DeviceWatch {
    /// Opens the socket, then lists the devices (in that order: a device
    /// added in between is in the list or comes as an event). Returns the
    /// first device not seen before, if any.
    async fn connect(&mut self) -> Result<Option<Device>> {
        self.socket = Some(LiveSocket::connect(&self.client, LIVE_IDLE, &self.options).await?);
        let devices = self.client.devices().await?;
        let first_look = self.known.is_empty();
        let mut added = None;
        for device in devices {
            if self.known.insert(device.id.clone()) && !first_look && added.is_none() {
                added = Some(device);
            }
        }
        Ok(added)
    }

    /// The next device added to the account, or `None` once `deadline`
    /// passes. A dropped connection is reopened (and the device list
    /// checked for one added meanwhile); the session ending is an error.
    pub async fn next_device(&mut self, deadline: Instant) -> Result<Option<Device>> {
        loop {
            let Some(socket) = self.socket.as_mut() else {
                // Reconnecting, at most once a second.
                let pause = deadline.min(Instant::now() + Duration::from_secs(1));
                tokio::time::sleep_until(pause).await;
                match tokio::time::timeout_at(deadline, self.connect()).await {
                    Err(_) => return Ok(None),
                    Ok(Ok(Some(device))) => return Ok(Some(device)),
                    Ok(Ok(None)) => continue,
                    Ok(Err(e @ (ClientError::SessionExpired | ClientError::NotLoggedIn))) => return Err(e),
                    // Offline for a moment: keep trying until the deadline.
                    Ok(Err(_)) => continue,
                }
            };
            match tokio::time::timeout_at(deadline, socket.next()).await {
                Err(_) => return Ok(None),
                Ok(Ok(Event::DeviceAdded { device })) if self.known.insert(device.id.clone()) => {
                    return Ok(Some(device))
                }
                Ok(Ok(_)) => {}
                Ok(Err(LiveEnd::Failed(e @ (ClientError::SessionExpired | ClientError::NotLoggedIn)))) => {
                    return Err(e)
                }
                Ok(Err(end)) => {
                    if matches!(end, LiveEnd::Failed(ClientError::LiveAuthUnsupported)) {
                        self.options.no_auth_messages = true;
                    }
                    self.socket = None;
                }
            }
        }
    }

    /// Closes the live socket politely.
    pub async fn close(mut self) {
        if let Some(socket) = self.socket.take() {
            socket.close().await;
        }
    }
}

/// The code in a pairing URL (`…/app/#pair=<code>`), if it is one.
pub fn pairing_code(url: &str) -> Option<&str> {
    let (_, fragment) = url.split_once('#')?;
    fragment.split('&').find_map(|part| part.strip_prefix("pair=")).filter(|code| !code.is_empty())
}

/// `url` (a pairing link) with the account key added to its fragment as
/// `&k=<base64url>`: the phone's web app keeps it and can then open
/// encrypted items. The fragment never reaches a server, so the key travels
/// only inside the link (and its QR code).
pub fn with_account_key(url: &str, key: &cloudbuffer_crypto::AccountKey) -> String {
    format!("{url}&k={}", key.to_base64url())
}

/// The account key in a pairing link's fragment (`&k=`), if there is a
/// well-formed one.
pub fn account_key_in(url: &str) -> Option<cloudbuffer_crypto::AccountKey> {
    let (_, fragment) = url.split_once('#')?;
    let key = fragment.split('&').find_map(|part| part.strip_prefix("k="))?;
    cloudbuffer_crypto::AccountKey::from_base64url(key).ok()
}

/// True when `url`'s host is a loopback address (127.0.0.0/8, `::1`,
/// `localhost`): such a link only works on the machine that made it.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url.trim()) else { return false };
    let Some(host) = parsed.host_str() else { return false };
    // IPv6 hosts come bracketed ("[::1]").
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
    }
}

/// [`LOOPBACK_WARNING`] when `url` is a loopback link, naming its host and
/// port as written (the usual `127.0.0.1:8080` gives the text unchanged).
pub fn loopback_warning(url: &str) -> Option<String> {
    if !is_loopback_url(url) {
        return None;
    }
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str().unwrap_or("127.0.0.1");
    let port = parsed.port_or_known_default().unwrap_or(8080);
    Some(LOOPBACK_WARNING.replacen("127.0.0.1", host, 1).replace(":8080", &format!(":{port}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_links_are_recognised() {
        for url in [
            "http://127.0.0.1:8080/s/abc",
            "http://127.3.4.5/app/#pair=x",
            "http://[::1]:8080/",
            "http://localhost:8080/",
            "https://LOCALHOST./x",
            "http://app.localhost/",
        ] {
            assert!(is_loopback_url(url), "{url}");
        }
        for url in [
            "http://192.168.1.20:8080/s/abc",
            "http://[::2]/",
            "https://buffer.example.org/",
            "http://localhost.example.org/",
            "not a url",
            "http://128.0.0.1/",
        ] {
            assert!(!is_loopback_url(url), "{url}");
        }
    }

    #[test]
    fn the_warning_names_the_port() {
        let warning = loopback_warning("http://127.0.0.1:9000/app/#pair=x").unwrap();
        assert!(warning.starts_with("phones can't open 127.0.0.1"), "{warning}");
        assert!(warning.contains("--bind 0.0.0.0 --public-url http://<this machine's LAN address>:9000"));
        assert_eq!(loopback_warning("http://127.0.0.1:8080/s/x").unwrap(), LOOPBACK_WARNING);
        assert!(loopback_warning("http://localhost:8080/")
            .unwrap()
            .starts_with("phones can't open localhost —"));
        assert_eq!(loopback_warning("http://10.0.0.2:8080/"), None);
    }

    #[test]
    fn codes_come_from_the_fragment() {
        assert_eq!(pairing_code("http://h:8080/app/#pair=AbC-_12"), Some("AbC-_12"));
        assert_eq!(pairing_code("http://h:8080/app/#x=1&pair=Z"), Some("Z"));
        assert_eq!(pairing_code("http://h:8080/app/"), None);
        assert_eq!(pairing_code("http://h:8080/app/#pair="), None);
    }
}
