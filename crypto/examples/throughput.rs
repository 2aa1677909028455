//! Single-core throughput of the E2E format, with a memcpy and BLAKE3 hashing
//! of the same buffer as yardsticks (the server hashes every upload with
//! BLAKE3), and the time of one account-key unlock with the default argon2id
//! parameters.
//!
//! `cargo run --release -p cloudbuffer-crypto --example throughput [MiB]`

use std::time::Instant;

use cloudbuffer_crypto::{
    ciphertext_len, decrypt_all, AccountKey, Decryptor, Encryptor, KdfParams, RECORD_SIZE, TAG_LEN,
};

/// Input arrives in pieces like a network read's.
const PIECE: usize = 256 * 1024;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        best = best.min(start.elapsed().as_secs_f64());
    }
    (best, last.expect("at least one run"))
}

fn main() {
    let mib: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(256);
    let mut plain = vec![0u8; mib << 20];
    getrandom::fill(&mut plain).expect("random input");
    let account = AccountKey::generate().expect("key");
    let rate = |secs: f64| (mib as f64) / secs;

    // Yardsticks on the same buffer in the same run, so the ratios hold
    // however loaded the machine is: BLAKE3 (the server hashes every upload
    // with it) and a plain copy (what any pass over the data costs at least).
    let mut copy = vec![0u8; plain.len()];
    let (copy_s, _) = best_of(3, || copy.copy_from_slice(&plain));
    drop(copy);
    let (hash_s, _) = best_of(3, || blake3::hash(&plain));
    // Like a streaming upload or download, each piece's output is handed on
    // (here: dropped) and its buffer reused: collecting hundreds of MiB into
    // fresh memory would time page faults, not the cipher.
    let mut out = Vec::with_capacity(ciphertext_len(PIECE as u64) as usize);
    let (enc_s, _) = best_of(3, || {
        let mut encryptor = Encryptor::new(&account).expect("encryptor");
        for piece in plain.chunks(PIECE) {
            out.clear();
            encryptor.push(piece, &mut out).expect("encrypt");
        }
        encryptor.finish(&mut out).expect("finish");
    });
    // A caller that reads each record into its own buffer: the cipher's copy
    // is saved (the one here stands in for the read).
    let mut record = Vec::with_capacity(RECORD_SIZE + TAG_LEN);
    let (in_place_s, _) = best_of(3, || {
        let mut encryptor = Encryptor::new(&account).expect("encryptor");
        let records = plain.len().div_ceil(RECORD_SIZE);
        for (i, chunk) in plain.chunks(RECORD_SIZE).enumerate() {
            record.clear();
            record.extend_from_slice(chunk);
            encryptor.encrypt_record_in_place(&mut record, i + 1 == records).expect("encrypt");
        }
    });
    let cipher = Encryptor::new(&account).expect("encryptor").encrypt_all(&plain).expect("encrypt");
    let (dec_s, _) = best_of(3, || {
        let mut decryptor = Decryptor::new(&account);
        for piece in cipher.chunks(PIECE) {
            out.clear();
            decryptor.push(piece, &mut out).expect("decrypt");
        }
        decryptor.finish(&mut out).expect("finish");
    });
    assert!(decrypt_all(&account, &cipher).expect("decrypt") == plain);

    println!("{mib} MiB in memory, one core, best of 3, {} KiB input pieces", PIECE / 1024);
    println!("memcpy              {:6.0} MiB/s", rate(copy_s));
    println!("blake3 hash         {:6.0} MiB/s", rate(hash_s));
    let line = |what: &str, secs: f64| {
        println!(
            "{what:<19} {:6.0} MiB/s  {:.2}x blake3  {:.2}x memcpy",
            rate(secs),
            hash_s / secs,
            copy_s / secs
        )
    };
    line("encrypt (push)", enc_s);
    line("encrypt (in place)", in_place_s);
    line("decrypt (push)", dec_s);

    let wrapped = account.wrap(b"benchmark passphrase", KdfParams::DEFAULT).expect("wrap");
    let (unlock_s, _) = best_of(3, || wrapped.unwrap(b"benchmark passphrase").expect("unwrap"));
    let p = KdfParams::DEFAULT;
    println!("unlock (argon2id m={} MiB t={} p={}) {:.0} ms", p.m_kib / 1024, p.t, p.p, unlock_s * 1000.0);
}
