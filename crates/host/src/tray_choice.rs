//! Which tray this desktop gets: the one seam that chooses per platform. On Linux the tray is a
//! StatusNotifierItem in the engine's own process (no GTK, no WebKit) wherever a panel runs a
//! StatusNotifierWatcher; elsewhere, and where no panel does, the Tauri tray (on Linux
//! libayatana-appindicator, whose XEmbed fallback still docks in a legacy system tray).

use std::time::Duration;

/// Forces a tray: `sni` (the StatusNotifierItem, even before a panel's watcher appears) or `gtk`
/// (the Tauri tray). Unset, the desktop decides.
pub const TRAY_ENV: &str = "TOKENTRAY_TRAY";
/// How long a launch at login waits for the panel's watcher to appear beside it.
pub const LOGIN_PATIENCE: Duration = Duration::from_secs(5);

/// What [`choose`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tray {
    /// The StatusNotifierItem with the engine, in the `tokentray` process.
    StatusNotifier,
    /// The Tauri tray in `tokentray-app`; `note` says what the desktop lacks, for the status.
    Toolkit {
        /// Why not the StatusNotifierItem, when the desktop is the reason.
        note: Option<String>,
    },
}

/// What the status says when no panel shows StatusNotifierItems.
pub const NO_WATCHER: &str = "this desktop's panel shows no StatusNotifierItem tray icons (no \
    StatusNotifierWatcher on the session bus), so the tray runs through GTK, which docks only in \
    a legacy system tray; notifications and the command line work either way, and `tokentray \
    run` opens the dashboard";

/// Chooses the tray, waiting up to `patience` for a panel's watcher (see [`LOGIN_PATIENCE`]).
pub fn choose(patience: Duration) -> Tray {
    #[cfg(target_os = "linux")]
    {
        on_linux(patience)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = patience;
        Tray::Toolkit { note: None }
    }
}

#[cfg(target_os = "linux")]
fn on_linux(patience: Duration) -> Tray {
    let forced = std::env::var(TRAY_ENV).unwrap_or_default();
    if forced == "sni" {
        return Tray::StatusNotifier;
    }
    // Forced to GTK, only the note is left to find out: no waiting.
    let patience = if forced == "gtk" {
        Duration::ZERO
    } else {
        patience
    };
    match crate::sni::watcher_present(None, patience) {
        Ok(true) if forced != "gtk" => Tray::StatusNotifier,
        Ok(true) => Tray::Toolkit { note: None },
        Ok(false) => {
            // Said once: a launcher that chose GTK for this reason has said it already.
            if forced != "gtk" {
                tracing::warn!("{NO_WATCHER}");
            }
            Tray::Toolkit {
                note: Some(NO_WATCHER.to_owned()),
            }
        }
        Err(e) => {
            tracing::warn!("{e}");
            Tray::Toolkit {
                note: Some(e.to_string()),
            }
        }
    }
}
