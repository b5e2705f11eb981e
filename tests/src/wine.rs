//! Tokentray's Windows build under Wine: where `make test` put the `.exe` and the Wine prefix
//! (`tests/windows/toolchain.sh`, a cache outside the clone), and how to run it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cache `tests/windows/toolchain.sh` fills: `$TOKENTRAY_WINDOWS_CACHE`, else
/// `$XDG_CACHE_HOME/tokentray-windows`, else `~/.cache/tokentray-windows`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TOKENTRAY_WINDOWS_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join("tokentray-windows")
}

/// The Windows CLI and the prefix it runs in.
#[derive(Debug, Clone)]
pub struct Wine {
    exe: PathBuf,
    prefix: PathBuf,
}

impl Wine {
    /// The `tokentray.exe` that `make test` built; panics with what to run when it is missing,
    /// so that a run without it fails instead of testing nothing.
    pub fn locate() -> Wine {
        let cache = cache_dir();
        let exe = cache.join("target/x86_64-pc-windows-gnu/release/tokentray.exe");
        let prefix = cache.join("wine");
        assert!(
            exe.exists() && prefix.join("system.reg").exists(),
            "the Windows build is missing ({}): run `make test`, or `make windows` to build it alone",
            exe.display()
        );
        Wine { exe, prefix }
    }

    /// `wine tokentray-app.exe`, the tray app built beside the CLI, in this prefix.
    pub fn app_command(&self) -> Command {
        self.system_command(
            &self
                .exe
                .with_file_name("tokentray-app.exe")
                .to_string_lossy(),
        )
    }

    /// The Wine prefix (its registry files and `drive_c`).
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// `wine tokentray.exe`, in this prefix, quiet.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg(&self.exe)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all");
        cmd
    }

    /// `wine PROGRAM` for one of Windows' own programs (`reg`), in this prefix.
    pub fn system_command(&self, program: &str) -> Command {
        let mut cmd = Command::new("wine");
        cmd.arg(program)
            .env("WINEPREFIX", &self.prefix)
            .env("WINEARCH", "win64")
            .env("WINEDEBUG", "-all");
        cmd
    }
}

/// A Linux path as the Windows program sees it (Wine maps `/` to drive `Z:`).
pub fn windows_path(path: &Path) -> String {
    format!("Z:{}", path.display()).replace('/', "\\")
}
