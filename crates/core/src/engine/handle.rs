//! The engine handle: the one `Arc` that holds every room's state, how it is opened, and the
//! few doors all rooms share — a record update that publishes its change, the event bus, the
//! account's slot and provider.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::sync::broadcast;

use super::error::EngineError;
use super::logins::Logins;
use super::outage::Outages;
use super::records::{Records, StateChange, StorageNews};
use super::slot::Slot;
use crate::accounts::AccountRecord;
use crate::events::{self, Event};
use crate::history::History;
use crate::http::{Http, LazyHttp};
use crate::jobs::{JobHandle, JobSlot, JobSpec};
use crate::paths::Paths;
use crate::schedule::Jitter;
use crate::settings::{ProviderSettings, Settings};
use crate::sync::lock;
use crate::vault::Vault;

/// The engine. Cheap to clone; clones share one set of accounts.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

/// What the rooms own, side by side.
pub(super) struct Inner {
    pub(super) paths: Paths,
    // Swapped whole on reload; readers take a cheap Arc clone.
    pub(super) settings: std::sync::RwLock<Arc<Settings>>,
    /// The account records and their state file.
    pub(super) records: Records,
    /// Per-account runtime state, by account.
    pub(super) slots: Mutex<HashMap<String, Arc<Slot>>>,
    /// Warm-up jobs, by job name.
    pub(super) jobs: Mutex<HashMap<String, JobHandle>>,
    pub(super) scheduler_started: AtomicBool,
    /// The runtime the scheduler's tasks run on (set by the first `start_scheduler`).
    pub(super) runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    /// Set by [`Engine::shutdown`]: no new refresh starts, long-lived tasks end.
    pub(super) closing: tokio::sync::watch::Sender<bool>,
    pub(super) vault: Vault,
    pub(super) http: Arc<dyn Http>,
    events: broadcast::Sender<Event>,
    history: History,
    /// Recent permanent failures, for the outage rule.
    pub(super) outages: Outages,
    /// Sign-ins waiting for a person, by account.
    pub(super) logins: Logins,
    /// Serializes read-change-write edits of the settings file.
    pub(super) settings_edit: Mutex<()>,
    /// What the host says the desktop cannot do, shown in the status.
    pub(super) desktop_note: Mutex<Option<String>>,
}

impl Engine {
    /// Loads the settings and the persisted account states from `paths`, with the OS keychain
    /// and the real HTTP client (created on first use).
    pub fn open(paths: Paths) -> Result<Engine, EngineError> {
        Engine::with_parts(paths, Vault::os_keychain(), Arc::new(LazyHttp::default()))
    }

    /// Like [`Engine::open`] with an explicit vault and HTTP client (tests, benchmarks).
    pub fn with_parts(
        paths: Paths,
        vault: Vault,
        http: Arc<dyn Http>,
    ) -> Result<Engine, EngineError> {
        let settings = Settings::load(&paths.settings_file())?;
        let records = Records::load(paths.state_file())?;
        let mut jitter = Jitter::from_entropy();
        let slots = settings
            .accounts
            .iter()
            .map(|a| (a.name.clone(), Arc::new(Slot::new(jitter.sample()))))
            .collect();
        let jobs = settings
            .jobs
            .iter()
            .map(|j| {
                let slot = JobSlot::new(JobSpec::from_settings(j), jitter.sample());
                (j.name.clone(), Arc::new(slot))
            })
            .collect();
        let history = History::open(&paths.state_dir);
        Ok(Engine {
            inner: Arc::new(Inner {
                paths,
                settings: std::sync::RwLock::new(Arc::new(settings)),
                records,
                slots: Mutex::new(slots),
                jobs: Mutex::new(jobs),
                scheduler_started: AtomicBool::new(false),
                runtime: std::sync::OnceLock::new(),
                closing: tokio::sync::watch::Sender::new(false),
                vault,
                http,
                events: events::channel(),
                history,
                outages: Outages::default(),
                logins: Logins::default(),
                settings_edit: Mutex::new(()),
                desktop_note: Mutex::new(None),
            }),
        })
    }

