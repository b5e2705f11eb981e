//! The scheduler: one task per account that sleeps until its refresh is due (nothing wakes
//! when nothing is due), the state writer that batches routine changes, and the re-check after a
//! resume or a clock change.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::error::EngineError;
use super::handle::Engine;
use super::refresh::Mode;
use super::slot::Slot;
use crate::accounts::{AccountRecord, AccountState};
use crate::jobs::JobHandle;
use crate::schedule;
use crate::sync::lock;

/// How long routine state changes wait before they are written together.
const STATE_WRITE_DELAY: Duration = Duration::from_secs(2);
/// How often tokens the keychain refused are offered again while the account does not refresh.
const WRITE_BACK_RETRY: Duration = Duration::from_secs(30);
/// How often a state file the disk refused is tried again.
const STATE_RETRY: Duration = Duration::from_secs(10);
/// The shortest wait between two scheduled refreshes of one account whose schedule did not move.
const SCHEDULE_FLOOR: Duration = Duration::from_secs(1);

impl Engine {
    /// Runs every account's refresh schedule on the current tokio runtime until it stops. Each
    /// account sleeps until its own deadline: nothing wakes when nothing is due.
    ///
    /// Later calls (a reload adds accounts) may come from any thread, such as a GUI's main
    /// thread: the tasks go to the runtime of the first call.
    pub fn start_scheduler(&self) {
        let rt = match tokio::runtime::Handle::try_current() {
            Ok(current) => self.inner.runtime.get_or_init(|| current).clone(),
            Err(_) => match self.inner.runtime.get() {
                Some(rt) => rt.clone(),
                None => {
                    tracing::error!("the scheduler needs a tokio runtime; it was not started");
                    return;
                }
            },
        };
        if !self.inner.scheduler_started.swap(true, Ordering::SeqCst) {
            let engine = self.clone();
            rt.spawn(async move { engine.write_state_behind().await });
        }
        let slots: Vec<(String, Arc<Slot>)> = lock(&self.inner.slots)
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for (name, slot) in slots {
            if slot.running.swap(true, Ordering::SeqCst) {
                continue;
            }
            let engine = self.clone();
            rt.spawn(async move { engine.schedule_account(name, slot).await });
        }
        let jobs: Vec<JobHandle> = lock(&self.inner.jobs).values().cloned().collect();
        for job in jobs {
            if job.running.swap(true, Ordering::SeqCst) {
                continue;
            }
            let engine = self.clone();
            rt.spawn(async move { engine.run_job(job).await });
        }
    }

    /// The network came back: every account waiting out a failure is re-checked at once, unless
    /// its provider asked to wait longer (`Retry-After`). Returns how many were.
    pub fn network_back(&self) -> usize {
        let now = OffsetDateTime::now_utc();
        let slots: Vec<(String, Arc<Slot>)> = lock(&self.inner.slots)
            .iter()
            .map(|(name, slot)| (name.clone(), slot.clone()))
            .collect();
        let mut rechecked = 0;
        for (name, slot) in slots {
            let r = self.record(&name);
            let waiting = matches!(r.state(), AccountState::Enabled | AccountState::Stale)
                && r.retry_at.is_some_and(|t| t > now)
                && r.not_before.is_none_or(|t| t <= now);
            if waiting {
                self.update_record(&name, |r| r.retry_at = Some(now));
                slot.wake.notify_one();
                rechecked += 1;
            }
        }
        rechecked
    }

    /// Re-evaluates every schedule now (after a resume or a clock change): overdue refreshes run
    /// at once, overdue jobs run once.
    pub fn recheck_all(&self) {
        for slot in lock(&self.inner.slots).values() {
            slot.wake.notify_one();
        }
        for job in lock(&self.inner.jobs).values() {
            job.wake.notify_one();
        }
    }

