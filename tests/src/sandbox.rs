//! An isolated home for one test: its own XDG folders, so tests run in parallel without sharing
//! settings, state, sockets or autostart entries.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::deadline::{OutputWithin, CLI_DEADLINE};

/// A temporary home; everything Tokentray writes during the test lands under it.
pub struct Sandbox {
    dir: tempfile::TempDir,
    /// Extra environment for every process the sandbox starts (a private bus, `$BROWSER`).
    env: Vec<(String, String)>,
    /// The OIDC servers whose accounts live here: when the sandbox is dropped, every file in it
    /// is searched for every token they issued, in every test, without the test asking.
    issuers: std::sync::Mutex<Vec<String>>,
    /// Set when the CLI under test is the Windows build under Wine.
    wine: Option<crate::wine::Wine>,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let issuers =
                std::mem::take(&mut *self.issuers.lock().unwrap_or_else(|p| p.into_inner()));
            for issuer in issuers {
                let tokens = crate::oidc::issued_tokens_at(&issuer).unwrap_or_else(|e| {
                    panic!("the leak check cannot ask {issuer} what it issued ({e}); declare the OidcServer before the Sandbox so it outlives it")
                });
                self.assert_files_hold_none_of(&tokens);
            }
        }
        // TOKENTRAY_KEEP_SANDBOX=1 keeps every test's folder (logs, state) for a post-mortem.
        if std::env::var_os("TOKENTRAY_KEEP_SANDBOX").is_some() {
            let dir = std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().expect("a placeholder temp dir"),
            );
            eprintln!("kept the sandbox {}", dir.keep().display());
        }
    }
}

