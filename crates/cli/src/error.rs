//! The CLI's one error type: a sentence for the user and the exit code scripts rely on.

use tokentray_core::ops::OpError;
use tokentray_core::EngineError;
use tokentray_host::socket::ClientError;

/// Exit codes from the CLI contract.
pub mod code {
    /// Anything without a more specific code.
    pub const FAILURE: i32 = 1;
    /// A malformed argument (as clap's own usage errors).
    pub const USAGE: i32 = 2;
    /// Re-login needed (a permanent failure).
    pub const RELOGIN: i32 = 3;
    /// A temporary failure: try again.
    pub const TEMPORARY: i32 = 4;
    /// The provider settings need fixing.
    pub const CONFIG: i32 = 5;
    /// The keychain is unavailable or locked.
    pub const KEYCHAIN: i32 = 6;
    /// The named account does not exist.
    pub const NO_SUCH_ACCOUNT: i32 = 7;
    /// The provider refused what the request asked for (`--scope`, `--resource`), or
    /// `--min-valid` cannot be met; the account is fine.
    pub const REFUSED: i32 = 8;
    /// The account asks before a new program has its token, and this one was not allowed:
    /// denied, no answer within a minute, or nobody to ask.
    pub const NOT_ALLOWED: i32 = 9;
}

/// The exit code for an engine error code (as it crosses the socket).
pub fn exit_code_for(engine_code: &str) -> i32 {
    match engine_code {
        "needs_relogin" => code::RELOGIN,
        "temporary" => code::TEMPORARY,
        "config" => code::CONFIG,
        "keychain" => code::KEYCHAIN,
        "no_such_account" => code::NO_SUCH_ACCOUNT,
        "refused" => code::REFUSED,
        tokentray_core::ops::NOT_ALLOWED => code::NOT_ALLOWED,
        tokentray_core::ops::code::BAD_ARGUMENT => code::USAGE,
        _ => code::FAILURE,
    }
}

/// A failed command: what to print and how to exit.
#[derive(Debug)]
pub struct CliError {
    message: String,
    code: i32,
}

impl CliError {
    /// A failure with the generic exit code.
    pub fn new(message: impl Into<String>) -> CliError {
        CliError::with_code(message, code::FAILURE)
    }

    /// A failure with a specific exit code.
    pub fn with_code(message: impl Into<String>, code: i32) -> CliError {
        CliError {
            message: message.into(),
            code,
        }
    }

    /// Prints the one-line error and exits.
    pub fn exit(self) -> ! {
        let one_line = self.message.replace('\n', " ");
        eprintln!("tokentray: {one_line}");
        std::process::exit(self.code)
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message.replace('\n', " "))
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> CliError {
        CliError::with_code(e.to_string(), exit_code_for(e.code()))
    }
}

impl From<OpError> for CliError {
    fn from(e: OpError) -> CliError {
        let code = exit_code_for(&e.code);
        CliError::with_code(e.message, code)
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> CliError {
        let code = match &e {
            ClientError::Engine(w) => exit_code_for(&w.code),
            _ => code::FAILURE,
        };
        CliError::with_code(e.to_string(), code)
    }
}

impl From<tokentray_core::settings::SettingsError> for CliError {
    fn from(e: tokentray_core::settings::SettingsError) -> CliError {
        CliError::new(e.to_string())
    }
}
