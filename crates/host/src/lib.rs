//! Tokentray's host layer: the adapters that put the engine (`tokentray-core`) on a desktop.
//! The local socket and its client, the one-per-user claim, desktop notifications, the sleep
//! and clock watchers, the clipboard, the browser, launch at login, and the signals a GUI
//! listens to (activation, app settings changed), and the network watcher. [`Host::run`] is what both `tokentray run
//! --headless` and the tray app call; the engine knows nothing of any of this.

pub mod autostart;
pub mod browser;
#[cfg(target_os = "linux")]
mod bus;
pub mod clipboard;
pub mod dashboard;
pub mod desk;
pub mod instance;
pub mod netwatch;
pub mod notifier;
pub mod peer;
pub mod relogin;
pub mod run;
pub mod signals;
pub mod sleepwatch;
#[cfg(target_os = "linux")]
pub mod sni;
pub mod socket;
mod told;
pub mod transport;
pub mod tray_actions;
pub mod tray_choice;
pub mod tray_model;
#[cfg(target_os = "linux")]
pub mod tray_process;

pub use run::{Host, Kind};
pub use signals::Signal;
