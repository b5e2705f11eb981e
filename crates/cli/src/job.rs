//! `tokentray job add|list|remove`: warm-up jobs.

use tokentray_core::settings::{parse_duration, JobSettings, Settings};
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::{code, CliError};

/// Job commands.
#[derive(clap::Subcommand)]
pub enum JobCommand {
    /// Add a warm-up job: an HTTP request with the account's token, repeated.
    Add {
        /// The job's name.
        name: String,
        /// The account whose token it sends.
        #[arg(long)]
        account: String,
        /// The URL to call.
        #[arg(long)]
        url: String,
        /// The HTTP method.
        #[arg(long, default_value = "GET")]
        method: String,
        /// The interval: 30s, 5m, 2h.
        #[arg(long, default_value = "5m")]
        every: String,
        /// An extra header, `Name: value` (repeatable).
        #[arg(long = "header")]
        headers: Vec<String>,
        /// A request body.
        #[arg(long)]
        body: Option<String>,
    },
    /// List the jobs.
    List {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Remove a job.
    Remove {
        /// The job's name.
        name: String,
    },
}

/// Runs a job command.
pub fn run(paths: &Paths, cmd: JobCommand) -> Result<(), CliError> {
    let file = paths.settings_file();
    match cmd {
        JobCommand::Add {
            name,
            account,
            url,
            method,
            every,
            headers,
            body,
        } => {
            let mut settings = Settings::load(&file)?;
            if settings.jobs.iter().any(|j| j.name == name) {
                return Err(CliError::new(format!(
                    "a job named {name:?} already exists"
                )));
            }
            if settings.account(&account).is_none() {
                return Err(CliError::with_code(
                    format!("no account named {account:?}; `tokentray status` lists them"),
                    code::NO_SUCH_ACCOUNT,
                ));
            }
            if parse_duration(&every).is_none_or(|d| d.as_secs() < 1) {
                return Err(CliError::with_code(
                    format!("cannot read the interval {every:?}; use forms like 30s, 5m, 2h"),
                    2,
                ));
            }
            if let Some(bad) = headers.iter().find(|h| !h.contains(':')) {
                return Err(CliError::with_code(
                    format!("header {bad:?} is not `Name: value`"),
                    2,
                ));
            }
            if let Some(why) = tokentray_core::jobs::refuse_url(&url) {
                return Err(CliError::with_code(why, 2));
            }
            settings.jobs.push(JobSettings {
                name: name.clone(),
                account,
                url,
                method: method.to_ascii_uppercase(),
                every,
                headers,
                body,
            });
            settings.save(&file)?;
            engine_call::reload(paths)?;
            println!("added job {name}");
        }
        JobCommand::List { json } => {
            let settings = Settings::load(&file)?;
            if json {
                println!("{}", serde_json::json!({ "jobs": settings.jobs }));
            } else if settings.jobs.is_empty() {
                println!("No jobs yet. Add one with `tokentray job add NAME --account A --url URL --every 5m`");
            } else {
                for j in &settings.jobs {
                    println!(
                        "{}  {}  {} {} every {}",
                        j.name, j.account, j.method, j.url, j.every
                    );
                }
            }
        }
        JobCommand::Remove { name } => {
            let mut settings = Settings::load(&file)?;
            let before = settings.jobs.len();
            settings.jobs.retain(|j| j.name != name);
            if settings.jobs.len() == before {
                return Err(CliError::new(format!(
                    "no job named {name:?}; `tokentray job list` lists them"
                )));
            }
            settings.save(&file)?;
            engine_call::reload(paths)?;
            println!("removed job {name}");
        }
    }
    Ok(())
}
