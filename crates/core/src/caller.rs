//! Who asks for a token: the program on the other end of a request, as the host identified it,
//! and the account's rule for such programs (hand the token to any, or ask the person first).

use serde::{Deserialize, Serialize};

/// The program that asks for a token, as the host could tell it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// The program's executable path (for the `tokentray` CLI: the program that ran it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// The executable of the program that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The request came through Tokentray's own CLI (so it may say on whose behalf: `exec`
    /// names the command it runs).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub through_cli: bool,
}

impl Caller {
    /// The caller as `exec` sees it: the command it will run gets the token, started by the
    /// program that ran `exec`. Only a request that came through Tokentray's CLI may say so.
    pub fn acting_for(&self, command: Option<&str>) -> Caller {
        match command {
            Some(command) if self.through_cli => Caller {
                program: Some(command.to_owned()),
                parent: self.program.clone(),
                through_cli: true,
            },
            _ => self.clone(),
        }
    }

    /// The caller as one phrase for a person: `/usr/bin/git (started by /usr/bin/bash)`.
    pub fn describe(&self) -> String {
        let program = self.program.as_deref().unwrap_or("an unknown program");
        match &self.parent {
            Some(parent) => format!("{program} (started by {parent})"),
            None => program.to_owned(),
        }
    }
}

/// Which programs an account's token goes to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerPolicy {
    /// Any program of this user (as before callers existed).
    #[default]
    Allow,
    /// A program not yet allowed waits for the person's answer to a notification.
    Ask,
}

impl CallerPolicy {
    /// True for the default, which the settings file leaves out.
    pub fn is_default(&self) -> bool {
        *self == CallerPolicy::default()
    }
}

/// What the person answered when asked about a caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consent {
    /// This request only.
    Once,
    /// This program from now on (it joins the account's allowed callers).
    Always,
    /// No.
    Deny,
    /// Nobody answered in time.
    NoAnswer,
    /// There is nobody to ask (a headless engine, no notification service); says why.
    NobodyToAsk(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_reads_as_program_and_parent() {
        let c = Caller {
            program: Some("/usr/bin/git".into()),
            parent: Some("/usr/bin/bash".into()),
            through_cli: false,
        };
        assert_eq!(c.describe(), "/usr/bin/git (started by /usr/bin/bash)");
        assert_eq!(Caller::default().describe(), "an unknown program");
    }
}
