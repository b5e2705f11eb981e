//! Warm-up jobs against the real server: they call with the account's token, recover from a
//! rejected token with one refresh and one retry, and stop while the account is in error.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokentray_tests::oidc::OidcServer;
use tokentray_tests::{bins, require_session, sandbox::Sandbox, wait_until};

fn hits(server: &OidcServer, sub: &str) -> u64 {
    server.stats()["whoami_hits"][sub].as_u64().unwrap_or(0)
}

fn add_job(s: &Sandbox, server: &OidcServer, account: &str) {
    let url = format!("{}/api/whoami", server.issuer());
    let out = s.cli(&[
        "job",
        "add",
        "warm",
        "--account",
        account,
        "--url",
        &url,
        "--every",
        "2s",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_rejected_token_means_stale_one_refresh_one_retry() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "hana", "hana");
    add_job(&s, &server, "hana");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    wait_until("the job's first runs", Duration::from_secs(20), || {
        hits(&server, "hana") >= 2
    });
    let job = &s.account_status("hana")["jobs"][0];
    assert_eq!(job["last_status"], 200, "{job}");
    assert_eq!(job["state"], "running");

    // The provider stops accepting the current access token (the refresh token still works).
    let token = s.token("hana");
    assert!(server.revoke_access_tokens("hana") > 0);
    assert_eq!(server.whoami(&token).0, 401);
    let refreshes = server.refresh_count();
    let before = hits(&server, "hana");

    let deadline = Instant::now() + Duration::from_secs(20);
    while hits(&server, "hana") <= before {
        assert!(
            Instant::now() < deadline,
            "no successful retry with a refreshed token:\n{}",
            engine.output()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        server.refresh_count(),
        refreshes + 1,
        "one refresh for the rejection"
    );
    let st = s.account_status("hana");
    assert_eq!(st["status"], "enabled", "{st}");
    assert!(
        engine.output().contains("marking the account stale"),
        "{}",
        engine.output()
    );
    // And no loop: a few more intervals pass with no more refreshes.
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(server.refresh_count(), refreshes + 1);
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn jobs_stop_while_the_account_is_in_error_and_resume_after_a_new_sign_in() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "ivan", "ivan");
    add_job(&s, &server, "ivan");
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    wait_until("the job runs", Duration::from_secs(20), || {
        hits(&server, "ivan") >= 1
    });

    server.revoke("ivan");
    wait_until("the account in error", Duration::from_secs(20), || {
        s.account_status("ivan")["status"] == "error"
    });
    let st = s.account_status("ivan");
    assert_eq!(st["last_error"]["class"], "permanent", "{st}");
    assert_eq!(st["jobs"][0]["state"], "paused");
    let requests = server.stats()["token_requests"].as_u64().unwrap();
    let calls = server.stats()["whoami_hits"].clone();
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(
        server.stats()["token_requests"].as_u64().unwrap(),
        requests,
        "no refresh retries"
    );
    assert_eq!(
        server.stats()["whoami_hits"],
        calls,
        "no job runs while in error"
    );

    // A new sign-in (here: imported tokens) brings it back, and the job runs at once.
    let tokens = server.sign_in("ivan");
    let out = s.cli_with_stdin(&["account", "import", "ivan"], &tokens);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = hits(&server, "ivan");
    wait_until("the job to run again", Duration::from_secs(5), || {
        hits(&server, "ivan") > before
    });
    assert_eq!(s.account_status("ivan")["status"], "enabled");
    engine.terminate();
    s.assert_no_secrets(&server, &[&engine.output()]);
}

#[test]
fn job_commands_validate_and_list() {
    let server = OidcServer::start();
    let s = Sandbox::new();
    assert!(s
        .cli(&[
            "provider",
            "add",
            "local",
            "--issuer",
            server.issuer(),
            "--client-id",
            "tokentray"
        ])
        .status
        .success());
    assert!(s
        .cli(&["account", "add", "a", "--provider", "local"])
        .status
        .success());
    let out = s.cli(&["job", "add", "j", "--account", "nope", "--url", "http://x"]);
    assert_eq!(out.status.code(), Some(7));
    let out = s.cli(&[
        "job",
        "add",
        "j",
        "--account",
        "a",
        "--url",
        "http://x",
        "--every",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = s.cli(&[
        "job",
        "add",
        "j",
        "--account",
        "a",
        "--url",
        "http://x",
        "--every",
        "30s",
    ]);
    assert_eq!(out.status.code(), Some(2), "plain http to another host");
    let out = s.cli(&[
        "job",
        "add",
        "j",
        "--account",
        "a",
        "--url",
        "https://x.example/",
        "--every",
        "30s",
        "--header",
        "X-A: 1",
    ]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&s.cli(&["job", "list", "--json"]).stdout).unwrap();
    assert_eq!(v["jobs"][0]["every"], "30s");
    assert_eq!(v["jobs"][0]["headers"][0], "X-A: 1");
    assert!(s.cli(&["job", "remove", "j"]).status.success());
    assert_eq!(s.cli(&["job", "remove", "j"]).status.code(), Some(1));
}