impl Sandbox {
    /// A fresh, empty home.
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("tt-")
            .tempdir()
            .expect("create a temp dir");
        for sub in ["config", "state", "run", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create sandbox folders");
        }
        Sandbox {
            dir,
            env: Vec::new(),
            issuers: std::sync::Mutex::new(Vec::new()),
            wine: None,
        }
    }

    /// A fresh home whose CLI is the Windows build under Wine: every CLI call of this sandbox
    /// runs `tokentray.exe` with all its folders under `$TOKENTRAY_HOME` (this sandbox's root).
    pub fn under_wine(wine: crate::wine::Wine) -> Sandbox {
        let mut s = Sandbox::new();
        s.wine = Some(wine);
        s
    }

    /// The CLI under test with this sandbox's environment: the Linux binary, or the Windows one.
    pub fn cli_command(&self) -> Command {
        match &self.wine {
            None => self.command(crate::bins::cli()),
            Some(wine) => self.windows_command(wine.command()),
        }
    }

    /// `cmd`, a Windows program under Wine, with all its folders under this sandbox's root
    /// (`$TOKENTRAY_HOME`) and this sandbox's environment.
    pub fn windows_command(&self, mut cmd: Command) -> Command {
        cmd.env("TOKENTRAY_HOME", crate::wine::windows_path(self.root()));
        self.with_sandbox_env(cmd)
    }

    /// This sandbox's keychain and extra environment, nothing of the caller's that would change
    /// what Tokentray does (`$TOKENTRAY_APP`, `$RUST_LOG`, `$BROWSER`), and no stdin.
    fn with_sandbox_env(&self, mut cmd: Command) -> Command {
        cmd.env("TOKENTRAY_KEYCHAIN_SERVICE", self.keychain_service())
            .env_remove("TOKENTRAY_APP")
            .env_remove("RUST_LOG")
            .env_remove("BROWSER")
            .stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Every process started from now on gets `key=value` (a private bus, `$BROWSER`, …).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// `$BROWSER` is the scripted user, signing in as `user`, logging each run to a file.
    pub fn use_scripted_user(&mut self, user: &str) {
        let script = crate::oidc::scripted_user();
        self.set_env("BROWSER", &script.to_string_lossy());
        self.set_env("TT_USER", user);
        let log = self.root().join("user.log");
        self.set_env("TT_USER_LOG", &log.to_string_lossy());
    }

    /// The runs of the scripted user so far (one JSON object each).
    pub fn scripted_user_runs(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.root().join("user.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The keychain service name this sandbox's Tokentray uses, so tests share the Secret
    /// Service without sharing entries.
    pub fn keychain_service(&self) -> String {
        let name = self
            .root()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("tokentray-test-{name}")
    }

    /// Runs the CLI with `args` and `stdin` as its standard input.
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        self.cli_command()
            .args(args)
            .output_within(CLI_DEADLINE, Some(stdin.as_bytes()))
    }

    /// Adds provider `local` for `issuer` and account `name` signed in as `user` (through the
    /// provider's real login page, driven by the scripted user, then `account import`).
    pub fn sign_in(&self, server: &crate::oidc::OidcServer, name: &str, user: &str) {
        self.add_account(server, name);
        let tokens = server.sign_in(user);
        let out = self.cli_with_stdin(&["account", "import", name], &tokens);
        assert!(
            out.status.success(),
            "account import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Adds provider `local` for `issuer` (once) and account `name`, not signed in.
    pub fn add_account(&self, server: &crate::oidc::OidcServer, name: &str) {
        self.add_account_with(server, name, &[]);
    }

    /// [`Sandbox::add_account`] with more `account add` options (`--git-host HOST`, …).
    pub fn add_account_with(&self, server: &crate::oidc::OidcServer, name: &str, options: &[&str]) {
        {
            let mut issuers = self.issuers.lock().unwrap_or_else(|p| p.into_inner());
            if !issuers.iter().any(|i| i == server.issuer()) {
                issuers.push(server.issuer().to_owned());
            }
        }
        let settings =
            std::fs::read_to_string(self.config_dir().join("settings.toml")).unwrap_or_default();
        if !settings.contains("[provider.local]") {
            let out = self.cli(&[
                "provider",
                "add",
                "local",
                "--issuer",
                server.issuer(),
                "--client-id",
                "tokentray",
                "--scope",
                "openid",
                "--scope",
                "offline_access",
                "--scope",
                "api",
            ]);
            assert!(
                out.status.success(),
                "provider add: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let mut args = vec!["account", "add", name, "--provider", "local"];
        args.extend_from_slice(options);
        let out = self.cli(&args);
        assert!(
            out.status.success(),
            "account add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Every file under the sandbox (settings, state, logs, sockets' folder) and every captured
    /// output: none may contain any token the server issued.
    pub fn assert_no_secrets(&self, server: &crate::oidc::OidcServer, extra_text: &[&str]) {
        let tokens = server.issued_tokens();
        assert!(
            !tokens.is_empty(),
            "the server issued no tokens; the check would prove nothing"
        );
        assert!(
            self.files()
                .iter()
                .any(|(p, _)| p.ends_with("settings.toml")),
            "no settings file to check"
        );
        self.assert_files_hold_none_of(&tokens);
        for token in &tokens {
            for text in extra_text {
                assert!(
                    !text.contains(token.as_str()),
                    "a token leaked into captured output"
                );
            }
        }
    }

    /// No file under the sandbox contains any of `tokens`.
    fn assert_files_hold_none_of(&self, tokens: &[String]) {
        let files = self.files();
        for token in tokens {
            for (path, text) in &files {
                assert!(
                    !text.contains(token.as_str()),
                    "a token leaked into {}",
                    path.display()
                );
            }
        }
    }

    /// Every file under the sandbox, with its text.
    fn files(&self) -> Vec<(PathBuf, String)> {
        let mut files = Vec::new();
        let mut stack = vec![self.root().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    files.push((path, String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        }
        files
    }

    /// The sandbox's root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_CONFIG_HOME/tokentray` (under Wine: `$TOKENTRAY_HOME/config`).
    pub fn config_dir(&self) -> PathBuf {
        match self.wine {
            None => self.root().join("config/tokentray"),
            Some(_) => self.root().join("config"),
        }
    }

    /// `$XDG_STATE_HOME/tokentray` (under Wine: `$TOKENTRAY_HOME/state`).
    pub fn state_dir(&self) -> PathBuf {
        match self.wine {
            None => self.root().join("state/tokentray"),
            Some(_) => self.root().join("state"),
        }
    }

    /// `$XDG_RUNTIME_DIR/tokentray/engine.sock`.
    pub fn socket(&self) -> PathBuf {
        self.root().join("run/tokentray/engine.sock")
    }

    /// The XDG autostart entry.
    pub fn autostart_entry(&self) -> PathBuf {
        self.root().join("config/autostart/tokentray.desktop")
    }

    /// Writes `settings.toml`.
    pub fn write_settings(&self, text: &str) {
        std::fs::create_dir_all(self.config_dir()).expect("create config dir");
        std::fs::write(self.config_dir().join("settings.toml"), text).expect("write settings");
    }

    /// A command for `program` that sees only this sandbox's folders.
    pub fn command(&self, program: impl AsRef<Path>) -> Command {
        let mut cmd = Command::new(program.as_ref());
        let r = self.root();
        cmd.env("XDG_CONFIG_HOME", r.join("config"))
            .env("XDG_STATE_HOME", r.join("state"))
            .env("XDG_DATA_HOME", r.join("data"))
            .env("XDG_RUNTIME_DIR", r.join("run"))
            .env("HOME", r.join("home"));
        self.with_sandbox_env(cmd)
    }

    /// One account's entry in `tokentray status --json`.
    pub fn account_status(&self, account: &str) -> serde_json::Value {
        let out = self.cli(&["status", "--json"]);
        assert!(out.status.success(), "{}", crate::output_text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status JSON");
        v["accounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["name"] == account)
            .cloned()
            .unwrap_or_else(|| panic!("{account} not in {v}"))
    }

    /// The account's current access token from `tokentray token` (which must succeed): the one
    /// way tests get a token.
    pub fn token(&self, account: &str) -> String {
        let out = self.cli(&["token", account]);
        assert!(out.status.success(), "token: {}", crate::output_text(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs the CLI with `args` to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.cli_command()
            .args(args)
            .output_within(CLI_DEADLINE, None)
    }

    /// Starts `program` with `args` in the background, its output in files under the sandbox.
    pub fn spawn(&self, program: impl AsRef<Path>, args: &[&str], log_name: &str) -> Running {
        self.spawn_command(self.command(program), args, log_name)
    }

    /// Starts the CLI with `args`, its stdout and stderr piped to the test (for requests that
    /// wait, race, or get signals).
    pub fn cli_child(&self, args: &[&str]) -> Child {
        self.command(crate::bins::cli())
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start the CLI")
    }

    /// Starts the CLI under test (Linux's or, in a Wine sandbox, Windows') in the background.
    pub fn spawn_cli(&self, args: &[&str], log_name: &str) -> Running {
        self.spawn_command(self.cli_command(), args, log_name)
    }

    /// Starts `cmd` with `args` in the background, its output in `log_name` under the sandbox.
    pub fn spawn_command(&self, mut cmd: Command, args: &[&str], log_name: &str) -> Running {
        let log = self.root().join(log_name);
        let out = std::fs::File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        let child = cmd
            .args(args)
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn process");
        Running { child, log }
    }

    /// Waits until an engine answers on this sandbox's socket.
    pub fn wait_for_engine(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let out = self.cli(&["status", "--json"]);
            if out.status.success() && self.socket().exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no engine answered on {} within {within:?}",
            self.socket().display()
        );
    }
}

/// A background process that is killed when dropped.
pub struct Running {
    /// The process.
    pub child: Child,
    /// Its combined stdout and stderr.
    pub log: PathBuf,
}

impl Running {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// What it printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait for process")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
