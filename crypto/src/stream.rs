//! Streaming content encryption: a header, then AES-256-GCM records of
//! [`RECORD_SIZE`] plaintext bytes, the last one flagged in its nonce (the
//! STREAM construction, as in age), so truncation, reordering, duplication and
//! appending all fail authentication.

use crate::aead::{Aes, NONCE_LEN};
use crate::keys::random;
use crate::sizes::{ciphertext_len, plaintext_len, FULL};
use crate::{
    AccountKey, ContentId, Error, ItemKey, ItemSalt, OpenKey, Result, HEADER_LEN, MAGIC, NONCE_PREFIX_LEN,
    RECORD_SIZE, SALT_LEN, TAG_LEN, VERSION,
};

/// The counter is 32 bits: 2^32 records of 64 KiB is 256 TiB.
const MAX_RECORDS: u64 = 1 << 32;

/// Nonce of record `counter`: prefix (7) ‖ counter (4, big-endian) ‖ final flag (1).
fn nonce(prefix: &[u8; NONCE_PREFIX_LEN], counter: u64, last: bool) -> [u8; NONCE_LEN] {
    let mut n = [0u8; NONCE_LEN];
    n[..NONCE_PREFIX_LEN].copy_from_slice(prefix);
    n[NONCE_PREFIX_LEN..11].copy_from_slice(&(counter as u32).to_be_bytes());
    n[11] = last as u8;
    n
}

/// Encrypts one record onto the end of `out`. The header is the AAD, so a
/// record authenticates only under its own header.
fn seal(
    cipher: &Aes,
    header: &[u8; HEADER_LEN],
    counter: u64,
    plaintext: &[u8],
    last: bool,
    out: &mut Vec<u8>,
) -> Result<()> {
    out.reserve(plaintext.len() + TAG_LEN);
    let start = out.len();
    // The one copy: the cipher works in place, and `plaintext` is borrowed.
    out.extend_from_slice(plaintext);
    let tag = seal_in_place(cipher, header, counter, &mut out[start..], last)?;
    out.extend_from_slice(&tag);
    Ok(())
}

/// Encrypts record `counter` in place, returning its tag.
fn seal_in_place(
    cipher: &Aes,
    header: &[u8; HEADER_LEN],
    counter: u64,
    record: &mut [u8],
    last: bool,
) -> Result<[u8; TAG_LEN]> {
    if counter >= MAX_RECORDS {
        return Err(Error::TooLarge);
    }
    let prefix = header[HEADER_LEN - NONCE_PREFIX_LEN..].try_into().expect("prefix length");
    Ok(cipher.seal(nonce(prefix, counter, last), header, record))
}

/// Encrypts one item as a stream. The concatenation of everything it appends
/// to `out` (header included, written by the first call) is the item.
pub struct Encryptor {
    cipher: Aes,
    header: [u8; HEADER_LEN],
    salt: ItemSalt,
    item_key: ItemKey,
    counter: u64,
    header_written: bool,
    /// Plaintext held back by `push` until it knows whether it is the last record.
    pending: Vec<u8>,
}

impl Encryptor {
    /// A new item under the account key, with a random salt and nonce prefix.
    pub fn new(account: &AccountKey) -> Result<Self> {
        Ok(Self::with_salt_and_prefix(account, ItemSalt::random()?, random()?))
    }

    /// A new item whose salt and nonce prefix come from its plaintext's keyed
    /// [`ContentId`]: the same content in the same account encrypts to the
    /// same bytes (so the server's ciphertext dedup works within an account),
    /// while other accounts, lacking the key, learn nothing. Costs a first pass
    /// over the content; the server learns which of the account's items are equal.
    pub fn convergent(account: &AccountKey, id: &ContentId) -> Self {
        let bytes = id.as_bytes();
        let salt = ItemSalt(bytes[..SALT_LEN].try_into().expect("salt length"));
        let prefix = bytes[SALT_LEN..SALT_LEN + NONCE_PREFIX_LEN].try_into().expect("prefix length");
        Self::with_salt_and_prefix(account, salt, prefix)
    }

