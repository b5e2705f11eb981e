//! An isolated home for one test: its own XDG folders, so tests run in parallel without sharing
//! settings, state, sockets or autostart entries.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A temporary home; everything Tokentray writes during the test lands under it.
pub struct Sandbox {
    dir: tempfile::TempDir,
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
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
        Sandbox { dir }
    }

    /// The sandbox's root.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_CONFIG_HOME/tokentray`.
    pub fn config_dir(&self) -> PathBuf {
        self.root().join("config/tokentray")
    }

    /// `$XDG_STATE_HOME/tokentray`.
    pub fn state_dir(&self) -> PathBuf {
        self.root().join("state/tokentray")
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
            .env("HOME", r.join("home"))
            .env_remove("TOKENTRAY_APP")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs the CLI with `args` to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(crate::bins::cli())
            .args(args)
            .output()
            .expect("run tokentray")
    }

    /// Starts `program` with `args` in the background, its output in files under the sandbox.
    pub fn spawn(&self, program: impl AsRef<Path>, args: &[&str], log_name: &str) -> Running {
        let log = self.root().join(log_name);
        let out = std::fs::File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        let child = self
            .command(program)
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
