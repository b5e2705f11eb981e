//! What the engine hands out: a fresh access token (with its expiry), a replacement for a
//! token a server rejected, and a refresh the person asked for, with its report.

use std::time::Duration;

use time::OffsetDateTime;

use super::error::EngineError;
use super::handle::Engine;
use super::refresh::Mode;
use super::tokens::{lasts, lifetime, still_valid, tokens_need_refresh, Credential};
use crate::accounts::{AccountRecord, AccountState};
use crate::oauth::classify::FailureClass;
use crate::secret::Secret;
use crate::variant::TokenRequest;
use crate::vault::TokenSet;

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
        self.credential_for(name, &TokenRequest::default()).await
    }

    /// The token a caller asked for: the account's own, or a variant for other scopes or a
    /// resource; either way valid for at least the request's minimum.
    pub async fn credential_for(
        &self,
        name: &str,
        request: &TokenRequest,
    ) -> Result<Credential, EngineError> {
        request.validate().map_err(EngineError::BadRequest)?;
        match request.key() {
            Some(key) => self.variant(name, key, request.min_valid()).await,
            None => self.own_credential(name, request.min_valid()).await,
        }
    }

    /// Refuses a caller that cannot be served: an account in error or signed out.
    pub(super) fn servable(&self, name: &str) -> Result<AccountRecord, EngineError> {
        let record = self.record(name);
        match record.system {
            Some(AccountState::Error) => Err(self.error_from_record(name, &record)),
            None | Some(AccountState::SignedOut) => Err(EngineError::SignedOut(name.to_owned())),
            _ => Ok(record),
        }
    }

    /// The account's own token, valid for at least `min_valid`.
    async fn own_credential(
        &self,
        name: &str,
        min_valid: Option<Duration>,
    ) -> Result<Credential, EngineError> {
        let slot = self.slot(name)?;
        let record = self.servable(name)?;
        let tokens = self
            .load(name, &slot)
            .await?
            .ok_or_else(|| EngineError::SignedOut(name.to_owned()))?;
        let now = OffsetDateTime::now_utc();
        let serves = |t: &TokenSet, now| still_valid(t, now) && lasts(t, min_valid, now);
        if !tokens_need_refresh(&tokens, now) && lasts(&tokens, min_valid, now) {
            return Ok(Credential::of(tokens));
        }
        // No refresh could help: every token the provider gives lives less than asked.
        longer_than_tokens_live(name, &tokens, min_valid)?;
        if record.paused {
            return if serves(&tokens, now) {
                Ok(Credential::of(tokens))
            } else {
                Err(EngineError::Paused(name.to_owned()))
            };
        }
        match self
            .refresh_flight(name, &slot, Mode::Demand(min_valid))
            .await
        {
            Ok(fresh) => Ok(Credential::of(fresh)),
            // A transient failure while a token still works: keep serving the newest one (a
            // refresh whose tokens the keychain refused left them in the cache).
            Err(e @ EngineError::Temporary { .. }) => {
                let now = OffsetDateTime::now_utc();
                let working = slot
                    .cached()
                    .into_iter()
                    .chain([tokens])
                    .find(|t| serves(t, now))
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

    /// [`Engine::token_rejected`] for the token a caller asked for: a rejected variant is
    /// dropped and minted again (once: never a loop); the account's own goes the usual way.
    pub async fn rejected_for(
        &self,
        name: &str,
        rejected: &Secret,
        request: &TokenRequest,
    ) -> Result<Credential, EngineError> {
        request.validate().map_err(EngineError::BadRequest)?;
        match request.key() {
            Some(key) => {
                self.slot(name)?.drop_variant(&key, rejected);
                self.variant(name, key, request.min_valid()).await
            }
            None => self.token_rejected(name, rejected).await,
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

/// Refuses a minimum lifetime the provider's tokens never reach: refreshing would spend the
/// refresh token and still not meet it.
pub(super) fn longer_than_tokens_live(
    name: &str,
    tokens: &TokenSet,
    min_valid: Option<Duration>,
) -> Result<(), EngineError> {
    match (min_valid, lifetime(tokens)) {
        (Some(min), Some(life)) if life < min => Err(EngineError::Refused {
            account: name.to_owned(),
            detail: format!(
                "its provider's tokens live {}, less than --min-valid {}; ask for {} or less",
                human(life),
                human(min),
                human(life)
            ),
        }),
        _ => Ok(()),
    }
}

/// A duration as `--min-valid` takes it: `59m`, `1h`, `90s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}
