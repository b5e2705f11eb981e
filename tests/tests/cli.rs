//! The lean CLI as a user meets it: version, help, status, autostart, the headless engine.

use std::time::Duration;

use tokentray_tests::{bins, sandbox::Sandbox};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn version_and_help() {
    let s = Sandbox::new();
    // The workspace's version and, built from this git checkout, the commit it was built from.
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .current_dir(bins::repo_root())
        .output()
        .expect("git");
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_owned();
    assert_eq!(commit.len(), 10, "the tests run in a git checkout");
    for (bin, name) in [(bins::cli(), "tokentray"), (bins::app(), "tokentray-app")] {
        let out = s.command(bin).arg("--version").output().expect("--version");
        assert!(out.status.success());
        assert_eq!(
            stdout(&out).trim(),
            format!("{name} {} (commit {commit})", env!("CARGO_PKG_VERSION"))
        );
    }

    let out = s.cli(&["--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    // Exactly the commands that are built; a command appears here only once it works.
    let listed: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        listed,
        [
            "run",
            "provider",
            "account",
            "login",
            "logout",
            "token",
            "exec",
            "refresh",
            "status",
            "job",
            "pause",
            "resume",
            "autostart",
            "git-credential",
            "exec-credential",
            "completions",
            "help"
        ],
        "{help}"
    );
}

#[test]
fn status_json_with_no_accounts_is_an_empty_list() {
    let s = Sandbox::new();
    let out = s.cli(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"accounts": []}));

    // The empty state says what to run next.
    let out = s.cli(&["status"]);
    let said = stdout(&out);
    assert!(said.starts_with("No accounts yet."), "{said}");
    assert!(
        said.contains("tokentray account add") && said.contains("tokentray login"),
        "{said}"
    );
    let out = s.cli(&["token", "work"]);
    assert_eq!(out.status.code(), Some(7));
    let err = stderr(&out);
    assert!(err.contains("no account is set up yet"), "{err}");
    assert!(err.contains("tokentray account add work"), "{err}");
}

