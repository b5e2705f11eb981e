//! The dashboard's IPC commands: one-line calls into the engine. None returns a secret.

use tokentray_core::status::Status;
use tokentray_core::Engine;

/// The status snapshot (the same as `tokentray status --json`).
#[tauri::command]
pub fn status(engine: tauri::State<'_, Engine>) -> Status {
    engine.status()
}
