//! The account key at rest on the server: AES-256-GCM under a key that
//! argon2id derives from the encryption passphrase. The server stores the
//! JSON form opaquely; only a device that knows the passphrase can open it,
//! and each guess costs an attacker the argon2 work.

use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::aead::{Aes, NONCE_LEN};
use crate::keys::{b64_decode, b64_encode, random};
use crate::{AccountKey, Error, Result, KEY_LEN, TAG_LEN};

const KDF_ARGON2ID: &str = "argon2id";
const WRAP_VERSION: u32 = 1;
const SALT_LEN: usize = 16;
/// Bound into the AAD with the parameters, so the stored parameters are
/// exactly the ones the key was wrapped with.
const AAD_LABEL: &[u8] = b"cloudbuffer account key v1";

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Passes over the memory.
    pub t: u32,
    /// Lanes.
    pub p: u32,
}

impl KdfParams {
    /// For an interactive unlock: 64 MiB, 3 passes, 1 lane (about 130 ms on
    /// one core of the development VM; several times that on a phone).
    pub const DEFAULT: Self = Self { m_kib: 64 * 1024, t: 3, p: 1 };

    /// Cheap and insecure: for tests only.
    pub const INSECURE_FOR_TESTS: Self = Self { m_kib: 64, t: 1, p: 1 };

    /// Refuses parameters a client should not run: a hostile server could
    /// otherwise hand out a wrapped key that takes minutes or all memory.
    fn checked(self) -> Result<Params> {
        if self.m_kib > 1024 * 1024 || self.t > 64 || !(1..=16).contains(&self.p) {
            return Err(Error::KdfParams(format!("{self:?} exceeds 1 GiB, 64 passes or 16 lanes")));
        }
        Params::new(self.m_kib, self.t, self.p, Some(KEY_LEN)).map_err(|e| Error::KdfParams(e.to_string()))
    }

    fn aad(self, salt: &[u8]) -> Vec<u8> {
        let mut aad = AAD_LABEL.to_vec();
        for n in [self.m_kib, self.t, self.p] {
            aad.extend_from_slice(&n.to_be_bytes());
        }
        aad.extend_from_slice(salt);
        aad
    }

    fn derive(self, passphrase: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.checked()?)
            .hash_password_into(passphrase, salt, key.as_mut())
            .map_err(|e| Error::KdfParams(e.to_string()))?;
        Ok(key)
    }
}

/// The account key wrapped under a passphrase: what the server stores, as
/// JSON (`{"version":1,"kdf":"argon2id","m_kib":65536,"t":3,"p":1,
/// "salt":…,"nonce":…,"ciphertext":…}`, binary fields in base64url).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedAccountKey {
    /// Format version (1).
    pub version: u32,
    /// Key derivation function: `argon2id`.
    pub kdf: String,
    /// Argon2 memory in KiB.
    pub m_kib: u32,
    /// Argon2 passes.
    pub t: u32,
    /// Argon2 lanes.
    pub p: u32,
    /// Argon2 salt (16 bytes).
    pub salt: String,
    /// AES-GCM nonce (12 bytes).
    pub nonce: String,
    /// The encrypted account key and its tag (48 bytes).
    pub ciphertext: String,
}

impl AccountKey {
    /// Wraps this key under `passphrase` (UTF-8 bytes as typed, not
    /// normalised) with fresh salt and nonce.
    pub fn wrap(&self, passphrase: &[u8], params: KdfParams) -> Result<WrappedAccountKey> {
        let salt: [u8; SALT_LEN] = random()?;
        let nonce: [u8; NONCE_LEN] = random()?;
        let kek = params.derive(passphrase, &salt)?;
        let mut body = Zeroizing::new(self.as_bytes().to_vec());
        let tag = Aes::new(&kek).seal(nonce, &params.aad(&salt), body.as_mut_slice());
        let mut ciphertext = body.to_vec();
        ciphertext.extend_from_slice(&tag);
        Ok(WrappedAccountKey {
            version: WRAP_VERSION,
            kdf: KDF_ARGON2ID.into(),
            m_kib: params.m_kib,
            t: params.t,
            p: params.p,
            salt: b64_encode(&salt),
            nonce: b64_encode(&nonce),
            ciphertext: b64_encode(&ciphertext),
        })
    }
}

