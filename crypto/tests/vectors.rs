//! Fixed test vectors shared with the JavaScript implementation
//! (`server/web/e2e.js`, checked by `server/web/e2e-selftest.js`).
//!
//! `CLOUDBUFFER_WRITE_VECTORS=1 cargo test -p cloudbuffer-crypto --test vectors`
//! rewrites `vectors.json`; without it the test fails if the format changed.

use cloudbuffer_crypto::__vectors::encrypt_field_with_nonce;
use cloudbuffer_crypto::{
    ciphertext_len, decrypt_all, decrypt_field, AccountKey, ContentHasher, Encryptor, FieldKind, ItemKey,
    ItemSalt, KdfParams, WrappedAccountKey,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors.json");
/// Items at least this long are given by length and hash, not in full.
const INLINE_MAX: usize = 256;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn account() -> AccountKey {
    AccountKey::from_bytes(std::array::from_fn(|i| i as u8))
}

fn item(name: &str, plaintext: &[u8], salt_byte: u8) -> Value {
    let salt = ItemSalt([salt_byte; 16]);
    let prefix = [0xA0 | salt_byte; 7];
    let encryptor = Encryptor::with_salt_and_prefix(&account(), salt, prefix);
    let item_key = encryptor.item_key().clone();
    let ciphertext = encryptor.encrypt_all(plaintext).unwrap();
    assert_eq!(ciphertext.len() as u64, ciphertext_len(plaintext.len() as u64));
    let mut v = json!({
        "name": name,
        "salt": hex(&salt.0),
        "nonce_prefix": hex(&prefix),
        "item_key": cloudbuffer_crypto::__vectors::b64(item_key.as_bytes()),
        "share_fragment": item_key.to_share_fragment(),
        "ciphertext_len": ciphertext.len(),
        "ciphertext_sha256": hex(&Sha256::digest(&ciphertext)),
    });
    if plaintext.len() < INLINE_MAX {
        v["plaintext_hex"] = hex(plaintext).into();
        v["ciphertext_hex"] = hex(&ciphertext).into();
    } else {
        assert_eq!(plaintext, pattern(plaintext.len()));
        v["plaintext_pattern_len"] = plaintext.len().into();
    }
    v
}

/// Each field gets its own nonce: two fields of one item share the field key.
fn field(kind: FieldKind, plaintext: &str, salt_byte: u8, nonce_byte: u8) -> Value {
    let salt = ItemSalt([salt_byte; 16]);
    let key = ItemKey::derive(&account(), &salt);
    let nonce = [nonce_byte; 12];
    let text = encrypt_field_with_nonce(&key, &salt, kind, plaintext.as_bytes(), nonce).unwrap();
    json!({
        "kind": kind.label(),
        "plaintext": plaintext,
        "salt": hex(&salt.0),
        "nonce": hex(&nonce),
        "item_key": cloudbuffer_crypto::__vectors::b64(key.as_bytes()),
        "text": text,
    })
}

/// Everything in the file except the wrapped key, which has random salt and
/// nonce and so is checked by opening it instead.
fn deterministic() -> Value {
    json!({
        "about": "Cloud Buffer E2E test vectors (docs/encryption.md). plaintext_pattern_len N means bytes i % 251 for i in 0..N.",
        "account_key": account().to_base64url(),
        "items": [
            item("empty", b"", 1),
            item("hello", b"Hello, Cloud Buffer!\n", 2),
            item("one full record", &pattern(65536), 3),
            item("three records", &pattern(2 * 65536 + 10), 4),
        ],
        "fields": [
            field(FieldKind::Name, "résumé 2024.pdf", 2, 0x51),
            field(FieldKind::ContentType, "application/pdf", 2, 0x52),
            field(FieldKind::Preview, "", 5, 0x53),
        ],
        "content_id": {
            "plaintext": "hello",
            "id": ContentHasher::new(&account()).update(b"hello").finalize().to_base64url(),
        },
    })
}

#[test]
fn vectors_match_the_file() {
    let expected = deterministic();
    if std::env::var_os("CLOUDBUFFER_WRITE_VECTORS").is_some() {
        let wrapped = account().wrap(b"correct horse battery staple", KdfParams::INSECURE_FOR_TESTS).unwrap();
        let mut file = expected.clone();
        file["wrapped_account_key"] =
            json!({ "passphrase": "correct horse battery staple", "wrapped": wrapped });
        std::fs::write(PATH, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
    }
    let file: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let mut without_wrapped = file.clone();
    without_wrapped.as_object_mut().unwrap().remove("wrapped_account_key");
    assert!(without_wrapped == expected, "the format changed: vectors.json no longer matches");

    // The stored ciphertexts open, with the account key and the share key.
    for v in file["items"].as_array().unwrap() {
        if let Some(ciphertext) = v["ciphertext_hex"].as_str() {
            let plain = unhex(v["plaintext_hex"].as_str().unwrap());
            let ciphertext = unhex(ciphertext);
            assert_eq!(decrypt_all(&account(), &ciphertext).unwrap(), plain);
            let share = ItemKey::from_share_fragment(v["share_fragment"].as_str().unwrap()).unwrap();
            assert_eq!(decrypt_all(&share, &ciphertext).unwrap(), plain);
        }
    }
    for f in file["fields"].as_array().unwrap() {
        let kind = match f["kind"].as_str().unwrap() {
            "name" => FieldKind::Name,
            "content-type" => FieldKind::ContentType,
            _ => FieldKind::Preview,
        };
        let plain = decrypt_field(&account(), kind, f["text"].as_str().unwrap()).unwrap();
        assert_eq!(plain, f["plaintext"].as_str().unwrap().as_bytes());
    }
    let w = &file["wrapped_account_key"];
    let wrapped: WrappedAccountKey = serde_json::from_value(w["wrapped"].clone()).unwrap();
    let opened = wrapped.unwrap(w["passphrase"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(opened.as_bytes(), account().as_bytes());
}
