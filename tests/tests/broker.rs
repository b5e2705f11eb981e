//! Tokentray as the token broker for other tools: git's credential helper through real `git
//! credential`, the Kubernetes exec credential, shell completions, and the status table's
//! colour rules. Against the real OAuth server and keychain.

use std::io::Write;
use std::process::{Output, Stdio};

use serde_json::Value;
use tokentray_tests::oidc::OidcServer;
use tokentray_tests::{bins, output_text as text, require_session, sandbox::Sandbox};

/// An account `work` signed in as alice that answers git for `git.example.test`.
fn git_account(server: &OidcServer) -> Sandbox {
    let s = Sandbox::new();
    s.add_account(server, "spare");
    s.add_account_with(server, "work", &["--git-host", "git.example.test"]);
    let out = s.cli_with_stdin(&["account", "import", "work"], &server.sign_in("alice"));
    assert!(out.status.success(), "{}", text(&out));
    s
}

/// Runs `git credential ACTION` with `input`, configured to use only Tokentray's helper.
fn git_credential(s: &Sandbox, action: &str, input: &str) -> Output {
    let config = s.root().join("gitconfig");
    std::fs::write(
        &config,
        format!(
            "[credential]\n\thelper = \"!'{}' git-credential\"\n",
            bins::cli().display()
        ),
    )
    .unwrap();
    let mut child = s
        .command("git")
        .args(["credential", action])
        .env("GIT_CONFIG_GLOBAL", &config)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_ASKPASS")
        .env_remove("SSH_ASKPASS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn field<'a>(out: &'a str, key: &str) -> Option<&'a str> {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn git_credential_fill_gets_a_token_the_server_issued_and_reject_replaces_it() {
    require_session();
    let server = OidcServer::start();
    let s = git_account(&server);
    let out = git_credential(&s, "fill", "protocol=https\nhost=git.example.test\n\n");
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(field(&said, "username"), Some("oauth2"), "{said}");
    let token = field(&said, "password").unwrap().to_owned();
    assert!(server.issued_tokens().contains(&token));
    assert_eq!(server.whoami(&token), (200, "alice".into()));

    // The helper itself also says when the token expires (git ≥ 2.41 uses it).
    let out = s.cli_with_stdin(
        &["git-credential", "get"],
        "protocol=https\nhost=git.example.test\n\n",
    );
    let expiry: i64 = field(&String::from_utf8_lossy(&out.stdout), "password_expiry_utc")
        .unwrap()
        .parse()
        .unwrap();
    assert!(expiry > time::OffsetDateTime::now_utc().unix_timestamp());

    // The git host rejected it: git erases it, Tokentray finds another (one refresh).
    let before = server.refresh_count();
    let out = git_credential(
        &s,
        "reject",
        &format!("protocol=https\nhost=git.example.test\nusername=oauth2\npassword={token}\n\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(server.refresh_count(), before + 1);
    let out = git_credential(&s, "fill", "protocol=https\nhost=git.example.test\n\n");
    let again = field(&String::from_utf8_lossy(&out.stdout), "password")
        .unwrap()
        .to_owned();
    assert_ne!(again, token);
    assert_eq!(server.whoami(&again), (200, "alice".into()));
    // `store` is a no-op and says nothing.
    let out = s.cli_with_stdin(
        &["git-credential", "store"],
        &format!("protocol=https\nhost=git.example.test\nusername=x\npassword={again}\n\n"),
    );
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{}",
        text(&out)
    );
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn hosts_no_account_claims_get_nothing_so_git_asks_its_next_helper() {
    require_session();
    let server = OidcServer::start();
    let s = git_account(&server);
    for input in [
        "protocol=https\nhost=github.com\n\n",
        // The right host over plain http: a token is never sent in the clear.
        "protocol=http\nhost=git.example.test\n\n",
    ] {
        let out = s.cli_with_stdin(&["git-credential", "get"], input);
        assert!(out.status.success(), "{}", text(&out));
        assert!(out.stdout.is_empty(), "{input:?}: {}", text(&out));
        // Through git: no helper answered and prompts are off, so git gives up.
        let out = git_credential(&s, "fill", input);
        assert!(!out.status.success(), "{}", text(&out));
        assert!(field(&String::from_utf8_lossy(&out.stdout), "password").is_none());
    }
}

#[test]
fn exec_credential_is_a_kubernetes_exec_credential_with_a_valid_token() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "kube", "kim");
    let out = s.cli(&["exec-credential", "kube"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(v["kind"], "ExecCredential");
    let token = v["status"]["token"].as_str().unwrap();
    assert_eq!(server.whoami(token), (200, "kim".into()));
    let expires = time::OffsetDateTime::parse(
        v["status"]["expirationTimestamp"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(expires > time::OffsetDateTime::now_utc());
    // An unknown account: the contract's exit code, nothing on stdout.
    let out = s.cli(&["exec-credential", "nobody"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(out.stdout.is_empty());
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn completions_for_bash_zsh_and_fish_know_every_command() {
    let s = Sandbox::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = s.cli(&["completions", shell]);
        assert!(out.status.success(), "{}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for cmd in ["git-credential", "exec-credential", "login", "status"] {
            assert!(script.contains(cmd), "{shell} completions lack {cmd}");
        }
    }
    // The bash script loads and registers itself.
    let out = s.cli(&["completions", "bash"]);
    let file = s.root().join("tokentray.bash");
    std::fs::write(&file, &out.stdout).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p tokentray",
            file.display()
        ))
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
}

#[test]
fn the_status_table_is_coloured_only_on_a_terminal() {
    require_session();
    let server = OidcServer::start();
    let s = Sandbox::new();
    s.sign_in(&server, "tty", "tess");
    let piped = s.cli(&["status"]);
    assert!(piped.status.success());
    assert!(!piped.stdout.contains(&0x1b), "{}", text(&piped));
    // `script` gives the command a terminal.
    let cli = bins::cli().display().to_string();
    let on_tty = s
        .command("script")
        .args(["-qec", &format!("'{cli}' status"), "/dev/null"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&on_tty.stdout);
    assert!(shown.contains("\x1b[32m"), "{shown:?}");
    assert!(shown.contains("tty"), "{shown:?}");
    let plain = s
        .command("script")
        .args(["-qec", &format!("'{cli}' status"), "/dev/null"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!plain.stdout.contains(&0x1b), "{:?}", plain.stdout);
}
