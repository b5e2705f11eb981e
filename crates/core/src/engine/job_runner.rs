//! The job runner: each warm-up job's task, which runs while its account is enabled, holds
//! while it is not, and retries once with another token after a 401/403 — never a loop.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use super::error::EngineError;
use super::handle::Engine;
use super::refresh::Mode;
use crate::accounts::AccountState;
use crate::events::Event;
use crate::http::HttpRequest;
use crate::jobs::{JobHandle, JobSlot};
use crate::secret::Secret;
use crate::sync::lock;

impl Engine {
    /// One job's life: wait for its turn while its account is enabled, hold while it is not,
    /// and run at once when the account comes back. Missed runs are not replayed.
    pub(super) async fn run_job(self, job: JobHandle) {
        // Wall-clock deadlines: after a suspend, a wake-up finds the run overdue and runs it once.
        let mut next = OffsetDateTime::now_utc() + job.interval().mul_f64(job.jitter);
        let mut held = false;
        loop {
            let current = lock(&self.inner.jobs).get(&job.spec.name).cloned();
            if !current.is_some_and(|c| Arc::ptr_eq(&c, &job)) {
                return; // removed or changed
            }
            let state = self.record(&job.spec.account).state();
            if state != AccountState::Enabled {
                held = true;
                job.set_next(None);
                if state == AccountState::Stale {
                    // A due job is a caller waiting for a token: when its turn comes it asks
                    // for one (which tries a refresh at once, spaced like any caller), and
                    // runs as soon as the account works again.
                    let wait =
                        Duration::try_from(next - OffsetDateTime::now_utc()).unwrap_or_default();
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            next = OffsetDateTime::now_utc() + job.interval();
                            if let Err(e) = self.token(&job.spec.account).await {
                                tracing::debug!(job = %job.spec.name, "held: {e}");
                            }
                            continue;
                        }
                        _ = job.wake.notified() => continue,
                        _ = self.closed() => return,
                    }
                }
                tokio::select! {
                    _ = job.wake.notified() => continue,
                    _ = self.closed() => return,
                }
            }
            if held || job.run_now.swap(false, Ordering::SeqCst) {
                held = false;
                next = OffsetDateTime::now_utc();
            }
            let wait = Duration::try_from(next - OffsetDateTime::now_utc()).unwrap_or_default();
            job.set_next(Some(next));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = job.wake.notified() => continue,
                _ = self.closed() => return,
            }
            if self.record(&job.spec.account).state() != AccountState::Enabled {
                continue;
            }
            self.run_job_once(&job).await;
            next = OffsetDateTime::now_utc() + job.interval();
        }
    }

    /// One run. A 401/403 marks the account stale and retries once with a token that differs
    /// from the rejected one (re-read from the keychain, else refreshed); never a loop.
    pub(super) async fn run_job_once(&self, job: &JobSlot) {
        let account = &job.spec.account;
        let started = Instant::now();
        let token = match self.token(account).await {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(job = %job.spec.name, "skipped: no token ({e})");
                return;
            }
        };
        let mut status = self.send_job(job, &token).await;
        let rejected = matches!(status, Some(401 | 403));
        if rejected && !job.snapshot().auth_suspect {
            tracing::info!(job = %job.spec.name, ?status, "token rejected; marking the account stale");
            self.mark_stale(account);
            match self.token_after_rejection(account, &token).await {
                Ok(fresh) => {
                    status = self.send_job(job, &fresh).await;
                    if matches!(status, Some(401 | 403)) {
                        tracing::warn!(job = %job.spec.name, ?status, "a fresh token was rejected too; the job's URL or scopes are wrong, not the token");
                        job.set_auth_suspect(true);
                    }
                }
                Err(e) => tracing::info!(job = %job.spec.name, "no fresh token: {e}"),
            }
        } else if status.is_some_and(|s| (200..300).contains(&s)) {
            job.set_auth_suspect(false);
        }
        job.record_run(status, started);
        self.publish(Event::JobRan {
            job: job.spec.name.clone(),
            account: account.clone(),
            status,
        });
    }

    pub(super) async fn send_job(&self, job: &JobSlot, token: &Secret) -> Option<u16> {
        let mut headers = job.spec.headers.clone();
        headers.push(("authorization".into(), format!("Bearer {}", token.expose())));
        let req = HttpRequest {
            method: job.spec.method.clone(),
            url: job.spec.url.clone(),
            headers,
            body: job.spec.body.clone().unwrap_or_default().into_bytes(),
        };
        match self.inner.http.send(req).await {
            Ok(resp) => Some(resp.status),
            Err(e) => {
                tracing::info!(job = %job.spec.name, "request failed: {e:?}");
                None
            }
        }
    }

    /// A server rejected the account's token: the account is stale until a token works.
    pub(super) fn mark_stale(&self, name: &str) {
        self.update_record(name, |r| {
            if r.system == Some(AccountState::Enabled) {
                r.system = Some(AccountState::Stale);
            }
        });
    }

    /// A token other than `rejected`: another process's newer one from the keychain, else a
    /// refreshed one.
    pub(super) async fn token_after_rejection(
        &self,
        name: &str,
        rejected: &Secret,
    ) -> Result<Secret, EngineError> {
        let slot = self.slot(name)?;
        self.refresh_flight(name, &slot, Mode::Rejected(rejected.clone()))
            .await
            .map(|t| t.access_token)
    }

    /// Rings the bell of every job of `account` (its state changed).
    pub(super) fn wake_jobs(&self, account: &str) {
        for job in lock(&self.inner.jobs).values() {
            if job.spec.account == account {
                job.wake.notify_one();
            }
        }
    }

    /// Runs a job now (a person asked), if its account is enabled; its schedule starts over.
    pub fn run_job_now(&self, name: &str) -> Result<(), EngineError> {
        let job = lock(&self.inner.jobs)
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::Invalid(format!("no job named {name:?}")))?;
        job.run_now.store(true, Ordering::SeqCst);
        job.wake.notify_one();
        Ok(())
    }
}
