//! `tokentray login NAME [--device] [--no-browser]` and `tokentray logout NAME`.
//!
//! While an engine runs, it does the sign-in (one engine owns every account) and this command
//! only shows the page or code and waits; with none running, the flow runs in this process.

use std::time::Duration;

use tokentray_core::engine::{LoginMethod, LoginPrompt};
use tokentray_core::ops::{answer, Op};
use tokentray_core::Paths;

use crate::engine_call::{self, Link, ENGINE_TIMEOUT};
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
    let account = args.name;
    // One link for both steps: the sign-in waits in whichever engine started it.
    let mut link = Link::new(paths);
    let prompt: answer::Login = link.call(
        Op::Login {
            account: account.clone(),
            method,
        },
        ENGINE_TIMEOUT,
    )?;
    present(&prompt, args.no_browser);
    // Longer than the flow's own deadline, so the engine's answer always comes first.
    let wait = Duration::from_secs(prompt.expires_in_s).max(LOGIN_WAIT) + LOGIN_WAIT;
    let outcome: answer::LoginWait = link.call(Op::LoginWait { account }, wait)?;
    match outcome.shown() {
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
        if let Err(e) = tokentray_host::browser::open(&prompt.url) {
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
    let (): answer::Forget = engine_call::call(
        paths,
        Op::Forget {
            account: name.clone(),
        },
    )?;
    println!(
        "Signed out of {name}; its tokens are deleted. `tokentray login {name}` signs in again."
    );
    Ok(())
}
