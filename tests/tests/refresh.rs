//! Refresh against the real OAuth server and the real keychain: rotation, revocation, outages,
//! single flight within one engine and across processes. Every test ends by grepping every file
//! Tokentray wrote for every token the server issued.

use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokentray_tests::desktop::Desktop;
use tokentray_tests::oidc::{OidcServer, Options};
use tokentray_tests::{bins, output_text as text, require_session, sandbox::Sandbox, wait_until};

fn token(s: &Sandbox, account: &str) -> Output {
    s.cli(&["token", account])
}

#[test]
fn rotation_over_many_cycles_keeps_one_working_grant() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "alice", "alice");
    let mut outputs = Vec::new();
    for _ in 0..10 {
        let out = s.cli(&["refresh", "alice", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["outcome"], "ok");
        outputs.push(text(&out));
    }
    assert_eq!(server.refresh_count(), 10);
    let history = std::fs::read_to_string(s.state_dir().join("history.jsonl")).unwrap();
    assert_eq!(
        history.matches(r#""kind":"refreshed""#).count(),
        10,
        "{history}"
    );
    let refresh_tokens = server.stats()["issued"]["refresh_tokens"]
        .as_array()
        .unwrap()
        .clone();
    let mut unique = refresh_tokens.clone();
    unique.sort_by_key(|v| v.to_string());
    unique.dedup();
    assert_eq!(
        unique.len(),
        refresh_tokens.len(),
        "every refresh rotated the refresh token"
    );

    let out = token(&s, "alice");
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(server.whoami(&t), (200, "alice".into()));
    assert_eq!(s.account_status("alice")["status"], "enabled");
    outputs.push(text(&out));
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    s.assert_no_secrets(&server, &refs[..refs.len() - 1]);
}

#[test]
fn a_revoked_grant_is_a_permanent_error_that_survives_a_restart_and_stops_network_use() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "bob", "bob");
    assert!(server.revoke("bob") > 0);

    let out = s.cli(&["refresh", "bob", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "permanent");
    assert_eq!(report["code"], "invalid_grant");
    assert_eq!(report["status"], "error");

    let st = s.account_status("bob");
    assert_eq!(st["status"], "error");
    assert_eq!(st["last_error"]["class"], "permanent");
    assert_eq!(st["last_error"]["code"], "invalid_grant");
    assert_eq!(st["last_error"]["http_status"], 400);

    // The error is remembered (a restart is a new process) and nothing spends the dead token.
    let before = server.stats()["token_requests"].as_u64().unwrap();
    let out = token(&s, "bob");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("sign-in"),
        "{}",
        text(&out)
    );
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    assert_eq!(token(&s, "bob").status.code(), Some(3));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        server.stats()["token_requests"].as_u64().unwrap(),
        before,
        "no request after the error"
    );
    assert_eq!(s.account_status("bob")["status"], "error");
    engine.terminate();
    s.assert_no_secrets(&server, &[&text(&out), &engine.output()]);
}

