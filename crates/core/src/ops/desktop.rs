//! Operations about the process and the desktop around it: ping, activation, the event stream,
//! reloading, the app's own settings, launch at login, the log folder.

use serde::{Deserialize, Serialize};

use super::context::Cx;
use super::error::{code, OpError};

/// The socket protocol's version. New operations and new fields are additions that keep it; a
/// change that breaks an existing request or answer raises it.
pub const PROTOCOL: u32 = 2;

/// What `ping` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingInfo {
    /// `app`, `headless`, `cli` or `app-without-engine`.
    pub kind: String,
    /// The engine's process id.
    pub pid: u32,
    /// The engine's version.
    pub version: String,
    /// The socket protocol's version: [`PROTOCOL`].
    #[serde(default)]
    pub protocol: u32,
}

impl PingInfo {
    /// This process's answer, as a `kind`.
    pub fn of_this_process(kind: &str) -> PingInfo {
        PingInfo {
            kind: kind.to_owned(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            protocol: PROTOCOL,
        }
    }
}

/// What `app_settings` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSettingsView {
    /// Whether the tray app launches at login.
    pub autostart: bool,
    /// Notify permanent failures.
    pub notify_permanent: bool,
    /// Notify configuration failures.
    pub notify_config: bool,
    /// The settings file.
    pub settings_file: String,
    /// The log folder.
    pub log_dir: String,
    /// Tokentray's version.
    pub version: String,
}

pub(super) async fn ping(cx: &Cx<'_>) -> Result<PingInfo, OpError> {
    Ok(PingInfo::of_this_process(cx.desk.kind()))
}

pub(super) async fn activate(cx: &Cx<'_>, open_dashboard: bool) -> Result<(), OpError> {
    cx.desk.activate(open_dashboard);
    Ok(())
}

pub(super) async fn subscribe(_: &Cx<'_>) -> Result<(), OpError> {
    Err(OpError::new(
        code::UNSUPPORTED,
        "only the running engine's socket streams events; start Tokentray with `tokentray run`",
    ))
}

pub(super) async fn reload(cx: &Cx<'_>) -> Result<(), OpError> {
    Ok(cx.engine.reload()?)
}

pub(super) async fn app_settings(cx: &Cx<'_>) -> Result<AppSettingsView, OpError> {
    let n = cx.engine.settings().notifications;
    let paths = cx.engine.paths();
    Ok(AppSettingsView {
        autostart: cx.desk.autostart(),
        notify_permanent: n.permanent,
        notify_config: n.config,
        settings_file: paths.settings_file().display().to_string(),
        log_dir: paths.log_dir().display().to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

pub(super) async fn set_autostart(cx: &Cx<'_>, on: bool) -> Result<(), OpError> {
    cx.desk
        .set_autostart(on)
        .map_err(|e| OpError::new(code::UNSUPPORTED, e))
}

pub(super) async fn open_log_folder(cx: &Cx<'_>) -> Result<(), OpError> {
    let dir = cx.engine.paths().log_dir();
    std::fs::create_dir_all(&dir).map_err(|e| {
        OpError::invalid(format!(
            "cannot create {}: {e}; check that the folder is writable",
            dir.display()
        ))
    })?;
    cx.desk
        .open_folder(&dir)
        .map_err(|e| OpError::new(code::UNSUPPORTED, e))
}
