//! Access tokens (HS256 JWTs) and refresh tokens.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Device id.
    pub did: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
}

/// The signing secret turned into keys, plus the strict validation rules.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// A key derived from the secret for keyed hashes (Basic credential cache).
    pub cache_key: [u8; 32],
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(..)")
    }
}

impl JwtKeys {
    /// Keys from a secret.
    pub fn new(secret: &[u8]) -> JwtKeys {
        // Only HS256: `alg: none` and algorithm confusion are refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            cache_key: blake3::derive_key("cloudbuffer basic-auth cache v1", secret),
        }
    }

    /// Loads the configured secret, or the one in the data dir, creating it
    /// (mode 0600) on first start.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> std::io::Result<JwtKeys> {
        if let Some(secret) = configured {
            return Ok(JwtKeys::new(secret.as_bytes()));
        }
        let path = data_dir.join("jwt_secret");
        match std::fs::read_to_string(&path) {
            Ok(secret) => Ok(JwtKeys::new(secret.trim().as_bytes())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = crate::ids::random_hex(32);
                write_private(&path, secret.as_bytes())?;
                Ok(JwtKeys::new(secret.as_bytes()))
            }
            Err(e) => Err(e),
        }
    }

    /// Signs an access token.
    pub fn issue(&self, user_id: &str, device_id: &str, now_secs: i64, life_secs: u64) -> String {
        let claims = Claims {
            sub: user_id.to_string(),
            did: device_id.to_string(),
            iat: now_secs,
            exp: now_secs + life_secs as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Verifies signature, algorithm and expiry.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

/// Why an access token was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Well signed but past its expiry: the client should refresh.
    Expired,
    /// Not ours, tampered with, wrong algorithm or malformed.
    Invalid,
}

/// Refresh tokens are stored by hash only, so a database leak reveals none.
pub fn refresh_token_hash(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let keys = JwtKeys::new(b"secret");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let token = keys.issue("u1", "d1", now, 60);
        let claims = keys.verify(&token).expect("valid");
        assert_eq!((claims.sub.as_str(), claims.did.as_str()), ("u1", "d1"));
        assert_eq!(JwtKeys::new(b"other").verify(&token).unwrap_err(), TokenError::Invalid);
        let expired = keys.issue("u1", "d1", now - 120, 60);
        assert_eq!(keys.verify(&expired).unwrap_err(), TokenError::Expired);
        let mut tampered = token.clone();
        tampered.insert(tampered.len() - 2, 'x');
        assert!(keys.verify(&tampered).is_err());
    }
}
