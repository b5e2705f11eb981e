//! Tauri's build step, with the app's own commands declared so that capabilities can allow them
//! one by one (nothing is callable from the webview unless a capability lists it).

// `COMMANDS`: every IPC command, shared with the engine's answering side;
// `capabilities/dashboard.json` allows them by name.
include!("../crates/core/src/dashboard_commands.rs");

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        // A build script reports failure by panicking; say why first.
        panic!("tauri build step failed: {e:#}");
    }
}
