//! `tokentray`: the lean command line. Links no GUI library so that scripts and git can call it
//! on every use; `tokentray run` hands the GUI over to `tokentray-app`.

mod autostart;
mod error;
mod pause;
mod run;
mod status;

use clap::{Parser, Subcommand};

/// Keeps your OAuth tokens fresh and tells you, once, when an account needs you.
#[derive(Parser)]
#[command(name = "tokentray", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start Tokentray: the tray app, or the engine alone with --headless.
    Run(run::RunArgs),
    /// Show every account's state.
    Status(status::StatusArgs),
    /// Pause an account and its jobs (your pause; `resume` undoes it).
    Pause(pause::PauseArgs),
    /// Resume an account you paused.
    Resume(pause::PauseArgs),
    /// Launch the tray app at login: on, off, or status.
    Autostart(autostart::AutostartArgs),
}

fn main() {
    let cli = Cli::parse();
    let paths = tokentray_core::Paths::from_env();
    let result = match cli.command {
        Command::Run(args) => run::run(&paths, args),
        Command::Status(args) => status::run(&paths, args),
        Command::Pause(args) => pause::run(&paths, args, true),
        Command::Resume(args) => pause::run(&paths, args, false),
        Command::Autostart(args) => autostart::run(args),
    };
    if let Err(e) = result {
        e.exit();
    }
}
