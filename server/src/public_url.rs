//! The address that links handed out (share links, QR codes, pairing URLs)
//! start with: something a phone can open. `--public-url` when set; else
//! the address the request came in through, taking a proxy's
//! `X-Forwarded-*` headers only from `--trusted-proxies`.

use std::net::IpAddr;
use std::str::FromStr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;

use crate::auth::ClientIp;
use crate::config::Config;
use crate::state::AppState;

/// An address or a CIDR range of them (`10.0.0.0/8`, `::1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    network: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// True when `ip` is inside the range (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (bytes, bits) = ((prefix / 8) as usize, prefix % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(text: &str) -> Result<IpRange, String> {
        let text = text.trim();
        let (address, prefix) = text.split_once('/').map_or((text, None), |(a, p)| (a, Some(p)));
        let network: IpAddr =
            address.parse().map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(IpRange { network, prefix })
    }
}

/// Parses `--trusted-proxies`: comma-separated addresses or CIDR ranges.
pub fn parse_ranges(list: &str) -> Result<Vec<IpRange>, String> {
    list.split(',').filter(|part| !part.trim().is_empty()).map(str::parse).collect()
}

/// The base URL (no trailing slash) for links answered to a request from
/// `peer` with `headers`.
pub fn base_url(config: &Config, headers: &HeaderMap, peer: IpAddr) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let proxied = config.trusted_proxies.iter().any(|range| range.contains(peer));
    let (proto, host) = if proxied {
        // A proxy chain lists the client's side first.
        let first = |name| header(name).and_then(|v| v.split(',').next()).map(str::trim);
        (first("x-forwarded-proto"), first("x-forwarded-host").or_else(|| header("host")))
    } else {
        (None, header("host"))
    };
    let scheme = match proto.map(str::to_ascii_lowercase).as_deref() {
        Some("https") => "https",
        _ => "http",
    };
    match host.filter(|h| is_valid_host(h)) {
        Some(host) => format!("{scheme}://{}", host.to_ascii_lowercase()),
        None => config.fallback_url(),
    }
}

/// A host name or IP literal with an optional port, nothing else: a
/// `Host` header with paths, user info or odd bytes never reaches a link.
fn is_valid_host(host: &str) -> bool {
    if host.is_empty() || host.len() > 260 {
        return false;
    }
    let (name, port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => (None, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (None, Some(port)),
                None => return false,
            },
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (Some(name), Some(port)),
            None => (Some(host), None),
        }
    };
    let name_ok = name.is_none_or(|name| {
        !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    });
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    name_ok && port_ok
}

/// The base URL for this request's links, as an extractor.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let ClientIp(peer) = ClientIp::from_request_parts(parts, state).await?;
        Ok(BaseUrl(base_url(&state.config, &parts.headers, peer)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn config(public_url: Option<&str>, proxies: &str) -> Config {
        let mut config = crate::config::Settings::default().resolve().expect("defaults");
        config.public_url = public_url.map(str::to_string);
        config.trusted_proxies = parse_ranges(proxies).expect("ranges");
        config
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    const LAN_PHONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 1, 23));

    #[test]
    fn the_configured_url_wins() {
        let c = config(Some("https://buffer.example"), "");
        assert_eq!(base_url(&c, &headers(&[("host", "10.0.0.5:8080")]), LAN_PHONE), "https://buffer.example");
    }

    #[test]
    fn the_host_header_names_the_server() {
        let c = config(None, "");
        assert_eq!(
            base_url(&c, &headers(&[("host", "192.168.1.10:8080")]), LAN_PHONE),
            "http://192.168.1.10:8080"
        );
        assert_eq!(base_url(&c, &headers(&[("host", "Laptop.local")]), LAN_PHONE), "http://laptop.local");
        assert_eq!(base_url(&c, &headers(&[("host", "[fe80::1]:8080")]), LAN_PHONE), "http://[fe80::1]:8080");
    }

    #[test]
    fn hostile_hosts_fall_back_to_the_bind_address() {
        let c = config(None, "");
        for bad in
            ["evil.com/path", "a@b", "x:99999", "x:", "[::1", "[nope]:80", "a..b", "a b", ":80", "[::1]x"]
        {
            assert_eq!(base_url(&c, &headers(&[("host", bad)]), LAN_PHONE), "http://127.0.0.1:8080", "{bad}");
        }
        assert_eq!(base_url(&c, &HeaderMap::new(), LAN_PHONE), "http://127.0.0.1:8080");
    }

    #[test]
    fn forwarded_headers_only_from_trusted_proxies() {
        let forwarded = headers(&[
            ("host", "10.0.0.2:8080"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "buffer.example, inner.example"),
        ]);
        let untrusted = config(None, "");
        assert_eq!(base_url(&untrusted, &forwarded, "10.0.0.9".parse().unwrap()), "http://10.0.0.2:8080");
        let trusted = config(None, "10.0.0.0/24, ::1");
        assert_eq!(base_url(&trusted, &forwarded, "10.0.0.9".parse().unwrap()), "https://buffer.example");
        assert_eq!(
            base_url(&trusted, &forwarded, "::ffff:10.0.0.9".parse().unwrap()),
            "https://buffer.example"
        );
        assert_eq!(base_url(&trusted, &forwarded, "10.0.1.9".parse().unwrap()), "http://10.0.0.2:8080");
    }

    #[test]
    fn ranges_parse_and_match() {
        let r: IpRange = "192.168.0.0/16".parse().unwrap();
        assert!(r.contains("192.168.200.1".parse().unwrap()));
        assert!(!r.contains("192.169.0.1".parse().unwrap()));
        let r: IpRange = "10.1.2.3".parse().unwrap();
        assert!(r.contains("10.1.2.3".parse().unwrap()) && !r.contains("10.1.2.4".parse().unwrap()));
        let r: IpRange = "fd00::/8".parse().unwrap();
        assert!(r.contains("fd12::1".parse().unwrap()) && !r.contains("fe80::1".parse().unwrap()));
        let r: IpRange = "10.0.0.0/12".parse().unwrap();
        assert!(r.contains("10.15.255.255".parse().unwrap()) && !r.contains("10.16.0.0".parse().unwrap()));
        for bad in ["10.0.0.0/33", "::/129", "nope", "10.0.0.0/x"] {
            assert!(bad.parse::<IpRange>().is_err(), "{bad}");
        }
        assert_eq!(parse_ranges(" ").unwrap(), vec![]);
    }
}
