//! `tokentray pause NAME` and `tokentray resume NAME`.

use tokentray_core::socket::{self, ClientError, Request};
use tokentray_core::{Engine, Paths};

use crate::engine_call::ENGINE_TIMEOUT;
use crate::error::CliError;

/// Arguments of `pause` and `resume`.
#[derive(clap::Args)]
pub struct PauseArgs {
    /// The account's name.
    name: String,
}

/// Pauses (or resumes) through the running engine, or on disk when none runs.
pub fn run(paths: &Paths, args: PauseArgs, paused: bool) -> Result<(), CliError> {
    let req = Request::Pause {
        account: Some(args.name.clone()),
        paused,
    };
    match socket::call(&paths.socket_file(), &req, ENGINE_TIMEOUT) {
        Ok(_) => Ok(()),
        Err(ClientError::NotRunning) => {
            Engine::open(paths.clone())?.set_paused(&args.name, paused)?;
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
