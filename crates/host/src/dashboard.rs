//! The dashboard is a process of its own (`tokentray-app --dashboard`): a tray starts it when
//! asked and it exits when its window closes, so WebKit's processes and memory go with it and an
//! idle tray carries no webview at all. Both trays (the Tauri one and the StatusNotifierItem)
//! start it through [`DashboardProcess`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The flag that makes `tokentray-app` the dashboard.
pub const DASHBOARD_ARG: &str = "--dashboard";
/// Why the tray has no engine, passed to its dashboard to show instead of an empty page.
pub const ENGINE_ERROR_ENV: &str = "TOKENTRAY_ENGINE_ERROR";

/// In a tray process: its dashboard process, if one is running.
#[derive(Debug, Clone, Default)]
pub struct DashboardProcess {
    running: Arc<AtomicBool>,
    engine_error: Option<String>,
}

impl DashboardProcess {
    /// The dashboard of a tray whose engine could not start, for `problem`'s sake.
    pub fn without_engine(problem: &str) -> DashboardProcess {
        DashboardProcess {
            engine_error: Some(problem.to_owned()),
            ..DashboardProcess::default()
        }
    }

    /// Starts the dashboard unless it runs. A running one brings itself to the front when it
    /// hears the activation event over the socket.
    pub fn open(&self) {
        if self.running.swap(true, Ordering::SeqCst) {
            return;
        }
        // The installed binary, not `current_exe()`: after an upgrade that one reads "(deleted)".
        let spawned = tokentray_core::paths::app_binary().and_then(|exe| {
            let mut cmd = std::process::Command::new(exe);
            cmd.arg(DASHBOARD_ARG).stdin(std::process::Stdio::null());
            if let Some(problem) = &self.engine_error {
                cmd.env(ENGINE_ERROR_ENV, problem);
            }
            cmd.spawn()
        });
        match spawned {
            Ok(mut child) => {
                tracing::info!(pid = child.id(), "dashboard opened");
                let running = self.running.clone();
                // Reaps it when the window closes, so it leaves no zombie and can open again.
                std::thread::spawn(move || {
                    let status = child.wait();
                    running.store(false, Ordering::SeqCst);
                    tracing::info!(?status, "dashboard closed");
                });
            }
            Err(e) => {
                self.running.store(false, Ordering::SeqCst);
                tracing::error!("cannot open the dashboard: {e}");
            }
        }
    }
}
