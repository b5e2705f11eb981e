//! Warm-up jobs: periodic authenticated HTTP requests (keep a cache warm, poll a quota). A job
//! runs only while its account is enabled; while the account is stale, in error or paused its
//! runs are skipped, not queued, and a missed run is never replayed in a burst.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::settings::{parse_duration, JobSettings};

/// A job as the engine runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSpec {
    /// The job's name.
    pub name: String,
    /// The account whose token it sends.
    pub account: String,
    /// The HTTP method.
    pub method: String,
    /// The URL.
    pub url: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<String>,
    /// The interval.
    pub every: Duration,
}

impl JobSpec {
    /// The runnable form of a settings entry (the settings were validated when loaded).
    pub fn from_settings(s: &JobSettings) -> JobSpec {
        JobSpec {
            name: s.name.clone(),
            account: s.account.clone(),
            method: s.method.to_ascii_uppercase(),
            url: s.url.clone(),
            headers: s
                .headers
                .iter()
                .filter_map(|h| {
                    let (k, v) = h.split_once(':')?;
                    Some((k.trim().to_owned(), v.trim().to_owned()))
                })
                .collect(),
            body: s.body.clone(),
            every: parse_duration(&s.every).unwrap_or(Duration::from_secs(300)),
        }
    }
}

/// What a job has done; shown by `status` and the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Runs so far (this engine's lifetime).
    pub runs: u64,
    /// When it last ran.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_run: Option<OffsetDateTime>,
    /// The last HTTP status (none after a transport failure).
    pub last_status: Option<u16>,
    /// The last run's latency in milliseconds.
    pub last_latency_ms: Option<u64>,
    /// When it runs next, if its account is enabled.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub next_run: Option<OffsetDateTime>,
    /// A fresh token was rejected too: the job itself (URL, scope) is wrong, so its 401s no
    /// longer trigger refreshes. Cleared by the next success.
    pub auth_suspect: bool,
}

/// One job's runtime: its spec, what it did, and the bell that wakes it.
pub struct JobSlot {
    /// What to run.
    pub spec: JobSpec,
    /// What it did.
    pub record: Mutex<JobRecord>,
    /// Rung when its account's state changes (or the job is removed).
    pub wake: Notify,
    /// This job's fixed place in the jitter spread.
    pub jitter: f64,
    /// Set once its task is running.
    pub running: std::sync::atomic::AtomicBool,
    /// A person asked for a run now ("Run now" in the dashboard).
    pub run_now: std::sync::atomic::AtomicBool,
}

impl JobSlot {
    /// A new slot for `spec`.
    pub fn new(spec: JobSpec, jitter: f64) -> JobSlot {
        JobSlot {
            spec,
            record: Mutex::new(JobRecord::default()),
            wake: Notify::new(),
            jitter,
            running: std::sync::atomic::AtomicBool::new(false),
            run_now: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The interval with this job's jitter: ±10%, so many jobs with one interval spread out.
    pub fn interval(&self) -> Duration {
        self.spec.every.mul_f64(0.9 + 0.2 * self.jitter)
    }

    /// Notes a finished run.
    pub fn record_run(&self, status: Option<u16>, started: Instant) {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        r.runs += 1;
        r.last_run = Some(OffsetDateTime::now_utc());
        r.last_status = status;
        r.last_latency_ms = Some(started.elapsed().as_millis().min(u128::from(u64::MAX)) as u64);
    }

    /// Sets or clears the suspicion that the job, not the token, is at fault.
    pub fn set_auth_suspect(&self, suspect: bool) {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .auth_suspect = suspect;
    }

    /// Notes when the next run is due (`None` while held).
    pub fn set_next(&self, next: Option<OffsetDateTime>) {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_run = next;
    }

    /// A copy of the record.
    pub fn snapshot(&self) -> JobRecord {
        self.record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Shared handle.
pub type JobHandle = Arc<JobSlot>;

/// Why a job may not use `url`, or `None` if it may. A job sends the account's bearer token, so
/// only over https, or plain http to this machine. The host is parsed, not prefix-matched:
/// `http://localhost.example.net/` and `http://127.0.0.1@example.net/` are not this machine.
pub fn refuse_url(url: &str) -> Option<String> {
    let parsed = match url::Url::parse(url.trim()) {
        Ok(u) => u,
        Err(e) => return Some(format!("a job's URL must be a full URL ({e})")),
    };
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match parsed.scheme() {
        "https" => None,
        "http" if loopback => None,
        _ => Some("a job's URL must start with https:// (it carries the account's token)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_goes_only_over_https_or_to_this_machine() {
        assert_eq!(refuse_url("https://api.example.com/ping"), None);
        assert_eq!(refuse_url("http://127.0.0.1:8080/x"), None);
        assert_eq!(refuse_url("http://localhost/x"), None);
        assert_eq!(refuse_url("http://[::1]:9/x"), None);
        for bad in [
            "http://example.com/",
            "http://localhost.example.net/",
            "http://127.0.0.1.nip.io/",
            "http://127.0.0.1@example.net/",
            "ftp://127.0.0.1/",
            "not a url",
        ] {
            assert!(refuse_url(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn settings_become_specs() {
        let s = JobSettings {
            name: "warm".into(),
            account: "a".into(),
            url: "https://x/api".into(),
            method: "post".into(),
            every: "30s".into(),
            headers: vec!["X-Trace: 1".into(), "garbage".into()],
            body: Some("{}".into()),
        };
        let spec = JobSpec::from_settings(&s);
        assert_eq!(spec.method, "POST");
        assert_eq!(spec.every, Duration::from_secs(30));
        assert_eq!(spec.headers, [("X-Trace".to_string(), "1".to_string())]);
    }

    #[test]
    fn jitter_keeps_the_interval_within_ten_percent() {
        let spec = JobSpec::from_settings(&JobSettings {
            name: "j".into(),
            account: "a".into(),
            url: "u".into(),
            method: "GET".into(),
            every: "100s".into(),
            headers: vec![],
            body: None,
        });
        assert_eq!(
            JobSlot::new(spec.clone(), 0.0).interval(),
            Duration::from_secs(90)
        );
        assert_eq!(JobSlot::new(spec, 0.5).interval(), Duration::from_secs(100));
    }
}
