//! The three classes of refresh failure.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The classes of failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The grant is dead: only a new sign-in helps.
    Permanent,
    /// Try again later.
    Transient,
    /// The provider settings are wrong: re-login would not help.
    Config,
}

impl FailureClass {
    /// `permanent`, `transient` or `config`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::Permanent => "permanent",
            FailureClass::Transient => "transient",
            FailureClass::Config => "config",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
