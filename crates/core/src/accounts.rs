//! Account states and their persistence in the state directory (no secrets there, ever).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fsutil;
use crate::oauth::classify::FailureClass;

/// What an account is doing, as the user sees it. See `docs/architecture.md` for the transitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// No tokens yet, or signed out.
    SignedOut,
    /// Token fresh or refreshable; jobs run.
    Enabled,
    /// The last token use failed or the token is past expiry; refreshing, jobs skipped.
    Stale,
    /// Refresh failed for good or the provider is misconfigured; nothing runs until re-login.
    Error,
    /// The user paused it; nothing runs until they resume.
    Paused,
}

impl AccountState {
    /// The word the CLI, the tray and `status --json` use.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::SignedOut => "signed_out",
            AccountState::Enabled => "enabled",
            AccountState::Stale => "stale",
            AccountState::Error => "error",
            AccountState::Paused => "paused",
        }
    }

    /// Words for people ("signed out", not "signed_out").
    pub fn label(self) -> &'static str {
        match self {
            AccountState::SignedOut => "signed out",
            AccountState::Enabled => "ok",
            AccountState::Stale => "stale, refreshing",
            AccountState::Error => "needs attention",
            AccountState::Paused => "paused",
        }
    }
}

impl std::fmt::Display for AccountState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The four looks of the tray icon, from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Nothing needs the user (all enabled or signed out, or no accounts).
    Ok,
    /// Something is paused by the user.
    Paused,
    /// Something is refreshing after trouble; no action needed yet.
    Stale,
    /// Something needs the user: re-login or a settings fix.
    Error,
}

impl Health {
    /// The health one account contributes. A signed-out account is the user's unfinished setup,
    /// not a failure, so it does not darken the icon; its menu line says "signed out".
    pub fn of(state: AccountState) -> Health {
        match state {
            AccountState::SignedOut | AccountState::Enabled => Health::Ok,
            AccountState::Paused => Health::Paused,
            AccountState::Stale => Health::Stale,
            AccountState::Error => Health::Error,
        }
    }

    /// The worst health among `states`; `Ok` for none.
    pub fn worst(states: impl IntoIterator<Item = AccountState>) -> Health {
        states
            .into_iter()
            .map(Health::of)
            .max()
            .unwrap_or(Health::Ok)
    }

    /// The name of the matching tray icon in `icons/` (`tray-<name>.png`).
    pub fn icon_name(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::Paused => "paused",
            Health::Stale => "stale",
            Health::Error => "error",
        }
    }
}

/// What the engine remembers about one account between runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The engine's own view: signed out, enabled, stale or error. `None` = never signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<AccountState>,
    /// The user's pause, kept apart from `system` so that resuming returns to whatever the engine
    /// last knew, and a re-login clears both.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// When the current tokens were obtained (not secret; lets `status` work without the keychain).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub obtained_at: Option<time::OffsetDateTime>,
    /// When the current access token expires.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub expires_at: Option<time::OffsetDateTime>,
    /// When the refresh token stops working, if the provider said: a new sign-in is due then.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub sign_in_expires_at: Option<time::OffsetDateTime>,
    /// The last successful refresh.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub last_refresh: Option<time::OffsetDateTime>,
    /// The next retry after a transient failure, if one is pending.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub retry_at: Option<time::OffsetDateTime>,
    /// The last failure, until a success clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<LastError>,
    /// The provider asked not to be asked again before this (its `Retry-After`): the schedule,
    /// a waiting caller and the network's return all wait for it.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    pub not_before: Option<time::OffsetDateTime>,
    /// Consecutive transient failures (drives the backoff).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    /// Consecutive failures with a code the table does not know.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unknown_failures: u32,
    /// Who the account signed in as (the ID token's `sub`, or the provider's user id): a
    /// re-login as someone else is refused. Not secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The last refresh failure of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastError {
    /// Its class: `permanent`, `transient` or `config` in the JSON.
    pub class: FailureClass,
    /// The provider's error code, such as `invalid_grant`.
    pub code: String,
    /// The HTTP status, when there was an answer.
    pub http_status: Option<u16>,
    /// One sentence that says what to do.
    pub message: String,
    /// When it happened (RFC 3339 UTC).
    pub at: String,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl AccountRecord {
    /// The state shown to the user: their pause wins over what the engine knows.
    pub fn state(&self) -> AccountState {
        if self.paused {
            AccountState::Paused
        } else {
            self.system.unwrap_or(AccountState::SignedOut)
        }
    }
}

/// The persisted records of all accounts, by account name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateFile {
    /// Records by account name.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountRecord>,
}

/// Why the state file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An I/O problem with the state file.
    #[error("cannot {action} the state file {path}: {source}. Check that the disk has space and the folder is writable")]
    Io {
        /// "read" or "write".
        action: &'static str,
        /// The state file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is corrupt; it is left in place for inspection.
    #[error("the state file {path} is corrupt at line {line}, column {column}: {message}. Move it aside to start fresh")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
}

impl StateFile {
    /// Reads the state file; a missing one is an empty state.
    pub fn load(path: &Path) -> Result<StateFile, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(StateFile::default()),
            Err(source) => {
                return Err(StateError::Io {
                    action: "read",
                    path: path.to_owned(),
                    source,
                })
            }
        };
        serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    }

    /// Writes the state file atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let io = |source| StateError::Io {
            action: "write",
            path: path.to_owned(),
            source,
        };
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        fsutil::write_atomic(path, &bytes).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_health_orders_error_over_stale_over_paused_over_ok() {
        use AccountState::*;
        assert_eq!(Health::worst([]), Health::Ok);
        assert_eq!(Health::worst([Enabled, SignedOut]), Health::Ok);
        assert_eq!(Health::worst([Enabled, Paused]), Health::Paused);
        assert_eq!(Health::worst([Paused, Stale, Enabled]), Health::Stale);
        assert_eq!(Health::worst([Error, Stale, Paused]), Health::Error);
    }

    #[test]
    fn pause_wins_and_resume_returns_to_the_engine_state() {
        let mut r = AccountRecord {
            system: Some(AccountState::Error),
            ..AccountRecord::default()
        };
        assert_eq!(r.state(), AccountState::Error);
        r.paused = true;
        assert_eq!(r.state(), AccountState::Paused);
        r.paused = false;
        assert_eq!(r.state(), AccountState::Error);
        assert_eq!(AccountRecord::default().state(), AccountState::SignedOut);
    }

    #[test]
    fn state_file_round_trips_and_reports_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut s = StateFile::default();
        s.accounts.insert(
            "a".into(),
            AccountRecord {
                system: Some(AccountState::Error),
                paused: true,
                ..AccountRecord::default()
            },
        );
        s.save(&path).unwrap();
        assert_eq!(StateFile::load(&path).unwrap(), s);

        std::fs::write(&path, "{\n  \"accounts\": {\n    \"a\": [").unwrap();
        let err = StateFile::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("state.json") && err.contains("line 3"),
            "{err}"
        );
        // Never silently overwritten: the broken file is still there.
        assert!(std::fs::read_to_string(&path).unwrap().ends_with('['));
    }
}
