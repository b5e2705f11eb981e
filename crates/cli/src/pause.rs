//! `tokentray pause NAME` and `tokentray resume NAME`.

use tokentray_core::ops::{answer, Op};
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::CliError;

/// Arguments of `pause` and `resume`.
#[derive(clap::Args)]
pub struct PauseArgs {
    /// The account's name.
    name: String,
}

/// Pauses (or resumes) through the running engine, or on disk when none runs.
pub fn run(paths: &Paths, args: PauseArgs, paused: bool) -> Result<(), CliError> {
    let _: answer::SetPaused = engine_call::call(
        paths,
        Op::SetPaused {
            account: Some(args.name),
            paused,
        },
    )?;
    Ok(())
}
