//! Round trips at record-boundary sizes and every kind of tampering.

use cloudbuffer_crypto::{
    ciphertext_len, decrypt_all, plaintext_len, AccountKey, ContentHasher, Decryptor, Encryptor, Error,
    ItemKey, HEADER_LEN, RECORD_SIZE, TAG_LEN,
};

const R: usize = RECORD_SIZE;
const FULL: usize = R + TAG_LEN;

fn account() -> AccountKey {
    AccountKey::from_bytes([0x42; 32])
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn encrypt(plaintext: &[u8]) -> (Vec<u8>, ItemKey) {
    let encryptor = Encryptor::new(&account()).unwrap();
    let key = encryptor.item_key().clone();
    (encryptor.encrypt_all(plaintext).unwrap(), key)
}

/// Decrypts feeding `step` bytes at a time; returns the plaintext produced
/// before any error, and the error.
fn decrypt_in_steps(ciphertext: &[u8], step: usize) -> (Vec<u8>, Result<(), Error>) {
    let mut decryptor = Decryptor::new(&account());
    let mut out = Vec::new();
    for chunk in ciphertext.chunks(step.max(1)) {
        if let Err(e) = decryptor.push(chunk, &mut out) {
            return (out, Err(e));
        }
    }
    let result = decryptor.finish(&mut out);
    (out, result)
}

#[test]
fn round_trips_at_boundary_sizes_and_any_input_split() {
    for len in [0, 1, R - 1, R, R + 1, 3 * R, 3 * R + 7] {
        let plain = pattern(len);
        let (cipher, item_key) = encrypt(&plain);
        assert_eq!(cipher.len() as u64, ciphertext_len(len as u64), "size of {len}");
        assert_eq!(plaintext_len(cipher.len() as u64), Some(len as u64));
        for step in [1, 13, R - 1, R, FULL, FULL + 1, 1 << 20] {
            if step == 1 && len > R + 1 {
                continue; // byte by byte is covered by the smaller sizes
            }
            let (out, result) = decrypt_in_steps(&cipher, step);
            assert_eq!(result, Ok(()), "len {len} step {step}");
            assert!(out == plain, "len {len} step {step}");
        }
        assert_eq!(decrypt_all(&item_key, &cipher).unwrap(), plain, "share key, len {len}");
    }
}

#[test]
fn push_in_any_split_matches_encrypt_all_and_encrypt_record() {
    let plain = pattern(2 * R + 100);
    let salt = cloudbuffer_crypto::ItemSalt([1; 16]);
    let make = || Encryptor::with_salt_and_prefix(&account(), salt, [2; 7]);
    let whole = make().encrypt_all(&plain).unwrap();
    for step in [1000, R, R + 1, 3 * R] {
        let mut encryptor = make();
        let mut out = Vec::new();
        for chunk in plain.chunks(step) {
            encryptor.push(chunk, &mut out).unwrap();
        }
        encryptor.finish(&mut out).unwrap();
        assert!(out == whole, "step {step}");
    }
    let mut encryptor = make();
    let mut out = Vec::new();
    let chunks: Vec<_> = plain.chunks(R).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        encryptor.encrypt_record(chunk, i == chunks.len() - 1, &mut out).unwrap();
    }
    assert!(out == whole);
    assert!(matches!(make().encrypt_record(&plain[..10], false, &mut Vec::new()), Err(Error::Misuse(_))));

    let mut encryptor = make();
    let mut out = encryptor.header().to_vec();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut record = chunk.to_vec();
        encryptor.encrypt_record_in_place(&mut record, i == chunks.len() - 1).unwrap();
        out.extend_from_slice(&record);
    }
    assert!(out == whole, "in place");
    let mut short = plain[..10].to_vec();
    assert!(matches!(make().encrypt_record_in_place(&mut short, false), Err(Error::Misuse(_))));
}

#[test]
fn random_few_megabytes_round_trip() {
    let mut plain = vec![0u8; 3 * 1024 * 1024 + 12345];
    getrandom::fill(&mut plain).unwrap();
    let (cipher, _) = encrypt(&plain);
    let (out, result) = decrypt_in_steps(&cipher, 100_000);
    assert_eq!(result, Ok(()));
    assert!(out == plain);
}

#[test]
fn random_salts_make_equal_content_differ_and_convergent_makes_it_equal() {
    let plain = pattern(1000);
    assert_ne!(encrypt(&plain).0, encrypt(&plain).0);
    let id = ContentHasher::new(&account()).update(&plain).finalize();
    let a = Encryptor::convergent(&account(), &id).encrypt_all(&plain).unwrap();
    let b = Encryptor::convergent(&account(), &id).encrypt_all(&plain).unwrap();
    assert_eq!(a, b);
    let other = AccountKey::from_bytes([7; 32]);
    let id_other = ContentHasher::new(&other).update(&plain).finalize();
    assert_ne!(Encryptor::convergent(&other, &id_other).encrypt_all(&plain).unwrap(), a);
    assert_eq!(decrypt_all(&account(), &a).unwrap(), plain);
}

/// Three records: two full, one of 10 bytes.
fn three_records() -> (Vec<u8>, Vec<u8>) {
    let plain = pattern(2 * R + 10);
    let (cipher, _) = encrypt(&plain);
    (plain, cipher)
}

fn record(cipher: &[u8], i: usize) -> std::ops::Range<usize> {
    let start = HEADER_LEN + i * FULL;
    start..(start + FULL).min(cipher.len())
}