    /// One account's refresh schedule: sleeps until the refresh is due, or until its bell rings
    /// (the deadline moved), or until shutdown.
    pub(super) async fn schedule_account(self, name: String, slot: Arc<Slot>) {
        // The moment the timer last fired: if the next due moment is not later, the record and
        // the tokens disagree, and waiting a little is better than spinning.
        let mut fired: Option<OffsetDateTime> = None;
        // The last failure logged: an outage's hundredth identical failure is not news.
        let mut said: Option<String> = None;
        loop {
            match self.slot(&name) {
                Ok(current) if Arc::ptr_eq(&current, &slot) => {}
                _ => return, // the account was removed (or re-added with a new schedule)
            }
            let record = self.record(&name);
            let due = self.next_refresh(&name, &record);
            match due {
                None => tokio::select! {
                    _ = slot.wake.notified() => {}
                    _ = self.closed() => return,
                },
                Some(at) => {
                    let mut wait =
                        Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or_default();
                    if fired.is_some_and(|f| at <= f) {
                        tracing::warn!(account = %name, "refresh schedule did not move; waiting before the next try");
                        wait = wait.max(SCHEDULE_FLOOR);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            fired = Some(at);
                            let refreshing = matches!(
                                record.state(),
                                AccountState::Enabled | AccountState::Stale
                            );
                            let result = if refreshing {
                                self.refresh_flight(&name, &slot, Mode::Scheduled).await.map(drop)
                            } else {
                                self.retry_write_back(&name, &slot).await
                            };
                            match result {
                                Err(e) => {
                                    let text = e.to_string();
                                    if said.as_deref() == Some(text.as_str()) {
                                        tracing::debug!(account = %name, "scheduled refresh failed again: {text}");
                                    } else {
                                        tracing::info!(account = %name, "scheduled refresh failed: {text}");
                                        said = Some(text);
                                    }
                                }
                                Ok(()) => said = None,
                            }
                        }
                        _ = slot.wake.notified() => {}
                        _ = self.closed() => return,
                    }
                }
            }
        }
    }

    /// Tokens the keychain refused, of an account that does not refresh now (paused, in
    /// error): written back under the refresh lock, without refreshing.
    pub(super) async fn retry_write_back(
        &self,
        name: &str,
        slot: &Slot,
    ) -> Result<(), EngineError> {
        let _flight = slot.flight.lock().await;
        if !slot.unsaved.load(Ordering::SeqCst) {
            return Ok(());
        }
        match self.lock_and_reload(name, slot).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Only the retry moves: the account's state is the person's (paused) or sticky
                // (error), not the keychain's to change.
                self.update_record(name, |r| {
                    r.retry_at = Some(OffsetDateTime::now_utc() + WRITE_BACK_RETRY);
                });
                Err(e)
            }
        }
    }

    /// When the scheduler will next refresh the account (or retry storing its tokens), if at
    /// all.
    pub(super) fn next_refresh(&self, name: &str, r: &AccountRecord) -> Option<OffsetDateTime> {
        let unsaved = lock(&self.inner.slots)
            .get(name)
            .is_some_and(|s| s.unsaved.load(Ordering::SeqCst));
        if unsaved {
            return Some(r.retry_at.unwrap_or_else(OffsetDateTime::now_utc));
        }
        match r.state() {
            AccountState::Enabled | AccountState::Stale => {}
            _ => return None,
        }
        if let Some(retry) = r.retry_at {
            return Some(retry);
        }
        let (obtained, expires) = (r.obtained_at?, r.expires_at?);
        let jitter = lock(&self.inner.slots).get(name).map_or(0.0, |s| s.jitter);
        Some(schedule::refresh_at(obtained, expires, jitter))
    }

    /// Writes routine changes to the state file, batched: event-driven, it sleeps until
    /// something is dirty, and while the disk refuses, retries every [`STATE_RETRY`].
    /// Ends at shutdown, which flushes for the last time itself.
    pub(super) async fn write_state_behind(self) {
        loop {
            tokio::select! {
                _ = self.inner.records.dirtied() => {}
                _ = self.closed() => return,
            }
            tokio::select! {
                _ = tokio::time::sleep(STATE_WRITE_DELAY) => {}
                _ = self.closed() => return,
            }
            while self.flush_state().is_err() {
                tokio::select! {
                    _ = tokio::time::sleep(STATE_RETRY) => {}
                    _ = self.closed() => return,
                }
            }
        }
    }
}
