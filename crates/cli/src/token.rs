//! `tokentray token NAME` and `tokentray refresh NAME`.

use tokentray_core::engine::RefreshOutcome;
use tokentray_core::ops::{answer, Op};
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::{code, CliError};

/// Arguments of `token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// The account's name.
    name: String,
}

/// Arguments of `refresh`.
#[derive(clap::Args)]
pub struct RefreshArgs {
    /// The account's name.
    name: String,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

/// Prints a fresh access token and a newline, nothing else.
pub fn token(paths: &Paths, args: TokenArgs) -> Result<(), CliError> {
    let credential: answer::Token = engine_call::call(paths, Op::Token { account: args.name })?;
    println!("{}", credential.token.expose());
    Ok(())
}

/// One refresh attempt now; reports its outcome and exits with the contract's code.
pub fn refresh(paths: &Paths, args: RefreshArgs) -> Result<(), CliError> {
    let report: answer::Refresh = engine_call::call(paths, Op::Refresh { account: args.name })?;
    if args.json {
        println!("{}", serde_json::json!(report));
    } else if report.outcome == RefreshOutcome::Ok {
        println!("{}: refreshed", report.account);
    }
    let exit = match report.outcome {
        RefreshOutcome::Ok => return Ok(()),
        RefreshOutcome::Permanent => code::RELOGIN,
        RefreshOutcome::Transient => code::TEMPORARY,
        RefreshOutcome::Config => code::CONFIG,
    };
    if args.json {
        std::process::exit(exit);
    }
    Err(CliError::with_code(
        format!("{}: {}", report.account, report.message),
        exit,
    ))
}
