//! `tokentray account add|remove|import`.

use std::io::Read;

use tokentray_core::ops::{answer, Op, ProviderSource};
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
