//! Why the engine could not do what was asked: one typed error, each variant with the sentence
//! that says what to do next, and a stable code for the socket and the CLI's exit codes.

use std::sync::Arc;

use crate::accounts::StateError;
use crate::settings::SettingsError;
use crate::vault::VaultError;

/// Why the engine could not do what was asked. Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The settings file is unreadable or invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The state file is unreadable, corrupt or unwritable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The keychain cannot be used.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// No account has that name.
    #[error("no account named {0:?}; `tokentray status` lists them")]
    NoSuchAccount(String),
    /// No account is set up at all.
    #[error(
        "no account named {0:?}: no account is set up yet. Add one in the dashboard \
             (`tokentray run`), or: `tokentray provider add NAME --preset github --client-id ID`, \
             `tokentray account add {0} --provider NAME`, `tokentray login {0}`"
    )]
    NoAccountsYet(String),
    /// The account has no tokens.
    #[error("{0} is not signed in; sign in first")]
    SignedOut(String),
    /// The user paused the account and its token needs a refresh.
    #[error("{0} is paused and its token has expired; `tokentray resume {0}` first")]
    Paused(String),
    /// The provider refused the grant for good.
    #[error("{account} needs a new sign-in: {detail}")]
    NeedsRelogin {
        /// The account.
        account: String,
        /// What the provider said.
        detail: String,
    },
    /// The provider settings are wrong.
    #[error("{account}: the provider settings need fixing: {detail}")]
    Config {
        /// The account.
        account: String,
        /// What the provider said.
        detail: String,
    },
    /// A temporary failure; the engine retries on its own.
    #[error("{account}: temporary failure, try again later: {detail}")]
    Temporary {
        /// The account.
        account: String,
        /// What went wrong.
        detail: String,
    },
    /// The provider refused what this request asked for (a scope, a resource), or the
    /// request cannot be met (a minimum lifetime longer than the provider's tokens live). The
    /// request failed, not the account.
    #[error("{account}: {detail}")]
    Refused {
        /// The account.
        account: String,
        /// What was refused, by whom, and what to ask instead.
        detail: String,
    },
    /// A request's option is malformed; the sentence names it.
    #[error("{0}")]
    BadRequest(String),
    /// The account's cross-process refresh lock could not be taken.
    #[error("cannot take the refresh lock of {account}: {source}; check that Tokentray's state folder is writable")]
    RefreshLock {
        /// The account.
        account: String,
        /// What the file system said.
        source: std::io::Error,
    },
    /// A keychain call on the blocking pool never came back (it panicked or the runtime is
    /// stopping).
    #[error("a keychain call failed: {0}; try again, and restart Tokentray if it persists")]
    KeychainCall(String),
    /// `account import` got something that is neither a token answer nor a refresh token.
    #[error("expected a token response (JSON with access_token) or a refresh token")]
    NotTokens,
    /// The engine is shutting down and takes no new work.
    #[error("Tokentray is shutting down; try again once it has restarted")]
    ShuttingDown,
    /// A sign-in did not complete.
    #[error("{account}: {message}")]
    Login {
        /// The account.
        account: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A request that does not make sense (a duplicate name, a missing job); says why.
    #[error("{0}")]
    Invalid(String),
    /// An error that several waiters share (a sign-in's outcome).
    #[error("{0}")]
    Shared(Arc<EngineError>),
    /// A re-login came back as another user than the account had.
    #[error("{account} is signed in as {expected:?}, but this sign-in was for {got:?}; nothing was changed. Sign in as {expected:?}, or add another account for {got:?} (or `tokentray logout {account}` first to switch it)")]
    IdentityMismatch {
        /// The account.
        account: String,
        /// The user the account had.
        expected: String,
        /// The user this sign-in was for.
        got: String,
    },
}

impl EngineError {
    /// A stable code for the error, as it crosses the socket (the CLI maps it to an exit code).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Settings(_) => "settings",
            EngineError::State(_) => "state",
            EngineError::Vault(_) => "keychain",
            EngineError::NoSuchAccount(_) | EngineError::NoAccountsYet(_) => "no_such_account",
            EngineError::SignedOut(_) => "signed_out",
            EngineError::Paused(_) => "paused",
            EngineError::NeedsRelogin { .. } => "needs_relogin",
            EngineError::Config { .. } => "config",
            EngineError::Temporary { .. } => "temporary",
            EngineError::Refused { .. } => "refused",
            EngineError::BadRequest(_) => "bad_argument",
            EngineError::RefreshLock { .. } | EngineError::KeychainCall(_) => "io",
            EngineError::NotTokens => "invalid",
            EngineError::ShuttingDown => "temporary",
            EngineError::Login { .. } => "login_failed",
            EngineError::IdentityMismatch { .. } => "identity_mismatch",
            EngineError::Shared(e) => e.code(),
            EngineError::Invalid(_) => "invalid",
        }
    }
}
