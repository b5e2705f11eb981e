//! The Windows build of the CLI, engine and broker, run under Wine against the real OAuth server
//! on 127.0.0.1: sign-in, tokens, refresh, status, git's and Kubernetes' credential protocols,
//! racing processes, the headless engine over the named pipe, a dead grant, large tokens in the
//! Credential Manager, the Run key, no token in any file Wine or Tokentray wrote, and the tray
//! app started (its dashboard needs WebView2, which Wine lacks).
//! `make test` builds `tokentray.exe` first (tests/windows/toolchain.sh, then cargo with
//! `--target x86_64-pc-windows-gnu`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use tokentray_tests::oidc::{scripted_user, OidcServer, Options};
use tokentray_tests::sandbox::Sandbox;
use tokentray_tests::wine::Wine;
use tokentray_tests::{output_text as text, require_session, wait_until};

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

/// Signs `account` in with `login --no-browser`: the Windows CLI prints the page and listens on
/// 127.0.0.1; the scripted user (on Linux) completes the provider's pages and its callback.
fn login(s: &Sandbox, account: &str, user: &str) {
    let mut child = s
        .cli_command()
        .args(["login", account, "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start wine tokentray.exe login");
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) if line.trim_start().starts_with("http") => {
                break line.trim().to_owned()
            }
            Some(Ok(_)) => {}
            _ => {
                let out = child.wait_with_output().expect("wait for login");
                panic!("login printed no page: {}", text(&out));
            }
        }
    };
    let drained = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let user_run = std::process::Command::new(scripted_user())
        .arg(&url)
        .env("TT_USER", user)
        .output()
        .expect("run the scripted user");
    assert!(user_run.status.success(), "{}", text(&user_run));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for login") {
            break status;
        }
        assert!(Instant::now() < deadline, "login did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    let said = drained.join().unwrap_or_default().join("\n");
    assert!(status.success(), "login failed: {said}");
    assert!(
        said.contains(&format!("Signed in to {account} as {user}")),
        "{said}"
    );
}

/// Every file under `dir` changed since `since` that holds `token` as text, as UTF-16 (how
/// Windows keeps strings) or as a registry file's hex of either.
fn files_holding(dir: &Path, since: SystemTime, token: &str) -> Vec<PathBuf> {
    let utf16: Vec<u8> = token.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let hex = |bytes: &[u8]| {
        bytes
            .iter()
            .take(48)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let needles: Vec<Vec<u8>> = vec![
        token.as_bytes().to_vec(),
        utf16.clone(),
        hex(token.as_bytes()).into_bytes(),
        hex(&utf16).into_bytes(),
    ];
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() && meta.modified().is_ok_and(|m| m >= since) {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if needles
                    .iter()
                    .any(|n| bytes.windows(n.len()).any(|w| w == n.as_slice()))
                {
                    found.push(path);
                }
            }
        }
    }
    found
}

