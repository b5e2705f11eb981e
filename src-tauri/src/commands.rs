//! The dashboard page's IPC, in the dashboard's own process: every operation the catalog
//! (`tokentray_core::ops`) opens to the dashboard is forwarded by name, with the page's
//! arguments, over the engine's socket, and runs in the engine's process (the tray app, or a
//! headless engine). No list of names is kept here: the build script declares the same ones
//! from the same catalog, and Tauri's capability check runs before this handler. None answers
//! a secret; an error reaches the page as `{code, message}`.

use serde_json::Value;
use tauri::ipc::{Invoke, InvokeBody, InvokeError};
use tauri::Manager;
use tokentray_core::ops::{self, Op, OpError};
use tokentray_host::socket::{self, ClientError};

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
    async fn call(&self, name: String, args: Value) -> Result<Value, OpError> {
        if let Some(problem) = &self.engine_error {
            return Err(OpError::new("settings", problem.clone()));
        }
        // The page's arguments and the operation's name make the typed request.
        let mut request = match args {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            _ => {
                return Err(OpError::bad_argument(
                    "the page sent arguments that are not an object",
                ))
            }
        };
        request.insert("op".into(), Value::String(name));
        let op: Op = serde_json::from_value(Value::Object(request)).map_err(|e| {
            OpError::bad_argument(format!("the dashboard sent a bad request ({e})"))
        })?;
        let path = self.socket.clone();
        tauri::async_runtime::spawn_blocking(move || socket::call(&path, &op, COMMAND_TIMEOUT))
            .await
            .map_err(|e| OpError::new(ops::code::INTERNAL, e.to_string()))?
            .map_err(|e| match e {
                ClientError::Engine(e) => e,
                other => OpError::new("engine_unreachable", other.to_string()),
            })
    }
}

/// The dashboard's invoke handler: forwards the catalog's dashboard operations; anything else
/// is not a command (Tauri answers so).
pub fn handler() -> impl Fn(Invoke) -> bool + Send + Sync + 'static {
    |invoke: Invoke| {
        let name = invoke.message.command().to_owned();
        if !ops::dashboard_operations().any(|op| op == name) {
            return false;
        }
        let args = match invoke.message.payload() {
            InvokeBody::Json(v) => v.clone(),
            InvokeBody::Raw(_) => Value::Null,
        };
        let webview = invoke.message.webview();
        invoke.resolver.respond_async(async move {
            let remote = webview.state::<Remote>();
            remote.call(name, args).await.map_err(InvokeError::from)
        });
        true
    }
}
