//! The presets against the providers' documented quirks: the test server answers as GitHub,
//! Google, Microsoft Entra or GitLab (tests/oidc/quirks.mjs), and each preset signs in,
//! refreshes and reads a dead grant through the CLI as it would at the real provider.

use std::process::{Child, Stdio};
use std::time::Duration;

use serde_json::{json, Value};
use tokentray_tests::oidc::{scripted_user, OidcServer};
use tokentray_tests::{bins, output_text as text, require_session, sandbox::Sandbox, wait_until};

/// `provider add NAME --preset PRESET --issuer <the server> ARGS…` and `account add NAME`.
fn add_preset(s: &Sandbox, server: &OidcServer, name: &str, preset: &str, args: &[&str]) {
    let out = s.cli(
        &[
            &[
                "provider",
                "add",
                name,
                "--preset",
                preset,
                "--issuer",
                server.issuer(),
                "--client-id",
                "tokentray",
            ][..],
            args,
        ]
        .concat(),
    );
    assert!(out.status.success(), "provider add: {}", text(&out));
    let out = s.cli(&["account", "add", name, "--provider", name]);
    assert!(out.status.success(), "account add: {}", text(&out));
}

fn refresh(s: &Sandbox, name: &str) -> std::process::Output {
    s.cli(&["refresh", name])
}