    /// The directories this engine uses.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The user's pause (or resume) of one account; returns 1 if its state changed, else 0.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<usize, EngineError> {
        self.slot(name)?;
        self.update_paused(|n| n == name, paused)
    }

    /// The user's pause (or resume) of every account; returns how many changed.
    pub fn set_paused_all(&self, paused: bool) -> Result<usize, EngineError> {
        self.update_paused(|_| true, paused)
    }

    fn update_paused(
        &self,
        select: impl Fn(&str) -> bool,
        paused: bool,
    ) -> Result<usize, EngineError> {
        let settings = self.settings();
        let names = settings
            .accounts
            .iter()
            .map(|a| a.name.as_str())
            .filter(|n| select(n));
        let changes = self.inner.records.set_paused(names, paused)?;
        let n = changes.len();
        for change in changes {
            if let Ok(slot) = self.slot(&change.account) {
                slot.wake.notify_one();
            }
            self.announce(change);
        }
        Ok(n)
    }

    /// History since `since`, optionally of one account.
    pub fn history(
        &self,
        account: Option<&str>,
        since: OffsetDateTime,
    ) -> Vec<crate::history::Entry> {
        self.inner.history.read(account, since)
    }

    /// Before exiting: stores tokens the keychain refused earlier if it takes them now, and
    /// writes any state not yet in the state file.
    pub fn flush(&self) -> Result<(), EngineError> {
        self.write_back_unsaved();
        self.flush_state()
    }

    /// True while some account's newest tokens exist only in memory (the keychain refused them).
    pub fn has_unsaved_tokens(&self) -> bool {
        lock(&self.inner.slots)
            .values()
            .any(|s| s.unsaved.load(Ordering::SeqCst))
    }

    /// The account's slot.
    pub(super) fn slot(&self, name: &str) -> Result<Arc<Slot>, EngineError> {
        let slots = lock(&self.inner.slots);
        match slots.get(name) {
            Some(slot) => Ok(slot.clone()),
            // Nothing set up yet: the sentence says how to begin.
            None if slots.is_empty() => Err(EngineError::NoAccountsYet(name.to_owned())),
            None => Err(EngineError::NoSuchAccount(name.to_owned())),
        }
    }

    /// The account's record.
    pub(super) fn record(&self, name: &str) -> AccountRecord {
        self.inner.records.get(name)
    }

    /// The account's provider: its name in the settings and its settings.
    pub(super) fn provider_of(
        &self,
        name: &str,
    ) -> Result<(String, ProviderSettings), EngineError> {
        let settings = self.settings();
        let account = settings
            .account(name)
            .ok_or_else(|| EngineError::NoSuchAccount(name.to_owned()))?;
        let provider = settings
            .providers
            .get(&account.provider)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchAccount(name.to_owned()))?;
        Ok((account.provider.clone(), provider))
    }

    /// Changes one account's record (see [`Records::update`] for when it is written), then
    /// publishes what changed and wakes the account's jobs. Returns the record as it is now.
    pub(super) fn update_record(
        &self,
        name: &str,
        change: impl FnOnce(&mut AccountRecord),
    ) -> AccountRecord {
        let write_behind = self.inner.scheduler_started.load(Ordering::SeqCst);
        let updated = self.inner.records.update(name, write_behind, change);
        if let Some(news) = updated.storage {
            self.tell_storage(news);
        }
        if let Some(change) = updated.change {
            self.announce(change);
        }
        updated.record
    }

    /// Writes any state not yet in the state file.
    pub(super) fn flush_state(&self) -> Result<(), EngineError> {
        let (result, news) = self.inner.records.flush();
        if let Some(news) = news {
            self.tell_storage(news);
        }
        result.map_err(EngineError::from)
    }

    /// Publishes an event: to the history and to every subscriber.
    pub(super) fn publish(&self, event: Event) {
        tracing::info!(?event, "engine event");
        self.inner.history.record(&event);
        // No subscribers is fine: nobody is listening yet.
        let _ = self.inner.events.send(event);
    }

    /// A state change: the account's jobs wake (to run or to hold), listeners hear of it.
    fn announce(&self, change: StateChange) {
        self.wake_jobs(&change.account);
        self.publish(Event::StateChanged {
            account: change.account,
            from: change.from,
            to: change.to,
        });
    }

    fn tell_storage(&self, news: StorageNews) {
        self.publish(Event::StorageChanged { error: news.0 });
    }
}
