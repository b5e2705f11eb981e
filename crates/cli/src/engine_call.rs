//! Asks the running engine, or, when none runs, performs the same operation in this process
//! (`tokentray_core::ops::perform`, the one definition every front end calls). Either way one
//! engine (and one keychain writer) owns each account at a time.

use std::time::Duration;

use serde::de::DeserializeOwned;
use tokentray_core::ops::{self, Op};
use tokentray_core::{Engine, Paths};
use tokentray_host::desk::HostDesk;
use tokentray_host::signals::Signals;
use tokentray_host::socket::{self, ClientError};

use crate::error::CliError;

/// How long a call waits for the running engine (a refresh takes at most 30 s).
pub const ENGINE_TIMEOUT: Duration = Duration::from_secs(45);

/// Performs `op` in the running engine or, with none, in this process; answers its typed answer
/// (`A` is the operation's type in `tokentray_core::ops::answer`).
pub fn call<A: DeserializeOwned>(paths: &Paths, op: Op) -> Result<A, CliError> {
    // A token may wait for the person to allow the program asking (`callers = "ask"`).
    let timeout = match op {
        Op::Token { .. } | Op::Rejected { .. } => ENGINE_TIMEOUT + ops::PATIENCE,
        _ => ENGINE_TIMEOUT,
    };
    Link::new(paths).call(op, timeout)
}

/// A conversation of several operations with one engine: the running one, or one opened in this
/// process at the first operation that finds none (a sign-in's start and wait must meet the
/// same engine).
pub struct Link {
    paths: Paths,
    local: Option<(Engine, tokio::runtime::Runtime)>,
}

impl Link {
    /// A link that has not talked to anyone yet.
    pub fn new(paths: &Paths) -> Link {
        Link {
            paths: paths.clone(),
            local: None,
        }
    }

    /// Performs `op`, waiting up to `timeout` for a running engine's answer.
    pub fn call<A: DeserializeOwned>(&mut self, op: Op, timeout: Duration) -> Result<A, CliError> {
        if self.local.is_none() {
            match socket::ask(&self.paths.socket_file(), &op, timeout) {
                Err(ClientError::NotRunning) => {
                    let engine = Engine::open(self.paths.clone())?;
                    self.local = Some((engine, runtime()?));
                }
                other => return Ok(other?),
            }
        }
        let Some((engine, rt)) = &self.local else {
            return Err(CliError::new("no engine to ask"));
        };
        let desk = HostDesk::new("cli", Signals::default());
        let caller = tokentray_host::peer::of_this_process();
        let result = rt.block_on(ops::perform(engine, &desk, &caller, op));
        // Rotated tokens the keychain refused exist only in this process: one more try to store
        // them, and no success reported if they would die with it.
        if let Err(e) = engine.flush() {
            tracing::warn!("{e}");
        }
        if engine.has_unsaved_tokens() {
            return Err(CliError::new(
                "the keychain refused the newest tokens and they are lost with this command; \
                 unlock or start the keychain, then sign in again (`tokentray login ACCOUNT`)",
            ));
        }
        serde_json::from_value(result?)
            .map_err(|e| CliError::new(format!("the answer was not understood ({e})")))
    }
}

/// A one-thread runtime for the CLI's own async work.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(format!("cannot start an async runtime: {e}")))
}
