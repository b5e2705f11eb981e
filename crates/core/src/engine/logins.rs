//! The sign-ins in progress: one per account, what to show the person, and the last outcome of
//! each (so that a waiter who asks a moment too late still gets it). Only state and its types;
//! `sign_in` runs the flows.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::error::EngineError;

/// Which flow to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethod {
    /// The browser when the provider has an authorization endpoint, else the device flow.
    #[default]
    Auto,
    /// Authorization code + PKCE in the browser.
    Browser,
    /// The device authorization grant: a code typed at the provider's page.
    Device,
}

/// What to show the person to go on with a sign-in.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginPrompt {
    /// The account.
    pub account: String,
    /// `browser` or `device`.
    pub method: LoginMethod,
    /// The page to open: the authorization URL, or the device page (with the code in it when
    /// the provider allows). It carries the flow's `state`: shown to the person, never logged.
    pub url: String,
    /// For the device flow: the code to type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// For the device flow: where to type it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri: Option<String>,
    /// How long the person has, in seconds.
    pub expires_in_s: u64,
}

impl std::fmt::Debug for LoginPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginPrompt")
            .field("account", &self.account)
            .field("method", &self.method)
            .field("url", &"[not logged]")
            .finish()
    }
}

/// A finished sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginOutcome {
    /// The account.
    pub account: String,
    /// Who it is signed in as (the provider's stable subject), when the provider says.
    pub subject: Option<String>,
    /// The user's name there (a login or an email), when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

impl LoginOutcome {
    /// What to call who signed in: the user's name, else the subject.
    pub fn shown(&self) -> Option<&str> {
        self.user.as_deref().or(self.subject.as_deref())
    }
}

/// A flow's end, once it ended.
pub(super) type Finished = Option<Result<LoginOutcome, Arc<EngineError>>>;

/// A sign-in waiting for a person (or ended, until a new one replaces it).
pub(super) struct Pending {
    /// What to show the person.
    pub(super) prompt: LoginPrompt,
    /// Becomes `Some` when the flow ends.
    pub(super) done: watch::Receiver<Finished>,
    /// Stops the flow (its listener, its polling) when a new one replaces it or the account is
    /// signed out: one flow per account, and none that outlives a logout.
    pub(super) abort: tokio::task::AbortHandle,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

/// The sign-ins in progress, and the last one of each account once it ended (so that a waiter
/// who asks a moment too late still gets its outcome). A new flow replaces an ended one.
#[derive(Default)]
pub(super) struct Logins {
    /// By account.
    pub(super) pending: Mutex<HashMap<String, Pending>>,
    /// One per account, held while its flow is being set up, so two clicks cannot start two
    /// flows (and one slow provider does not hold up another account's sign-in).
    pub(super) starting: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}
