//! `tokentray token NAME` and `tokentray refresh NAME`.

use tokentray_core::engine::{RefreshOutcome, RefreshReport};
use tokentray_core::socket::Request;
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
    let req = Request::Token {
        account: args.name.clone(),
    };
    let name = args.name;
    let v = engine_call::call(paths, &req, |engine| async move {
        let t = engine.token(&name).await?;
        Ok(serde_json::json!({ "token": t.expose() }))
    })?;
    let token = v["token"]
        .as_str()
        .ok_or_else(|| CliError::new("the engine sent no token"))?;
    println!("{token}");
    Ok(())
}

/// One refresh attempt now; reports its outcome and exits with the contract's code.
pub fn refresh(paths: &Paths, args: RefreshArgs) -> Result<(), CliError> {
    let req = Request::Refresh {
        account: args.name.clone(),
    };
    let name = args.name;
    let v = engine_call::call(paths, &req, |engine| async move {
        Ok(serde_json::json!(engine.refresh(&name).await?))
    })?;
    let report: RefreshReport = serde_json::from_value(v)
        .map_err(|e| CliError::new(format!("unreadable refresh report ({e})")))?;
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
