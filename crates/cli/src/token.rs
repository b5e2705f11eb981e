//! `tokentray token NAME` and `tokentray refresh NAME`.

use tokentray_core::engine::RefreshOutcome;
use tokentray_core::ops::{answer, Op};
use tokentray_core::variant::TokenRequest;
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::{code, CliError};

/// Arguments of `token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// The account's name.
    name: String,
    #[command(flatten)]
    variant: VariantArgs,
}

/// Which token: the options `token`, `exec-credential` and `exec` share.
#[derive(clap::Args, Clone, Default)]
pub struct VariantArgs {
    /// Ask for this scope instead of the sign-in's (repeat for several; most providers give
    /// only scopes the sign-in was granted).
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// The resource the token is for (RFC 8707), such as https://graph.microsoft.com.
    #[arg(long, value_name = "URI")]
    resource: Option<String>,
    /// The token must still be valid this long: 90s, 10m, 1h (refreshed early otherwise).
    #[arg(long = "min-valid", value_name = "DURATION", value_parser = min_valid)]
    min_valid: Option<std::time::Duration>,
}

impl VariantArgs {
    /// The request these options make.
    pub fn request(&self) -> TokenRequest {
        TokenRequest {
            scopes: self.scopes.clone(),
            resource: self.resource.clone(),
            min_valid_s: self.min_valid.map(|d| d.as_secs()),
        }
    }
}

fn min_valid(text: &str) -> Result<std::time::Duration, String> {
    tokentray_core::settings::parse_duration(text)
        .ok_or_else(|| format!("{text:?} is not a duration; write it like 90s, 10m or 1h"))
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
    let credential: answer::Token = engine_call::call(
        paths,
        Op::Token {
            account: args.name,
            request: args.variant.request(),
            on_behalf_of: None,
        },
    )?;
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
