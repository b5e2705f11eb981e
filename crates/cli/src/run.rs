//! `tokentray run`: the tray, or the engine alone (`--headless`) for SSH boxes and servers. On
//! Linux the tray is this process (the engine and a StatusNotifierItem) wherever the panel shows
//! such icons; elsewhere it is the Tauri tray app (`tokentray_host::tray_choice` decides).

use std::time::Duration;

use tokentray_core::{logging, Engine, Paths};
use tokentray_host::instance::{self, Claim};
use tokentray_host::{Host, Kind};

use crate::error::CliError;

/// Arguments of `run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// Run the engine in this process, with no tray and no windows.
    #[arg(long)]
    headless: bool,
    /// Start in the tray only, with no window (what launch-at-login uses).
    #[arg(long)]
    minimized: bool,
}

/// How long a second launch waits for a first one that is still starting.
const HAND_OVER_PATIENCE: Duration = Duration::from_secs(10);

/// Runs `run`.
pub fn run(paths: &Paths, args: RunArgs) -> Result<(), CliError> {
    if args.headless {
        return headless(paths);
    }
    #[cfg(target_os = "linux")]
    {
        tray(paths, args.minimized)
    }
    #[cfg(not(target_os = "linux"))]
    {
        launch_app(args.minimized, None)
    }
}

/// The tray in this process when the panel shows StatusNotifierItems, else the Tauri tray app.
#[cfg(target_os = "linux")]
fn tray(paths: &Paths, minimized: bool) -> Result<(), CliError> {
    use tokentray_host::tray_choice::{self, Tray, LOGIN_PATIENCE};
    let log = logging::init("info", Some(&paths.log_dir()));
    let guard = match instance::claim(paths).map_err(|e| CliError::new(e.to_string()))? {
        Claim::Primary(guard) => guard,
        Claim::Secondary => {
            instance::hand_over(paths, !minimized, HAND_OVER_PATIENCE)?;
            println!("Tokentray is already running; handed over to it.");
            return Ok(());
        }
    };
    // At login the panel may still be starting beside us: give its watcher a moment.
    let patience = if minimized {
        LOGIN_PATIENCE
    } else {
        std::time::Duration::ZERO
    };
    match tray_choice::choose(patience) {
        Tray::StatusNotifier => tokentray_host::tray_process::run(paths, guard, minimized)
            .map_err(|e| CliError::new(e.to_string())),
        Tray::Toolkit { .. } => {
            // The app claims the instance for itself; the log is written out before `exec`,
            // which runs no destructor.
            drop(guard);
            drop(log);
            launch_app(minimized, Some((tray_choice::TRAY_ENV, "gtk")))
        }
    }
}

/// Replaces this process with the tray app, which does its own single-instance hand-over.
/// `env` is one variable to set for it (the tray already chosen).
fn launch_app(minimized: bool, env: Option<(&str, &str)>) -> Result<(), CliError> {
    let app = tokentray_core::paths::app_binary().map_err(|e| CliError::new(e.to_string()))?;
    let mut cmd = std::process::Command::new(&app);
    if let Some((name, value)) = env {
        cmd.env(name, value);
    }
    if minimized {
        cmd.arg(tokentray_host::autostart::MINIMIZED_ARG);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        Err(CliError::new(format!(
            "cannot start {}: {e}",
            app.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let status = cmd
            .status()
            .map_err(|e| CliError::new(format!("cannot start {}: {e}", app.display())))?;
        std::process::exit(status.code().unwrap_or(1))
    }
}

fn headless(paths: &Paths) -> Result<(), CliError> {
    let _log = logging::init("info", Some(&paths.log_dir()));
    let mut guard = match instance::claim(paths).map_err(|e| CliError::new(e.to_string()))? {
        Claim::Primary(guard) => guard,
        Claim::Secondary => {
            instance::hand_over(paths, false, HAND_OVER_PATIENCE)?;
            println!("Tokentray is already running; handed over to it.");
            return Ok(());
        }
    };
    let engine = Engine::open(paths.clone())?;
    // One thread is plenty for the engine, and an idle current-thread runtime sleeps in epoll
    // without waking.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start the engine's runtime: {e}")))?;
    let host = Host::new(engine, Kind::Headless);
    rt.block_on(async {
        tracing::info!(socket = %paths.socket_file().display(), "headless engine running");
        host.run(guard.take_listener(), tokentray_host::run::terminated())
            .await
            .unwrap_or_else(|e| tracing::warn!("{e}"));
        tracing::info!("headless engine stopped");
        Ok(())
    })
}