/// Every failure must come with at most the plaintext of records before the
/// damaged one.
fn assert_fails(cipher: &[u8], expected: Error, verified_records: usize, what: &str) {
    let plain = pattern(2 * R + 10);
    for step in [7, FULL, 1 << 20] {
        let (out, result) = decrypt_in_steps(cipher, step);
        assert_eq!(result, Err(expected.clone()), "{what}, step {step}");
        assert!(out.len() <= verified_records * R, "{what}: {} bytes out", out.len());
        assert!(out == plain[..out.len()], "{what}");
    }
}

#[test]
fn flipped_bytes_anywhere_fail() {
    let (_, cipher) = three_records();
    let auth = |record| Error::Authentication { record };
    let mut cases = vec![
        (0, Error::NotEncrypted, 0),
        (4, Error::UnsupportedVersion(0), 0),
        (5, auth(0), 0),              // salt
        (HEADER_LEN - 1, auth(0), 0), // nonce prefix
        (HEADER_LEN, auth(0), 0),     // first ciphertext byte
        (HEADER_LEN + R, auth(0), 0), // first tag
        (record(&cipher, 1).start + 5, auth(1), 1),
        (record(&cipher, 1).end - 1, auth(1), 1),
        (cipher.len() - 1, auth(2), 2), // final tag
    ];
    cases[1].1 = Error::UnsupportedVersion(1 ^ 0xff);
    for (at, expected, verified) in cases {
        let mut bad = cipher.clone();
        bad[at] ^= 0xff;
        assert_fails(&bad, expected, verified, &format!("flip at {at}"));
    }
}

#[test]
fn truncation_reordering_duplication_and_appending_fail() {
    let (_, cipher) = three_records();
    let r0 = cipher[record(&cipher, 0)].to_vec();
    let r1 = cipher[record(&cipher, 1)].to_vec();
    let r2 = cipher[record(&cipher, 2)].to_vec();
    let header = cipher[..HEADER_LEN].to_vec();
    let join = |parts: &[&[u8]]| parts.concat();

    // Cut at a record boundary, i.e. the final record dropped.
    assert_fails(&join(&[&header, &r0, &r1]), Error::Truncated, 2, "final record dropped");
    assert_fails(&join(&[&header, &r0]), Error::Truncated, 1, "cut after record 0");
    assert_fails(&header, Error::Truncated, 0, "header only");
    assert_fails(&header[..10], Error::Truncated, 0, "cut in the header");
    assert_fails(&[], Error::Truncated, 0, "empty");
    // Cut inside a record.
    assert_fails(&cipher[..cipher.len() - 1], Error::Authentication { record: 2 }, 2, "cut in final");
    assert_fails(&cipher[..HEADER_LEN + 100], Error::Authentication { record: 0 }, 0, "cut in record 0");
    // Reordered, duplicated.
    assert_fails(&join(&[&header, &r1, &r0, &r2]), Error::Authentication { record: 0 }, 0, "swapped");
    assert_fails(&join(&[&header, &r0, &r0, &r1, &r2]), Error::Authentication { record: 1 }, 1, "duplicated");
    assert_fails(&join(&[&header, &r0, &r2]), Error::Authentication { record: 1 }, 1, "middle dropped");
    // Appended data after a short final record looks like a longer final
    // record that fails to authenticate; nothing of it is released.
    assert_fails(&join(&[&cipher, b"x"]), Error::Authentication { record: 2 }, 2, "appended byte");
    assert_fails(&join(&[&cipher, &r2]), Error::Authentication { record: 2 }, 2, "final record repeated");
    // After a full final record, the final flag names it.
    let full = pattern(R);
    let (one, _) = encrypt(&full);
    let (out, result) = decrypt_in_steps(&join(&[&one, &[0u8; 20]]), FULL);
    assert_eq!(result, Err(Error::TrailingData));
    assert!(out.is_empty(), "a record followed by garbage is not released");
}

#[test]
fn wrong_keys_fail_on_the_first_record() {
    let (_, cipher) = three_records();
    let other = AccountKey::from_bytes([1; 32]);
    assert_eq!(decrypt_all(&other, &cipher), Err(Error::Authentication { record: 0 }));
    let wrong_item = ItemKey::from_bytes([9; 32]);
    assert_eq!(decrypt_all(&wrong_item, &cipher), Err(Error::Authentication { record: 0 }));
    // A share key opens its own item only.
    let (other_cipher, other_item) = encrypt(b"another item");
    assert_eq!(decrypt_all(&other_item, &cipher), Err(Error::Authentication { record: 0 }));
    assert_eq!(decrypt_all(&other_item, &other_cipher).unwrap(), b"another item");
    // The header's salt is there for matching fields to their item.
    let mut decryptor = Decryptor::new(&account());
    assert_eq!(decryptor.salt(), None);
    decryptor.push(&cipher[..HEADER_LEN], &mut Vec::new()).unwrap();
    assert_eq!(decryptor.salt().unwrap().0, cipher[5..21]);
}

#[test]
fn a_failed_decryptor_stays_failed() {
    let (_, mut cipher) = three_records();
    cipher[HEADER_LEN + 3] ^= 1;
    let mut decryptor = Decryptor::new(&account());
    let mut out = Vec::new();
    assert!(decryptor.push(&cipher, &mut out).is_err());
    assert!(decryptor.push(b"", &mut out).is_err());
    assert!(decryptor.finish(&mut out).is_err());
    assert!(out.is_empty());
}