fn issued(server: &OidcServer, kind: &str) -> Vec<String> {
    server.stats()["issued"][kind]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// After a revocation at the provider, the refresh fails for good with the provider's words.
fn dead_after_revoke(s: &Sandbox, server: &OidcServer, name: &str, user: &str) -> Value {
    assert!(server.revoke(user) > 0);
    let out = refresh(s, name);
    assert!(!out.status.success(), "{}", text(&out));
    let st = s.account_status(name);
    assert_eq!(st["status"], "error", "{st}");
    assert_eq!(st["last_error"]["class"], "permanent", "{st}");
    st
}

/// Starts `tokentray login NAME --device --no-browser`; returns it with the page and code.
fn device_login(s: &Sandbox, name: &str) -> (Child, String, String) {
    use std::io::{BufRead, BufReader};
    let mut child = s
        .command(bins::cli())
        .args(["login", name, "--device", "--no-browser"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.split(", open ").nth(1) {
            if let Some((uri, code)) = rest.split_once(" and enter the code ") {
                std::thread::spawn(move || lines.for_each(drop));
                return (child, uri.to_owned(), code.to_owned());
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    panic!("no device code shown: {}", text(&out));
}

#[test]
fn github_errors_come_with_200_the_device_flow_slows_down_and_the_sign_in_has_an_end() {
    require_session();
    let server = OidcServer::like("github");
    let s = Sandbox::new();
    add_preset(&s, &server, "gh", "github", &[]);

    // The device flow: GitHub wants fewer polls once; Tokentray adds five seconds.
    let (child, uri, code) = device_login(&s, "gh");
    server.quirk(json!({ "slow_down_next": 1 }));
    // The person is slower than the first poll, which GitHub answers with slow_down.
    wait_until("the first poll", Duration::from_secs(20), || {
        server.stats()["quirks"]["slow_down"] == 1
    });
    let user = std::process::Command::new(scripted_user())
        .arg(&uri)
        .env("TT_USER", "octo")
        .env("TT_USER_CODE", &code)
        .output()
        .unwrap();
    assert!(user.status.success(), "{}", text(&user));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let quirks = &server.stats()["quirks"];
    let polls: Vec<(u64, String)> = quirks["device_polls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["at"].as_u64().unwrap(),
                p["answer"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let slowed = polls
        .iter()
        .position(|(_, a)| a == "slow_down")
        .unwrap_or_else(|| panic!("no slow_down answered: {polls:?}"));
    let next = polls
        .get(slowed + 1)
        .unwrap_or_else(|| panic!("no poll after slow_down: {polls:?}"));
    assert!(
        next.0 - polls[slowed].0 >= 5_500,
        "polled again {} ms after slow_down: {polls:?}",
        next.0 - polls[slowed].0
    );
    assert_eq!(next.1, "token", "{polls:?}");
    assert_eq!(
        quirks["too_fast"], 0,
        "polled faster than the interval: {polls:?}"
    );

    // Signed in, identity from GitHub's user API (no ID token), and the refresh token's end.
    let st = s.account_status("gh");
    assert_eq!(st["status"], "enabled", "{st}");
    let ends = st["sign_in_expires_at"]
        .as_str()
        .unwrap_or_else(|| panic!("{st}"));
    let ends =
        time::OffsetDateTime::parse(ends, &time::format_description::well_known::Rfc3339).unwrap();
    let left = ends - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::hours(23) && left <= time::Duration::hours(24),
        "{st}"
    );

    // Refresh rotates; every token request asked for JSON.
    let out = refresh(&s, "gh");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(issued(&server, "refresh_tokens").len(), 2);
    let accepts = server.stats()["quirks"]["token_accept"].clone();
    assert!(
        accepts
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.as_str().unwrap_or_default().contains("application/json")),
        "{accepts}"
    );

    // A revoked grant: GitHub says bad_refresh_token with HTTP 200; that is a verdict.
    let st = dead_after_revoke(&s, &server, "gh", "octo");
    assert_eq!(st["last_error"]["code"], "bad_refresh_token", "{st}");
    assert_eq!(st["last_error"]["http_status"], 200, "{st}");
    s.assert_no_secrets(&server, &[&code]);
}

#[test]
fn google_wants_its_secret_and_offline_access_and_keeps_its_refresh_token() {
    require_session();
    let server = OidcServer::like("google");
    let mut s = Sandbox::new();
    s.use_scripted_user("gina");
    let out = s.cli_with_stdin(
        &[
            "provider",
            "add",
            "g",
            "--preset",
            "google",
            "--issuer",
            server.issuer(),
            "--client-id",
            "tokentray",
            "--client-secret-stdin",
        ],
        "GOCSPX-tokentray-test\n",
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["account", "add", "g", "--provider", "g"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["login", "g"]);
    assert!(out.status.success(), "{}", text(&out));

    // The preset asked for offline access the way Google wants it.
    let asked = server.stats()["quirks"]["authorize_params"][0].clone();
    assert_eq!(asked["access_type"], "offline", "{asked}");
    assert_eq!(asked["prompt"], "consent", "{asked}");
    let distinct = |server: &OidcServer| {
        let mut all = issued(server, "refresh_tokens");
        all.sort();
        all.dedup();
        all.len()
    };
    assert_eq!(distinct(&server), 1);

    // Refresh answers carry no refresh token: the one from the sign-in is kept and works on.
    for _ in 0..3 {
        let out = refresh(&s, "g");
        assert!(out.status.success(), "{}", text(&out));
    }
    assert_eq!(distinct(&server), 1);
    assert_eq!(issued(&server, "access_tokens").len(), 4);
    assert_eq!(server.whoami(&s.token("g")), (200, "gina".into()));

    let st = dead_after_revoke(&s, &server, "g", "gina");
    assert_eq!(st["last_error"]["code"], "invalid_grant", "{st}");
    s.assert_no_secrets(&server, &["GOCSPX-tokentray-test"]);
}

#[test]
fn microsoft_tenants_offline_access_and_aadsts_codes() {
    require_session();
    let server = OidcServer::like("microsoft");
    let mut s = Sandbox::new();
    s.use_scripted_user("meg");
    add_preset(
        &s,
        &server,
        "ms",
        "microsoft",
        &["--tenant", "organizations"],
    );
    let out = s.cli(&["login", "ms"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(issued(&server, "refresh_tokens").len(), 1);
    let out = refresh(&s, "ms");
    assert!(out.status.success(), "{}", text(&out));
    // Rotated: a new refresh token on every refresh.
    assert_eq!(issued(&server, "refresh_tokens").len(), 2);

    // A tenant Entra does not know: AADSTS90002 in the sign-in's error, nothing half-done.
    add_preset(
        &s,
        &server,
        "nowhere",
        "microsoft",
        &["--tenant", "no-such.example"],
    );
    let out = s.cli(&["login", "nowhere", "--device", "--no-browser"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("AADSTS90002"), "{}", text(&out));
    assert_eq!(s.account_status("nowhere")["status"], "signed_out");

    // Without offline_access Entra sends no refresh token: the account says what to add.
    add_preset(
        &s,
        &server,
        "short",
        "microsoft",
        &["--scope", "openid", "--scope", "profile"],
    );
    let out = s.cli(&["login", "short"]);
    assert!(out.status.success(), "{}", text(&out));
    server.revoke_access_tokens("meg");
    let out = refresh(&s, "short");
    assert!(!out.status.success(), "{}", text(&out));
    let st = s.account_status("short");
    assert_eq!(st["last_error"]["code"], "no_refresh_token", "{st}");
    assert!(
        st["last_error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("offline_access"),
        "{st}"
    );

    let st = dead_after_revoke(&s, &server, "ms", "meg");
    assert!(st["last_error"]["message"].as_str().is_some(), "{st}");
    let out = s.cli(&["status"]);
    assert!(text(&out).contains("ms"), "{}", text(&out));
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn gitlab_self_managed_by_its_url_rotates_and_a_replayed_token_ends_the_grant() {
    require_session();
    let server = OidcServer::like("gitlab");
    let mut s = Sandbox::new();
    s.use_scripted_user("gil");
    add_preset(&s, &server, "gl", "gitlab", &[]);
    let settings = std::fs::read_to_string(s.config_dir().join("settings.toml")).unwrap();
    assert!(
        settings.contains(&format!("{}/oauth/token", server.issuer())),
        "{settings}"
    );
    let out = s.cli(&["login", "gl"]);
    assert!(out.status.success(), "{}", text(&out));
    let first = issued(&server, "refresh_tokens");
    let out = refresh(&s, "gl");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(issued(&server, "refresh_tokens").len(), 2);

    // Someone replays the spent refresh token: GitLab (Doorkeeper) revokes the grant, and
    // Tokentray's next refresh reads the long invalid_grant as a dead grant.
    let replay = server
        .agent()
        .post(&format!("{}/oauth/token", server.issuer()))
        .send_form([
            ("grant_type", "refresh_token"),
            ("refresh_token", first[0].as_str()),
            ("client_id", "tokentray"),
        ])
        .unwrap();
    assert_eq!(replay.status().as_u16(), 400);
    std::thread::sleep(Duration::from_millis(100));
    let out = refresh(&s, "gl");
    assert!(!out.status.success(), "{}", text(&out));
    let st = s.account_status("gl");
    assert_eq!(st["status"], "error", "{st}");
    assert_eq!(st["last_error"]["class"], "permanent", "{st}");
    assert_eq!(st["last_error"]["code"], "invalid_grant", "{st}");
    s.assert_no_secrets(&server, &[]);
}
