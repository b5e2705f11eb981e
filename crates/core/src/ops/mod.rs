//! The operation surface: everything the engine can be asked, defined once (in `catalog.rs`)
//! as a typed request ([`Op`]) with a typed answer ([`answer`]). The socket server, the
//! dashboard's IPC and the CLI's engine-less path all call [`perform`]; the names and the
//! dashboard's permissions are generated from the same catalog, so no list is kept by hand.
//!
//! What an operation needs from the desktop (a clipboard, a browser, launch at login, showing a
//! window) it asks of a [`Desk`], which the host layer provides: the engine stays GUI-free.

mod accounts;
mod consent;
mod context;
mod desktop;
mod error;
mod settings_edits;
mod sign_in;

use serde::{Deserialize, Serialize};

use crate::caller::Caller;
use crate::engine::{Credential, LoginMethod, LoginOutcome, LoginPrompt, RefreshReport};
use crate::oauth::classify::FailureClass;
use crate::secret::Secret;
use crate::settings::{JobSettings, ProviderSettings};
use crate::status::Status;
use crate::variant::TokenRequest;
use crate::Engine;

pub use accounts::{Changed, HistoryPage};
pub use consent::{NOT_ALLOWED, PATIENCE};
pub use context::{Cx, Desk};
pub use desktop::{AppSettingsView, PingInfo, PROTOCOL};
pub use error::{code, OpError};
pub use settings_edits::{AccountOptions, Endpoints, ProviderSource};
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

/// Performs `op` for `caller` and answers its JSON. The one way every front end runs an
/// operation.
pub async fn perform(
    engine: &Engine,
    desk: &dyn Desk,
    caller: &Caller,
    op: Op,
) -> Result<serde_json::Value, OpError> {
    dispatch(
        &Cx {
            engine,
            desk,
            caller,
        },
        op,
    )
    .await
}

#[cfg(test)]
mod tests;
