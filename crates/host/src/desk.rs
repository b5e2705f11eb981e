//! The desktop an operation may use (`tokentray_core::ops::Desk`): the clipboard, the browser,
//! launch at login, and showing the GUI through the host's signals.

use std::path::Path;
use std::time::Duration;

use tokentray_core::ops::Desk;
use tokentray_core::secret::Secret;

use crate::autostart::Autostart;
use crate::signals::{Signal, Signals};

/// This machine's desktop, as the host sees it.
#[derive(Clone)]
pub struct HostDesk {
    kind: &'static str,
    signals: Signals,
}

impl HostDesk {
    /// A desk that reports `kind` to `ping` and sends GUI signals on `signals`.
    pub fn new(kind: &'static str, signals: Signals) -> HostDesk {
        HostDesk { kind, signals }
    }
}

impl Desk for HostDesk {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn activate(&self, open_dashboard: bool) {
        tracing::info!(
            open_dashboard,
            "another launch handed over to this {}",
            self.kind
        );
        self.signals
            .send(Signal::ActivateRequested { open_dashboard });
    }

    fn copy_secret(&self, secret: &Secret, for_how_long: Duration) -> bool {
        crate::clipboard::copy(secret.expose(), for_how_long)
    }

    fn open_url(&self, url: &str) -> Result<(), String> {
        crate::browser::open(url).map_err(|e| e.to_string())
    }

    fn open_folder(&self, path: &Path) -> Result<(), String> {
        crate::browser::open_path(path).map_err(|e| e.to_string())
    }

    fn autostart(&self) -> bool {
        Autostart::for_current_user().is_enabled()
    }

    fn set_autostart(&self, on: bool) -> Result<(), String> {
        let autostart = Autostart::for_current_user();
        let result = if on {
            tokentray_core::paths::app_binary()
                .map_err(|e| e.to_string())
                .and_then(|app| autostart.enable(&app).map_err(|e| e.to_string()))
        } else {
            autostart.disable().map_err(|e| e.to_string())
        };
        // The tray's "Launch at login" check item follows, whatever happened.
        self.signals.send(Signal::SettingsChanged);
        result
    }
}
