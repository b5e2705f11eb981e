//! Caller consent: with `--callers ask`, a program not yet allowed gets the token only after the
//! person answers the notification (Allow once, Always allow, Deny), within 60 s; without a
//! desktop the request is refused at once. The real tray app, dunst's action menu, the real
//! OAuth server and keychain.

use std::process::{Child, Output};
use std::time::{Duration, Instant};

use tokentray_tests::desktop::Desktop;
use tokentray_tests::oidc::OidcServer;
use tokentray_tests::sandbox::Sandbox;
use tokentray_tests::{bins, output_text as text, require_session, wait_until};

/// The code of a request the person did not allow.
const NOT_ALLOWED: i32 = 9;

fn token_request(s: &Sandbox, account: &str) -> Child {
    s.cli_child(&["token", account])
}

/// Waits until `n` questions about `account` have been shown.
fn asked(desktop: &Desktop, account: &str, n: usize) {
    let about = format!("use {account}?");
    wait_until(
        &format!("question {n} about {account}"),
        Duration::from_secs(20),
        || desktop.notifications_about(&about).len() >= n,
    );
}

fn finished(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn a_program_gets_an_asking_accounts_token_only_as_the_person_answers() {
    require_session();
    let server = OidcServer::start();
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    for (account, user) in [("work", "alice"), ("idle", "bob")] {
        s.sign_in(&server, account, user);
        let out = s.cli(&["account", "set", account, "--callers", "ask"]);
        assert!(out.status.success(), "{}", text(&out));
    }
    let mut app = s.spawn(bins::app(), &["--minimized"], "app.log");
    s.wait_for_engine(Duration::from_secs(60));

    // Nobody answers this one: it fails after a minute (checked at the end).
    let started = Instant::now();
    let unanswered = token_request(&s, "idle");
    asked(&desktop, "idle", 1);

    // Allow once: this request gets the token, and nothing is remembered.
    let request = token_request(&s, "work");
    asked(&desktop, "work", 1);
    let (summary, body) = desktop.notifications_about("use work?")[0].clone();
    let me = std::env::current_exe().unwrap();
    assert!(summary.contains("allow a program"), "{summary}");
    assert!(
        body.contains(&me.display().to_string()),
        "names the program: {body}"
    );
    desktop.choose("Allow once", "use work?");
    let out = finished(request);
    assert!(out.status.success(), "{}", text(&out));
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(server.whoami(&token), (200, "alice".into()));
    assert!(s.account_status("work")["allowed_callers"].is_null());

    // Deny: exit 9 and one sentence; nothing on stdout.
    let request = token_request(&s, "work");
    asked(&desktop, "work", 2);
    desktop.choose("Deny", "use work?");
    let out = finished(request);
    assert_eq!(out.status.code(), Some(NOT_ALLOWED), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(text(&out).contains("did not allow"), "{}", text(&out));

    // Always allow: on the list, and not asked again.
    let request = token_request(&s, "work");
    asked(&desktop, "work", 3);
    desktop.choose("Always allow", "use work?");
    assert!(finished(request).status.success());
    let allowed = s.account_status("work")["allowed_callers"].clone();
    assert_eq!(
        allowed,
        serde_json::json!([me.display().to_string()]),
        "{allowed}"
    );
    let out = finished(token_request(&s, "work"));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        desktop.notifications_about("use work?").len(),
        3,
        "not asked again"
    );

    // `exec` asks about the command it runs, started by the program that ran exec.
    let request = s.cli_child(&[
        "exec",
        "work",
        "--",
        "sh",
        "-c",
        "printf %s \"$ACCESS_TOKEN\"",
    ]);
    asked(&desktop, "work", 4);
    let (_, body) = desktop.notifications_about("use work?")[3].clone();
    let shell = std::fs::canonicalize("/bin/sh").unwrap();
    assert!(
        body.starts_with(&format!(
            "{} (started by {})",
            shell.display(),
            me.display()
        )),
        "{body}"
    );
    desktop.choose("Allow once", "use work?");
    let out = finished(request);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.whoami(&String::from_utf8_lossy(&out.stdout)).0, 200);

    // Revoked: asked again.
    let out = s.cli(&[
        "account",
        "callers",
        "work",
        "--revoke",
        &me.display().to_string(),
    ]);
    assert!(
        text(&out).contains("no program is always allowed"),
        "{}",
        text(&out)
    );
    let request = token_request(&s, "work");
    asked(&desktop, "work", 5);
    desktop.choose("Deny", "use work?");
    let out = finished(request);
    assert_eq!(out.status.code(), Some(NOT_ALLOWED), "{}", text(&out));

    // The unanswered one: refused after the minute, its question taken off the screen.
    let out = finished(unanswered);
    let waited = started.elapsed();
    assert_eq!(out.status.code(), Some(NOT_ALLOWED), "{}", text(&out));
    assert!(text(&out).contains("within 60 s"), "{}", text(&out));
    assert!(
        waited >= Duration::from_secs(60),
        "answered after {waited:?}"
    );
    wait_until(
        "the question to be withdrawn",
        Duration::from_secs(10),
        || desktop.displayed() == 0,
    );
    app.terminate();

    // Without a desktop: refused at once, whether a headless engine runs or none does.
    let out = s.cli(&["token", "work"]);
    assert_eq!(out.status.code(), Some(NOT_ALLOWED), "{}", text(&out));
    assert!(
        text(&out).contains("no Tokentray app is running"),
        "{}",
        text(&out)
    );
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let begun = Instant::now();
    let out = s.cli(&["token", "work"]);
    assert_eq!(out.status.code(), Some(NOT_ALLOWED), "{}", text(&out));
    assert!(text(&out).contains("without a desktop"), "{}", text(&out));
    assert!(begun.elapsed() < Duration::from_secs(10), "it did not hang");
    // Allowed ahead from a terminal, it works headless too.
    let out = s.cli(&[
        "account",
        "callers",
        "work",
        "--allow",
        &me.display().to_string(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["token", "work"]);
    assert!(out.status.success(), "{}", text(&out));
    engine.terminate();
    s.assert_no_secrets(&server, &[&app.output(), &engine.output()]);
}
