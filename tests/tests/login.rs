//! Sign-in end to end: the CLI's browser and device flows with the scripted user at the real
//! oidc-provider's pages, a forged callback, identity pinning, and the product's main path — a
//! dead grant → one notification → its action → the browser sign-in → jobs run again — with a
//! private dunst and keyring per test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use tokentray_tests::desktop::Desktop;
use tokentray_tests::oidc::{scripted_user, OidcServer};
use tokentray_tests::{bins, output_text as text, require_session, sandbox::Sandbox, wait_until};

/// The `sub` the server sees for the account's current token.
fn whoami(s: &Sandbox, server: &OidcServer, account: &str) -> (u16, String) {
    server.whoami(&s.token(account))
}

/// Starts `tokentray login ARGS` with stdout piped, and reads stdout until a line satisfies
/// `pick`, which returns what the test needs from it. The rest of stdout is collected by the
/// returned thread.
fn login_until<T>(
    s: &Sandbox,
    args: &[&str],
    mut pick: impl FnMut(&str) -> Option<T>,
) -> (Child, T, std::thread::JoinHandle<String>) {
    let mut child = s
        .command(bins::cli())
        .arg("login")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let Some(Ok(line)) = lines.next() else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "login ended before printing what the test needs: {}",
                text(&out)
            );
        };
        if let Some(found) = pick(&line) {
            // Keep draining so the child never blocks on a full pipe.
            let rest = std::thread::spawn(move || {
                lines.map_while(Result::ok).collect::<Vec<_>>().join("\n")
            });
            return (child, found, rest);
        }
    }
}

fn run_scripted_user(url: &str, user: &str, code: Option<&str>) -> Output {
    let mut cmd = std::process::Command::new(scripted_user());
    cmd.arg(url).env("TT_USER", user);
    if let Some(code) = code {
        cmd.env("TT_USER_CODE", code);
    }
    cmd.output().unwrap()
}

#[test]
fn login_in_the_browser_signs_in_and_a_different_user_is_refused() {
    require_session();
    let server = OidcServer::start();
    let mut s = Sandbox::new();
    s.add_account(&server, "work");
    s.use_scripted_user("alice");
    let out = s.cli(&["login", "work"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Signed in to work as alice"),
        "{}",
        text(&out)
    );
    assert_eq!(s.account_status("work")["status"], "enabled");
    assert_eq!(whoami(&s, &server, "work"), (200, "alice".into()));

    // The person signs in as someone else: refused, and the account keeps alice's tokens.
    s.use_scripted_user("bob");
    let out = s.cli(&["login", "work"]);
    assert!(!out.status.success(), "{}", text(&out));
    let said = text(&out);
    assert!(
        said.contains("\"alice\"")
            && said.contains("\"bob\"")
            && said.contains("nothing was changed"),
        "{said}"
    );
    assert_eq!(s.account_status("work")["status"], "enabled");
    assert_eq!(whoami(&s, &server, "work"), (200, "alice".into()));
    let runs = s.scripted_user_runs();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|r| r["ok"] == true), "{runs:?}");

    // Logout revokes and deletes; the account stays, signed out.
    let out = s.cli(&["logout", "work"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.account_status("work")["status"], "signed_out");
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn a_forged_callback_is_refused_and_the_real_one_completes() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.add_account(&server, "work");
    let (child, url, _) = login_until(&s, &["work", "--no-browser"], |line| {
        line.starts_with("http").then(|| line.to_owned())
    });
    let auth = url::Url::parse(&url).unwrap();
    let param = |k: &str| {
        auth.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    assert_eq!(param("code_challenge_method"), "S256");
    let redirect = param("redirect_uri");
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    // Another page (or process) calls the loopback port with a code of its own.
    let forged = server
        .agent()
        .get(&format!("{redirect}?code=forged&state=not-the-state"))
        .call()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 400);

    let user = run_scripted_user(&url, "alice", None);
    assert!(user.status.success(), "{}", text(&user));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.account_status("work")["status"], "enabled");
    assert_eq!(whoami(&s, &server, "work"), (200, "alice".into()));
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn the_device_flow_completes_with_the_scripted_user() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.add_account(&server, "box");
    let (child, (uri, code), rest) =
        login_until(&s, &["box", "--device", "--no-browser"], |line| {
            let rest = line.split(", open ").nth(1)?;
            let (uri, code) = rest.split_once(" and enter the code ")?;
            Some((uri.to_owned(), code.to_owned()))
        });
    let user = run_scripted_user(&uri, "dora", Some(&code));
    assert!(user.status.success(), "{}", text(&user));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let rest = rest.join().unwrap();
    assert!(rest.contains("Signed in to box as dora"), "{rest}");
    assert_eq!(whoami(&s, &server, "box"), (200, "dora".into()));
    assert!(
        server.stats()["token_requests_by_grant"]["urn:ietf:params:oauth:grant-type:device_code"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    );
    s.assert_no_secrets(&server, &[&code]);
}

