//! Faults against the real services: hostile token-endpoint answers must never look like a dead
//! account (never `permanent`), the engine must keep running, and it must recover once the
//! endpoint behaves again.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokentray_tests::desktop::Desktop;
use tokentray_tests::mount::Mount;
use tokentray_tests::oidc::OidcServer;
use tokentray_tests::{bins, output_text as text, require_session, sandbox::Sandbox, wait_until};

/// Starts `tokentray refresh ACCOUNT --json` without waiting for its answer.
fn start_refresh(s: &Sandbox, account: &str) -> std::process::Child {
    s.command(bins::cli())
        .args(["refresh", account, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a refresh")
}

fn refresh(s: &Sandbox, account: &str) -> Value {
    let out = s.cli(&["refresh", account, "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)))
}

#[test]
fn hostile_token_endpoint_answers_are_never_a_dead_account() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "hana", "hana");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));

    // Paused: the scheduler's own retries must not use up the one-shot faults meant for the
    // explicit refreshes below (a refresh the person asks for runs whatever the state).
    assert!(s.cli(&["pause", "hana"]).status.success());
    let huge = "x".repeat(5 * 1024 * 1024);
    let faults = [
        (
            "an HTML error page",
            json!({"status": 502, "body": "<html><body><h1>502 Bad Gateway</h1></body></html>"}),
        ),
        (
            "truncated JSON",
            json!({"status": 200, "body": "{\"access_token\":\"abc"}),
        ),
        ("an empty 200", json!({"status": 200, "body": ""})),
        (
            "a 200 without a token",
            json!({"status": 200, "body": {"token_type": "Bearer"}}),
        ),
        ("a 5 MB body", json!({"status": 200, "body": huge})),
        (
            "a 400 HTML page from a proxy",
            json!({"status": 400, "body": "<html>Bad Request</html>"}),
        ),
    ];
    for (what, fault) in faults {
        let mut f = fault.clone();
        f["kind"] = json!("status");
        f["path"] = json!("/token");
        f["count"] = json!(1);
        server.fault(f);
        let report = refresh(&s, "hana");
        assert_ne!(report["outcome"], "permanent", "{what}: {report}");
        assert_ne!(report["outcome"], "ok", "{what}: {report}");
        assert_ne!(
            s.account_status("hana")["last_error"]["class"],
            "permanent",
            "{what}"
        );
        assert!(
            engine.is_running(),
            "{what} stopped the engine:\n{}",
            engine.output()
        );
    }

    // A stall longer than the 30 s ceiling: a timeout, transient.
    server.fault(json!({"kind": "stall", "path": "/token", "ms": 45_000, "count": 1}));
    let started = Instant::now();
    let report = refresh(&s, "hana");
    assert_eq!(report["outcome"], "transient", "{report}");
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );

    // Once the endpoint behaves, the same grant still works.
    server.clear_faults();
    assert!(s.cli(&["resume", "hana"]).status.success());
    let report = refresh(&s, "hana");
    assert_eq!(report["outcome"], "ok", "{report}");
    assert_eq!(server.whoami(&s.token("hana")), (200, "hana".into()));
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn kill_9_while_tokens_rotate_never_leaves_a_silent_or_corrupt_account() {
    require_session();
    // Tokens for 4 s: the engine rotates about every 2 s.
    let server = OidcServer::start_with(tokentray_tests::oidc::Options {
        access_ttl: 4,
        ..Default::default()
    });
    let s = Sandbox::new();
    s.sign_in(&server, "kim", "kim");
    let mut kills = 0;
    let mut seed = std::process::id() as u64 | 1;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(25) {
        let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
        s.wait_for_engine(Duration::from_secs(20));
        // xorshift: a different moment in the rotation cycle each time.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(300 + seed % 2200));
        let _ = engine.child.kill(); // SIGKILL: no clean-up, no flush
        let _ = engine.child.wait();
        kills += 1;
    }
    let rotations = server.refresh_count();
    eprintln!("{kills} kill -9s during {rotations} rotations");
    // A kill in the rotation window ends the rotations early (see below), so only the kills
    // have a floor.
    assert!(
        kills >= 5 && rotations >= 1,
        "{kills} kills, {rotations} rotations"
    );

    // Afterwards the engine starts, the state file is readable, and the account either works or
    // — if a kill landed in the milliseconds between the provider's rotation and the keychain
    // write (docs/security.md) — is an error of class permanent: never silently broken.
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine-after.log");
    s.wait_for_engine(Duration::from_secs(20));
    let out = s.cli(&["token", "kim"]);
    let st = s.account_status("kim");
    if out.status.success() {
        let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert_eq!(server.whoami(&token), (200, "kim".into()));
        assert_eq!(st["status"], "enabled", "{st}");
    } else {
        assert_eq!(out.status.code(), Some(3), "{}", text(&out));
        assert_eq!(st["status"], "error", "{st}");
        assert_eq!(st["last_error"]["class"], "permanent", "{st}");
        eprintln!("a kill landed in the rotation window: {st}");
    }
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn a_keychain_gone_or_locked_is_a_clear_transient_error_and_no_token_is_lost() {
    require_session();
    let server = OidcServer::start();
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    s.sign_in(&server, "kai", "kai");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let first = s.token("kai");

    // Gone while idle: the refresh says why and what to do; the token in memory still serves.
    desktop.stop_keyring();
    let report = refresh(&s, "kai");
    assert_eq!(report["outcome"], "transient", "{report}");
    assert_eq!(report["code"], "keychain_unavailable", "{report}");
    let message = report["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("keychain is unavailable") && message.contains("carries on by itself"),
        "{message}"
    );
    let status = s.account_status("kai");
    assert_eq!(status["status"], "enabled", "{status}");
    assert_eq!(status["last_error"]["code"], "keychain_unavailable");
    assert_eq!(s.token("kai"), first);
    assert_eq!(server.whoami(&first), (200, "kai".into()));

    // Gone in the middle of a rotation: the provider has spent the old refresh token when the
    // keychain refuses the new ones. They stay in memory, serve, and are stored once it is back.
    desktop.start_keyring();
    // The answer stalls 8 s: the keychain goes away while the request is in flight, however
    // slowly a loaded machine gets the request there.
    server.fault(json!({"kind": "stall", "path": "/token", "ms": 8000, "count": 1}));
    let pending = start_refresh(&s, "kai");
    std::thread::sleep(Duration::from_millis(2500));
    desktop.stop_keyring();
    let out = pending.wait_with_output().expect("refresh");
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    assert_eq!(report["code"], "keychain_unavailable", "{report}");
    assert!(
        report["message"]
            .as_str()
            .is_some_and(|m| m.contains("kept in memory")),
        "{report}"
    );
    let second = s.token("kai");
    assert_ne!(second, first, "the rotated token is served from memory");
    assert_eq!(server.whoami(&second), (200, "kai".into()));
    desktop.start_keyring();
    wait_until(
        "the engine to store the kept tokens once the keychain is back",
        Duration::from_secs(60),
        || s.account_status("kai")["last_error"].is_null(),
    );

    // Locked (a screen locker, the user): never a prompt, a clear error, back once unlocked.
    desktop.lock_keyring();
    let report = refresh(&s, "kai");
    assert_eq!(report["code"], "keychain_locked", "{report}");
    assert!(
        report["message"]
            .as_str()
            .is_some_and(|m| m.contains("keychain is locked; unlock it")),
        "{report}"
    );
    assert_ne!(s.account_status("kai")["status"], "error");
    assert_eq!(s.token("kai"), second);
    desktop.start_keyring();
    assert_eq!(refresh(&s, "kai")["outcome"], "ok");
    assert!(engine.is_running(), "{}", engine.output());
    engine.terminate();

    // Without the engine, straight from the keychain: the stored refresh token is the newest
    // one (the spent one would be refused as reused, and kill the grant).
    assert_eq!(refresh(&s, "kai")["outcome"], "ok");
    assert_eq!(server.whoami(&s.token("kai")), (200, "kai".into()));
    assert!(!engine.output().contains("panicked"), "{}", engine.output());
}

fn storage_error(s: &Sandbox) -> Option<String> {
    let out = s.cli(&["status", "--json"]);
    let status: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    status["storage_error"].as_str().map(str::to_owned)
}

#[test]
fn a_full_or_read_only_state_disk_is_reported_and_loses_nothing() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    let state_home = s.root().join("state");
    let Some(_disk) = Mount::tmpfs(&state_home, "512k") else {
        tokentray_tests::skip("mounting a small disk needs root");
        return;
    };
    s.sign_in(&server, "kai", "kai");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));

    // Full: fill the disk to the last byte.
    let filler = state_home.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        let _ = f.write_all(&[0u8]); // the last partial block
    }
    let report = refresh(&s, "kai");
    assert_eq!(
        report["outcome"], "ok",
        "tokens live in the keychain: {report}"
    );
    let fresh = s.token("kai");
    assert_eq!(server.whoami(&fresh), (200, "kai".into()));
    wait_until(
        "the full disk to be reported",
        Duration::from_secs(20),
        || storage_error(&s).is_some(),
    );
    let error = storage_error(&s).unwrap_or_default();
    assert!(
        error.contains("No space left on device")
            && error.contains("Check that the disk has space")
            && error.contains("Tokens keep working meanwhile"),
        "{error}"
    );
    let table = text(&s.cli(&["status"]));
    assert!(
        table.contains("Warning: cannot write the state file"),
        "{table}"
    );
    // A change the person asks for and that cannot be kept is refused, with the reason.
    let out = s.cli(&["pause", "kai"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("No space left on device"),
        "{}",
        text(&out)
    );
    let before = s.account_status("kai");

    // Space again: the engine writes what it kept, on its own.
    std::fs::remove_file(&filler).expect("remove filler");
    wait_until(
        "the state file to be written again",
        Duration::from_secs(30),
        || storage_error(&s).is_none(),
    );
    let _ = engine.child.kill(); // no clean exit: the file must already hold everything
    let _ = engine.child.wait();
    let after = s.account_status("kai");
    assert_eq!(after["last_refresh"], before["last_refresh"], "{after}");
    assert_eq!(after["status"], "enabled", "{after}");

    // Read-only: the same, and refreshes still work (their locks are not on this disk).
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine2.log");
    s.wait_for_engine(Duration::from_secs(20));
    let read_only = Mount::read_only(&state_home.join("tokentray")).expect("root may bind-mount");
    let report = refresh(&s, "kai");
    assert_eq!(report["outcome"], "ok", "{report}");
    wait_until(
        "the read-only disk to be reported",
        Duration::from_secs(20),
        || storage_error(&s).is_some_and(|e| e.contains("Read-only file system")),
    );
    let refreshed = s.account_status("kai")["last_refresh"].clone();
    drop(read_only);
    wait_until(
        "the state file to be written again",
        Duration::from_secs(30),
        || storage_error(&s).is_none(),
    );
    engine.terminate();
    assert_eq!(s.account_status("kai")["last_refresh"], refreshed);
    assert_eq!(server.whoami(&s.token("kai")), (200, "kai".into()));
    // Now, while the small disk still holds the state and the logs.
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn a_certificate_nobody_trusts_is_transient_with_advice_and_harms_nothing() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "kai", "kai");

    // A token endpoint behind a self-signed certificate (a captive portal, an intercepting
    // proxy, a misconfigured server).
    let tls = s.root().join("tls");
    std::fs::create_dir_all(&tls).expect("tls folder");
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-keyout", "key.pem", "-out", "cert.pem"])
        .current_dir(&tls)
        .output()
        .expect("openssl (make test-deps installs it)");
    assert!(out.status.success(), "{}", text(&out));
    let mut https = std::process::Command::new("node")
        .args([
            "-e",
            "const fs = require('fs');\
             const srv = require('https').createServer(\
               { key: fs.readFileSync('key.pem'), cert: fs.readFileSync('cert.pem') },\
               (q, r) => { r.setHeader('content-type', 'application/json');\
                           r.end('{\"access_token\":\"from-an-impostor\",\"token_type\":\"Bearer\"}'); });\
             srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));",
        ])
        .current_dir(&tls)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut port = String::new();
    {
        use std::io::BufRead;
        let stdout = https.stdout.take().expect("piped");
        std::io::BufReader::new(stdout)
            .read_line(&mut port)
            .expect("the port");
    }
    // Killed when dropped, whatever the outcome.
    let https = tokentray_tests::sandbox::Running {
        child: https,
        log: tls.join("node.log"),
    };
    let settings_file = s.config_dir().join("settings.toml");
    let settings = std::fs::read_to_string(&settings_file).expect("settings");
    let impostor = settings.replace(
        &format!("token_url = \"{}\"", server.token_url()),
        &format!("token_url = \"https://127.0.0.1:{}/token\"", port.trim()),
    );
    assert_ne!(impostor, settings, "the settings name the token endpoint");
    std::fs::write(&settings_file, impostor).expect("write settings");

    let report = refresh(&s, "kai");
    drop(https);
    assert_eq!(report["outcome"], "transient", "{report}");
    assert_eq!(report["code"], "tls", "{report}");
    assert!(
        report["message"]
            .as_str()
            .is_some_and(|m| m.contains("certificate was not accepted")),
        "{report}"
    );
    assert_ne!(s.account_status("kai")["status"], "error");

    // The real endpoint again: the grant was never touched.
    std::fs::write(&settings_file, settings).expect("restore settings");
    assert_eq!(refresh(&s, "kai")["outcome"], "ok");
    assert_eq!(server.whoami(&s.token("kai")), (200, "kai".into()));
}

