//! Where Tokentray keeps its files, per the platform's conventions (XDG on Linux).

use std::path::{Path, PathBuf};

/// The directories the engine and the CLI use. Built once from the environment, then passed
/// around, so tests can point a whole engine at a temporary directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Human-editable settings (providers, accounts, jobs). Never holds a secret.
    pub config_dir: PathBuf,
    /// Status, history and logs. Never holds a secret.
    pub state_dir: PathBuf,
    /// The local socket and the single-instance lock; private to the user (0700).
    pub runtime_dir: PathBuf,
}

impl Paths {
    /// The platform's directories for the current user (`$XDG_CONFIG_HOME/tokentray` and friends;
    /// `%APPDATA%\tokentray` and `%LOCALAPPDATA%\tokentray` on Windows), or all three under
    /// `$TOKENTRAY_HOME` when it is set (a portable setup; the Windows tests give each sandbox
    /// one, since Windows' folders do not follow environment variables).
    pub fn from_env() -> Paths {
        if let Some(root) = std::env::var_os("TOKENTRAY_HOME").filter(|r| !r.is_empty()) {
            return Paths::under(Path::new(&root));
        }
        let home = dirs::home_dir().unwrap_or_else(std::env::temp_dir);
        let config = dirs::config_dir().unwrap_or_else(|| home.join(".config"));
        // macOS and Windows have no state dir; their local data dir is the equivalent.
        let state = dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .unwrap_or_else(|| home.join(".local/state"));
        let runtime_dir = dirs::runtime_dir()
            .map(|r| r.join(APP_DIR))
            .unwrap_or_else(fallback_runtime_dir);
        Paths {
            config_dir: config.join(APP_DIR),
            state_dir: state.join(APP_DIR),
            runtime_dir,
        }
    }

    /// All three directories under one root; for tests and portable setups.
    pub fn under(root: &Path) -> Paths {
        Paths {
            config_dir: root.join("config"),
            state_dir: root.join("state"),
            runtime_dir: root.join("run"),
        }
    }

    /// The settings file.
    pub fn settings_file(&self) -> PathBuf {
        self.config_dir.join("settings.toml")
    }

    /// The engine's persisted account states (status, last error; no secrets).
    pub fn state_file(&self) -> PathBuf {
        self.state_dir.join("state.json")
    }

    /// The folder of rolling log files.
    pub fn log_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    /// The running engine's local socket.
    pub fn socket_file(&self) -> PathBuf {
        self.runtime_dir.join("engine.sock")
    }

    /// The lock that makes one engine per user.
    pub fn instance_lock_file(&self) -> PathBuf {
        self.runtime_dir.join("engine.lock")
    }
}

const APP_DIR: &str = "tokentray";

/// Without `$XDG_RUNTIME_DIR` (cron, a bare SSH session, some containers): systemd's per-user
/// folder when there is one, so such a process still finds the engine of the desktop session;
/// else a per-user folder in the temp dir. `instance` makes it 0700 and refuses one owned by
/// someone else.
fn fallback_runtime_dir() -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = crate::fsutil::current_uid().unwrap_or(0);
        let systemd = PathBuf::from(format!("/run/user/{uid}"));
        if std::fs::metadata(&systemd).is_ok_and(|m| m.is_dir() && m.uid() == uid) {
            return systemd.join(APP_DIR);
        }
        std::env::temp_dir()
            .join(format!("tokentray-{uid}"))
            .join(APP_DIR)
    }
    // Windows has no runtime folder: the local (not roaming) application data, per user.
    #[cfg(not(unix))]
    {
        dirs::data_local_dir()
            .map(|d| d.join(APP_DIR))
            .unwrap_or_else(std::env::temp_dir)
            .join("run")
    }
}

/// The tray app's executable, for launching it and for the launch-at-login entry.
///
/// `$TOKENTRAY_APP` wins; else, inside an AppImage, the AppImage itself (`$APPIMAGE`: the
/// binaries run from a mount that is gone after exit, and the AppImage starts the tray app);
/// else `tokentray-app` beside the running executable (both binaries ship side by side, in
/// `/usr/bin` once installed); else the running executable itself when it is the app.
pub fn app_binary() -> std::io::Result<PathBuf> {
    if let Some(p) = std::env::var_os("TOKENTRAY_APP") {
        return Ok(PathBuf::from(p));
    }
    if let Some(appimage) = std::env::var_os("APPIMAGE").map(PathBuf::from) {
        if appimage.is_file() {
            return Ok(appimage);
        }
    }
    let me = std::env::current_exe()?;
    let name = format!("tokentray-app{}", std::env::consts::EXE_SUFFIX);
    let sibling = me.with_file_name(&name);
    if sibling.exists() {
        return Ok(sibling);
    }
    if me.file_name().is_some_and(|n| n == name.as_str()) {
        return Ok(me);
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!(
            "the tray app ({name}) is not installed beside {}; build it with `make run` or set TOKENTRAY_APP",
            me.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_live_in_their_directories() {
        let p = Paths::under(Path::new("/x"));
        assert_eq!(p.settings_file(), Path::new("/x/config/settings.toml"));
        assert_eq!(p.state_file(), Path::new("/x/state/state.json"));
        assert_eq!(p.socket_file(), Path::new("/x/run/engine.sock"));
        assert_eq!(p.log_dir(), Path::new("/x/state/logs"));
    }
}
