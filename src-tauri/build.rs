//! Tauri's build step, with the app's own commands declared so that capabilities can allow them
//! one by one (nothing is callable from the webview unless a capability lists it).

/// Every IPC command of `src/commands.rs`; `capabilities/dashboard.json` allows them by name.
const COMMANDS: [&str; 17] = [
    "status",
    "history",
    "set_paused",
    "refresh_now",
    "sign_in",
    "remove_account",
    "copy_token",
    "presets",
    "discover",
    "add_account",
    "save_job",
    "remove_job",
    "run_job",
    "app_settings",
    "set_autostart",
    "set_notify",
    "open_log_folder",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(&COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        // A build script reports failure by panicking; say why first.
        panic!("tauri build step failed: {e:#}");
    }
}
