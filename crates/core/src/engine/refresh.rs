//! Refresh: the single flight per account (in this process, and across processes under the
//! refresh lock with the keychain re-read), what a failure does to the account, and the sentence
//! it leaves for the person.

use std::sync::atomic::Ordering;

use time::OffsetDateTime;

use super::error::EngineError;
use super::handle::Engine;
use super::outage::{Ruling, CONFIRM_AFTER};
use super::slot::{Cached, Slot};
use super::tokens::{lasts, rfc3339, still_valid, token_set_from, tokens_need_refresh};
use crate::accounts::{AccountRecord, AccountState, LastError};
use crate::events::Event;
use crate::oauth::classify::{ClassTable, Failure, FailureClass, TokenAnswer};
use crate::oauth::refresh::{self, RefreshRequest};
use crate::schedule::{self, Jitter};
use crate::secret::Secret;
use crate::sync::lock;
use crate::vault::{TokenSet, VaultError};
/// Why a refresh is attempted.
pub(super) enum Mode {
    /// The token is about to expire (or would within the caller's minimum): refresh unless
    /// someone just did.
    Demand(Option<std::time::Duration>),
    /// The scheduler's timer fired: refresh unless the tokens are newer than the ones the timer
    /// was set for. Uses the account's own jitter, not the latest moment `Demand` waits for,
    /// so a timer that fires early in the spread refreshes instead of finding nothing to do.
    Scheduled,
    /// The user asked: refresh whatever the token's age.
    Force,
    /// A server rejected this access token: refresh unless the current one is already another.
    Rejected(Secret),
}

/// Unknown codes this many times in a row, past expiry, make the account an error.
const UNKNOWN_LIMIT: u32 = 8;
/// Callers that need a token from an account in trouble try at most this often: a script in a
/// loop must not turn into a storm of token requests.
pub(super) const CALLER_SPACING: std::time::Duration = std::time::Duration::from_secs(1);

