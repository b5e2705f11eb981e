//! `tokentray`: the lean command line. Links no GUI library so that scripts and git can call it
//! on every use; `tokentray run` hands the GUI over to `tokentray-app`.

mod account;
mod autostart;
mod credential;
mod engine_call;
mod error;
mod exec;
mod job;
mod login;
mod pause;
mod provider;
mod run;
mod status;
mod token;

use clap::{Parser, Subcommand};

/// Keeps your OAuth tokens fresh and tells you, once, when an account needs you.
#[derive(Parser)]
#[command(name = "tokentray", version = env!("TOKENTRAY_VERSION"), propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start Tokentray: the tray app, or the engine alone with --headless.
    Run(run::RunArgs),
    /// Add or list OAuth providers.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Add, remove or import accounts.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Sign an account in, or in again, in the browser (or with a device code).
    Login(login::LoginArgs),
    /// Sign an account out: revoke its grant and delete its tokens (the account stays).
    Logout(login::LogoutArgs),
    /// Print a fresh access token and a newline, nothing else.
    Token(token::TokenArgs),
    /// Run a command with a fresh token in its environment (GH_TOKEN, ACCESS_TOKEN, …).
    Exec(exec::ExecArgs),
    /// Refresh an account's tokens now and report the outcome.
    Refresh(token::RefreshArgs),
    /// Show every account's state.
    Status(status::StatusArgs),
    /// Add, list or remove warm-up jobs.
    #[command(subcommand)]
    Job(job::JobCommand),
    /// Pause an account and its jobs (your pause; `resume` undoes it).
    Pause(pause::PauseArgs),
    /// Resume an account you paused.
    Resume(pause::PauseArgs),
    /// Launch the tray app at login: on, off, or status.
    Autostart(autostart::AutostartArgs),
    /// Git's credential helper (get, store, erase); see the README for the `git config` line.
    GitCredential(credential::GitArgs),
    /// A Kubernetes ExecCredential with the account's token, for a kubeconfig `exec` entry.
    ExecCredential(credential::ExecArgs),
    /// Print shell completions: bash, zsh or fish.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() {
    let cli = Cli::parse();
    let paths = tokentray_core::Paths::from_env();
    let result = match cli.command {
        Command::Run(args) => run::run(&paths, args),
        Command::Provider(cmd) => provider::run(&paths, cmd),
        Command::Account(cmd) => account::run(&paths, cmd),
        Command::Login(args) => login::login(&paths, args),
        Command::Logout(args) => login::logout(&paths, args),
        Command::Token(args) => token::token(&paths, args),
        Command::Exec(args) => exec::run(&paths, args),
        Command::Refresh(args) => token::refresh(&paths, args),
        Command::Status(args) => status::run(&paths, args),
        Command::Job(cmd) => job::run(&paths, cmd),
        Command::Pause(args) => pause::run(&paths, args, true),
        Command::Resume(args) => pause::run(&paths, args, false),
        Command::Autostart(args) => autostart::run(args),
        Command::GitCredential(args) => credential::git(&paths, args),
        Command::ExecCredential(args) => credential::exec(&paths, args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "tokentray", &mut std::io::stdout());
            Ok(())
        }
    };
    if let Err(e) = result {
        e.exit();
    }
}
