//! Asks the running engine, or, when none runs, does the same work in this process. Either way
//! one engine (and one keychain writer) owns each account at a time.

use std::future::Future;
use std::time::Duration;

use tokentray_core::socket::{self, ClientError, Request};
use tokentray_core::{Engine, EngineError, Paths};

use crate::error::CliError;

/// How long a call waits for the running engine (a refresh takes at most 30 s).
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(45);

/// Sends `req` to the running engine; with none, opens the engine here and runs `offline`.
pub fn call<F, Fut>(paths: &Paths, req: &Request, offline: F) -> Result<serde_json::Value, CliError>
where
    F: FnOnce(Engine) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, EngineError>>,
{
    match socket::call(&paths.socket_file(), req, ENGINE_TIMEOUT) {
        Ok(v) => Ok(v),
        Err(ClientError::NotRunning) => {
            let engine = Engine::open(paths.clone())?;
            let result = runtime()?.block_on(offline(engine.clone()));
            // Rotated tokens the keychain refused exist only in this process: one more try to
            // store them, and no success reported if they would die with it.
            if let Err(e) = engine.flush() {
                tracing::warn!("{e}");
            }
            if engine.has_unsaved_tokens() {
                return Err(CliError::new(
                    "the keychain refused the newest tokens and they are lost with this command; \
                     unlock or start the keychain, then sign in again (`tokentray login ACCOUNT`)",
                ));
            }
            Ok(result?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Tells a running engine to re-read the settings; nothing to do when none runs.
pub fn reload(paths: &Paths) -> Result<(), CliError> {
    match socket::call(&paths.socket_file(), &Request::Reload, ENGINE_TIMEOUT) {
        Ok(_) | Err(ClientError::NotRunning) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A one-thread runtime for the CLI's own async work.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start an async runtime: {e}")))
}