#[test]
fn a_dead_grant_notifies_once_and_its_action_signs_in_again_and_jobs_resume() {
    require_session();
    let server = OidcServer::start();
    let desktop = Desktop::start();
    let mut s = desktop.sandbox();
    s.use_scripted_user("alice");
    s.add_account(&server, "work");
    let out = s.cli(&["login", "work"]);
    assert!(out.status.success(), "{}", text(&out));
    let whoami_url = format!("{}/api/whoami", server.issuer());
    let out = s.cli(&[
        "job",
        "add",
        "ping",
        "--account",
        "work",
        "--url",
        &whoami_url,
        "--every",
        "1h",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let hits = || server.stats()["whoami_hits"]["alice"].as_u64().unwrap_or(0);

    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));

    // The grant dies at the provider; the next refresh finds out.
    server.revoke("alice");
    let out = s.cli(&["refresh", "work", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let st = s.account_status("work");
    assert_eq!(st["status"], "error", "{st}");
    assert_eq!(st["last_error"]["class"], "permanent", "{st}");

    wait_until("one notification", Duration::from_secs(10), || {
        !desktop.notifications_about("work").is_empty()
    });
    // More failures in the same episode stay quiet.
    let out = s.cli(&["refresh", "work", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    std::thread::sleep(Duration::from_secs(1));
    let told = desktop.notifications_about("work");
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].0.contains("sign in to work again"), "{told:?}");
    assert_eq!(desktop.displayed(), 1);
    let before = hits();

    // The person clicks it: the engine opens the browser (the scripted user signs in).
    desktop.dunstctl(&["action", "0"]);
    wait_until(
        "the account to be enabled again",
        Duration::from_secs(30),
        || s.account_status("work")["status"] == "enabled",
    );
    wait_until("the job to run again", Duration::from_secs(20), || {
        hits() > before
    });
    assert_eq!(whoami(&s, &server, "work"), (200, "alice".into()));
    // Withdrawn once it works again.
    wait_until("the notification to go", Duration::from_secs(10), || {
        desktop.displayed() == 0
    });
    assert_eq!(desktop.notifications_about("work").len(), 1);
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn a_config_failure_notifies_once_naming_the_setting_to_fix() {
    require_session();
    let server = OidcServer::start();
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    s.sign_in(&server, "ci", "carl");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    server.fault(serde_json::json!({
        "kind": "status", "path": "/token", "status": 401,
        "body": {"error": "invalid_client", "error_description": "client authentication failed"}
    }));
    let out = s.cli(&["refresh", "ci", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert_eq!(s.account_status("ci")["last_error"]["class"], "config");
    wait_until("the notification", Duration::from_secs(10), || {
        !desktop.notifications_about("ci").is_empty()
    });
    let out = s.cli(&["refresh", "ci", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    std::thread::sleep(Duration::from_secs(1));
    let told = desktop.notifications_about("ci");
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(told[0].0.contains("needs a settings fix"), "{told:?}");
    assert!(told[0].1.contains("[provider.local]"), "{told:?}");
    // The episode is remembered: a restart does not tell again.
    engine.terminate();
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine2.log");
    s.wait_for_engine(Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(desktop.notifications_about("ci").len(), 1);
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn a_sign_in_cancelled_at_the_provider_says_so_and_changes_nothing() {
    require_session();
    let server = OidcServer::start();
    let mut s = Sandbox::new();
    s.add_account(&server, "work");
    s.use_scripted_user("alice");
    s.set_env("TT_USER_MODE", "deny");
    let out = s.cli(&["login", "work"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("cancelled"), "{}", text(&out));
    assert_eq!(s.account_status("work")["status"], "signed_out");
}

#[test]
fn a_device_sign_in_through_the_engine_shows_and_copies_the_code() {
    require_session();
    let server = OidcServer::start();
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    s.add_account(&server, "box");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let (child, (uri, code), _) = login_until(&s, &["box", "--device", "--no-browser"], |line| {
        let rest = line.split(", open ").nth(1)?;
        let (uri, code) = rest.split_once(" and enter the code ")?;
        Some((uri.to_owned(), code.to_owned()))
    });
    wait_until("the code's notification", Duration::from_secs(10), || {
        !desktop.notifications_about("Sign in to box").is_empty()
    });
    let told = desktop.notifications_about("Sign in to box");
    assert!(told[0].1.contains(&code), "{told:?}");
    assert!(told[0].1.contains("on the clipboard"), "{told:?}");
    let pasted = std::process::Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pasted.stdout), code);

    let user = run_scripted_user(&uri, "dora", Some(&code));
    assert!(user.status.success(), "{}", text(&user));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.account_status("box")["status"], "enabled");
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output(), &code]);
}
