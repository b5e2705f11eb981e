//! The account records: the state file in memory, what of it the disk lacks, and why the disk
//! refuses it. Knows nothing of events: each change *returns* what listeners must hear (a state
//! change, a storage problem appearing or clearing) and the engine publishes it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::accounts::{AccountRecord, AccountState, StateError, StateFile};
use crate::sync::lock;

/// The records and their persistence.
pub(super) struct Records {
    path: PathBuf,
    // A std Mutex: never held across an await; each critical section is a few field updates
    // plus at most one small atomic file write.
    state: Mutex<StateFile>,
    /// The in-memory state has changes the state file lacks.
    dirty: AtomicBool,
    /// Wakes the state writer when `dirty` is set.
    written: Notify,
    /// Why the state file cannot be written, while it cannot.
    storage_error: Mutex<Option<String>>,
}

/// One account's state moved: listeners hear of it, jobs wake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StateChange {
    /// The account.
    pub account: String,
    /// Its state before.
    pub from: AccountState,
    /// Its state now.
    pub to: AccountState,
}

/// The state file became unwritable (with the sentence to show) or writable again (`None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StorageNews(pub Option<String>);

/// What one record update did.
pub(super) struct Updated {
    /// The record as it is now.
    pub record: AccountRecord,
    /// Its state change, if any.
    pub change: Option<StateChange>,
    /// A change in the state file's writability, if any.
    pub storage: Option<StorageNews>,
}

impl Records {
    /// Loads the state file at `path` (none yet is an empty state).
    pub(super) fn load(path: PathBuf) -> Result<Records, StateError> {
        let state = StateFile::load(&path)?;
        Ok(Records {
            path,
            state: Mutex::new(state),
            dirty: AtomicBool::new(false),
            written: Notify::new(),
            storage_error: Mutex::new(None),
        })
    }

    /// One account's record (the default for an account never seen).
    pub(super) fn get(&self, name: &str) -> AccountRecord {
        self.lock().accounts.get(name).cloned().unwrap_or_default()
    }

    /// Every record, for a snapshot.
    pub(super) fn all(&self) -> StateFile {
        self.lock().clone()
    }

    /// Why the state file cannot be written, while it cannot.
    pub(super) fn storage_error(&self) -> Option<String> {
        lock(&self.storage_error).clone()
    }

    /// Changes one account's record.
    ///
    /// A change of state, of the last error, of the pause or of the "told" flag is written before
    /// this returns. A routine change (new timestamps, same state) is only marked dirty when
    /// `write_behind` (the state writer runs): rewriting the whole file for each of 10,000
    /// accounts' refreshes would cost more than the refreshes, and the keychain already holds
    /// the new expiry. A disk that refuses the write does not stop anything: the change is kept
    /// in memory and the writer retries.
    pub(super) fn update(
        &self,
        name: &str,
        write_behind: bool,
        change: impl FnOnce(&mut AccountRecord),
    ) -> Updated {
        let mut state = self.lock();
        let before = state.accounts.get(name).cloned();
        let from = before
            .as_ref()
            .map_or(AccountState::SignedOut, AccountRecord::state);
        let mut record = before.clone().unwrap_or_default();
        change(&mut record);
        let routine = before.as_ref().is_some_and(|b| {
            b.state() == record.state()
                && b.last_error == record.last_error
                && b.paused == record.paused
        });
        let storage = if routine && write_behind {
            state.accounts.insert(name.to_owned(), record.clone());
            self.dirty.store(true, Ordering::SeqCst);
            self.written.notify_one();
            None
        } else {
            // Persist first: an event must never announce a state a restart would forget.
            let mut next = state.clone();
            next.accounts.insert(name.to_owned(), record.clone());
            let saved = next.save(&self.path);
            *state = next;
            // Under the lock: a routine change that slips in after it must stay marked.
            self.dirty.store(saved.is_err(), Ordering::SeqCst);
            drop(state);
            match saved {
                Ok(()) => self.storage_ok(),
                Err(e) => {
                    // A full or read-only disk must not stop tokens from flowing (they live in
                    // the keychain): keep the change, say so, and retry the write.
                    self.written.notify_one();
                    self.storage_failed(&e.to_string())
                }
            }
        };
        let to = record.state();
        Updated {
            change: (from != to).then(|| StateChange {
                account: name.to_owned(),
                from,
                to,
            }),
            record,
            storage,
        }
    }

    /// Sets or clears the user's pause on every account in `names`; written
    /// before it returns. Returns the state changes (none when nothing changed).
    pub(super) fn set_paused<'a>(
        &self,
        names: impl Iterator<Item = &'a str>,
        paused: bool,
    ) -> Result<Vec<StateChange>, StateError> {
        let mut changes = Vec::new();
        let mut state = self.lock();
        let mut next = state.clone();
        for name in names {
            let record = next.accounts.entry(name.to_owned()).or_default();
            let from = record.state();
            record.paused = paused;
            let to = record.state();
            if from != to {
                changes.push(StateChange {
                    account: name.to_owned(),
                    from,
                    to,
                });
            }
        }
        if !changes.is_empty() {
            next.save(&self.path)?;
            *state = next;
        }
        Ok(changes)
    }

    /// Waits until some change is waiting to be written.
    pub(super) async fn dirtied(&self) {
        self.written.notified().await;
    }

    /// Writes any change not yet in the state file. On failure the change stays marked and the
    /// news says why.
    pub(super) fn flush(&self) -> (Result<(), StateError>, Option<StorageNews>) {
        let state = self.lock();
        if !self.dirty.swap(false, Ordering::SeqCst) {
            return (Ok(()), None);
        }
        match state.save(&self.path) {
            Ok(()) => {
                drop(state);
                (Ok(()), self.storage_ok())
            }
            Err(e) => {
                self.dirty.store(true, Ordering::SeqCst);
                drop(state);
                let news = self.storage_failed(&e.to_string());
                (Err(e), news)
            }
        }
    }

    /// Notes that the disk refused the state file; news only when the sentence is new.
    fn storage_failed(&self, error: &str) -> Option<StorageNews> {
        let error = format!(
            "{error}. Tokens keep working meanwhile (they are in the keychain), and Tokentray writes the file as soon as it can."
        );
        let mut current = lock(&self.storage_error);
        if current.as_deref() == Some(error.as_str()) {
            return None;
        }
        *current = Some(error.clone());
        drop(current);
        tracing::error!("{error}");
        Some(StorageNews(Some(error)))
    }

    /// Notes that the state file was written; news only when it had been refused.
    fn storage_ok(&self) -> Option<StorageNews> {
        lock(&self.storage_error).take().map(|_| {
            tracing::info!("the state file is written again");
            StorageNews(None)
        })
    }

    fn lock(&self) -> MutexGuard<'_, StateFile> {
        lock(&self.state)
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        if self.dirty.load(Ordering::SeqCst) {
            if let Err(e) = self.lock().save(&self.path) {
                tracing::warn!("{e}");
            }
        }
    }
}
