//! What the engine hands out: a fresh access token (with its expiry), a replacement for a
//! token a server rejected, and a refresh the person asked for, with its report.

use time::OffsetDateTime;

use super::error::EngineError;
use super::handle::Engine;
use super::refresh::Mode;
use super::tokens::{still_valid, tokens_need_refresh, Credential};
use crate::accounts::AccountState;
use crate::oauth::classify::FailureClass;
use crate::secret::Secret;

/// How one refresh attempt went: `ok`, or the failure's class, in the JSON as a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshOutcome {
    /// Refreshed.
    Ok,
    /// The grant is dead: re-login.
    Permanent,
    /// Try again later (the engine does on its own).
    Transient,
    /// The provider settings need fixing.
    Config,
}

impl From<FailureClass> for RefreshOutcome {
    fn from(class: FailureClass) -> RefreshOutcome {
        match class {
            FailureClass::Permanent => RefreshOutcome::Permanent,
            FailureClass::Transient => RefreshOutcome::Transient,
            FailureClass::Config => RefreshOutcome::Config,
        }
    }
}

/// The outcome of one refresh attempt, as `tokentray refresh --json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshReport {
    /// The account.
    pub account: String,
    /// How it went.
    pub outcome: RefreshOutcome,
    /// The provider's code, if it failed.
    pub code: Option<String>,
    /// The HTTP status, if there was an answer.
    pub http_status: Option<u16>,
    /// What happened, for people.
    pub message: String,
    /// The provider's `Retry-After`, in seconds.
    pub retry_after_s: Option<u64>,
    /// The account's state afterwards.
    pub status: AccountState,
}

impl Engine {
    /// A fresh access token: from memory when it has time left, else refreshed first (one
    /// refresh per account however many callers ask at once).
    pub async fn token(&self, name: &str) -> Result<Secret, EngineError> {
        self.credential(name).await.map(|c| c.token)
    }

    /// A fresh access token and when it expires (for git's `password_expiry_utc` and
    /// Kubernetes' `expirationTimestamp`).
    pub async fn credential(&self, name: &str) -> Result<Credential, EngineError> {
        let slot = self.slot(name)?;
        let record = self.record(name);
        match record.system {
            Some(AccountState::Error) => return Err(self.error_from_record(name, &record)),
            None | Some(AccountState::SignedOut) => {
                return Err(EngineError::SignedOut(name.to_owned()))
            }
            _ => {}
        }
        let tokens = self
            .load(name, &slot)
            .await?
            .ok_or_else(|| EngineError::SignedOut(name.to_owned()))?;
        let now = OffsetDateTime::now_utc();
        if !tokens_need_refresh(&tokens, now) {
            return Ok(Credential::of(tokens));
        }
        if record.paused {
            return if still_valid(&tokens, now) {
                Ok(Credential::of(tokens))
            } else {
                Err(EngineError::Paused(name.to_owned()))
            };
        }
        match self.refresh_flight(name, &slot, Mode::Demand).await {
            Ok(fresh) => Ok(Credential::of(fresh)),
            // A transient failure while a token still works: keep serving the newest one (a
            // refresh whose tokens the keychain refused left them in the cache).
            Err(e @ EngineError::Temporary { .. }) => {
                let now = OffsetDateTime::now_utc();
                let working = slot
                    .cached()
                    .into_iter()
                    .chain([tokens])
                    .find(|t| still_valid(t, now))
                    .map(Credential::of);
                if working.is_none() {
                    // Nothing works and nothing could be refreshed: say so (jobs hold).
                    self.mark_stale(name);
                }
                working.ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// A server (git, a job's API) rejected `rejected`: the account is stale until a token other
    /// than that one is found — another process's newer one in the keychain, else a refresh.
    /// One refresh per call at most: never a loop.
    pub async fn token_rejected(
        &self,
        name: &str,
        rejected: &Secret,
    ) -> Result<Credential, EngineError> {
        let slot = self.slot(name)?;
        // git may erase a password that is not ours (another helper's, an old cached one):
        // only the current token being rejected makes the account stale and costs a refresh.
        match self.load(name, &slot).await? {
            Some(current) if !current.access_token.same_as(rejected) => {
                return Ok(Credential::of(current))
            }
            None => return Err(EngineError::SignedOut(name.to_owned())),
            Some(_) => {}
        }
        self.mark_stale(name);
        self.refresh_flight(name, &slot, Mode::Rejected(rejected.clone()))
            .await
            .map(Credential::of)
    }

    /// One refresh attempt now, whatever the state (the user asked for it).
    pub async fn refresh(&self, name: &str) -> Result<RefreshReport, EngineError> {
        let slot = self.slot(name)?;
        let result = self.refresh_flight(name, &slot, Mode::Force).await;
        let record = self.record(name);
        let report = |outcome: RefreshOutcome, message: String| RefreshReport {
            account: name.to_owned(),
            outcome,
            code: record.last_error.as_ref().map(|e| e.code.clone()),
            http_status: record.last_error.as_ref().and_then(|e| e.http_status),
            message,
            retry_after_s: record
                .retry_at
                .map(|at| (at - OffsetDateTime::now_utc()).whole_seconds().max(0) as u64),
            status: record.state(),
        };
        match result {
            Ok(_) => Ok(RefreshReport {
                code: None,
                http_status: None,
                retry_after_s: None,
                ..report(RefreshOutcome::Ok, "refreshed".into())
            }),
            Err(EngineError::NeedsRelogin { detail, .. }) => {
                Ok(report(FailureClass::Permanent.into(), detail))
            }
            Err(EngineError::Config { detail, .. }) => {
                Ok(report(FailureClass::Config.into(), detail))
            }
            Err(EngineError::Temporary { detail, .. }) => {
                Ok(report(FailureClass::Transient.into(), detail))
            }
            Err(e) => Err(e),
        }
    }
}
