//! The dashboard window: created when opened, destroyed when closed, so an idle tray app carries
//! no webview.

use tauri::{Emitter, Manager, WebviewUrl, WebviewWindowBuilder};
use tokentray_core::events::Event;

/// The window's label; capabilities name it.
pub const LABEL: &str = "dashboard";

/// The event name the page listens to.
pub const ENGINE_EVENT: &str = "engine-event";

/// Opens the dashboard, or brings the open one to the front.
pub fn open(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window(LABEL) {
        for result in [window.unminimize(), window.show(), window.set_focus()] {
            if let Err(e) = result {
                tracing::warn!("cannot bring the dashboard to the front: {e}");
            }
        }
        return;
    }
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title("Tokentray")
        .inner_size(880.0, 620.0)
        .min_inner_size(520.0, 360.0)
        .build();
    if let Err(e) = built {
        tracing::error!("cannot open the dashboard: {e}");
    }
}

/// Passes an engine event to the page, if it is open.
pub fn forward(app: &tauri::AppHandle, event: &Event) {
    if let Some(window) = app.get_webview_window(LABEL) {
        if let Err(e) = window.emit(ENGINE_EVENT, event) {
            tracing::warn!("cannot update the dashboard: {e}");
        }
    }
}
