//! `tokentray job add|list|remove`: warm-up jobs.

use tokentray_core::ops::{answer, Op};
use tokentray_core::settings::{JobSettings, Settings};
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::CliError;

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
            let (): answer::SaveJob = engine_call::call(
                paths,
                Op::SaveJob {
                    job: JobSettings {
                        name: name.clone(),
                        account,
                        url,
                        method,
                        every,
                        headers,
                        body,
                    },
                    new: true,
                },
            )?;
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
            let (): answer::RemoveJob =
                engine_call::call(paths, Op::RemoveJob { name: name.clone() })?;
            println!("removed job {name}");
        }
    }
    Ok(())
}