#[test]
fn a_window_of_503s_is_transient_and_the_engine_recovers_on_its_own() {
    require_session();
    let server = OidcServer::start_with(Options {
        access_ttl: 6,
        ..Options::default()
    });
    // A desktop of its own, so that "no notification" means none from this engine.
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    s.sign_in(&server, "carol", "carol");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));

    server.fault(json!({"kind": "5xx", "path": "/token", "for_ms": 20_000}));
    let started = Instant::now();
    let mut saw_transient = false;
    while started.elapsed() < Duration::from_secs(20) {
        let st = s.account_status("carol");
        assert_ne!(
            st["status"], "error",
            "a 503 window must never be an error: {st}"
        );
        if st["last_error"]["class"] == "transient" {
            saw_transient = true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(saw_transient, "the engine should have met the 503s");
    wait_until(
        "recovery after the window",
        Duration::from_secs(120),
        || {
            let st = s.account_status("carol");
            st["status"] == "enabled" && st["last_error"].is_null()
        },
    );
    let out = token(&s, "carol");
    let t = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(server.whoami(&t).0, 200);
    engine.terminate();
    assert_eq!(
        desktop.notifications(),
        vec![],
        "transient trouble must never notify"
    );
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn fifty_token_requests_through_the_engine_cause_one_refresh() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "dave", "dave");
    // Hand over only the refresh token, so the first use must refresh.
    let refresh_token = {
        let answer: Value = serde_json::from_str(&server.sign_in("dave")).unwrap();
        answer["refresh_token"].as_str().unwrap().to_owned()
    };
    let out = s.cli_with_stdin(&["account", "import", "dave"], &refresh_token);
    assert!(out.status.success(), "{}", text(&out));
    let before = server.refresh_count();

    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let children: Vec<_> = (0..50)
        .map(|_| {
            s.command(bins::cli())
                .args(["token", "dave"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let tokens: Vec<String> = outs
        .iter()
        .map(|o| {
            assert!(o.status.success(), "{}", text(o));
            String::from_utf8_lossy(&o.stdout).trim().to_owned()
        })
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "all callers get the same token"
    );
    assert_eq!(server.refresh_count() - before, 1, "exactly one refresh");
    assert_eq!(server.whoami(&tokens[0]).0, 200);
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn processes_racing_without_an_engine_share_one_refresh() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "erin", "erin");
    let answer: Value = serde_json::from_str(&server.sign_in("erin")).unwrap();
    let out = s.cli_with_stdin(
        &["account", "import", "erin"],
        answer["refresh_token"].as_str().unwrap(),
    );
    assert!(out.status.success(), "{}", text(&out));
    let before = server.refresh_count();
    let children: Vec<_> = (0..20)
        .map(|_| {
            s.command(bins::cli())
                .args(["token", "erin"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for o in &outs {
        assert!(o.status.success(), "{}", text(o));
    }
    let first = String::from_utf8_lossy(&outs[0].stdout).trim().to_owned();
    assert!(outs
        .iter()
        .all(|o| String::from_utf8_lossy(&o.stdout).trim() == first));
    assert_eq!(
        server.refresh_count() - before,
        1,
        "one refresh, no refresh_token_reused"
    );
    assert_eq!(s.account_status("erin")["status"], "enabled");
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn the_scheduler_refreshes_ahead_of_expiry_without_being_asked() {
    require_session();
    let server = OidcServer::start_with(Options {
        access_ttl: 4,
        ..Options::default()
    });
    let s = Sandbox::new();
    s.sign_in(&server, "fay", "fay");
    let before = server.refresh_count();
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    wait_until("three scheduled refreshes", Duration::from_secs(30), || {
        server.refresh_count() >= before + 3
    });
    let st = s.account_status("fay");
    assert_eq!(st["status"], "enabled", "{st}");
    assert!(
        st["next_refresh"].is_string() && st["last_refresh"].is_string(),
        "{st}"
    );
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn unknown_accounts_and_signed_out_accounts_have_their_exit_codes() {
    let server = OidcServer::start();
    let s = Sandbox::new();
    let out = token(&s, "nobody");
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let out = s.cli(&[
        "provider",
        "add",
        "local",
        "--issuer",
        server.issuer(),
        "--client-id",
        "tokentray",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(s
        .cli(&["account", "add", "gil", "--provider", "local"])
        .status
        .success());
    let out = token(&s, "gil");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not signed in"));
    let list: Value =
        serde_json::from_slice(&s.cli(&["provider", "list", "--json"]).stdout).unwrap();
    assert_eq!(list["providers"][0]["token_url"], server.token_url());
}

/// A headless engine that listens for logind on the session bus and whose wall clock the test
/// can move (libfaketime, reading an offset file) while its monotonic clock stays real: what a
/// suspend looks like to a process — monotonic timers stop, the wall clock does not.
fn headless_with_a_movable_wall_clock(
    s: &Sandbox,
) -> (tokentray_tests::sandbox::Running, std::path::PathBuf) {
    let lib = ["x86_64", "aarch64", "i386", "arm"]
        .iter()
        .map(|arch| {
            std::path::PathBuf::from(format!(
                "/usr/lib/{arch}-linux-gnu/faketime/libfaketimeMT.so.1"
            ))
        })
        .find(|p| p.exists())
        .expect("libfaketime (make test-deps installs it)");
    let clock = s.root().join("wall-clock-offset");
    std::fs::write(&clock, "+0").unwrap();
    let log = s.root().join("engine.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = s
        .command(bins::cli())
        .args(["run", "--headless"])
        .env("TOKENTRAY_LOGIND_BUS", "session")
        .env("LD_PRELOAD", &lib)
        .env("FAKETIME_TIMESTAMP_FILE", &clock)
        .env("FAKETIME_CACHE_DURATION", "1")
        .env("DONT_FAKE_MONOTONIC", "1")
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    s.wait_for_engine(Duration::from_secs(20));
    // The watchers start right after the socket; give them a moment to subscribe.
    std::thread::sleep(Duration::from_millis(500));
    (tokentray_tests::sandbox::Running { child, log }, clock)
}

/// The two wall-clock tests run one at a time under plain `cargo test` too (nextest has a group
/// for them): one sets the machine's clock, which the other's engine would notice.
static WALL_CLOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Moves the engine's wall clock two hours on (its monotonic timers still far from due) and
/// checks that nothing happens until `notice` tells the engine, and then the overdue refresh
/// runs at once.
fn overdue_after(notice: impl FnOnce(&Desktop) -> bool, what: &str) {
    let _one_at_a_time = WALL_CLOCK.lock().unwrap_or_else(|p| p.into_inner());
    // Tokens for 10 minutes: the engine's timer is minutes away when the clock moves.
    let server = OidcServer::start_with(Options {
        access_ttl: 600,
        ..Default::default()
    });
    // Its own bus: the resume signal reaches this test's engine only.
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    s.sign_in(&server, "hal", "hal");
    let (mut engine, clock) = headless_with_a_movable_wall_clock(&s);
    let before = server.refresh_count();
    std::fs::write(&clock, "+2h").unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        server.refresh_count(),
        before,
        "the engine's timers sleep on the monotonic clock: nothing runs before it is told"
    );
    if !notice(&desktop) {
        engine.terminate();
        return;
    }
    wait_until(
        &format!("the overdue refresh after {what}"),
        Duration::from_secs(10),
        || server.refresh_count() > before,
    );
    let status = s.account_status("hal");
    assert_eq!(status["status"], "enabled", "{status}");
    let out = token(&s, "hal");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        server.whoami(String::from_utf8_lossy(&out.stdout).trim()),
        (200, "hal".into())
    );
    engine.terminate();
    assert!(
        engine.output().contains(what),
        "the engine did not log {what:?}:\n{}",
        engine.output()
    );
}

#[test]
fn a_resume_from_sleep_runs_overdue_refreshes_at_once() {
    require_session();
    overdue_after(
        |desktop| {
            // What logind sends on the system bus when the machine wakes up.
            let sent = desktop
                .command("dbus-send")
                .args([
                    "--session",
                    "--type=signal",
                    "/org/freedesktop/login1",
                    "org.freedesktop.login1.Manager.PrepareForSleep",
                    "boolean:false",
                ])
                .status()
                .unwrap();
            assert!(sent.success());
            true
        },
        "resumed from sleep",
    );
}

#[test]
fn a_wall_clock_change_runs_overdue_refreshes_at_once() {
    require_session();
    overdue_after(
        |_| {
            // Setting the clock to what it already says is a clock change to the kernel (it
            // cancels every CANCEL_ON_SET timer) and moves the time of nothing else running here.
            use rustix::time::{clock_gettime, clock_settime, ClockId};
            match clock_settime(ClockId::Realtime, clock_gettime(ClockId::Realtime)) {
                Ok(()) => true,
                Err(rustix::io::Errno::PERM) => {
                    tokentray_tests::skip("setting the clock needs CAP_SYS_TIME");
                    false
                }
                Err(e) => panic!("clock_settime: {e}"),
            }
        },
        "wall clock was changed",
    );
}
