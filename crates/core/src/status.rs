//! The status snapshot: what `status --json`, the tray and the dashboard show. No secrets.

use serde::{Deserialize, Serialize};

use crate::accounts::{AccountState, Health, LastError};
use crate::caller::CallerPolicy;
use crate::variant::VariantStatus;

/// Every account's state, in settings order. The shape of `tokentray status --json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// One entry per configured account.
    pub accounts: Vec<AccountStatus>,
    /// Why the state file cannot be written (a full or read-only disk), while it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_error: Option<String>,
    /// What the desktop cannot do for Tokentray, said by the host (e.g. no panel shows tray
    /// icons); everything else keeps working.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desktop_note: Option<String>,
}

impl Status {
    /// The tray icon's look: the worst account state.
    pub fn health(&self) -> Health {
        Health::worst(self.accounts.iter().map(|a| a.status))
    }
}

/// One account in the status snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    /// The account's name.
    pub name: String,
    /// The provider it signs in with.
    pub provider: String,
    /// Its state.
    pub status: AccountState,
    /// When the access token expires (RFC 3339 UTC), if signed in.
    pub expires_at: Option<String>,
    /// When the last successful refresh happened.
    pub last_refresh: Option<String>,
    /// When the sign-in itself ends (the refresh token's expiry), if the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_expires_at: Option<String>,
    /// When the current tokens were obtained (sign-in or refresh): a failure episode is one
    /// set of tokens failing, so the notifier tells each once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obtained_at: Option<String>,
    /// When the next refresh is due.
    pub next_refresh: Option<String>,
    /// The last failure, until a success clears it.
    pub last_error: Option<LastError>,
    /// The account's warm-up jobs.
    pub jobs: Vec<JobStatus>,
    /// Tokens minted for other scopes or resources that have not expired (never the tokens).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantStatus>,
    /// Whether any program may have the token, or the person is asked.
    #[serde(default, skip_serializing_if = "CallerPolicy::is_default")]
    pub callers: CallerPolicy,
    /// The programs always allowed (with `callers = "ask"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_callers: Vec<String>,
}

impl AccountStatus {
    /// Account `name` of `provider` in `status`, with nothing known of its tokens, jobs or
    /// callers yet: what a status starts from (and what the tray's tests draw).
    pub fn new(name: &str, provider: &str, status: AccountState) -> AccountStatus {
        AccountStatus {
            name: name.to_owned(),
            provider: provider.to_owned(),
            status,
            expires_at: None,
            last_refresh: None,
            sign_in_expires_at: None,
            obtained_at: None,
            next_refresh: None,
            last_error: None,
            jobs: vec![],
            variants: vec![],
            callers: CallerPolicy::Allow,
            allowed_callers: vec![],
        }
    }
}

/// One warm-up job in the status snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobStatus {
    /// The job's name.
    pub name: String,
    /// Its interval in seconds.
    pub every_s: u64,
    /// `running` or `paused`.
    pub state: String,
    /// How many times it ran.
    pub runs: u64,
    /// When it last ran.
    pub last_run: Option<String>,
    /// The HTTP status of its last run.
    pub last_status: Option<u16>,
    /// The last run's latency in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// When it runs next (none while its account is not enabled).
    #[serde(default)]
    pub next_run: Option<String>,
    /// Its HTTP method.
    #[serde(default)]
    pub method: Option<String>,
    /// Its URL (the settings hold it; no secret: headers are not shown).
    #[serde(default)]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_status_is_the_contract_shape() {
        let json = serde_json::to_string(&Status::default()).unwrap();
        assert_eq!(json, r#"{"accounts":[]}"#);
    }

    #[test]
    fn account_fields_are_named_as_in_the_contract() {
        let s = AccountStatus::new("alice", "local", AccountState::SignedOut);
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["status"], "signed_out");
        for key in ["expires_at", "last_refresh", "next_refresh", "last_error"] {
            assert!(v[key].is_null(), "{key} should be null: {v}");
        }
    }
}