#[test]
fn the_app_and_clis_that_cannot_see_it_race_for_one_account_and_never_reuse_a_token() {
    require_session();
    // Tokens for 3 s: the app rotates every second or two while the CLIs pile in.
    let server = OidcServer::start_with(tokentray_tests::oidc::Options {
        access_ttl: 3,
        ..Default::default()
    });
    let s = Sandbox::new();
    s.sign_in(&server, "ada", "ada");
    let mut app = s.spawn(bins::app(), &["--minimized"], "app.log");
    s.wait_for_engine(Duration::from_secs(60));
    // A cron job or a container shell: another runtime folder, so no socket to the app. These
    // CLIs refresh by themselves, against the app's own schedule.
    let elsewhere = s.root().join("run-elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("runtime folder");
    let before = server.refresh_count();
    let started = Instant::now();
    let mut calls = 0;
    while started.elapsed() < Duration::from_secs(15) {
        // At the same moment: forced refreshes by the app (asked through its socket) and by
        // CLIs that cannot see it, and a token request that refreshes when due.
        let children: Vec<_> = (0..5)
            .map(|i| {
                let mut cmd = s.command(bins::cli());
                if i == 4 {
                    cmd.args(["token", "ada"]);
                } else {
                    cmd.args(["refresh", "ada", "--json"]);
                }
                if i % 2 == 1 {
                    cmd.env("XDG_RUNTIME_DIR", &elsewhere);
                }
                cmd.stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start the CLI")
            })
            .collect();
        for (i, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().expect("CLI");
            assert!(out.status.success(), "{}", text(&out));
            if i < 4 {
                let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
                assert_eq!(report["outcome"], "ok", "{report}");
            }
            calls += 1;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let rotations = server.refresh_count() - before;
    eprintln!("{calls} CLI calls beside the app during {rotations} rotations");
    assert!(rotations >= 10, "{rotations} rotations");
    assert!(app.is_running(), "{}", app.output());
    // The app (asked through its socket) never saw a dead or reused grant.
    let status = s.account_status("ada");
    assert_eq!(status["status"], "enabled", "{status}");
    assert!(status["last_error"].is_null(), "{status}");
    assert_eq!(refresh(&s, "ada")["outcome"], "ok");
    assert_eq!(server.whoami(&s.token("ada")), (200, "ada".into()));
    app.terminate();
}

/// SIGTERM while a refresh is in flight: the engine takes no new work, lets the refresh finish
/// storing the rotated tokens, and exits cleanly — the provider has spent the old refresh token,
/// so exiting before the keychain write would lose the account.
#[test]
fn sigterm_during_a_refresh_keeps_the_rotated_token_and_exits_cleanly() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "sid", "sid");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let first = s.token("sid");
    let refreshes = server.refresh_count();

    // The answer stalls 4 s; the engine is told to stop while it waits for it.
    server.fault(json!({"kind": "stall", "path": "/token", "ms": 4000, "count": 1}));
    let pending = start_refresh(&s, "sid");
    std::thread::sleep(Duration::from_millis(1500));
    let exit = engine.terminate();
    let _ = pending.wait_with_output();
    assert!(exit.success(), "{exit:?}: {}", engine.output());
    let log = engine.output();
    assert!(
        !log.contains("panicked") && log.contains("headless engine stopped"),
        "{log}"
    );
    assert_eq!(
        server.refresh_count(),
        refreshes + 1,
        "the provider rotated the grant once"
    );

    // Without the engine, from the keychain: the rotated tokens were stored. The spent refresh
    // token would be refused as reused, which would kill the grant.
    let second = s.token("sid");
    assert_ne!(second, first, "the rotated access token is in the keychain");
    assert_eq!(server.whoami(&second), (200, "sid".into()));
    assert_eq!(refresh(&s, "sid")["outcome"], "ok");
    assert_eq!(s.account_status("sid")["status"], "enabled");
}
