//! The always-on process on Linux: the engine and its tray as a StatusNotifierItem, in one
//! process with no GUI toolkit. `tokentray run` (and launch at login, through `tokentray-app`)
//! runs it wherever a panel shows StatusNotifierItems; the dashboard stays a process of its own,
//! started from the menu and gone when its window closes.

use std::sync::Arc;

use tokentray_core::{Engine, Paths};

use crate::dashboard::DashboardProcess;
use crate::instance::PrimaryGuard;
use crate::sni::SniTray;
use crate::tray_actions::{self, After};
use crate::{socket, Host, Kind};

/// What the status says while no panel has taken the icon (the tray was forced, or the panel
/// went away before we started).
const NOT_SHOWN: &str = "no panel shows the tray icon yet (no StatusNotifierWatcher on the \
    session bus); it appears when one starts, and notifications and the command line work \
    meanwhile";

/// Why the tray process could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrayProcessError {
    /// The async runtime could not start (out of threads or file descriptors).
    #[error("cannot start the engine's runtime: {0}")]
    Runtime(std::io::Error),
}

/// Runs the engine and the tray until Quit, SIGTERM or Ctrl-C, holding `guard` (this user's
/// one-instance claim). Opens the dashboard first unless `minimized`. A settings file the
/// engine cannot open still gets a tray, which says what to fix, and the one-instance socket.
pub fn run(
    paths: &Paths,
    mut guard: PrimaryGuard,
    minimized: bool,
) -> Result<(), TrayProcessError> {
    let engine = Engine::open(paths.clone()).map_err(|e| e.to_string());
    if let Err(problem) = &engine {
        tracing::error!("{problem}");
    }
    // One thread is plenty for the engine and the tray's channels, and an idle current-thread
    // runtime sleeps in epoll without waking; the D-Bus item blocks in a thread of its own.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(TrayProcessError::Runtime)?;
    let host = engine
        .as_ref()
        .ok()
        .map(|e| Host::new(e.clone(), Kind::App));
    let dashboard = match &engine {
        Ok(_) => DashboardProcess::default(),
        Err(problem) => DashboardProcess::without_engine(problem),
    };
    let problem = engine.as_ref().err().cloned();
    let current = {
        let host = host.clone();
        move || tray_actions::current_model(host.as_ref(), problem.as_deref())
    };

    let (clicks, mut clicked) = tokio::sync::mpsc::unbounded_channel::<String>();
    let tray = match SniTray::start(
        None,
        current(),
        Box::new(move |id| {
            let _ = clicks.send(id.to_owned());
        }),
    ) {
        Ok((tray, watched)) => {
            // The start-up benchmark times the launch to this line.
            tracing::info!(bus_name = tray.bus_name(), watched, "tray icon created");
            if !watched {
                tracing::warn!("{NOT_SHOWN}");
                if let Some(host) = &host {
                    host.engine().set_desktop_note(Some(NOT_SHOWN.to_owned()));
                }
            }
            Some(Arc::new(tray))
        }
        Err(e) => {
            // Tokens stay fresh, jobs run, notifications and the CLI work: only the icon is
            // missing, and the status says why.
            tracing::error!("{e}");
            if let Some(host) = &host {
                host.engine().set_desktop_note(Some(e.to_string()));
            }
            None
        }
    };
    let redraw = {
        let (tray, current) = (tray.clone(), current.clone());
        move || {
            if let Some(tray) = &tray {
                tray.show(current());
            }
        }
    };

    rt.block_on(async move {
        let quit = Arc::new(tokio::sync::Notify::new());
        let listener = guard.take_listener();
        if !minimized {
            dashboard.open();
        }

        // Clicks on the menu, carried out as the Tauri tray does.
        let (clicks_host, clicks_dashboard, clicks_quit, clicks_redraw) = (
            host.clone(),
            dashboard.clone(),
            quit.clone(),
            redraw.clone(),
        );
        tokio::spawn(async move {
            while let Some(id) = clicked.recv().await {
                match tray_actions::on_click(clicks_host.as_ref(), &id) {
                    After::Nothing => {}
                    After::Redraw => clicks_redraw(),
                    After::OpenDashboard => clicks_dashboard.open(),
                    After::Quit => clicks_quit.notify_one(),
                    After::Spawn(work) => {
                        tokio::spawn(work);
                    }
                }
            }
        });

        let stop = {
            let quit = quit.clone();
            async move {
                tokio::select! {
                    () = crate::run::terminated() => tracing::info!("asked to stop: quitting"),
                    () = quit.notified() => tracing::info!("Quit: quitting"),
                }
            }
        };
        match host {
            Some(host) => {
                tokio::spawn(tray_actions::follow(&host, redraw, move || {
                    dashboard.open()
                }));
                if let Err(e) = host.run(listener, stop).await {
                    tracing::warn!("{e}");
                }
                tracing::info!("engine stopped");
            }
            None => {
                let problem = engine.err().unwrap_or_default();
                let on_activate: socket::OnActivate = Arc::new(move |open_dashboard| {
                    if open_dashboard {
                        dashboard.open();
                    }
                });
                match listener {
                    Ok(listener) => tokio::select! {
                        () = socket::serve_without_engine(listener, problem, on_activate) => {}
                        () = stop => {}
                    },
                    Err(e) => {
                        tracing::error!("the CLI cannot reach this tray: {e}");
                        stop.await;
                    }
                }
            }
        }
        // The socket goes before the claim is freed (the guard's own order).
        drop(guard);
    });
    drop(tray);
    Ok(())
}
