//! The CLI's one error type: a sentence for the user and the exit code scripts rely on.

use tokentray_core::socket::ClientError;
use tokentray_core::EngineError;

/// Exit codes from `shared/cli-contract.md`.
pub mod code {
    /// Anything without a more specific code.
    pub const FAILURE: i32 = 1;
    /// The named account does not exist.
    pub const NO_SUCH_ACCOUNT: i32 = 7;
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
        CliError {
            message: message.into(),
            code: code::FAILURE,
        }
    }

    /// Prints the one-line error and exits.
    pub fn exit(self) -> ! {
        eprintln!("tokentray: {}", self.message);
        std::process::exit(self.code)
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> CliError {
        let code = match e {
            EngineError::NoSuchAccount(_) => code::NO_SUCH_ACCOUNT,
            _ => code::FAILURE,
        };
        CliError {
            message: e.to_string(),
            code,
        }
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> CliError {
        let code = match &e {
            ClientError::Engine(w) if w.code == "no_such_account" => code::NO_SUCH_ACCOUNT,
            _ => code::FAILURE,
        };
        CliError {
            message: e.to_string(),
            code,
        }
    }
}
