//! A bounded history of what happened to each account: refreshes, failures, state changes and
//! job runs, one JSON line each in the state folder, kept for at least 24 hours. No secrets: it
//! records engine events, which carry none.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::events::Event;

/// How long entries are kept (more than the 24 h the dashboard draws).
pub const KEEP: time::Duration = time::Duration::hours(26);
/// Prune after this many appends, so the file cannot grow without bound between restarts.
const PRUNE_EVERY: u32 = 2000;

/// One line of history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The event, as published.
    pub event: serde_json::Value,
}

/// The history file.
pub struct History {
    path: PathBuf,
    appends: AtomicU32,
    // Serializes appends and prunes within this process (only the engine writes the file).
    write: Mutex<()>,
}

impl History {
    /// The history in `state_dir`, pruned of entries older than [`KEEP`].
    pub fn open(state_dir: &Path) -> History {
        let h = History {
            path: state_dir.join("history.jsonl"),
            appends: AtomicU32::new(0),
            write: Mutex::new(()),
        };
        h.prune();
        h
    }

    /// Appends `event` (events that are not about an account's life are skipped).
    pub fn record(&self, event: &Event) {
        if matches!(event, Event::SettingsChanged | Event::StorageChanged { .. }) {
            return;
        }
        let entry = Entry {
            at: OffsetDateTime::now_utc(),
            event: serde_json::json!(event),
        };
        let Ok(mut line) = serde_json::to_vec(&entry) else {
            return;
        };
        line.push(b'\n');
        {
            let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
            let result = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .and_then(|mut f| f.write_all(&line));
            if let Err(e) = result {
                // A full or read-only disk must not stop the engine; the state file is what
                // matters and reports its own errors.
                tracing::warn!("cannot append to {}: {e}", self.path.display());
            }
        }
        if self.appends.fetch_add(1, Ordering::Relaxed) + 1 >= PRUNE_EVERY {
            self.appends.store(0, Ordering::Relaxed);
            self.prune();
        }
    }

    /// Entries since `since`, oldest first, optionally of one account only.
    pub fn read(&self, account: Option<&str>, since: OffsetDateTime) -> Vec<Entry> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
            .filter(|e| e.at >= since)
            .filter(|e| account.is_none_or(|a| e.event["account"] == a))
            .collect()
    }

    fn prune(&self) {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let Ok(text) = std::fs::read_to_string(&self.path) else {
            return;
        };
        let cutoff = OffsetDateTime::now_utc() - KEEP;
        let kept: String = text
            .lines()
            .filter(|l| serde_json::from_str::<Entry>(l).is_ok_and(|e| e.at >= cutoff))
            .map(|l| format!("{l}\n"))
            .collect();
        if kept.len() != text.len() {
            if let Err(e) = crate::fsutil::write_atomic(&self.path, kept.as_bytes()) {
                tracing::warn!("cannot prune {}: {e}", self.path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_reads_by_account_and_prunes_old_lines() {
        let dir = tempfile::tempdir().unwrap();
        let old = Entry {
            at: OffsetDateTime::now_utc() - time::Duration::hours(30),
            event: serde_json::json!({"kind": "refreshed", "account": "a"}),
        };
        std::fs::write(
            dir.path().join("history.jsonl"),
            format!("{}\nnot json\n", serde_json::to_string(&old).unwrap()),
        )
        .unwrap();
        let h = History::open(dir.path());
        assert!(
            h.read(None, OffsetDateTime::UNIX_EPOCH).is_empty(),
            "old and broken lines pruned"
        );
        h.record(&Event::Refreshed {
            account: "a".into(),
        });
        h.record(&Event::Refreshed {
            account: "b".into(),
        });
        h.record(&Event::SettingsChanged);
        let all = h.read(None, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(all.len(), 2);
        let a = h.read(Some("a"), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].event["kind"], "refreshed");
    }
}
