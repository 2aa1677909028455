//! Single-core throughput of the E2E format, with BLAKE3 hashing of the same
//! buffer as a yardstick (the server hashes every upload with it), and the
//! time of one account-key unlock with the default argon2id parameters.
//!
//! `cargo run --release -p cloudbuffer-crypto --example throughput [MiB]`

use std::time::Instant;

use cloudbuffer_crypto::{AccountKey, Decryptor, Encryptor, KdfParams};

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

    let (hash_s, _) = best_of(3, || blake3::hash(&plain));
    let (enc_s, cipher) = best_of(3, || {
        let mut encryptor = Encryptor::new(&account).expect("encryptor");
        let mut out = Vec::with_capacity(plain.len() + plain.len() / 1000 + 64);
        for piece in plain.chunks(PIECE) {
            encryptor.push(piece, &mut out).expect("encrypt");
        }
        encryptor.finish(&mut out).expect("finish");
        out
    });
    let (dec_s, out) = best_of(3, || {
        let mut decryptor = Decryptor::new(&account);
        let mut out = Vec::with_capacity(plain.len());
        for piece in cipher.chunks(PIECE) {
            decryptor.push(piece, &mut out).expect("decrypt");
        }
        decryptor.finish(&mut out).expect("finish");
        out
    });
    assert!(out == plain);

    println!("{mib} MiB in memory, one core, best of 3, {} KiB input pieces", PIECE / 1024);
    println!("blake3 hash  {:8.0} MiB/s", rate(hash_s));
    println!("encrypt      {:8.0} MiB/s  ({:.2}x blake3)", rate(enc_s), hash_s / enc_s);
    println!("decrypt      {:8.0} MiB/s  ({:.2}x blake3)", rate(dec_s), hash_s / dec_s);

    let wrapped = account.wrap(b"benchmark passphrase", KdfParams::DEFAULT).expect("wrap");
    let (unlock_s, _) = best_of(3, || wrapped.unwrap(b"benchmark passphrase").expect("unwrap"));
    let p = KdfParams::DEFAULT;
    println!("unlock (argon2id m={} MiB t={} p={}) {:.0} ms", p.m_kib / 1024, p.t, p.p, unlock_s * 1000.0);
}
