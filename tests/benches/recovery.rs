//! Recovery after an outage, side by side in one run: seconds from the provider's return to a
//! working account, for a 20 s and a 5-minute outage of the token endpoint (503s), with this
//! tree's engine and, when `make bench-compare` built one, an earlier commit's
//! (`target/before/target/release/tokentray`). All four run at once, each with its own OAuth
//! server and sandbox. Prints figures; asserts nothing.
//!
//!   tests/session.sh cargo bench -p tokentray-tests --bench recovery

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use tokentray_tests::oidc::{OidcServer, Options};
use tokentray_tests::sandbox::Sandbox;

/// How long a run waits for the account after the provider is back before giving up.
const PATIENCE: Duration = Duration::from_secs(20 * 60);

fn main() {
    if std::env::var_os("TOKENTRAY_SESSION").is_none() {
        eprintln!("run inside tests/session.sh: it needs a keychain");
        std::process::exit(2);
    }
    let root = tokentray_tests::bins::repo_root();
    let mut engines = vec![("this tree", root.join("target/release/tokentray"))];
    let before = root.join("target/before/target/release/tokentray");
    if before.exists() {
        engines.insert(0, ("before", before));
    }
    let mut runs = Vec::new();
    for (label, engine) in &engines {
        for outage in [Duration::from_secs(20), Duration::from_secs(300)] {
            let (label, engine) = (*label, engine.clone());
            runs.push(std::thread::spawn(move || {
                (label, outage, recovery(&engine, outage))
            }));
        }
    }
    println!("seconds from the token endpoint's return to a working account (tokens of 10 s):");
    println!(
        "  {:<10} {:>8} {:>12} {:>16}",
        "engine", "outage", "recovered", "token requests"
    );
    for run in runs {
        let Ok((label, outage, (took, requests))) = run.join() else {
            println!("  a run panicked");
            continue;
        };
        let took = took.map_or(format!("> {} s", PATIENCE.as_secs()), |t| {
            format!("{:.1} s", t.as_secs_f64())
        });
        println!(
            "  {label:<10} {:>7}s {took:>12} {requests:>16}",
            outage.as_secs()
        );
    }
}

/// One outage against `engine`: the time from the provider's return to an enabled account, and
/// how many token requests the engine made in all.
fn recovery(engine: &PathBuf, outage: Duration) -> (Option<Duration>, u64) {
    let server = OidcServer::start_with(Options {
        access_ttl: 10,
        ..Default::default()
    });
    let s = Sandbox::new();
    let name = "rec";
    s.sign_in(&server, name, name);
    let before = server.refresh_count();
    server.fault(json!({"kind": "5xx", "path": "/token", "for_ms": outage.as_millis() as u64}));
    let back = Instant::now() + outage;
    let mut running = s.spawn(engine, &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    std::thread::sleep(back.saturating_duration_since(Instant::now()));
    let mut took = None;
    while back.elapsed() < PATIENCE {
        if s.account_status(name)["status"] == "enabled" {
            took = Some(back.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let requests = server.refresh_count() - before;
    running.terminate();
    (took, requests)
}
