//! The lean CLI's latency, side by side in one run: `tokentray --version` start-up, and
//! `tokentray token` through the running engine against `secret-tool lookup` of one secret (the
//! floor: one D-Bus round trip to the keychain from a fresh process), and a cached token variant
//! (`--resource --scope`) beside the account's own token. Needs the private desktop session
//! (`make bench` runs it inside `tests/session.sh`). Prints figures; asserts no timing.
//!
//!   tests/session.sh cargo bench -p tokentray-tests --bench cli

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokentray_tests::oidc::{OidcServer, Options};
use tokentray_tests::{bins, sandbox::Sandbox};

const RUNS: usize = 200;

fn main() {
    if std::env::var_os("TOKENTRAY_SESSION").is_none() {
        eprintln!("run inside tests/session.sh (make bench does): it needs a keychain");
        std::process::exit(2);
    }
    // The OAuth server outlives the sandbox, whose leak check asks it what it issued.
    let server = OidcServer::start_with(Options {
        access_ttl: 3600,
        resources: Some(r#"{"https://one.test":"api"}"#),
        ..Options::default()
    });
    let s = Sandbox::new();
    let service = s.keychain_service();

    // The floor: one secret looked up by a fresh process.
    let mut store = Command::new("secret-tool")
        .args([
            "store",
            "--label=tokentray bench",
            "service",
            &service,
            "account",
            "floor",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool");
    store
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"a-secret-of-token-size-0123456789")
        .expect("write");
    store.wait().expect("secret-tool store");
    let lookup = time_runs(|| {
        Command::new("secret-tool")
            .args(["lookup", "service", &service, "account", "floor"])
            .output()
            .expect("secret-tool lookup")
            .status
            .success()
    });

    let version = time_runs(|| ran(&s, &["--version"]));

    // An account with an hour-long token from the real OAuth server (two resource servers),
    // and the engine that serves it.
    s.sign_in(&server, "bench", "alice");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let variant = [
        "token",
        "bench",
        "--resource",
        "https://one.test",
        "--scope",
        "api",
    ];
    // Minted once; every run after is served from the engine's memory.
    assert!(s.cli(&variant).status.success());
    let before = server.refresh_count();
    // Side by side, run for run, so that neither gets the quieter minute.
    let (token, cached_variant) =
        time_interleaved(|| ran(&s, &["token", "bench"]), || ran(&s, &variant));
    assert_eq!(
        server.refresh_count(),
        before,
        "the variant came from memory"
    );
    engine.terminate();

    // Without an engine the CLI reads the keychain itself.
    let offline = time_runs(|| ran(&s, &["token", "bench"]));
    let _ = Command::new("secret-tool")
        .args(["clear", "service", &service])
        .status();

    println!("lean CLI latency, {RUNS} runs each (median / p90, ms):");
    println!("  {:<44} {:>7} {:>7}", "command", "median", "p90");
    for (name, t) in [
        ("secret-tool lookup (one secret)", &lookup),
        ("tokentray token, through the running engine", &token),
        (
            "tokentray token --resource (cached variant)",
            &cached_variant,
        ),
        ("tokentray token, no engine (keychain read)", &offline),
        ("tokentray --version", &version),
    ] {
        println!("  {name:<44} {:>7.2} {:>7.2}", t.median, t.p90);
    }
    println!(
        "  token through the engine / secret-tool lookup: {:.2}x",
        token.median / lookup.median
    );
    println!(
        "  cached variant / token through the engine: {:.2}x",
        cached_variant.median / token.median
    );
}

/// Runs the CLI once, the way a script does: spawned and waited for, nothing in between (the
/// tests' deadline wrapper polls, which would measure its own interval instead).
fn ran(s: &Sandbox, args: &[&str]) -> bool {
    s.cli_command()
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Timing {
    median: f64,
    p90: f64,
}

/// [`time_runs`] of two commands, alternating.
fn time_interleaved(mut a: impl FnMut() -> bool, mut b: impl FnMut() -> bool) -> (Timing, Timing) {
    for _ in 0..5 {
        a();
        b();
    }
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        for (run, into) in [
            (&mut a as &mut dyn FnMut() -> bool, &mut times.0),
            (&mut b, &mut times.1),
        ] {
            let t = Instant::now();
            assert!(run(), "a benchmarked command failed");
            into.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    (timing(times.0), timing(times.1))
}

fn timing(mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    Timing {
        median: ms[ms.len() / 2],
        p90: ms[ms.len() * 9 / 10],
    }
}

fn time_runs(mut run: impl FnMut() -> bool) -> Timing {
    // A few warm-up runs: page cache, the keychain daemon's first unlock.
    for _ in 0..5 {
        run();
    }
    let ms: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            assert!(run(), "a benchmarked command failed");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    timing(ms)
}
