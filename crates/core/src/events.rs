//! The engine's events: the one channel the tray, the notifier, the dashboard and the socket
//! learn of the engine's changes from. (GUI signals, such as a second launch asking to be
//! shown, are the host's: `tokentray_host::signals`.)

use serde::Serialize;
use tokio::sync::broadcast;

use crate::accounts::AccountState;
use crate::oauth::classify::FailureClass;

/// Something that happened in the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// An account moved from one state to another.
    StateChanged {
        /// The account's name.
        account: String,
        /// Its state before.
        from: AccountState,
        /// Its state now.
        to: AccountState,
    },
    /// An account's tokens were refreshed.
    Refreshed {
        /// The account's name.
        account: String,
    },
    /// A token for other scopes or a resource was minted from the account's refresh token.
    VariantIssued {
        /// The account's name.
        account: String,
        /// The scopes asked for (empty: the sign-in's).
        scopes: Vec<String>,
        /// The resource asked for.
        #[serde(skip_serializing_if = "Option::is_none")]
        resource: Option<String>,
    },
    /// A refresh failed (its class decides what happens next).
    RefreshFailed {
        /// The account's name.
        account: String,
        /// The failure's class.
        class: FailureClass,
        /// The provider's (or our) code.
        code: String,
    },
    /// A warm-up job ran.
    JobRan {
        /// The job.
        job: String,
        /// Its account.
        account: String,
        /// The HTTP status (none after a transport failure).
        status: Option<u16>,
    },
    /// A sign-in started and waits for the person.
    LoginStarted {
        /// The account's name.
        account: String,
        /// For a device sign-in: the code to type, and where.
        #[serde(skip_serializing_if = "Option::is_none")]
        device: Option<DeviceCode>,
    },
    /// A sign-in ended.
    LoginFinished {
        /// The account's name.
        account: String,
        /// Whether it succeeded.
        ok: bool,
        /// What happened, for people.
        message: String,
    },
    /// The settings file was re-read (accounts or providers may have changed).
    SettingsChanged,
    /// The state file could not be written, or can be again (`error` is `None`).
    StorageChanged {
        /// Why it cannot be written, with what to do.
        error: Option<String>,
    },
}

/// The code a device sign-in asks the person to type at the provider's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceCode {
    /// The code.
    pub user_code: String,
    /// Where to type it.
    pub verification_uri: String,
    /// How long the code is valid, in seconds.
    pub expires_in_s: u64,
}

/// How many events a slow subscriber may fall behind before it misses some (it then re-reads
/// the whole status, so nothing is lost for good).
pub const CAPACITY: usize = 256;

/// A new event channel.
pub fn channel() -> broadcast::Sender<Event> {
    broadcast::channel(CAPACITY).0
}
