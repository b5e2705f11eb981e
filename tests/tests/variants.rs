//! The exact token each tool needs: variants for narrower scopes and other resources (RFC 6749
//! §6, RFC 8707) minted from the account's one refresh token, `--min-valid`, and `tokentray
//! exec`. Against the real OAuth server with two resource servers, and the real keychain.

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use tokentray_tests::oidc::{OidcServer, Options};
use tokentray_tests::sandbox::{Running, Sandbox};
use tokentray_tests::{bins, output_text as text, require_session};

const ONE: &str = "https://one.test";
const TWO: &str = "https://two.test";

/// A server with two resource servers that know the `api` scope.
fn server_with_resources(access_ttl: u64) -> OidcServer {
    OidcServer::start_with(Options {
        access_ttl,
        resources: Some(r#"{"https://one.test":"api","https://two.test":"api"}"#),
        ..Options::default()
    })
}

/// Account `work` signed in as alice, and the headless engine serving it (variants live in
/// the engine's memory).
fn signed_in_with_engine(server: &OidcServer) -> (Sandbox, Running) {
    let s = Sandbox::new();
    s.sign_in(server, "work", "alice");
    let engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    (s, engine)
}

fn token_with(s: &Sandbox, args: &[&str]) -> Output {
    let mut all = vec!["token", "work"];
    all.extend_from_slice(args);
    s.cli(&all)
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn tokens_for_two_resources_and_a_narrower_scope_come_from_the_one_sign_in() {
    require_session();
    let server = server_with_resources(600);
    let (s, mut engine) = signed_in_with_engine(&server);
    let own = s.token("work");

    let out = token_with(&s, &["--resource", ONE]);
    assert!(out.status.success(), "{}", text(&out));
    let one = stdout(&out);
    let (status, who) = server.whoami_json(&one);
    assert_eq!(
        (status, who["sub"].as_str(), who["aud"].as_str()),
        (200, Some("alice"), Some(ONE))
    );

    // Asked again: the same token from memory, no refresh.
    let before = server.refresh_count();
    assert_eq!(stdout(&token_with(&s, &["--resource", ONE])), one);
    assert_eq!(server.refresh_count(), before);

    let two = stdout(&token_with(&s, &["--resource", TWO]));
    assert_eq!(server.whoami_json(&two).1["aud"], TWO);
    let out = token_with(&s, &["--scope", "openid"]);
    assert!(out.status.success(), "{}", text(&out));
    let narrow = stdout(&out);
    assert_eq!(server.whoami_json(&narrow).1["scope"], "openid");
    assert_eq!(
        server.refresh_count(),
        before + 2,
        "one refresh per new variant"
    );

    // The account's own token is untouched by the variants, and still works.
    assert_eq!(s.token("work"), own);
    assert_eq!(server.whoami(&own), (200, "alice".into()));

    // The status lists the live variants: what they are for and when they expire, no tokens.
    let status = s.account_status("work");
    let variants = status["variants"]
        .as_array()
        .expect("variants in the status");
    assert_eq!(variants.len(), 3, "{status}");
    assert!(variants
        .iter()
        .any(|v| v["resource"] == ONE && v["expires_at"].is_string()));
    assert!(variants
        .iter()
        .any(|v| v["scopes"] == serde_json::json!(["openid"]) && v["resource"].is_null()));
    let table = text(&s.cli(&["status"]));
    assert!(
        table.contains(&format!("work: the sign-in's scopes for {ONE}")),
        "{table}"
    );
    for t in [&one, &two, &narrow] {
        assert!(!status.to_string().contains(t.as_str()) && !table.contains(t.as_str()));
    }

    // A scope the sign-in was not granted: the request is refused, naming the option; the
    // account is fine (checked with one refresh of its own token) and keeps serving.
    let out = token_with(&s, &["--scope", "admin"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--scope admin") && said.contains("invalid_scope"),
        "{said}"
    );
    assert!(said.contains("sign-in itself is fine"), "{said}");
    assert!(out.stdout.is_empty());
    assert_eq!(s.account_status("work")["status"], "enabled");
    let own = s.token("work");
    assert_eq!(server.whoami(&own), (200, "alice".into()));
    assert_eq!(stdout(&token_with(&s, &["--resource", ONE])), one);

    // A malformed option never reaches the provider.
    let before = server.refresh_count();
    let out = token_with(&s, &["--resource", "one.test"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--resource"), "{}", text(&out));
    assert_eq!(server.refresh_count(), before);

    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn a_refused_resource_that_cost_the_sign_in_says_so_at_once() {
    require_session();
    // oidc-provider spends the refresh token before it looks at the resource (so do others:
    // panva/node-oidc-provider's refresh_token grant rotates first), and then the grant is gone.
    let server = server_with_resources(600);
    let (s, mut engine) = signed_in_with_engine(&server);
    let out = token_with(&s, &["--resource", "https://three.test"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("--resource https://three.test") && said.contains("spent the refresh token"),
        "{said}"
    );
    // The account says so too: a re-login, not a healthy account with a dead grant.
    assert_eq!(s.account_status("work")["status"], "error");
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn twenty_racing_requests_for_a_variant_spend_one_refresh_token() {
    require_session();
    let server = server_with_resources(600);
    let (s, mut engine) = signed_in_with_engine(&server);
    let before = server.refresh_count();
    let children: Vec<_> = (0..20)
        .map(|_| s.cli_child(&["token", "work", "--resource", ONE, "--scope", "api"]))
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", text(&o));
            stdout(&o)
        })
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "one variant for all"
    );
    assert_eq!(server.refresh_count() - before, 1, "exactly one refresh");
    assert_eq!(server.whoami_json(&tokens[0]).1["aud"], ONE);
    // The rotated refresh token was stored: the account's own refresh still works.
    let out = s.cli(&["refresh", "work"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.account_status("work")["status"], "enabled");
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn min_valid_refreshes_early_and_refuses_what_no_token_lives() {
    require_session();
    let server = server_with_resources(600);
    let (s, mut engine) = signed_in_with_engine(&server);
    let first = s.token("work");
    let before = server.refresh_count();
    // Ten minutes left: 9m55s is met without a refresh.
    assert_eq!(stdout(&token_with(&s, &["--min-valid", "595s"])), first);
    assert_eq!(server.refresh_count(), before);
    // Six seconds later it is not: refreshed early.
    std::thread::sleep(Duration::from_secs(6));
    let out = token_with(&s, &["--min-valid", "595s"]);
    assert!(out.status.success(), "{}", text(&out));
    let second = stdout(&out);
    assert_ne!(second, first);
    assert_eq!(server.refresh_count(), before + 1);
    assert_eq!(server.whoami(&second), (200, "alice".into()));
    // The same for a variant.
    let v1 = stdout(&token_with(&s, &["--resource", ONE]));
    std::thread::sleep(Duration::from_secs(6));
    let v2 = stdout(&token_with(&s, &["--resource", ONE, "--min-valid", "595s"]));
    assert_ne!(v1, v2);
    // Longer than the provider's tokens ever live: refused at once, nothing spent.
    let before = server.refresh_count();
    let out = token_with(&s, &["--min-valid", "11m"]);
    assert_eq!(out.status.code(), Some(8), "{}", text(&out));
    assert!(text(&out).contains("--min-valid 11m"), "{}", text(&out));
    assert_eq!(server.refresh_count(), before);
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn exec_credential_and_git_ask_for_the_same_variants() {
    require_session();
    let server = server_with_resources(600);
    let (s, mut engine) = signed_in_with_engine(&server);
    let out = s.cli(&["exec-credential", "work", "--resource", TWO]);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = v["status"]["token"].as_str().unwrap();
    assert_eq!(server.whoami_json(token).1["aud"], TWO);

    // The git helper takes them from the account's settings.
    let out = s.cli(&[
        "account",
        "set",
        "work",
        "--git-host",
        "git.example.test",
        "--git-resource",
        ONE,
        "--git-min-valid",
        "5m",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli_with_stdin(
        &["git-credential", "get"],
        "protocol=https\nhost=git.example.test\n\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    let password = said
        .lines()
        .find_map(|l| l.strip_prefix("password="))
        .expect("a password");
    assert_eq!(server.whoami_json(password).1["aud"], ONE);
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn exec_runs_one_command_with_the_token_and_passes_everything_through() {
    require_session();
    let server = server_with_resources(600);
    let (s, mut engine) = signed_in_with_engine(&server);
    let exec = |args: &[&str]| {
        let mut all = vec!["exec", "work"];
        all.extend_from_slice(args);
        s.cli(&all)
    };
    // The token is in the command's environment, under ACCESS_TOKEN by default.
    let out = exec(&["--", "sh", "-c", "printf %s \"$ACCESS_TOKEN\""]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.whoami(&stdout(&out)), (200, "alice".into()));
    // --env names the variable; the variant options work here too.
    let out = exec(&[
        "--env",
        "MY_TOKEN",
        "--resource",
        ONE,
        "--",
        "sh",
        "-c",
        "printf %s \"$MY_TOKEN\"",
    ]);
    assert_eq!(server.whoami_json(&stdout(&out)).1["aud"], ONE);
    // Exit status and stdin pass through.
    assert_eq!(exec(&["--", "sh", "-c", "exit 7"]).status.code(), Some(7));
    let out = s.cli_with_stdin(&["exec", "work", "--", "cat"], "from stdin\n");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from stdin\n");
    // A command that does not exist: 127, as shells say.
    let out = exec(&["--", "no-such-command-anywhere"]);
    assert_eq!(out.status.code(), Some(127), "{}", text(&out));
    // A dead account runs nothing.
    let out = s.cli(&["exec", "nobody", "--", "sh", "-c", "echo ran"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ran"));

    // Signals reach the command: it is the process (exec), so a TERM is its to handle...
    let mut child = s.cli_child(&[
        "exec",
        "work",
        "--",
        "sh",
        "-c",
        "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
    ]);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
    signal(child.id(), "TERM");
    assert_eq!(child.wait().unwrap().code(), Some(42));
    // ...and one it does not handle ends it with that signal, as the caller sees.
    let mut child = s.cli_child(&[
        "exec",
        "work",
        "--",
        "sh",
        "-c",
        "echo ready; exec sleep 30",
    ]);
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    assert_eq!(lines.next().and_then(Result::ok).as_deref(), Some("ready"));
    signal(child.id(), "INT");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(2)
    );

    // A GitHub account's tools read GH_TOKEN.
    let out = s.cli(&["exec", "work", "--", "sh", "-c", "test -z \"$GH_TOKEN\""]);
    assert!(out.status.success(), "not a GitHub account: {}", text(&out));
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} {pid}");
}
