//! Opening a page in the person's browser: `$BROWSER` when set (each `:`-separated entry tried
//! in turn; `%s` is replaced by the URL, else the URL is the last argument), else the platform's
//! opener. Called only because a person asked (a click, a command), never from a background job.

use std::process::{Command, Stdio};

/// Why no browser could be started.
#[derive(Debug, thiserror::Error)]
#[error("cannot open a browser ({0}); open the sign-in page yourself with `tokentray login NAME --no-browser`")]
pub struct BrowserError(String);

/// Starts the browser on `url` and returns at once; the browser is reaped in the background.
pub fn open(url: &str) -> Result<(), BrowserError> {
    spawn_first(candidates(url))
}

/// Opens a folder or file with the platform's opener (a file manager for a folder), never
/// `$BROWSER`.
pub fn open_path(path: &std::path::Path) -> Result<(), BrowserError> {
    let target = path.to_string_lossy();
    spawn_first(platform_openers(&target))
}

fn spawn_first(commands: Vec<Command>) -> Result<(), BrowserError> {
    let mut tried = Vec::new();
    for mut cmd in commands {
        let program = format!("{:?}", cmd.get_program());
        match cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            // Openers echo the URL (it carries the flow's `state`): keep it out of our logs.
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(mut child) => {
                // Reap it whenever it ends; a browser that exits with an error is logged.
                let _ = std::thread::Builder::new()
                    .name("tokentray-browser".into())
                    .spawn(move || match child.wait() {
                        Ok(s) if !s.success() => {
                            tracing::warn!("the browser ({program}) exited with {s}")
                        }
                        _ => {}
                    });
                return Ok(());
            }
            Err(e) => tried.push(format!("{program}: {e}")),
        }
    }
    Err(BrowserError(if tried.is_empty() {
        "no opener for this platform".into()
    } else {
        tried.join("; ")
    }))
}

fn candidates(url: &str) -> Vec<Command> {
    let from_env: Vec<Command> = std::env::var("BROWSER")
        .unwrap_or_default()
        .split(':')
        .filter(|e| !e.trim().is_empty())
        .filter_map(|entry| {
            let mut words = entry.split_whitespace().map(str::to_owned);
            let mut cmd = Command::new(words.next()?);
            let mut placed = false;
            for w in words {
                placed |= w.contains("%s");
                cmd.arg(w.replace("%s", url));
            }
            if !placed {
                cmd.arg(url);
            }
            Some(cmd)
        })
        .collect();
    if !from_env.is_empty() {
        return from_env;
    }
    platform_openers(url)
}

fn platform_openers(url: &str) -> Vec<Command> {
    let mut platform = Vec::new();
    if cfg!(target_os = "macos") {
        let mut c = Command::new("open");
        c.arg(url);
        platform.push(c);
    } else if cfg!(windows) {
        // Not `cmd /C start`: cmd would split the URL at every `&` of its query.
        let mut c = Command::new("rundll32");
        c.args(["url.dll,FileProtocolHandler", url]);
        platform.push(c);
    } else {
        for opener in ["xdg-open", "gio", "sensible-browser"] {
            let mut c = Command::new(opener);
            if opener == "gio" {
                c.arg("open");
            }
            c.arg(url);
            platform.push(c);
        }
    }
    platform
}
