//! The status snapshot the CLI, the tray and the dashboard show: every account's state, expiry,
//! schedule, last error and jobs. Never touches the keychain; holds no secret.

use super::handle::Engine;
use super::tokens::rfc3339;
use crate::accounts::AccountState;
use crate::http::without_query;
use crate::jobs::JobHandle;
use crate::status::{AccountStatus, JobStatus, Status};
use crate::sync::lock;

impl Engine {
    /// A snapshot of every account, in settings order. Never touches the keychain.
    pub fn status(&self) -> Status {
        let settings = self.settings();
        let jobs: Vec<JobHandle> = lock(&self.inner.jobs).values().cloned().collect();
        let state = self.inner.records.all();
        let accounts = settings
            .accounts
            .iter()
            .map(|a| {
                let r = state.accounts.get(&a.name).cloned().unwrap_or_default();
                let next = self.next_refresh(&a.name, &r);
                let mut account_jobs: Vec<JobStatus> = jobs
                    .iter()
                    .filter(|j| j.spec.account == a.name)
                    .map(|j| {
                        let rec = j.snapshot();
                        JobStatus {
                            name: j.spec.name.clone(),
                            every_s: j.spec.every.as_secs(),
                            state: if r.state() == AccountState::Enabled {
                                "running".into()
                            } else {
                                "paused".into()
                            },
                            runs: rec.runs,
                            last_run: rec.last_run.map(rfc3339),
                            last_status: rec.last_status,
                            latency_ms: rec.last_latency_ms,
                            next_run: rec.next_run.map(rfc3339),
                            method: Some(j.spec.method.clone()),
                            // The query may carry an API key: status shows the URL without it.
                            url: Some(without_query(&j.spec.url).to_owned()),
                        }
                    })
                    .collect();
                account_jobs.sort_by(|x, y| x.name.cmp(&y.name));
                AccountStatus {
                    name: a.name.clone(),
                    provider: a.provider.clone(),
                    status: r.state(),
                    expires_at: r.expires_at.map(rfc3339),
                    last_refresh: r.last_refresh.map(rfc3339),
                    sign_in_expires_at: r.sign_in_expires_at.map(rfc3339),
                    obtained_at: r.obtained_at.map(rfc3339),
                    next_refresh: next.map(rfc3339),
                    last_error: r.last_error.clone(),
                    jobs: account_jobs,
                    variants: self
                        .slot(&a.name)
                        .map(|slot| self.variant_status(&slot))
                        .unwrap_or_default(),
                    callers: a.callers,
                    allowed_callers: a.allowed_callers.clone(),
                }
            })
            .collect();
        Status {
            accounts,
            storage_error: self.inner.records.storage_error(),
            desktop_note: self
                .inner
                .desktop_note
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }

    /// Records what the desktop cannot do for Tokentray (none: all is well), for the status to
    /// say. Set once as the host starts, so no event announces it.
    pub fn set_desktop_note(&self, note: Option<String>) {
        *self
            .inner
            .desktop_note
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = note;
    }
}