    /// Fixed salt and nonce prefix, for test vectors only: reusing them for
    /// different plaintext under one account breaks confidentiality.
    #[doc(hidden)]
    pub fn with_salt_and_prefix(
        account: &AccountKey,
        salt: ItemSalt,
        prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Self {
        let mut header = [0u8; HEADER_LEN];
        header[..4].copy_from_slice(&MAGIC);
        header[4] = VERSION;
        header[5..5 + SALT_LEN].copy_from_slice(&salt.0);
        header[5 + SALT_LEN..].copy_from_slice(&prefix);
        let item_key = ItemKey::derive(account, &salt);
        let cipher = Aes::new(&item_key.content_key());
        Self { cipher, header, salt, item_key, counter: 0, header_written: false, pending: Vec::new() }
    }

    /// The item header (also written to `out` by the first call).
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// The item's salt, for [`crate::encrypt_field`] on the item's name and type.
    pub fn salt(&self) -> &ItemSalt {
        &self.salt
    }

    /// The item's key: for its fields, and for a share link's fragment.
    pub fn item_key(&self) -> &ItemKey {
        &self.item_key
    }

    fn write_header(&mut self, out: &mut Vec<u8>) {
        if !self.header_written {
            out.extend_from_slice(&self.header);
            self.header_written = true;
        }
    }

    /// Encrypts one record for callers that chunk themselves: `plaintext` must
    /// be exactly [`RECORD_SIZE`] bytes unless `last`. Do not mix with `push`.
    pub fn encrypt_record(&mut self, plaintext: &[u8], last: bool, out: &mut Vec<u8>) -> Result<()> {
        self.check_record(plaintext.len(), last)?;
        self.write_header(out);
        seal(&self.cipher, &self.header, self.counter, plaintext, last, out)?;
        self.counter += 1;
        Ok(())
    }

    /// [`Encryptor::encrypt_record`] without its copy, for callers that read
    /// each record into a buffer of their own: `record` holds the plaintext
    /// and is left holding ciphertext ‖ tag (give it room for [`TAG_LEN`]
    /// more bytes). It never writes the header: send [`Encryptor::header`]
    /// before the first record. Do not mix with `push`.
    pub fn encrypt_record_in_place(&mut self, record: &mut Vec<u8>, last: bool) -> Result<()> {
        self.check_record(record.len(), last)?;
        self.header_written = true;
        let tag = seal_in_place(&self.cipher, &self.header, self.counter, record, last)?;
        record.extend_from_slice(&tag);
        self.counter += 1;
        Ok(())
    }

    fn check_record(&self, len: usize, last: bool) -> Result<()> {
        if len > RECORD_SIZE || (!last && len != RECORD_SIZE) {
            return Err(Error::Misuse("records other than the last must be exactly RECORD_SIZE bytes"));
        }
        if !self.pending.is_empty() {
            return Err(Error::Misuse("encrypt_record after push"));
        }
        Ok(())
    }

    /// Encrypts `input` (any length), appending whole records to `out`. Up to
    /// one record of plaintext is held back, since only the next byte (or
    /// [`Encryptor::finish`]) tells whether it is the last.
    pub fn push(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.write_header(out);
        while !input.is_empty() {
            if self.pending.len() == RECORD_SIZE {
                seal(&self.cipher, &self.header, self.counter, &self.pending, false, out)?;
                self.counter += 1;
                self.pending.clear();
            }
            if self.pending.is_empty() && input.len() > RECORD_SIZE {
                // More follows this record, so seal straight from the input.
                seal(&self.cipher, &self.header, self.counter, &input[..RECORD_SIZE], false, out)?;
                self.counter += 1;
                input = &input[RECORD_SIZE..];
                continue;
            }
            let take = (RECORD_SIZE - self.pending.len()).min(input.len());
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(RECORD_SIZE);
            }
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Seals the held-back plaintext as the final record.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<()> {
        self.write_header(out);
        seal(&self.cipher, &self.header, self.counter, &self.pending, true, out)
    }

    /// Encrypts a whole item in memory (text clips, small files).
    pub fn encrypt_all(mut self, plaintext: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(ciphertext_len(plaintext.len() as u64) as usize);
        self.push(plaintext, &mut out)?;
        self.finish(&mut out)?;
        Ok(out)
    }
}

/// Decrypts one item from slices of any size, appending only authenticated
/// plaintext to the caller's buffer.
pub struct Decryptor {
    /// The account key until the header is read (then dropped).
    account: Option<AccountKey>,
    item_key: Option<ItemKey>,
    header: [u8; HEADER_LEN],
    header_len: usize,
    cipher: Option<Aes>,
    counter: u64,
    /// Ciphertext of the current record: at most one full record.
    pending: Vec<u8>,
    failed: bool,
}

impl Decryptor {
    /// A decryptor for an item opened with the account key or the item key.
    pub fn new<'a>(key: impl Into<OpenKey<'a>>) -> Self {
        let (account, item_key) = match key.into() {
            OpenKey::Account(k) => (Some(k.clone()), None),
            OpenKey::Item(k) => (None, Some(k.clone())),
        };
        Self {
            account,
            item_key,
            header: [0; HEADER_LEN],
            header_len: 0,
            cipher: None,
            counter: 0,
            pending: Vec::new(),
            failed: false,
        }
    }

    /// The item salt from the header, once its 28 bytes have been pushed (to
    /// check an item's fields belong to it, see [`crate::field_salt`]).
    pub fn salt(&self) -> Option<ItemSalt> {
        (self.header_len == HEADER_LEN)
            .then(|| ItemSalt(self.header[5..5 + SALT_LEN].try_into().expect("salt length")))
    }

    /// Decrypts `input`, appending the plaintext of every record it completes
    /// to `out`. A full record is held back until the next byte arrives, since
    /// only that shows it is not the last. After an error, every call fails.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.failed {
            return Err(Error::Misuse("push after a decryption error"));
        }
        let result = self.push_inner(input, out);
        self.failed = result.is_err();
        result
    }

    fn push_inner(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        if self.header_len < HEADER_LEN {
            let take = (HEADER_LEN - self.header_len).min(input.len());
            self.header[self.header_len..self.header_len + take].copy_from_slice(&input[..take]);
            self.header_len += take;
            input = &input[take..];
            if self.header_len < HEADER_LEN {
                return self.check_header_start();
            }
            self.start()?;
        }
        while !input.is_empty() {
            if self.pending.len() == FULL {
                let record = std::mem::take(&mut self.pending);
                self.open(&record, false, out)?;
                self.pending = record;
                self.pending.clear();
            }
            if self.pending.is_empty() && input.len() > FULL {
                self.open(&input[..FULL], false, out)?;
                input = &input[FULL..];
                continue;
            }
            let take = (FULL - self.pending.len()).min(input.len());
            if self.pending.capacity() == 0 {
                self.pending.reserve_exact(FULL);
            }
            self.pending.extend_from_slice(&input[..take]);
            input = &input[take..];
        }
        Ok(())
    }

    /// Fails early on data that is plainly not an encrypted item.
    fn check_header_start(&self) -> Result<()> {
        let seen = self.header_len.min(MAGIC.len());
        if self.header[..seen] != MAGIC[..seen] {
            return Err(Error::NotEncrypted);
        }
        if self.header_len > 4 && self.header[4] != VERSION {
            return Err(Error::UnsupportedVersion(self.header[4].into()));
        }
        Ok(())
    }

    fn start(&mut self) -> Result<()> {
        self.check_header_start()?;
        let salt = ItemSalt(self.header[5..5 + SALT_LEN].try_into().expect("salt length"));
        let item_key = match (self.account.take(), self.item_key.take()) {
            (Some(account), _) => ItemKey::derive(&account, &salt),
            (None, Some(item)) => item,
            (None, None) => unreachable!("a decryptor always has a key"),
        };
        self.cipher = Some(Aes::new(&item_key.content_key()));
        Ok(())
    }

    /// Opens one record (ciphertext ‖ tag) onto `out`, or leaves `out` as it was.
    fn open(&mut self, record: &[u8], last: bool, out: &mut Vec<u8>) -> Result<()> {
        let cipher = self.cipher.as_ref().expect("header read");
        let prefix = self.header[HEADER_LEN - NONCE_PREFIX_LEN..].try_into().expect("prefix length");
        if self.counter >= MAX_RECORDS {
            return Err(Error::TooLarge);
        }
        let (body, tag) = record.split_at(record.len() - TAG_LEN);
        let start = out.len();
        out.extend_from_slice(body);
        if !cipher.open(nonce(prefix, self.counter, last), &self.header, &mut out[start..], tag) {
            out.truncate(start);
            // Say why when we can: a final record followed by more data.
            if !last && cipher_opens(cipher, &self.header, prefix, self.counter, true, record) {
                return Err(Error::TrailingData);
            }
            return Err(Error::Authentication { record: self.counter });
        }
        self.counter += 1;
        Ok(())
    }

    /// Ends the stream: the held-back bytes must be the final record.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<()> {
        if self.failed {
            return Err(Error::Misuse("finish after a decryption error"));
        }
        if self.header_len < HEADER_LEN || self.pending.len() < TAG_LEN {
            return Err(Error::Truncated);
        }
        let record = std::mem::take(&mut self.pending);
        match self.open(&record, true, out) {
            Err(Error::Authentication { .. }) => {
                let cipher = self.cipher.as_ref().expect("header read");
                let prefix = self.header[HEADER_LEN - NONCE_PREFIX_LEN..].try_into().expect("prefix");
                // A valid non-final record here means the final one was cut off.
                if record.len() == FULL
                    && cipher_opens(cipher, &self.header, prefix, self.counter, false, &record)
                {
                    return Err(Error::Truncated);
                }
                Err(Error::Authentication { record: self.counter })
            }
            other => other,
        }
    }
}

/// Whether `record` authenticates as record `counter` with this final flag
/// (only used to name an error, on a copy, never to produce plaintext).
fn cipher_opens(
    cipher: &Aes,
    header: &[u8; HEADER_LEN],
    prefix: &[u8; NONCE_PREFIX_LEN],
    counter: u64,
    last: bool,
    record: &[u8],
) -> bool {
    let (body, tag) = record.split_at(record.len() - TAG_LEN);
    let mut scratch = body.to_vec();
    cipher.open(nonce(prefix, counter, last), header, &mut scratch, tag)
}

/// Decrypts a whole item in memory.
pub fn decrypt_all<'a>(key: impl Into<OpenKey<'a>>, ciphertext: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(plaintext_len(ciphertext.len() as u64).unwrap_or(0) as usize);
    let mut decryptor = Decryptor::new(key);
    decryptor.push(ciphertext, &mut out)?;
    decryptor.finish(&mut out)?;
    Ok(out)
}
