//! The host's own signals: what a GUI listens to besides the engine's events. They are the
//! host's, not the engine's: a second launch asking to be shown, and app settings (launch at
//! login) changed. The socket's `subscribe` stream carries them beside the engine's events, in
//! the same `{"kind": …}` shape.

use serde::Serialize;
use tokio::sync::broadcast;

/// Something the GUI around the engine should react to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// A second launch handed over (or the tray's "Open dashboard"): a GUI shows itself.
    ActivateRequested {
        /// True to open the dashboard (not for `--minimized`).
        open_dashboard: bool,
    },
    /// The app's own settings changed (launch at login): menus re-read them.
    SettingsChanged,
}

/// The host's signal channel; clones share it.
#[derive(Clone)]
pub struct Signals(broadcast::Sender<Signal>);

impl Default for Signals {
    fn default() -> Signals {
        Signals(broadcast::channel(16).0)
    }
}

impl Signals {
    /// Sends `signal` to every listener (none listening is fine).
    pub fn send(&self, signal: Signal) {
        let _ = self.0.send(signal);
    }

    /// A new listener.
    pub fn subscribe(&self) -> broadcast::Receiver<Signal> {
        self.0.subscribe()
    }
}
