//! `tokentray-app`: the tray icon and the dashboard window. A thin adapter: the engine
//! (`tokentray-core`) owns every account; this crate only shows it and forwards clicks.

// No console window on Windows release builds; the tray is the interface.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod args;
mod commands;
mod dashboard;
mod startup;
mod tray;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tauri::{Manager, RunEvent};
use tokentray_core::{logging, Engine, Paths};
use tokentray_host::dashboard::DashboardProcess;
use tokentray_host::instance::{self, Claim, PrimaryGuard};
use tokentray_host::{socket, Host, Kind};

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
    let desktop_note = choose_tray(args.minimized);

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
    match &engine {
        Ok(engine) => engine.set_desktop_note(desktop_note),
        Err(e) => tracing::error!("{e}"),
    }

    // No webview in this process, ever: the dashboard is a process of its own.
    let dashboard = match &engine {
        Ok(_) => DashboardProcess::default(),
        // No engine (a broken settings file): the page shows why instead of nothing.
        Err(problem) => DashboardProcess::without_engine(problem),
    };
    let app = tauri::Builder::default()
        .manage(dashboard)
        .setup(move |app| {
            let handle = app.handle().clone();
            match &engine {
                Ok(engine) => {
                    let host = Host::new(engine.clone(), Kind::App);
                    app.manage(host.clone());
                    let running = start_host(&handle, host, guard);
                    app.manage(running);
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
        // Quit and SIGTERM alike: the host stops taking work, lets a refresh in flight store
        // its tokens, flushes state, and only then does the process end.
        RunEvent::Exit => {
            if let Some(running) = handle.try_state::<Running>() {
                running.stop();
            }
        }
        _ => {}
    });
}

/// On Linux, where the panel shows StatusNotifierItems, the tray is the lean one in `tokentray`
/// (the engine and a D-Bus object, no GTK, no WebKit): this process becomes `tokentray run`.
/// Otherwise this app is the tray; returns what the status should say about the desktop.
fn choose_tray(minimized: bool) -> Option<String> {
    use tokentray_host::tray_choice::{self, Tray, LOGIN_PATIENCE};
    let patience = if minimized {
        LOGIN_PATIENCE
    } else {
        Duration::ZERO
    };
    match tray_choice::choose(patience) {
        Tray::Toolkit { note } => note,
        Tray::StatusNotifier => {
            let lean = std::env::current_exe()
                .map(|me| me.with_file_name(format!("tokentray{}", std::env::consts::EXE_SUFFIX)));
            match lean {
                Ok(lean) if lean.is_file() => {
                    let mut cmd = std::process::Command::new(&lean);
                    cmd.arg("run").env(tray_choice::TRAY_ENV, "sni");
                    if minimized {
                        cmd.arg(tokentray_host::autostart::MINIMIZED_ARG);
                    }
                    exec(cmd, &lean)
                }
                _ => {
                    tracing::warn!(
                        "`tokentray` is not installed beside this app: the tray runs here"
                    );
                    None
                }
            }
        }
    }
}

/// Replaces this process with `cmd`; returns only if it could not, having logged why.
fn exec(mut cmd: std::process::Command, program: &std::path::Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let e = cmd.exec();
        tracing::warn!(
            "cannot start {} ({e}): the tray runs here",
            program.display()
        );
    }
    #[cfg(not(unix))]
    let _ = (&mut cmd, program);
    None
}

/// The host running in the app: how to stop it and wait until it has.
struct Running {
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    done: Mutex<Option<tauri::async_runtime::JoinHandle<()>>>,
}

impl Running {
    /// Tells the host to stop and waits until it has (the engine's own patience bounds it).
    fn stop(&self) {
        if let Some(stop) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.lock().ok().and_then(|mut d| d.take()) {
            if let Err(e) = tauri::async_runtime::block_on(done) {
                tracing::warn!("the engine did not stop cleanly: {e}");
            }
        }
    }
}

/// Runs the host (scheduler, watchers, notifier, the socket for the CLI, second launches and
/// the dashboard process) and the listeners that keep the tray current.
fn start_host(app: &tauri::AppHandle, host: Host, mut guard: PrimaryGuard) -> Running {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = host.clone();
    let done = tauri::async_runtime::spawn(async move {
        let listener = guard.take_listener();
        let until = async {
            let _ = stopped.await;
        };
        if let Err(e) = served.run(listener, until).await {
            tracing::warn!("{e}");
        }
        tracing::info!("engine stopped");
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

    let (tray_app, dashboard_app) = (app.clone(), app.clone());
    tauri::async_runtime::spawn(tokentray_host::tray_actions::follow(
        &host,
        move || tray::update(&tray_app),
        move || dashboard::open(&dashboard_app),
    ));

    Running {
        stop: Mutex::new(Some(stop)),
        done: Mutex::new(Some(done)),
    }
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
