//! Access tokens (HS256 JWTs) and refresh tokens.

use std::path::Path;

use cloudbuffer_protocol::private_file::write_private;
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
    /// A key derived from the secret that signs device tokens.
    device_key: [u8; 32],
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
            device_key: blake3::derive_key("cloudbuffer device token v1", secret),
        }
    }

    /// Keys from a secret kept in the database (see `Database::shared_secret`).
    pub fn from_stored(secret: &str) -> Result<JwtKeys, String> {
        crate::config::check_jwt_secret(secret.as_bytes())
            .map_err(|reason| format!("the stored JWT secret {reason}"))?;
        Ok(JwtKeys::new(secret.as_bytes()))
    }

    /// Loads the configured secret, or the one in the data dir, creating it
    /// (mode 0600) on first start.
    pub fn load(configured: Option<&str>, data_dir: &Path) -> std::io::Result<JwtKeys> {
        let weak = |what: String, reason: &str| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{what}: the JWT secret {reason}"))
        };
        if let Some(secret) = configured {
            crate::config::check_jwt_secret(secret.as_bytes())
                .map_err(|reason| weak("--jwt-secret".into(), reason))?;
            return Ok(JwtKeys::new(secret.as_bytes()));
        }
        let path = data_dir.join("jwt_secret");
        match std::fs::read_to_string(&path) {
            Ok(secret) => {
                let secret = secret.trim();
                crate::config::check_jwt_secret(secret.as_bytes()).map_err(|reason| {
                    weak(path.display().to_string(), &format!("{reason} (or delete the file)"))
                })?;
                Ok(JwtKeys::new(secret.as_bytes()))
            }
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

impl JwtKeys {
    /// A device token for `user_id`: proof, at a later sign-in, that this
    /// device once signed in as that user (`<nonce>.<mac>`, hex).
    pub fn issue_device_token(&self, user_id: &str) -> String {
        let nonce = crate::ids::random_hex(16);
        format!("{nonce}.{}", self.device_mac(user_id, &nonce))
    }

    /// The nonce of a device token, if it was issued for `user_id`.
    pub fn verify_device_token<'t>(&self, user_id: &str, token: &'t str) -> Option<&'t str> {
        let (nonce, mac) = token.split_once('.')?;
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expected = self.device_mac(user_id, nonce);
        // Constant time: blake3's Hash equality is.
        let given = blake3::Hash::from_hex(mac.get(..64)?).ok()?;
        (mac.len() == 64 && given == blake3::Hash::from_hex(&expected).ok()?).then_some(nonce)
    }

    fn device_mac(&self, user_id: &str, nonce: &str) -> String {
        blake3::Hasher::new_keyed(&self.device_key)
            .update(user_id.as_bytes())
            .update(&[0])
            .update(nonce.as_bytes())
            .finalize()
            .to_hex()
            .to_string()
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

    #[test]
    fn device_tokens_belong_to_one_user_and_one_secret() {
        let keys = JwtKeys::new(b"secret");
        let token = keys.issue_device_token("u1");
        assert!(keys.verify_device_token("u1", &token).is_some());
        assert!(keys.verify_device_token("u2", &token).is_none());
        assert!(JwtKeys::new(b"other").verify_device_token("u1", &token).is_none());
        let mut forged = token.clone();
        forged.replace_range(40..41, if &token[40..41] == "0" { "1" } else { "0" });
        assert!(keys.verify_device_token("u1", &forged).is_none());
        assert!(keys.verify_device_token("u1", "").is_none());
        assert!(keys.verify_device_token("u1", "x.y").is_none());
    }
}
