//! The dashboard page's IPC commands, in the dashboard's own process: each forwards its
//! arguments over the engine's socket to `tokentray_core::dashboard`, which runs it in the
//! engine's process (the tray app, or a headless engine). None returns a secret; errors are the
//! engine's sentences.

use serde_json::Value;
use tauri::ipc::{InvokeBody, Request};
use tokentray_core::socket;

/// How to reach the engine.
pub struct Remote {
    /// The engine's socket.
    pub socket: std::path::PathBuf,
    /// Why there is no engine (the tray app could not start one): every command says so.
    pub engine_error: Option<String>,
}

/// Long enough for the slowest command: a sign-out revokes at the provider, a discovery fetches
/// a document (each bounded by the HTTP client's 30 s).
const COMMAND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(75);

impl Remote {
    async fn call(&self, name: &str, request: &Request<'_>) -> Result<Value, String> {
        if let Some(problem) = &self.engine_error {
            return Err(problem.clone());
        }
        let args = match request.body() {
            InvokeBody::Json(v) => v.clone(),
            InvokeBody::Raw(_) => Value::Null,
        };
        let req = socket::Request::Command {
            name: name.to_owned(),
            args,
        };
        let path = self.socket.clone();
        tauri::async_runtime::spawn_blocking(move || socket::call(&path, &req, COMMAND_TIMEOUT))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }
}

/// One forwarding command per name in `tokentray_core::dashboard::COMMANDS`, and the invoke
/// handler that knows them all.
macro_rules! forward {
    ($($name:ident),* $(,)?) => {
        $(
            #[doc = concat!("Runs `", stringify!($name), "` in the engine.")]
            #[tauri::command]
            pub async fn $name(
                remote: tauri::State<'_, Remote>,
                request: Request<'_>,
            ) -> Result<Value, String> {
                remote.call(stringify!($name), &request).await
            }
        )*

        /// The dashboard's invoke handler: every forwarding command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($name),*]
        }

        #[cfg(test)]
        #[test]
        fn every_engine_command_is_forwarded() {
            assert_eq!([$(stringify!($name)),*], tokentray_core::dashboard::COMMANDS);
        }
    };
}

forward!(
    status,
    history,
    set_paused,
    refresh_now,
    sign_in,
    remove_account,
    copy_token,
    presets,
    discover,
    add_account,
    save_job,
    remove_job,
    run_job,
    app_settings,
    set_autostart,
    set_notify,
    open_log_folder,
);
