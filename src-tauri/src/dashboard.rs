//! The dashboard window, in a process of its own (`tokentray-app --dashboard`): the tray app
//! starts it when asked and it exits when its window closes, so WebKit's processes and memory go
//! with it and an idle tray app carries no webview at all. It talks to the engine over the
//! socket like the CLI does: commands out, engine events in.

use std::io::{BufRead, BufReader, Write};

use tauri::{Emitter, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder};
use tokentray_core::ops::Op;
use tokentray_core::Paths;
use tokentray_host::dashboard::{DashboardProcess, ENGINE_ERROR_ENV};
use tokentray_host::socket;

use crate::commands::{self, Remote};

/// The window's label; capabilities name it.
pub const LABEL: &str = "dashboard";
/// The event name the page listens to.
pub const ENGINE_EVENT: &str = "engine-event";
/// In the tray app: starts the dashboard process unless it runs.
pub fn open(app: &tauri::AppHandle) {
    app.state::<DashboardProcess>().open();
}

/// In the dashboard process: shows the window until it is closed, or until the engine goes away.
pub fn run(paths: &Paths, context: tauri::Context) -> Result<(), String> {
    let socket_file = paths.socket_file();
    let engine_error = std::env::var(ENGINE_ERROR_ENV).ok();
    if engine_error.is_none() {
        // Fail with a sentence, not an empty window, when there is no engine to show.
        socket::call(
            &socket_file,
            &Op::Ping {},
            std::time::Duration::from_secs(5),
        )
        .map_err(|e| e.to_string())?;
    }
    let events_from = socket_file.clone();
    let app = tauri::Builder::default()
        .manage(Remote {
            socket: socket_file,
            engine_error: engine_error.clone(),
        })
        .invoke_handler(commands::handler())
        .setup(move |app| {
            WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
                .title("Tokentray")
                .inner_size(880.0, 620.0)
                .min_inner_size(520.0, 360.0)
                .build()?;
            if engine_error.is_none() {
                let handle = app.handle().clone();
                std::thread::spawn(move || relay_events(&events_from, &handle));
            }
            Ok(())
        })
        .build(context)
        .map_err(|e| format!("cannot open the dashboard: {e}"))?;
    app.run(|_, event| {
        if let RunEvent::ExitRequested { .. } = event {
            tracing::info!("the dashboard window closed");
        }
    });
    Ok(())
}

/// Passes every engine event to the page; brings the window to the front when another launch
/// asks for the dashboard; ends the process when the engine goes away (the tray app quit).
fn relay_events(socket_file: &std::path::Path, app: &tauri::AppHandle) {
    let result = (|| -> std::io::Result<()> {
        let mut stream = tokentray_host::transport::connect(socket_file, None)?;
        let mut line = serde_json::to_vec(&Op::Subscribe {}).map_err(std::io::Error::other)?;
        line.push(b'\n');
        stream.write_all(&line)?;
        for line in BufReader::new(stream).lines() {
            let v: serde_json::Value = serde_json::from_str(&line?).unwrap_or_default();
            if let Some(event) = v.get("event") {
                if event["kind"] == "activate_requested" && event["open_dashboard"] == true {
                    bring_to_front(app);
                }
                if let Err(e) = app.emit_to(LABEL, ENGINE_EVENT, event) {
                    tracing::warn!("cannot update the dashboard: {e}");
                }
            } else if v.get("lagged").is_some() {
                // Missed some: any event makes the page re-read the status.
                let _ = app.emit_to(LABEL, ENGINE_EVENT, serde_json::json!({"kind": "lagged"}));
            }
        }
        Ok(())
    })();
    tracing::info!("the engine went away ({result:?}); closing the dashboard");
    app.exit(0);
}

fn bring_to_front(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window(LABEL) {
        for result in [window.unminimize(), window.show(), window.set_focus()] {
            if let Err(e) = result {
                tracing::warn!("cannot bring the dashboard to the front: {e}");
            }
        }
    }
}
