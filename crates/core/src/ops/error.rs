//! How an operation fails: the same code and sentence on every path.

use serde::{Deserialize, Serialize};

use crate::EngineError;

/// Why an operation failed: a stable code and the sentence for the user, the same on every
/// path (socket, dashboard, CLI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct OpError {
    /// A stable machine-readable code (the engine's, or one of [`code`]).
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

/// Codes of failures that are the operation's, not the engine's.
pub mod code {
    /// An argument is malformed (an interval, a header, a URL): a usage error.
    pub const BAD_ARGUMENT: &str = "bad_argument";
    /// The request cannot be done as asked (a name taken, a job that does not exist).
    pub const INVALID: &str = "invalid";
    /// This desktop cannot do it (no clipboard, no browser, not a stream).
    pub const UNSUPPORTED: &str = "unsupported";
    /// The answer could not be written.
    pub const INTERNAL: &str = "internal";
}

impl OpError {
    /// A failure with `code`.
    pub fn new(code: &str, message: impl Into<String>) -> OpError {
        OpError {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// The request cannot be done as asked.
    pub fn invalid(message: impl Into<String>) -> OpError {
        OpError::new(code::INVALID, message)
    }

    /// An argument is malformed.
    pub fn bad_argument(message: impl Into<String>) -> OpError {
        OpError::new(code::BAD_ARGUMENT, message)
    }

    pub(super) fn unanswerable(e: serde_json::Error) -> OpError {
        OpError::new(code::INTERNAL, format!("cannot write the answer: {e}"))
    }
}

impl From<EngineError> for OpError {
    fn from(e: EngineError) -> OpError {
        OpError::new(e.code(), e.to_string())
    }
}
