//! `tokentray login NAME [--device] [--no-browser]` and `tokentray logout NAME`.
//!
//! While an engine runs, it does the sign-in (one engine owns every account) and this command
//! only shows the page or code and waits; with none running, the flow runs in this process.

use std::time::Duration;

use tokentray_core::engine::{LoginMethod, LoginOutcome, LoginPrompt};
use tokentray_core::socket::{self, ClientError, Request};
use tokentray_core::{Engine, EngineError, Paths};

use crate::engine_call::{self, ENGINE_TIMEOUT};
use crate::error::CliError;

/// `login`'s arguments.
#[derive(clap::Args)]
pub struct LoginArgs {
    /// The account.
    name: String,
    /// Use the device flow: type a code at the provider's page (on any device).
    #[arg(long)]
    device: bool,
    /// Print the page to open instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
}

/// `logout`'s arguments.
#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The account.
    name: String,
}

/// The least the CLI waits for a sign-in beyond the flow's own deadline.
const LOGIN_WAIT: Duration = Duration::from_secs(90);

/// Signs an account in (or in again).
pub fn login(paths: &Paths, args: LoginArgs) -> Result<(), CliError> {
    let method = if args.device {
        LoginMethod::Device
    } else {
        LoginMethod::Auto
    };
    let account = args.name.clone();
    let sock = paths.socket_file();
    let start = Request::Login {
        account: account.clone(),
        method,
    };
    let outcome = match socket::call(&sock, &start, ENGINE_TIMEOUT) {
        Ok(v) => {
            let prompt: LoginPrompt = serde_json::from_value(v).map_err(|e| {
                CliError::new(format!("the engine's answer was not understood: {e}"))
            })?;
            present(&prompt, args.no_browser);
            // Longer than the flow's own deadline, so the engine's answer always comes first.
            let wait = Duration::from_secs(prompt.expires_in_s).max(LOGIN_WAIT) + LOGIN_WAIT;
            let done = socket::call(&sock, &Request::LoginWait { account }, wait)?;
            serde_json::from_value::<LoginOutcome>(done).map_err(|e| {
                CliError::new(format!("the engine's answer was not understood: {e}"))
            })?
        }
        Err(ClientError::NotRunning) => {
            let engine = Engine::open(paths.clone())?;
            engine_call::runtime()?.block_on(async {
                let prompt = engine.begin_login(&account, method).await?;
                present(&prompt, args.no_browser);
                engine.wait_login(&account).await
            })?
        }
        Err(e) => return Err(e.into()),
    };
    match outcome.subject {
        Some(who) => println!("Signed in to {} as {who}.", outcome.account),
        None => println!("Signed in to {}.", outcome.account),
    }
    Ok(())
}

/// Shows the person where to go: the browser, or the URL and code printed.
fn present(prompt: &LoginPrompt, no_browser: bool) {
    let account = &prompt.account;
    if let (Some(code), Some(uri)) = (&prompt.user_code, &prompt.verification_uri) {
        println!("To sign in to {account}, open {uri} and enter the code {code}");
    } else if no_browser {
        println!("To sign in to {account}, open this page:\n{}", prompt.url);
    }
    if !no_browser {
        eprintln!("Opening your browser to sign in to {account}…");
        if let Err(e) = tokentray_core::browser::open(&prompt.url) {
            eprintln!("{e}");
            println!("Open this page yourself:\n{}", prompt.url);
        }
    }
    eprintln!(
        "Waiting for the sign-in to finish (up to {} minutes; Ctrl+C stops waiting)…",
        prompt.expires_in_s.div_ceil(60)
    );
}

/// Signs an account out: revokes its grant where the provider can and deletes its secrets. The
/// account stays in the settings, ready for `tokentray login`.
pub fn logout(paths: &Paths, args: LogoutArgs) -> Result<(), CliError> {
    let name = args.name;
    let req = Request::Forget {
        account: name.clone(),
    };
    let n = name.clone();
    engine_call::call(paths, &req, |engine| async move {
        engine.forget(&n).await?;
        Ok::<_, EngineError>(serde_json::Value::Null)
    })?;
    println!(
        "Signed out of {name}; its tokens are deleted. `tokentray login {name}` signs in again."
    );
    Ok(())
}
