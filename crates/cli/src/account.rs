//! `tokentray account add|remove|import`.

use std::io::Read;

use tokentray_core::caller::CallerPolicy;
use tokentray_core::ops::{answer, AccountOptions, Op, ProviderSource};
use tokentray_core::secret::Secret;
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::CliError;

/// Account commands.
#[derive(clap::Subcommand)]
pub enum AccountCommand {
    /// Add an account that signs in with a provider.
    Add {
        /// The account's name.
        name: String,
        /// The provider (see `tokentray provider list`).
        #[arg(long)]
        provider: String,
        /// A git host this account answers for in the credential helper (repeatable).
        #[arg(long = "git-host")]
        git_hosts: Vec<String>,
        /// The username git gets with the token (default: `x-access-token` for GitHub,
        /// `oauth2` otherwise).
        #[arg(long = "git-username")]
        git_username: Option<String>,
    },
    /// Change an account's options; those not given stay as they are, an empty value ('')
    /// clears one.
    Set {
        /// The account's name.
        name: String,
        /// A git host this account answers for (repeatable; replaces the list).
        #[arg(long = "git-host")]
        git_hosts: Vec<String>,
        /// The username git gets with the token.
        #[arg(long = "git-username")]
        git_username: Option<String>,
        /// A scope of the token git gets, instead of the sign-in's (repeatable; replaces the
        /// list).
        #[arg(long = "git-scope")]
        git_scopes: Vec<String>,
        /// The resource of the token git gets (RFC 8707).
        #[arg(long = "git-resource")]
        git_resource: Option<String>,
        /// How long the token git gets must still be valid: 90s, 10m, 1h.
        #[arg(long = "git-min-valid")]
        git_min_valid: Option<String>,
        /// `ask`: a program not yet allowed waits for your answer to a notification before it
        /// gets the token; `allow` (the default): any program of yours gets it.
        #[arg(long, value_parser = ["ask", "allow"])]
        callers: Option<String>,
    },
    /// List the programs always allowed to have the account's token (with `--callers ask`),
    /// allow one ahead, or take one off the list.
    Callers {
        /// The account's name.
        name: String,
        /// A program's full path to allow from now on (repeatable).
        #[arg(long, value_name = "PATH")]
        allow: Vec<String>,
        /// A program's full path to take off the list (repeatable).
        #[arg(long, value_name = "PATH")]
        revoke: Vec<String>,
    },
    /// Sign an account out (revoking where the provider can) and delete its secrets.
    Remove {
        /// The account's name.
        name: String,
    },
    /// Hand tokens you already have to Tokentray, read from stdin: the token endpoint's JSON
    /// answer, or a bare refresh token. Afterwards only Tokentray spends the refresh token.
    Import {
        /// The account's name.
        name: String,
    },
}

/// Runs an account command.
pub fn run(paths: &Paths, cmd: AccountCommand) -> Result<(), CliError> {
    match cmd {
        AccountCommand::Add {
            name,
            provider,
            git_hosts,
            git_username,
        } => {
            let (): answer::AddAccount = engine_call::call(
                paths,
                Op::AddAccount {
                    name: name.clone(),
                    source: ProviderSource::Existing(provider),
                    client_id: None,
                    scopes: vec![],
                    git_hosts,
                    git_username,
                },
            )?;
            println!("added {name}; sign in to it next");
        }
        AccountCommand::Set {
            name,
            git_hosts,
            git_username,
            git_scopes,
            git_resource,
            git_min_valid,
            callers,
        } => {
            let list = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let callers = callers.map(|c| match c.as_str() {
                "ask" => CallerPolicy::Ask,
                _ => CallerPolicy::Allow,
            });
            let (): answer::SetAccount = engine_call::call(
                paths,
                Op::SetAccount {
                    account: name.clone(),
                    options: AccountOptions {
                        git_hosts: list(git_hosts),
                        git_username,
                        git_scopes: list(git_scopes),
                        git_resource,
                        git_min_valid,
                        callers,
                    },
                },
            )?;
            println!("{name}: changed");
        }
        AccountCommand::Callers {
            name,
            allow,
            revoke,
        } => {
            let allowed: answer::SetCallers = engine_call::call(
                paths,
                Op::SetCallers {
                    account: name.clone(),
                    allow,
                    revoke,
                },
            )?;
            if allowed.is_empty() {
                println!("{name}: no program is always allowed");
            } else {
                println!("{name}: always allowed:");
                for program in allowed {
                    println!("  {program}");
                }
            }
        }
        AccountCommand::Remove { name } => {
            let (): answer::RemoveAccount = engine_call::call(
                paths,
                Op::RemoveAccount {
                    account: name.clone(),
                },
            )?;
            println!("removed {name} and deleted its secrets");
        }
        AccountCommand::Import { name } => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::new(format!("cannot read stdin: {e}")))?;
            let (): answer::Import = engine_call::call(
                paths,
                Op::Import {
                    account: name.clone(),
                    tokens: Secret::new(text),
                },
            )?;
            println!("{name}: tokens imported; Tokentray now keeps them fresh");
        }
    }
    Ok(())
}