#[test]
fn status_lists_configured_accounts_and_pause_persists() {
    let s = Sandbox::new();
    s.write_settings(
        "[provider.local]\ntoken_url = \"http://127.0.0.1:9/token\"\nclient_id = \"c\"\n\n\
         [[account]]\nname = \"alice\"\nprovider = \"local\"\n",
    );
    let out = s.cli(&["pause", "alice"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_slice(&s.cli(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["accounts"][0]["name"], "alice");
    assert_eq!(v["accounts"][0]["status"], "paused");
    assert!(stdout(&s.cli(&["status"])).contains("alice"));

    assert!(s.cli(&["resume", "alice"]).status.success());
    let v: serde_json::Value =
        serde_json::from_slice(&s.cli(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v["accounts"][0]["status"], "signed_out");
}

#[test]
fn an_unknown_account_exits_7_with_one_line() {
    let s = Sandbox::new();
    let out = s.cli(&["pause", "nobody"]);
    assert_eq!(out.status.code(), Some(7));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nobody"), "{err}");
}

#[test]
fn a_broken_settings_file_is_reported_with_line_and_column_and_kept() {
    let s = Sandbox::new();
    let broken = "[[account]]\nname = \"alice\"\nprovider = = \"x\"\n";
    s.write_settings(broken);
    let out = s.cli(&["status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("settings.toml") && err.contains("line 3"),
        "{err}"
    );
    let kept = std::fs::read_to_string(s.config_dir().join("settings.toml")).unwrap();
    assert_eq!(kept, broken);
}

#[test]
fn autostart_on_writes_an_xdg_entry_with_minimized_and_off_removes_it() {
    let s = Sandbox::new();
    assert_eq!(stdout(&s.cli(&["autostart", "status"])).trim(), "off");

    let out = s.cli(&["autostart", "on"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entry = std::fs::read_to_string(s.autostart_entry()).unwrap();
    let exec = entry
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .expect("an Exec line");
    assert_eq!(
        exec,
        format!("\"{}\" --minimized", bins::app().display()),
        "{entry}"
    );
    assert!(entry.contains("Type=Application"));
    assert!(stdout(&s.cli(&["autostart", "status"])).starts_with("on"));

    assert!(s.cli(&["autostart", "off"]).status.success());
    assert!(!s.autostart_entry().exists());
    assert_eq!(stdout(&s.cli(&["autostart", "status"])).trim(), "off");

    // Run from an AppImage, the entry starts the AppImage, never its temporary mount.
    let appimage = s.root().join("Tokentray-x86_64.AppImage");
    std::fs::write(&appimage, b"").unwrap();
    let out = s
        .command(bins::cli())
        .env("APPIMAGE", &appimage)
        .args(["autostart", "on"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let entry = std::fs::read_to_string(s.autostart_entry()).unwrap();
    assert!(
        entry.contains(&format!("\nExec=\"{}\" --minimized\n", appimage.display())),
        "{entry}"
    );
}

#[test]
fn a_second_headless_run_hands_over_and_exits_0() {
    let s = Sandbox::new();
    let mut first = s.spawn(bins::cli(), &["run", "--headless"], "first.log");
    s.wait_for_engine(Duration::from_secs(20));

    let second = s.cli(&["run", "--headless"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(stdout(&second).contains("already running"));
    // The tray app defers to a running headless engine too.
    let third = s.command(bins::app()).arg("--minimized").output().unwrap();
    assert_eq!(third.status.code(), Some(0), "{}", stderr(&third));
    assert!(first.is_running(), "the first engine must keep running");

    // Status through the socket answers the same document as from disk.
    let v: serde_json::Value =
        serde_json::from_slice(&s.cli(&["status", "--json"]).stdout).unwrap();
    assert_eq!(v, serde_json::json!({"accounts": []}));

    let status = first.terminate();
    assert!(
        status.success(),
        "headless engine should exit cleanly on SIGTERM: {status:?}"
    );
    assert!(!s.socket().exists(), "socket removed on exit");
    assert!(
        first.output().contains("headless engine running"),
        "{}",
        first.output()
    );
    // The rolling log file is in the state folder.
    let logs: Vec<_> = std::fs::read_dir(s.state_dir().join("logs"))
        .unwrap()
        .collect();
    assert_eq!(logs.len(), 1);
}

#[test]
fn rust_log_sets_the_engine_log_level_for_stderr_and_file() {
    let s = Sandbox::new();
    let mut quiet = {
        let log = s.root().join("quiet.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = s
            .command(bins::cli())
            .args(["run", "--headless"])
            .env("RUST_LOG", "warn")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        tokentray_tests::sandbox::Running { child, log }
    };
    s.wait_for_engine(Duration::from_secs(20));
    assert!(quiet.terminate().success());
    assert!(
        !quiet.output().contains("headless engine running"),
        "RUST_LOG=warn must hide info lines: {}",
        quiet.output()
    );
    let logs = s.state_dir().join("logs");
    let file_text: String = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        !file_text.contains("headless engine running"),
        "{file_text}"
    );
}

#[test]
fn a_person_can_overrule_what_a_provider_code_means() {
    let s = Sandbox::new();
    s.write_settings(
        "[provider.local]\ntoken_url = \"http://127.0.0.1:9/token\"\nclient_id = \"c\"\n",
    );
    let settings = || std::fs::read_to_string(s.config_dir().join("settings.toml")).unwrap();
    let out = s.cli(&["provider", "class", "local", "weird_expired", "permanent"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("weird_expired now means permanent"));
    assert!(
        settings().contains("weird_expired = \"permanent\""),
        "{}",
        settings()
    );
    let out = s.cli(&["provider", "class", "local", "weird_expired", "default"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!settings().contains("weird_expired"), "{}", settings());
    let out = s.cli(&["provider", "class", "nope", "x", "config"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("provider list"), "{}", stderr(&out));
}

#[test]
fn tokentray_home_puts_every_folder_under_one_root() {
    let s = Sandbox::new();
    let root = s.root().join("portable");
    let out = s
        .command(bins::cli())
        .env("TOKENTRAY_HOME", &root)
        .arg("status")
        .output()
        .expect("tokentray status");
    assert!(out.status.success(), "{}", stderr(&out));
    let settings = root.join("config/settings.toml");
    assert!(
        stdout(&out).contains(&settings.display().to_string()),
        "{}",
        stdout(&out)
    );
}

#[test]
fn provider_add_says_what_to_register_and_checks_the_client_id_shape() {
    let s = Sandbox::new();
    // No client id yet: what to register at the provider, where, and what to copy.
    let out = s.cli(&["provider", "add", "gh", "--preset", "github"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("https://github.com/settings/apps/new")
            && said.contains("http://127.0.0.1/callback")
            && said.contains("Enable Device Flow"),
        "{said}"
    );
    // A client id of the wrong shape for the public service is refused with the same help.
    let out = s.cli(&[
        "provider",
        "add",
        "ms",
        "--preset",
        "microsoft",
        "--client-id",
        "my-app",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not a microsoft client id"),
        "{}",
        stderr(&out)
    );
    assert!(!s.config_dir().join("settings.toml").exists());
    // The right shapes are taken.
    for (name, preset, id) in [
        ("gh", "github", "Iv1.0123456789abcdef"),
        ("ms", "microsoft", "8eaef023-2b34-4da1-9baa-8bc8c9d6a490"),
    ] {
        let out = s.cli(&[
            "provider",
            "add",
            name,
            "--preset",
            preset,
            "--client-id",
            id,
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
}
