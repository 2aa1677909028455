//! Keys: the account key, per-item keys (which double as share keys) and the
//! HKDF steps between them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, Result, KEY_LEN, SALT_LEN};

pub(crate) const INFO_ITEM: &[u8] = b"cloudbuffer item v1";
pub(crate) const INFO_CONTENT: &[u8] = b"cloudbuffer content v1";
pub(crate) const INFO_FIELD: &[u8] = b"cloudbuffer field v1";
pub(crate) const INFO_DEDUP: &[u8] = b"cloudbuffer dedup v1";

/// The share fragment's parameter name: `…/s/TOKEN#k=<base64url item key>`.
const FRAGMENT_PARAM: &str = "k=";

/// HKDF-SHA256 to one 256-bit key. An empty salt is what RFC 5869 calls "not
/// provided" (HMAC pads it to zeros), which WebCrypto needs spelled out.
pub(crate) fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> Zeroizing<[u8; KEY_LEN]> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    Hkdf::<Sha256>::new(Some(salt), ikm)
        .expand(info, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// Fresh bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(Error::Random)?;
    Ok(out)
}

/// Decodes base64url (no padding, as written here; padding is tolerated
/// because some encoders add it).
pub(crate) fn b64_decode(text: &str, what: &'static str) -> Result<Vec<u8>> {
    B64.decode(text.trim_end_matches('=')).map_err(|_| Error::Malformed(what))
}

pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn key_from_b64(text: &str, what: &'static str) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    let bytes = Zeroizing::new(b64_decode(text, what)?);
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    if bytes.len() != KEY_LEN {
        return Err(Error::Malformed(what));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// The account's root key: 256 random bits made on the first device. It
/// never leaves a device in the clear except inside a pairing QR / URL
/// fragment; the server keeps it only as a [`crate::WrappedAccountKey`].
#[derive(Clone)]
pub struct AccountKey(Zeroizing<[u8; KEY_LEN]>);

impl AccountKey {
    /// A new random account key.
    pub fn generate() -> Result<Self> {
        Ok(Self(Zeroizing::new(random()?)))
    }

    /// The key from its raw bytes (e.g. a device's keyring).
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes, to store in a device's keyring.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Base64url text (43 characters) for a pairing URL fragment.
    pub fn to_base64url(&self) -> String {
        b64_encode(self.0.as_ref())
    }

    /// Parses [`AccountKey::to_base64url`]'s text.
    pub fn from_base64url(text: &str) -> Result<Self> {
        key_from_b64(text, "account key").map(Self)
    }
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(<redacted>)")
    }
}

/// The random salt that makes one item's key unique; it travels in clear in
/// the item header and in each of the item's encrypted fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ItemSalt(pub [u8; SALT_LEN]);

impl ItemSalt {
    /// A new random salt.
    pub fn random() -> Result<Self> {
        random().map(Self)
    }
}

/// One item's key: derived from the account key and the item's salt, it
/// opens that item's content and fields and nothing else (HKDF is one-way, so
/// it reveals neither the account key nor other items' keys). It is what a
/// share link carries in its fragment.
#[derive(Clone)]
pub struct ItemKey(Zeroizing<[u8; KEY_LEN]>);

impl ItemKey {
    /// The key of the item with this salt.
    pub fn derive(account: &AccountKey, salt: &ItemSalt) -> Self {
        Self(hkdf32(account.as_bytes(), &salt.0, INFO_ITEM))
    }

    /// The key from its raw bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The share link fragment, without `#`: `k=<43 base64url characters>`.
    pub fn to_share_fragment(&self) -> String {
        format!("{FRAGMENT_PARAM}{}", b64_encode(self.0.as_ref()))
    }

    /// The key from a share link, its fragment (`#k=…`, `k=…`, other
    /// `&`-separated parameters ignored).
    pub fn from_share_fragment(link: &str) -> Result<Self> {
        let fragment = link.rsplit_once('#').map_or(link, |(_, f)| f);
        let value = fragment
            .split('&')
            .find_map(|param| param.strip_prefix(FRAGMENT_PARAM))
            .ok_or(Error::Malformed("share link: no k= in its fragment"))?;
        key_from_b64(value, "share link key").map(Self)
    }

    pub(crate) fn content_key(&self) -> Zeroizing<[u8; KEY_LEN]> {
        hkdf32(self.as_bytes(), &[], INFO_CONTENT)
    }

    pub(crate) fn field_key(&self) -> Zeroizing<[u8; KEY_LEN]> {
        hkdf32(self.as_bytes(), &[], INFO_FIELD)
    }
}

impl std::fmt::Debug for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ItemKey(<redacted>)")
    }
}

/// The key that opens an item: the account's (the owner's devices) or the
/// item's own (a share link).
#[derive(Clone, Copy, Debug)]
pub enum OpenKey<'a> {
    /// The account key: the item key is derived from the salt in the data.
    Account(&'a AccountKey),
    /// The item key itself, from a share link; the salt is not needed.
    Item(&'a ItemKey),
}

impl OpenKey<'_> {
    /// The item key for data carrying this salt.
    pub fn item_key(&self, salt: &ItemSalt) -> ItemKey {
        match self {
            OpenKey::Account(account) => ItemKey::derive(account, salt),
            OpenKey::Item(item) => (*item).clone(),
        }
    }
}

impl<'a> From<&'a AccountKey> for OpenKey<'a> {
    fn from(key: &'a AccountKey) -> Self {
        OpenKey::Account(key)
    }
}

impl<'a> From<&'a ItemKey> for OpenKey<'a> {
    fn from(key: &'a ItemKey) -> Self {
        OpenKey::Item(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_fragment_round_trips_from_any_link_form() {
        let key = ItemKey::from_bytes([7; 32]);
        let fragment = key.to_share_fragment();
        assert_eq!(fragment.len(), 2 + 43);
        for link in
            [fragment.clone(), format!("#{fragment}"), format!("https://cb.example/s/TOKEN#x=1&{fragment}")]
        {
            assert_eq!(ItemKey::from_share_fragment(&link).unwrap().as_bytes(), key.as_bytes());
        }
        for bad in ["https://cb.example/s/TOKEN", "#k=", "#k=AAAA", "#k=!!!"] {
            assert!(matches!(ItemKey::from_share_fragment(bad), Err(Error::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn item_keys_differ_per_salt_and_account() {
        let a = AccountKey::from_bytes([1; 32]);
        let b = AccountKey::from_bytes([2; 32]);
        let s1 = ItemSalt([0; 16]);
        let s2 = ItemSalt([1; 16]);
        let k = |acc, s| *ItemKey::derive(acc, s).as_bytes();
        assert_ne!(k(&a, &s1), k(&a, &s2));
        assert_ne!(k(&a, &s1), k(&b, &s1));
        assert_eq!(AccountKey::from_base64url(&a.to_base64url()).unwrap().as_bytes(), a.as_bytes());
        assert_eq!(format!("{a:?}"), "AccountKey(<redacted>)");
    }
}
