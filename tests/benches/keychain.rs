//! How long the keychain write of a rotation takes: the part of the crash window that is
//! Tokentray's (from the provider's answer to the rotated tokens being stored), and a read for
//! comparison. Through the engine's own vault, against the private session's gnome-keyring.
//! Prints figures; asserts nothing.
//!
//!   tests/session.sh cargo bench -p tokentray-tests --bench keychain

use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokentray_core::secret::Secret;
use tokentray_core::vault::{TokenSet, Vault};

const RUNS: usize = 200;

fn main() {
    if std::env::var_os("TOKENTRAY_SESSION").is_none() {
        eprintln!("run inside tests/session.sh (make bench does): it needs a keychain");
        std::process::exit(2);
    }
    let service = format!("tokentray-bench-{}", std::process::id());
    std::env::set_var("TOKENTRAY_KEYCHAIN_SERVICE", &service);
    let vault = Vault::os_keychain();
    let tokens = |i: usize| TokenSet {
        access_token: Secret::new(format!("bench-access-{i:06}-{}", "a".repeat(800))),
        refresh_token: Some(Secret::new(format!(
            "bench-refresh-{i:06}-{}",
            "r".repeat(40)
        ))),
        id_token: None,
        expires_at: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
        obtained_at: OffsetDateTime::now_utc(),
        scopes: vec!["openid".into()],
        refresh_expires_at: None,
    };
    let mut writes = Vec::with_capacity(RUNS);
    let mut reads = Vec::with_capacity(RUNS);
    for i in 0..RUNS {
        let set = tokens(i);
        let started = Instant::now();
        if let Err(e) = vault.save_tokens("bench", &set) {
            eprintln!("keychain write failed: {e}");
            std::process::exit(1);
        }
        writes.push(started.elapsed());
        let started = Instant::now();
        let back = vault.tokens("bench");
        reads.push(started.elapsed());
        if !matches!(back, Ok(Some(ref t)) if !t.refresh_token_differs(&set)) {
            eprintln!("the keychain did not give back what was written");
            std::process::exit(1);
        }
    }
    let _ = vault.delete_tokens("bench");
    println!("keychain, {RUNS} rotations of one account (write = rotated tokens stored):");
    for (what, mut v) in [("write", writes), ("read", reads)] {
        v.sort();
        let at = |q: f64| v[((v.len() as f64 - 1.0) * q) as usize];
        println!(
            "  {what:5}  median {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
            ms(at(0.5)),
            ms(at(0.99)),
            ms(*v.last().unwrap_or(&Duration::ZERO)),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
