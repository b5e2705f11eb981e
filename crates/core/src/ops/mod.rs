//! The operation surface: everything the engine can be asked, defined once (in `catalog.rs`)
//! as a typed request ([`Op`]) with a typed answer ([`answer`]). The socket server, the
//! dashboard's IPC and the CLI's engine-less path all call [`perform`]; the names and the
//! dashboard's permissions are generated from the same catalog, so no list is kept by hand.
//!
//! What an operation needs from the desktop (a clipboard, a browser, launch at login, showing a
//! window) it asks of a [`Desk`], which the host layer provides: the engine stays GUI-free.

mod accounts;
mod desktop;
mod settings_edits;
mod sign_in;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::{Credential, LoginMethod, LoginOutcome, LoginPrompt, RefreshReport};
use crate::oauth::classify::FailureClass;
use crate::secret::Secret;
use crate::settings::{JobSettings, ProviderSettings};
use crate::status::Status;
use crate::{Engine, EngineError};

pub use accounts::{Changed, HistoryPage};
pub use desktop::{AppSettingsView, PingInfo, PROTOCOL};
pub use settings_edits::{Endpoints, ProviderSource};
pub use sign_in::SignInView;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The dashboard page as well as the CLI and tools: answers no secret.
    Dashboard,
    /// Only the CLI and tools over the user's socket.
    Socket,
}

/// An operation's answer type (see [`answer`]).
pub trait Answered {
    /// What the operation answers.
    type Answer;
}

macro_rules! operations {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $name:literal [$audience:ident] {
            $( $(#[$attr:meta])* $field:ident : $ty:ty ),* $(,)?
        } -> $answer:ty = $handler:path;
    )*) => {
        /// One request to the engine, as it crosses the socket: `{"op": NAME, ...arguments}`.
        #[derive(Clone, Serialize, Deserialize)]
        #[serde(tag = "op")]
        pub enum Op {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant { $( $(#[$attr])* $field: $ty ),* },
            )*
        }

        impl Op {
            /// The operation's name on the wire.
            pub fn name(&self) -> &'static str {
                match self {
                    $( Op::$variant { .. } => $name, )*
                }
            }
        }

        /// Every operation's name, with who may call it.
        pub const CATALOG: &[(&str, Audience)] = &[ $( ($name, Audience::$audience), )* ];

        /// One marker per operation, carrying its answer type.
        pub mod kind {
            $(
                #[doc = concat!("The `", $name, "` operation.")]
                pub struct $variant;
            )*
        }

        $( impl Answered for kind::$variant { type Answer = $answer; } )*

        /// Each operation's answer type, named after its request.
        pub mod answer {
            $(
                #[doc = concat!("What `", $name, "` answers.")]
                pub type $variant = <super::kind::$variant as super::Answered>::Answer;
            )*
        }

        async fn dispatch(cx: &Cx<'_>, op: Op) -> Result<serde_json::Value, OpError> {
            match op {
                $(
                    Op::$variant { $($field),* } => {
                        let answer: $answer = $handler(cx, $($field),*).await?;
                        serde_json::to_value(answer).map_err(OpError::unanswerable)
                    }
                )*
            }
        }
    };
}

include!("catalog.rs");

/// Names of the operations the dashboard page may call.
pub fn dashboard_operations() -> impl Iterator<Item = &'static str> {
    CATALOG
        .iter()
        .filter(|(_, who)| *who == Audience::Dashboard)
        .map(|(name, _)| *name)
}

/// Shows the operation and its account only: some carry tokens, a job may carry keys.
impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Op({}", self.name())?;
        if let Ok(v) = serde_json::to_value(self) {
            if let Some(account) = v["account"].as_str() {
                write!(f, ", {account:?}")?;
            }
        }
        write!(f, ")")
    }
}

/// What the desktop around the engine does for an operation. The host layer implements it; the
/// engine never touches a clipboard, a browser or a window.
pub trait Desk: Send + Sync {
    /// What `ping` reports: `app`, `headless` or `cli`.
    fn kind(&self) -> &'static str;
    /// A second launch asks the GUI to show itself.
    fn activate(&self, open_dashboard: bool);
    /// Puts a secret on the clipboard for `for_how_long`, out of clipboard history; false when
    /// there is no clipboard.
    fn copy_secret(&self, secret: &Secret, for_how_long: Duration) -> bool;
    /// Opens a web page in the person's browser.
    fn open_url(&self, url: &str) -> Result<(), String>;
    /// Opens a folder in the file manager.
    fn open_folder(&self, path: &Path) -> Result<(), String>;
    /// Whether the tray app launches at login.
    fn autostart(&self) -> bool;
    /// Makes the tray app launch at login, or not.
    fn set_autostart(&self, on: bool) -> Result<(), String>;
}

/// What an operation runs with.
pub struct Cx<'a> {
    /// The engine.
    pub engine: &'a Engine,
    /// The desktop around it.
    pub desk: &'a dyn Desk,
}

/// Performs `op` and answers its JSON. The one way every front end runs an operation.
pub async fn perform(
    engine: &Engine,
    desk: &dyn Desk,
    op: Op,
) -> Result<serde_json::Value, OpError> {
    dispatch(&Cx { engine, desk }, op).await
}

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

    fn unanswerable(e: serde_json::Error) -> OpError {
        OpError::new(code::INTERNAL, format!("cannot write the answer: {e}"))
    }
}

impl From<EngineError> for OpError {
    fn from(e: EngineError) -> OpError {
        OpError::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests;
