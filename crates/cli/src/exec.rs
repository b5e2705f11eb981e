//! `tokentray exec NAME -- COMMAND [ARGS...]`: runs one command with a fresh token in its
//! environment, so the token is in no shell's history or environment and in no file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use tokentray_core::settings::Settings;
use tokentray_core::Paths;

use crate::credential::fetch;
use crate::error::CliError;
use crate::token::VariantArgs;

/// Exit code when COMMAND cannot be found (as `env` and shells use).
const NOT_FOUND: i32 = 127;
/// Exit code when COMMAND was found but cannot be run.
const CANNOT_RUN: i32 = 126;

/// Arguments of `exec`.
#[derive(clap::Args)]
pub struct ExecArgs {
    /// The account.
    name: String,
    /// The environment variable that carries the token (default: GH_TOKEN for a GitHub
    /// account, GITLAB_TOKEN for GitLab, GOOGLE_OAUTH_ACCESS_TOKEN for Google, else
    /// ACCESS_TOKEN).
    #[arg(long, value_name = "VAR")]
    env: Option<String>,
    #[command(flatten)]
    variant: VariantArgs,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// The variable a preset's tools read their token from; `ACCESS_TOKEN` otherwise.
pub fn default_env(preset: Option<&str>) -> &'static str {
    match preset {
        // The GitHub CLI and most GitHub tooling.
        Some("github") => "GH_TOKEN",
        // glab, the GitLab CLI.
        Some("gitlab") => "GITLAB_TOKEN",
        // Terraform's google provider and several Google client libraries.
        Some("google") => "GOOGLE_OAUTH_ACCESS_TOKEN",
        _ => "ACCESS_TOKEN",
    }
}

/// Fetches the token, then becomes COMMAND (Unix) or runs it and passes its exit code on
/// (Windows). On Unix the command replaces this process, so its stdin, stdout, stderr,
/// signals and exit status are its own, with nothing in between.
pub fn run(paths: &Paths, args: ExecArgs) -> Result<(), CliError> {
    let var = match &args.env {
        Some(v) if v.is_empty() || v.contains('=') || v.contains('\0') => {
            return Err(CliError::with_code(
                format!("--env {v:?} is not a variable name"),
                crate::error::code::USAGE,
            ))
        }
        Some(v) => v.clone(),
        None => {
            let settings = Settings::load(&paths.settings_file())?;
            let preset = settings
                .account(&args.name)
                .and_then(|a| settings.providers.get(&a.provider))
                .and_then(|p| p.preset.clone());
            default_env(preset.as_deref()).to_owned()
        }
    };
    let (program, rest) = args.command.split_first().ok_or_else(|| {
        CliError::with_code("name the command after --", crate::error::code::USAGE)
    })?;
    // The command gets the token, so it is the one a person is asked about.
    let resolved = resolve(program).map(|p| p.to_string_lossy().into_owned());
    let credential = fetch(paths, &args.name, args.variant.request(), resolved)?;
    let mut command = Command::new(program);
    command.args(rest).env(&var, credential.token.expose());
    become_command(command, program)
}

#[cfg(unix)]
fn become_command(mut command: Command, program: &OsString) -> Result<(), CliError> {
    use std::os::unix::process::CommandExt;
    // Returns only when it failed.
    let e = command.exec();
    Err(cannot_start(program, &e))
}

#[cfg(not(unix))]
fn become_command(mut command: Command, program: &OsString) -> Result<(), CliError> {
    // Ctrl+C reaches every process of the console, the command included: this process stays
    // to pass the command's exit code on, and leaves the interrupt to it.
    ignore_console_interrupts();
    let status = command.status().map_err(|e| cannot_start(program, &e))?;
    std::process::exit(status.code().unwrap_or(1));
}

#[cfg(windows)]
fn ignore_console_interrupts() {
    // A registered handler replaces the default one, which would end this process.
    std::thread::spawn(|| {
        let Ok(rt) = crate::engine_call::runtime() else {
            return;
        };
        rt.block_on(async {
            let Ok(mut c) = tokio::signal::windows::ctrl_c() else {
                return;
            };
            while c.recv().await.is_some() {}
        });
    });
}

#[cfg(not(any(unix, windows)))]
fn ignore_console_interrupts() {}

/// The command's full path, as the system would find it: a path as given (made absolute), a
/// bare name along `PATH`.
fn resolve(program: &OsString) -> Option<PathBuf> {
    let given = Path::new(program);
    if given.components().count() > 1 {
        return given.canonicalize().ok();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find_map(|dir| {
        let exts: &[&str] = if cfg!(windows) {
            &["", ".exe", ".cmd", ".bat"]
        } else {
            &[""]
        };
        exts.iter().find_map(|ext| {
            let mut name = program.clone();
            name.push(ext);
            let candidate = dir.join(name);
            candidate
                .is_file()
                .then(|| candidate.canonicalize().unwrap_or(candidate))
        })
    })
}

fn cannot_start(program: &OsString, e: &std::io::Error) -> CliError {
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_RUN
    };
    CliError::with_code(
        format!("cannot run {}: {e}", program.to_string_lossy()),
        code,
    )
}
