//! `tokentray account add|remove|import`.

use std::io::Read;

use tokentray_core::secret::Secret;
use tokentray_core::settings::{AccountSettings, Settings};
use tokentray_core::socket::Request;
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::{code, CliError};

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
    let file = paths.settings_file();
    match cmd {
        AccountCommand::Add {
            name,
            provider,
            git_hosts,
            git_username,
        } => {
            let mut settings = Settings::load(&file)?;
            if settings.account(&name).is_some() {
                return Err(CliError::new(format!(
                    "an account named {name:?} already exists"
                )));
            }
            if !settings.providers.contains_key(&provider) {
                return Err(CliError::new(format!(
                    "no provider named {provider:?}; add it with `tokentray provider add {provider} …`"
                )));
            }
            settings.accounts.push(AccountSettings {
                name: name.clone(),
                provider,
                git_hosts,
                git_username,
            });
            settings.save(&file)?;
            engine_call::reload(paths)?;
            println!("added {name}; sign in to it next");
        }
        AccountCommand::Remove { name } => {
            let settings = Settings::load(&file)?;
            if settings.account(&name).is_none() {
                return Err(CliError::with_code(
                    format!("no account named {name:?}; `tokentray status` lists them"),
                    code::NO_SUCH_ACCOUNT,
                ));
            }
            let req = Request::Forget {
                account: name.clone(),
            };
            let n = name.clone();
            engine_call::call(paths, &req, |engine| async move {
                engine.forget(&n).await?;
                Ok(serde_json::Value::Null)
            })?;
            // Re-read: the file may have changed while the provider was being called.
            let mut settings = Settings::load(&file)?;
            settings.accounts.retain(|a| a.name != name);
            settings.jobs.retain(|j| j.account != name);
            settings.save(&file)?;
            engine_call::reload(paths)?;
            println!("removed {name} and deleted its secrets");
        }
        AccountCommand::Import { name } => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| CliError::new(format!("cannot read stdin: {e}")))?;
            let text = Secret::new(text);
            let req = Request::SignIn {
                account: name.clone(),
                tokens: text.expose().to_owned(),
            };
            let n = name.clone();
            engine_call::call(paths, &req, |engine| async move {
                engine.import(&n, &text).await?;
                Ok(serde_json::Value::Null)
            })?;
            println!("{name}: tokens imported; Tokentray now keeps them fresh");
        }
    }
    Ok(())
}
