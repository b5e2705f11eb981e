//! `tokentray-app`: the tray icon and the dashboard window. A thin adapter: the engine
//! (`tokentray-core`) owns every account; this crate only shows it and forwards clicks.

// No console window on Windows release builds; the tray is the interface.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod args;
mod commands;
mod dashboard;
mod startup;
mod tray;

use std::sync::Arc;
use std::time::Duration;

use tauri::{Manager, RunEvent};
use tokentray_core::events::Event;
use tokentray_core::instance::{self, Claim, PrimaryGuard};
use tokentray_core::{logging, socket, Engine, Paths};

fn main() {
    let args = match args::Args::parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(exit) => exit.exit(),
    };
    let paths = Paths::from_env();
    if args.dashboard {
        // Its own log level and no log file: the engine's log is the record.
        let _log = logging::init("info", None);
        if let Err(e) = dashboard::run(&paths, context()) {
            fail(&e);
        }
        return;
    }
    let _log = logging::init("info", Some(&paths.log_dir()));

    // Settle single-instance before any GUI start-up, so a second launch costs milliseconds.
    let guard = match instance::claim(&paths) {
        Ok(Claim::Primary(guard)) => guard,
        Ok(Claim::Secondary) => {
            match instance::hand_over(&paths, !args.minimized, Duration::from_secs(10)) {
                Ok(()) => {
                    tracing::info!("Tokentray is already running; handed over to it");
                    std::process::exit(0)
                }
                Err(e) => fail(&format!(
                    "another Tokentray is starting but did not answer: {e}"
                )),
            }
        }
        Err(e) => fail(&e.to_string()),
    };

    // A broken settings file must not keep the tray from appearing: the tray shows the error.
    let engine = Engine::open(paths.clone()).map_err(|e| e.to_string());
    if let Err(e) = &engine {
        tracing::error!("{e}");
    }

    // No webview in this process, ever: the dashboard is a process of its own.
    let app = tauri::Builder::default()
        .manage(dashboard::Process::default())
        .setup(move |app| {
            let handle = app.handle().clone();
            match &engine {
                Ok(engine) => {
                    app.manage(engine.clone());
                    start_engine_tasks(&handle, engine.clone(), guard);
                }
                Err(problem) => serve_without_engine(&handle, problem.clone(), guard),
            }
            tray::create(&handle, engine.as_ref().map_err(String::as_str))?;
            if !args.minimized {
                dashboard::open(&handle);
            }
            Ok(())
        })
        .build(context());
    let app = match app {
        Ok(app) => app,
        Err(e) => fail(&format!("cannot start the tray app: {e}")),
    };
    app.run(|handle, event| match event {
        // Closing the dashboard (the only window) must not end a tray app; only Quit does, and
        // Quit exits with an explicit code.
        RunEvent::ExitRequested {
            code: None, api, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            if let Some(engine) = handle.try_state::<Engine>() {
                let engine = engine.inner().clone();
                let stopped = tauri::async_runtime::block_on(
                    engine.shutdown(tokentray_core::engine::SHUTDOWN_PATIENCE),
                );
                if let Err(e) = stopped {
                    tracing::warn!("{e}");
                }
            }
        }
        _ => {}
    });
}

/// The socket server (CLI, second launches, the dashboard process) and the event listener that
/// keeps the tray current.
fn start_engine_tasks(app: &tauri::AppHandle, engine: Engine, mut guard: PrimaryGuard) {
    let served = engine.clone();
    tauri::async_runtime::spawn(async move {
        served.start_scheduler();
        tokentray_core::sleepwatch::watch(served.clone());
        tokentray_core::notify::start(served.clone());
        let stop = served.until_shutdown();
        match guard.take_listener() {
            Ok(listener) => socket::serve(listener, served, "app", stop).await,
            Err(e) => tracing::error!("the CLI cannot reach this app: {e}"),
        }
        drop(guard);
    });

    #[cfg(unix)]
    {
        // SIGTERM (a logout, `kill`) stops the app the way Quit does: the engine shuts down
        // cleanly on the way out.
        let app = app.clone();
        tauri::async_runtime::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    if term.recv().await.is_some() {
                        tracing::info!("SIGTERM: quitting");
                        app.exit(0);
                    }
                }
                Err(e) => tracing::warn!("cannot watch SIGTERM ({e})"),
            }
        });
    }

    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        let mut events = engine.subscribe();
        loop {
            match events.recv().await {
                Ok(Event::ActivateRequested { open_dashboard }) => {
                    tracing::info!(open_dashboard, "another launch handed over to this app");
                    if open_dashboard {
                        dashboard::open(&app);
                    }
                }
                // The tray shows states only; job runs and refreshes do not change it. (The
                // dashboard hears every event over the socket.)
                Ok(Event::StateChanged { .. } | Event::SettingsChanged) => tray::update(&app),
                Ok(_) => {}
                // Missed some: the tray re-reads the whole status anyway.
                Err(RecvError::Lagged(_)) => tray::update(&app),
                Err(RecvError::Closed) => return,
            }
        }
    });
}

/// Without an engine (a broken settings file) the app still holds the one-per-user claim and
/// answers on the socket: a second launch hands over to it (and shows the dashboard, which says
/// what to fix) instead of starting a second tray, and the CLI hears the same sentence.
fn serve_without_engine(app: &tauri::AppHandle, problem: String, mut guard: PrimaryGuard) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let on_activate: socket::OnActivate = Arc::new(move |open_dashboard| {
            if open_dashboard {
                dashboard::open(&app);
            }
        });
        match guard.take_listener() {
            Ok(listener) => socket::serve_without_engine(listener, problem, on_activate).await,
            Err(e) => tracing::error!("the CLI cannot reach this app: {e}"),
        }
        drop(guard);
    });
}

/// The app's configuration and assets, embedded once for both of the binary's roles.
fn context() -> tauri::Context {
    tauri::generate_context!()
}

fn fail(message: &str) -> ! {
    tracing::error!("{message}");
    eprintln!("tokentray-app: {message}");
    std::process::exit(1)
}