impl WrappedAccountKey {
    /// The Argon2 parameters it was wrapped with.
    pub fn params(&self) -> KdfParams {
        KdfParams { m_kib: self.m_kib, t: self.t, p: self.p }
    }

    /// Opens the account key; [`Error::WrongPassphrase`] when it does not.
    pub fn unwrap(&self, passphrase: &[u8]) -> Result<AccountKey> {
        if self.version != WRAP_VERSION {
            return Err(Error::UnsupportedVersion(self.version));
        }
        if self.kdf != KDF_ARGON2ID {
            return Err(Error::UnsupportedKdf(self.kdf.clone()));
        }
        let salt = b64_decode(&self.salt, "wrapped key salt")?;
        let nonce: [u8; NONCE_LEN] = b64_decode(&self.nonce, "wrapped key nonce")?
            .try_into()
            .map_err(|_| Error::Malformed("wrapped key nonce"))?;
        let mut body = Zeroizing::new(b64_decode(&self.ciphertext, "wrapped key")?);
        if salt.len() != SALT_LEN || body.len() != KEY_LEN + TAG_LEN {
            return Err(Error::Malformed("wrapped key"));
        }
        let kek = self.params().derive(passphrase, &salt)?;
        let (key, tag) = body.split_at_mut(KEY_LEN);
        if !Aes::new(&kek).open(nonce, &self.params().aad(&salt), key, tag) {
            return Err(Error::WrongPassphrase);
        }
        Ok(AccountKey::from_bytes((&*key).try_into().expect("key length")))
    }

    /// A passphrase change: the same account key under the new passphrase
    /// (and possibly new parameters). Nothing else is re-encrypted.
    pub fn rewrap(&self, old: &[u8], new: &[u8], params: KdfParams) -> Result<WrappedAccountKey> {
        self.unwrap(old)?.wrap(new, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: KdfParams = KdfParams::INSECURE_FOR_TESTS;

    #[test]
    fn wrap_unwrap_rewrap() {
        let key = AccountKey::generate().unwrap();
        let wrapped = key.wrap(b"correct horse", FAST).unwrap();
        let json = serde_json::to_string(&wrapped).unwrap();
        let back: WrappedAccountKey = serde_json::from_str(&json).unwrap();
        assert_eq!(back.unwrap(b"correct horse").unwrap().as_bytes(), key.as_bytes());
        assert_eq!(back.unwrap(b"correct horsf").unwrap_err(), Error::WrongPassphrase);

        let changed = back.rewrap(b"correct horse", b"battery staple", FAST).unwrap();
        assert_eq!(changed.unwrap(b"battery staple").unwrap().as_bytes(), key.as_bytes());
        assert_eq!(changed.unwrap(b"correct horse").unwrap_err(), Error::WrongPassphrase);
        assert_eq!(back.rewrap(b"nope", b"x", FAST).unwrap_err(), Error::WrongPassphrase);
    }

    #[test]
    fn tampered_or_hostile_wrapped_keys_fail_cleanly() {
        let key = AccountKey::from_bytes([5; 32]);
        let wrapped = key.wrap(b"pw", FAST).unwrap();
        let mut lowered = wrapped.clone();
        lowered.t = 2; // parameters are authenticated
        assert_eq!(lowered.unwrap(b"pw").unwrap_err(), Error::WrongPassphrase);
        let mut flipped = wrapped.clone();
        flipped.ciphertext.replace_range(0..1, if flipped.ciphertext.starts_with('A') { "B" } else { "A" });
        assert_eq!(flipped.unwrap(b"pw").unwrap_err(), Error::WrongPassphrase);
        let mut huge = wrapped.clone();
        huge.m_kib = 4 * 1024 * 1024;
        assert!(matches!(huge.unwrap(b"pw"), Err(Error::KdfParams(_))));
        let mut other = wrapped.clone();
        other.kdf = "scrypt".into();
        assert_eq!(other.unwrap(b"pw").unwrap_err(), Error::UnsupportedKdf("scrypt".into()));
        let mut short = wrapped;
        short.ciphertext.truncate(10);
        assert!(matches!(short.unwrap(b"pw"), Err(Error::Malformed(_))));
    }
}