impl Engine {
    /// The single-flight refresh: one per account at a time; what `mode` says decides whether
    /// tokens another caller just got are good enough.
    pub(super) async fn refresh_flight(
        &self,
        name: &str,
        slot: &Slot,
        mode: Mode,
    ) -> Result<TokenSet, EngineError> {
        let _flight = slot.flight.lock().await;
        // Shutting down: the refresh that held the lock finished its keychain write; no new one
        // spends a refresh token whose answer might not be stored.
        if self.is_closing() {
            return Err(EngineError::ShuttingDown);
        }
        // Someone in this process refreshed while we waited: use theirs.
        let still_good = |t: &TokenSet| match &mode {
            Mode::Demand(min_valid) => {
                let now = OffsetDateTime::now_utc();
                !tokens_need_refresh(t, now) && lasts(t, *min_valid, now)
            }
            Mode::Scheduled => t.expires_at.is_some_and(|exp| {
                schedule::refresh_at(t.obtained_at, exp, slot.jitter) > OffsetDateTime::now_utc()
            }),
            Mode::Force => false,
            Mode::Rejected(bad) => !t.access_token.same_as(bad),
        };
        let unsaved = slot.unsaved.load(Ordering::SeqCst);
        if let Some(current) = slot.cached().filter(|_| !unsaved) {
            if still_good(&current) {
                if matches!(mode, Mode::Scheduled | Mode::Rejected(_)) {
                    // The record may lag the tokens (a crash lost a written-behind update; a
                    // rejection marked it stale): bring it in step so the schedule moves and
                    // the account is enabled again.
                    self.note_adopted(name, &current);
                }
                return Ok(current);
            }
        }
        if matches!(mode, Mode::Demand(_)) {
            if let Some(wait) = self.caller_must_wait(name, slot) {
                return Err(wait);
            }
        }
        // Another process (the CLI, the other engine kind) may have refreshed: the keychain is
        // the truth, and spending a refresh token someone already rotated would kill the grant.
        let (_lock, stored) = match self.lock_and_reload(name, slot).await {
            Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e)),
            other => other?,
        };
        let Some(current) = stored else {
            return Err(EngineError::SignedOut(name.to_owned()));
        };
        if still_good(&current) {
            self.note_adopted(name, &current);
            return Ok(current);
        }
        let (provider_name, provider) = self.provider_of(name)?;
        let Some(refresh_token) = current.refresh_token.clone() else {
            let failure = Failure {
                class: FailureClass::Permanent,
                code: "no_refresh_token".into(),
                subcode: None,
                http_status: None,
                description: None,
                advice: no_refresh_token_advice(provider.preset.as_deref()).into(),
                retry_after: None,
                known: true,
            };
            return Err(self.record_failure(name, slot, Some(&current), failure));
        };
        let answer = self
            .spend(
                name,
                slot,
                (&provider_name, &provider),
                &refresh_token,
                &[],
                None,
            )
            .await?;
        match answer {
            Ok(answer) => {
                let fresh = token_set_from(answer, Some(&current));
                self.store_fresh(name, slot, &fresh, &refresh_token).await?;
                *lock(&slot.strikes) = 0;
                self.update_record(name, |r| {
                    r.system = Some(AccountState::Enabled);
                    r.obtained_at = Some(fresh.obtained_at);
                    r.expires_at = fresh.expires_at;
                    r.sign_in_expires_at = fresh.refresh_expires_at;
                    r.last_refresh = Some(fresh.obtained_at);
                    r.last_error = None;
                    r.retry_at = None;
                    r.not_before = None;
                    r.failures = 0;
                    r.unknown_failures = 0;
                });
                self.publish(Event::Refreshed {
                    account: name.to_owned(),
                });
                slot.wake.notify_one();
                Ok(fresh)
            }
            Err(failure) if failure.class == FailureClass::Permanent => {
                // Before declaring the grant dead: did someone else rotate it meanwhile?
                let now_stored = match self.reload_from_vault(name, slot).await {
                    Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e)),
                    other => other?,
                };
                if let Some(now_stored) = now_stored {
                    if now_stored.refresh_token_differs(&current) {
                        tracing::info!(account = %name, "another process rotated the tokens; adopting them");
                        self.note_adopted(name, &now_stored);
                        return Ok(now_stored);
                    }
                }
                Err(self.record_failure(name, slot, Some(&current), failure))
            }
            Err(failure) => Err(self.record_failure(name, slot, Some(&current), failure)),
        }
    }

    /// Spends `refresh_token` once at the account's provider, asking for `scopes` and
    /// `resource` (none: the grant's own), and classifies the answer. A keychain failure while
    /// reading the client secret counts as the refresh's.
    pub(super) async fn spend(
        &self,
        name: &str,
        slot: &Slot,
        (provider_name, provider): (&str, &crate::settings::ProviderSettings),
        refresh_token: &Secret,
        scopes: &[String],
        resource: Option<&str>,
    ) -> Result<Result<TokenAnswer, Failure>, EngineError> {
        let client_secret = match self.client_secret_of(provider_name, provider).await {
            Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e)),
            other => other?,
        };
        let table = ClassTable::for_provider(provider.preset.as_deref(), &provider.errors);
        *lock(&slot.tried) = Some(std::time::Instant::now());
        Ok(refresh::refresh(
            self.inner.http.as_ref(),
            &RefreshRequest {
                token_url: &provider.token_url,
                client_id: &provider.client_id,
                client_secret: client_secret.as_ref(),
                refresh_token,
                scopes,
                resource,
            },
            &table,
        )
        .await)
    }

    /// Stores tokens a refresh answered, spending `spent`. They go to the keychain before
    /// anything else: the old refresh token is already spent, so these are the only ones that
    /// work. When the keychain refuses them they stay in memory (never in a file) and are
    /// written as soon as it answers again: the scheduler retries, and so does every refresh.
    pub(super) async fn store_fresh(
        &self,
        name: &str,
        slot: &Slot,
        fresh: &TokenSet,
        spent: &Secret,
    ) -> Result<(), EngineError> {
        let saved = self.save_tokens(name, fresh).await;
        *lock(&slot.cache) = Cached::Loaded(Some(fresh.clone()));
        if let Err(e) = saved {
            // Any error counts: the old refresh token is spent either way.
            *lock(&slot.spent) = Some(spent.clone());
            slot.unsaved.store(true, Ordering::SeqCst);
            tracing::error!(account = %name, "the keychain refused the new tokens; keeping them in memory until it is back: {e}");
            let e = match e {
                EngineError::Vault(v) => v,
                other => VaultError::Unavailable(other.to_string()),
            };
            return Err(self.keychain_failed(name, slot, &e));
        }
        Ok(())
    }

    /// The keychain could not be read or written during a refresh: a transient failure the
    /// status shows with the keychain's own advice, retried with backoff like any other.
    pub(super) fn keychain_failed(&self, name: &str, slot: &Slot, e: &VaultError) -> EngineError {
        let (class, code) = match e {
            VaultError::Locked => (FailureClass::Transient, "keychain_locked"),
            VaultError::Corrupt(_) => (FailureClass::Permanent, "keychain_entry_damaged"),
            VaultError::Unavailable(_) => (FailureClass::Transient, "keychain_unavailable"),
        };
        let mut advice = e.to_string();
        if slot.unsaved.load(Ordering::SeqCst) {
            advice.push_str(". The newest tokens are kept in memory until then; quitting Tokentray now would lose them");
        }
        let failure = Failure {
            class,
            code: code.into(),
            subcode: None,
            http_status: None,
            description: None,
            advice,
            retry_after: None,
            known: true,
        };
        let cached = slot.cached();
        self.record_failure(name, slot, cached.as_ref(), failure)
    }

    /// Applies a failure to the account's state and returns the matching error.
    pub(super) fn record_failure(
        &self,
        name: &str,
        slot: &Slot,
        tokens: Option<&TokenSet>,
        failure: Failure,
    ) -> EngineError {
        let now = OffsetDateTime::now_utc();
        let settings = self.settings();
        let provider = settings
            .account(name)
            .map(|a| a.provider.clone())
            .unwrap_or_default();
        let mut class = failure.class;
        let mut note = None;
        if class == FailureClass::Permanent {
            let strikes = {
                let mut s = lock(&slot.strikes);
                *s += 1;
                *s
            };
            let total = settings
                .accounts
                .iter()
                .filter(|a| a.provider == provider)
                .count();
            match self.inner.outages.rule(&provider, name, total, strikes) {
                Ruling::Stands => {}
                Ruling::Confirm => {
                    class = FailureClass::Transient;
                    note = Some(CONFIRM_AFTER);
                }
                Ruling::Outage => class = FailureClass::Transient,
            }
        }
        let known = failure.known;
        // The provider's own word on when to come back, not our outage rule's.
        let not_before = failure.retry_after.map(|ra| now + ra);
        // An expired token is probed on a short cadence: the long backoff would outlast the
        // outage. Not for failures the outage rule turned transient: those are dead grants
        // being confirmed, and hammering would not help.
        let urgent = failure.class == FailureClass::Transient
            && tokens.is_none_or(|t| tokens_need_refresh(t, now));
        let probe = urgent.then_some(if failure.http_status.is_some() {
            schedule::PROBE_CAP
        } else {
            schedule::OFFLINE_PROBE_CAP
        });
        let last_error = LastError {
            class: failure.class,
            code: failure.code.clone(),
            http_status: failure.http_status,
            message: describe(&failure),
            at: rfc3339(now),
        };
        let mut retry_after = failure.retry_after;
        if let Some(confirm) = note {
            retry_after = Some(retry_after.map_or(confirm, |r| r.max(confirm)));
        }
        let record = self.update_record(name, |r| {
            r.last_error = Some(last_error.clone());
            match class {
                FailureClass::Permanent | FailureClass::Config => {
                    r.system = Some(AccountState::Error);
                    r.retry_at = None;
                }
                FailureClass::Transient => {
                    r.failures = r.failures.saturating_add(1);
                    r.unknown_failures = if known { 0 } else { r.unknown_failures + 1 };
                    let expired = !tokens.is_some_and(|t| still_valid(t, now));
                    if expired && r.unknown_failures >= UNKNOWN_LIMIT {
                        // An unknown code that keeps coming back past expiry is not going away:
                        // stop retrying and ask the user.
                        r.system = Some(AccountState::Error);
                        r.retry_at = None;
                        return;
                    }
                    let jitter = Jitter::from_entropy().sample();
                    let wait = schedule::backoff(r.failures, retry_after, jitter, probe);
                    r.retry_at = Some(now + wait);
                    r.not_before = not_before;
                    if expired {
                        r.system = Some(AccountState::Stale);
                    }
                }
            }
        });
        slot.wake.notify_one();
        let detail = describe(&failure);
        let account = name.to_owned();
        self.publish(Event::RefreshFailed {
            account: account.clone(),
            class: failure.class,
            code: failure.code.clone(),
        });
        match record.state() {
            AccountState::Error if class == FailureClass::Config => {
                EngineError::Config { account, detail }
            }
            AccountState::Error => EngineError::NeedsRelogin { account, detail },
            _ => EngineError::Temporary { account, detail },
        }
    }

    /// Brings the record in step with tokens found good (another caller's or process's).
    pub(super) fn note_adopted(&self, name: &str, tokens: &TokenSet) {
        self.update_record(name, |r| {
            if r.system != Some(AccountState::Error) {
                r.system = Some(AccountState::Enabled);
            }
            r.obtained_at = Some(tokens.obtained_at);
            r.expires_at = tokens.expires_at;
            r.sign_in_expires_at = tokens.refresh_expires_at;
            r.retry_at = None;
            r.not_before = None;
        });
    }

    /// Whether a caller that needs a token now must make do without a refresh: the provider
    /// asked to wait (`Retry-After`), or an attempt failed a moment ago (one per
    /// [`CALLER_SPACING`], however many callers loop). Otherwise the caller tries at once,
    /// whatever the backoff says: someone is waiting.
    pub(super) fn caller_must_wait(&self, name: &str, slot: &Slot) -> Option<EngineError> {
        let record = self.record(name);
        let error = record.last_error.as_ref()?;
        let now = OffsetDateTime::now_utc();
        let asked_to_wait = record.not_before.is_some_and(|t| t > now);
        let just_tried = lock(&slot.tried).is_some_and(|t| t.elapsed() < CALLER_SPACING);
        if !(asked_to_wait || just_tried) {
            return None;
        }
        let mut detail = error.message.clone();
        if let Some(t) = record.not_before.filter(|_| asked_to_wait) {
            detail.push_str(&format!(
                ". The provider asked to wait until {}",
                rfc3339(t)
            ));
        }
        Some(EngineError::Temporary {
            account: name.to_owned(),
            detail,
        })
    }

    pub(super) fn error_from_record(&self, name: &str, r: &AccountRecord) -> EngineError {
        let detail = r
            .last_error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the last refresh failed for good".into());
        match r.last_error.as_ref().map(|e| e.class) {
            Some(FailureClass::Config) => EngineError::Config {
                account: name.to_owned(),
                detail,
            },
            _ => EngineError::NeedsRelogin {
                account: name.to_owned(),
                detail,
            },
        }
    }
}

/// The failure as one sentence: the advice, the codes, the provider's words.
pub(super) fn describe(f: &Failure) -> String {
    let mut text = f.advice.clone();
    let code = match (&f.subcode, f.http_status) {
        (Some(sub), Some(st)) => format!(" ({}, {sub}, HTTP {st})", f.code),
        (None, Some(st)) => format!(" ({}, HTTP {st})", f.code),
        (_, None) => format!(" ({})", f.code),
    };
    text.push_str(&code);
    if let Some(d) = &f.description {
        text.push_str(": ");
        text.push_str(d);
    }
    text
}

/// Why a sign-in brought no refresh token, and what gets one: each provider has its switch.
pub(super) fn no_refresh_token_advice(preset: Option<&str>) -> &'static str {
    match preset {
        Some("microsoft") => {
            "Microsoft sent no refresh token: add the offline_access scope to the provider, then \
             sign in again."
        }
        Some("google") => {
            "Google sent no refresh token: the provider needs authorize_params access_type = \
             \"offline\" and prompt = \"consent\" (the google preset has both); sign in again."
        }
        _ => {
            "The provider sent no refresh token, so Tokentray cannot keep the account signed in; \
             many send one only with the offline_access scope: add it, then sign in again."
        }
    }
}