#[test]
fn the_windows_cli_signs_in_refreshes_brokers_and_serves_through_the_pipe() {
    require_session();
    let started = SystemTime::now();
    let wine = Wine::locate();
    let server = OidcServer::start();
    let s = Sandbox::under_wine(wine.clone());

    // Provider by issuer discovery, and an account that answers git for one host.
    s.add_account_with(&server, "work", &["--git-host", "git.example.test"]);
    login(&s, "work", "alice");

    let token = s.token("work");
    assert_eq!(server.whoami(&token), (200, "alice".into()));
    let out = s.cli(&["refresh", "work", "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(json(&out)["outcome"], "ok", "{}", text(&out));
    let st = s.account_status("work");
    assert_eq!(st["status"], "enabled", "{st}");
    let fresh = s.token("work");
    assert_ne!(fresh, token, "the refresh rotated the token");

    // git's credential protocol on stdin, and the Kubernetes exec credential.
    let out = s.cli_with_stdin(
        &["git-credential", "get"],
        "protocol=https\nhost=git.example.test\n\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let answer = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(answer.contains(&format!("password={fresh}\n")), "{answer}");
    let out = s.cli(&["exec-credential", "work"]);
    assert!(out.status.success(), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["kind"], "ExecCredential");
    assert_eq!(v["status"]["token"], fresh.as_str());

    // The headless engine serves the CLI through the named pipe: a CLI that looks in another
    // (empty) keychain still gets the token, so the answer came from the engine.
    let mut engine = s.spawn_cli(&["run", "--headless"], "engine.log");
    wait_until("the engine's pipe", Duration::from_secs(60), || {
        engine.output().contains("engine running")
    });
    let out = s
        .cli_command()
        .env("TOKENTRAY_KEYCHAIN_SERVICE", "tokentray-test-nothing-here")
        .args(["token", "work"])
        .output()
        .expect("wine tokentray.exe token");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), fresh);
    // An account that asks before a program gets its token: a headless engine has nobody to
    // ask, so it refuses at once, naming the program it found behind the pipe (the process
    // that ran tokentray.exe) when Windows tells it.
    let out = s.cli(&["account", "set", "work", "--callers", "ask"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["token", "work"]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    assert!(out.stdout.is_empty());
    println!("a Windows caller refused headless: {}", text(&out).trim());
    let out = s.cli(&["account", "set", "work", "--callers", "allow"]);
    assert!(out.status.success(), "{}", text(&out));
    // A second launch hands over through the pipe and exits.
    let out = s.cli(&["run", "--headless"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("already running"), "{}", text(&out));

    // The grant dies at the provider: exit 3, and the account says so.
    server.revoke("alice");
    let out = s.cli(&["refresh", "work", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(json(&out)["outcome"], "permanent");
    assert_eq!(s.account_status("work")["status"], "error");
    let out = s.cli(&["token", "work"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    engine.terminate();

    let issued = server.issued_tokens();
    assert!(!issued.is_empty());
    for t in &issued {
        let holders = files_holding(wine.prefix(), started, t);
        assert!(holders.is_empty(), "an issued token is in {holders:?}");
    }
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn twenty_racing_windows_processes_refresh_once() {
    require_session();
    let server = OidcServer::start_with(Options {
        access_ttl: 2,
        ..Options::default()
    });
    let s = Sandbox::under_wine(Wine::locate());
    s.sign_in(&server, "race", "rita");
    // The access token is due; no engine runs, so every process may refresh by itself. The
    // refreshed token lasts an hour, so a racer that starts late has no reason to refresh again.
    server.set_ttl(3600, 86400);
    std::thread::sleep(Duration::from_secs(3));
    let before = server.refresh_count();
    let racers: Vec<_> = (0..20)
        .map(|_| {
            s.cli_command()
                .args(["token", "race"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start a racer")
        })
        .collect();
    let tokens: Vec<String> = racers
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().expect("racer");
            assert!(out.status.success(), "{}", text(&out));
            String::from_utf8_lossy(&out.stdout).trim().to_owned()
        })
        .collect();
    assert_eq!(
        server.refresh_count() - before,
        1,
        "one refresh for 20 processes"
    );
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "all got the same token"
    );
    assert_eq!(server.whoami(&tokens[0]), (200, "rita".into()));
}

#[test]
fn large_tokens_round_trip_through_the_credential_manager() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::under_wine(Wine::locate());
    s.add_account(&server, "big");
    // Microsoft's and Google's tokens are this large; the Credential Manager takes 2,560 bytes
    // an entry.
    let access: String = (0..6144).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let refresh: String = (0..2048).map(|i| (b'A' + (i % 26) as u8) as char).collect();
    let answer = serde_json::json!({
        "access_token": access,
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    let out = s.cli_with_stdin(&["account", "import", "big"], &answer.to_string());
    assert!(out.status.success(), "{}", text(&out));
    // Another process reads it back whole.
    assert_eq!(s.token("big"), access);
    let out = s.cli(&["logout", "big"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["token", "big"]);
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn launch_at_login_is_the_run_key() {
    let wine = Wine::locate();
    let s = Sandbox::under_wine(wine.clone());
    let query = || {
        wine.system_command("reg")
            .args([
                "query",
                r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run",
                "/v",
                "Tokentray",
            ])
            .output()
            .expect("wine reg query")
    };
    let app = r"C:\Program Files\Tokentray\tokentray-app.exe";
    let out = s
        .cli_command()
        .env("TOKENTRAY_APP", app)
        .args(["autostart", "on"])
        .output()
        .expect("autostart on");
    assert!(out.status.success(), "{}", text(&out));
    let reg = query();
    assert!(reg.status.success(), "{}", text(&reg));
    assert!(
        String::from_utf8_lossy(&reg.stdout).contains(&format!("\"{app}\" --minimized")),
        "{}",
        text(&reg)
    );
    let out = s.cli(&["autostart", "status"]);
    assert!(text(&out).starts_with("on"), "{}", text(&out));
    let out = s.cli(&["autostart", "off"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!query().status.success(), "the value is gone");
    assert!(text(&s.cli(&["autostart", "status"])).starts_with("off"));
}

#[test]
fn the_windows_tray_app_starts_under_wine_with_its_icon_and_a_second_launch_hands_over() {
    require_session();
    let wine = Wine::locate();
    let s = Sandbox::under_wine(wine.clone());
    let app_cmd = s.windows_command(wine.app_command());
    let mut app = s.spawn_command(app_cmd, &["--minimized"], "app.log");
    // Wine has no WebView2, but the tray app needs none until the dashboard opens: the engine,
    // the pipe and the tray icon (Shell_NotifyIcon, shown by Wine's own tray) start.
    wait_until("the tray icon", Duration::from_secs(90), || {
        app.output().contains("tray icon created")
    });
    assert!(
        app.output().contains("engine running kind=\"app\""),
        "{}",
        app.output()
    );
    let out = s.cli(&["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["run", "--headless"]);
    assert!(text(&out).contains("already running"), "{}", text(&out));
    wait_until("the hand-over", Duration::from_secs(20), || {
        app.output().contains("another launch handed over")
    });
    assert!(app.is_running(), "{}", app.output());
    app.terminate();
}
