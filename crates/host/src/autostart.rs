//! Launch at login: an XDG autostart entry on Linux, a LaunchAgent on macOS, the Run key on
//! Windows. The CLI's `autostart` command and the tray's check item both use this.

#[cfg(windows)]
mod runkey;

use std::path::{Path, PathBuf};

use tokentray_core::fsutil;

/// The argument that makes the app start in the tray with no window.
pub const MINIMIZED_ARG: &str = "--minimized";

/// Where launch-at-login is recorded for this user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Autostart {
    place: Place,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// A file the session manager reads (XDG autostart, LaunchAgent).
    File(PathBuf),
    /// A value of `HKCU\Software\Microsoft\Windows\CurrentVersion\Run`.
    #[cfg(windows)]
    RunKey(String),
}

/// Why launch-at-login could not be changed or read.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} the launch-at-login entry {place}: {source}")]
pub struct AutostartError {
    action: &'static str,
    place: String,
    source: std::io::Error,
}

impl Autostart {
    /// The current user's entry, where the platform's session manager looks for it.
    pub fn for_current_user() -> Autostart {
        #[cfg(windows)]
        return Autostart {
            place: Place::RunKey("Tokentray".into()),
        };
        #[cfg(target_os = "macos")]
        let entry = dirs::home_dir()
            .unwrap_or_default()
            .join("Library/LaunchAgents/dev.tokentray.Tokentray.plist");
        #[cfg(all(not(target_os = "macos"), not(windows)))]
        let entry = dirs::config_dir()
            .unwrap_or_else(|| dirs::home_dir().unwrap_or_default().join(".config"))
            .join("autostart/tokentray.desktop");
        #[cfg(not(windows))]
        Autostart {
            place: Place::File(entry),
        }
    }

    /// An entry at an explicit path (tests).
    pub fn at(entry: PathBuf) -> Autostart {
        Autostart {
            place: Place::File(entry),
        }
    }

    /// Where the entry is, for people: a path, or the registry value.
    pub fn location(&self) -> String {
        match &self.place {
            Place::File(p) => p.display().to_string(),
            #[cfg(windows)]
            Place::RunKey(name) => format!("HKCU\\{}\\{name}", runkey::RUN),
        }
    }

    /// Starts `app --minimized` at every login.
    pub fn enable(&self, app: &Path) -> Result<(), AutostartError> {
        let failed = |source| AutostartError {
            action: "write",
            place: self.location(),
            source,
        };
        match &self.place {
            Place::File(entry) => {
                let text = if cfg!(target_os = "macos") {
                    launch_agent(app)
                } else {
                    desktop_entry(app)
                };
                fsutil::write_atomic(entry, text.as_bytes()).map_err(failed)
            }
            #[cfg(windows)]
            Place::RunKey(name) => runkey::set(name, &run_command(app)).map_err(failed),
        }
    }

    /// Stops starting at login. Disabling twice is fine.
    pub fn disable(&self) -> Result<(), AutostartError> {
        let result = match &self.place {
            Place::File(entry) => std::fs::remove_file(entry),
            #[cfg(windows)]
            Place::RunKey(name) => runkey::delete(name),
        };
        match result {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(AutostartError {
                action: "remove",
                place: self.location(),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Whether the entry exists.
    pub fn is_enabled(&self) -> bool {
        match &self.place {
            Place::File(entry) => entry.exists(),
            #[cfg(windows)]
            Place::RunKey(name) => runkey::get(name).is_ok_and(|v| v.is_some()),
        }
    }
}

/// The Run key's command line: the program quoted (paths under `Program Files` have spaces),
/// then the argument.
#[cfg_attr(not(windows), allow(dead_code))]
fn run_command(app: &Path) -> String {
    format!("\"{}\" {MINIMIZED_ARG}", app.display())
}

/// A freedesktop.org desktop entry (the XDG autostart spec reads these).
fn desktop_entry(app: &Path) -> String {
    format!(
        "[Desktop Entry]\n\
         Type=Application\n\
         Name=Tokentray\n\
         Comment=Keeps your OAuth tokens fresh\n\
         Exec={} {MINIMIZED_ARG}\n\
         Icon=tokentray\n\
         Terminal=false\n\
         X-GNOME-Autostart-enabled=true\n",
        desktop_exec_arg(&app.to_string_lossy())
    )
}

/// Quotes one `Exec` argument: the Exec-level quoting of the desktop entry spec (backslash before
/// `"`, `` ` ``, `$`, `\`), then the string-level escape of backslashes, and `%` doubled.
fn desktop_exec_arg(arg: &str) -> String {
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        match c {
            '"' | '`' | '$' => {
                quoted.push_str("\\\\");
                quoted.push(c);
            }
            '\\' => quoted.push_str("\\\\\\\\"),
            '%' => quoted.push_str("%%"),
            _ => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// A per-user LaunchAgent that runs the app once at login.
fn launch_agent(app: &Path) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>dev.tokentray.Tokentray</string>
  <key>ProgramArguments</key>
  <array><string>{}</string><string>{MINIMIZED_ARG}</string></array>
  <key>RunAtLoad</key><true/>
  <key>ProcessType</key><string>Interactive</string>
</dict>
</plist>
"#,
        escape(&app.to_string_lossy())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enable_writes_an_entry_that_starts_minimized_and_disable_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let a = Autostart::at(dir.path().join("autostart/tokentray.desktop"));
        assert!(!a.is_enabled());
        a.enable(Path::new("/opt/token tray/tokentray-app"))
            .unwrap();
        assert!(a.is_enabled());
        let text = std::fs::read_to_string(dir.path().join("autostart/tokentray.desktop")).unwrap();
        assert!(
            text.contains("\nExec=\"/opt/token tray/tokentray-app\" --minimized\n"),
            "{text}"
        );
        a.disable().unwrap();
        assert!(!a.is_enabled());
        a.disable().unwrap();
    }

    #[test]
    fn exec_quoting_follows_the_desktop_entry_spec() {
        assert_eq!(desktop_exec_arg("/a b/c"), "\"/a b/c\"");
        assert_eq!(desktop_exec_arg("/x$y"), "\"/x\\\\$y\"");
        assert_eq!(desktop_exec_arg("/50%"), "\"/50%%\"");
        assert_eq!(desktop_exec_arg("/a\\b"), "\"/a\\\\\\\\b\"");
    }

    #[test]
    fn the_run_key_command_quotes_the_program() {
        assert_eq!(
            run_command(Path::new(r"C:\Program Files\Tokentray\tokentray-app.exe")),
            r#""C:\Program Files\Tokentray\tokentray-app.exe" --minimized"#
        );
    }

    #[test]
    fn launch_agent_runs_the_app_minimized() {
        let plist = launch_agent(Path::new(
            "/Applications/Tokentray.app/Contents/MacOS/tokentray-app",
        ));
        assert!(plist.contains("<string>--minimized</string>"));
        assert!(plist.contains("<key>RunAtLoad</key><true/>"));
    }
}
