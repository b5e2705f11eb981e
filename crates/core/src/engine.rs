//! The engine's public face: owns the accounts and publishes every change as an event.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

use crate::accounts::{AccountState, StateError, StateFile};
use crate::events::{self, Event};
use crate::paths::Paths;
use crate::settings::{Settings, SettingsError};
use crate::status::{AccountStatus, Status};

/// Why the engine could not do what was asked. Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The settings file is unreadable or invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The state file is unreadable, corrupt or unwritable.
    #[error(transparent)]
    State(#[from] StateError),
    /// No account has that name.
    #[error("no account named {0:?}; `tokentray status` lists them")]
    NoSuchAccount(String),
}

/// The engine. Cheap to clone; clones share one set of accounts.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    paths: Paths,
    settings: Settings,
    // A std Mutex: it is never held across an await, and every critical section is a few
    // field updates plus one small atomic file write.
    state: Mutex<StateFile>,
    events: broadcast::Sender<Event>,
}

impl Engine {
    /// Loads the settings and the persisted account states from `paths`.
    pub fn open(paths: Paths) -> Result<Engine, EngineError> {
        let settings = Settings::load(&paths.settings_file())?;
        let state = StateFile::load(&paths.state_file())?;
        Ok(Engine {
            inner: Arc::new(Inner {
                paths,
                settings,
                state: Mutex::new(state),
                events: events::channel(),
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

    /// A snapshot of every account, in settings order.
    pub fn status(&self) -> Status {
        let state = self.lock_state();
        let accounts = self
            .inner
            .settings
            .accounts
            .iter()
            .map(|a| AccountStatus {
                name: a.name.clone(),
                provider: a.provider.clone(),
                status: state
                    .accounts
                    .get(&a.name)
                    .map(|r| r.state())
                    .unwrap_or(AccountState::SignedOut),
                expires_at: None,
                last_refresh: None,
                next_refresh: None,
                last_error: None,
                jobs: Vec::new(),
            })
            .collect();
        Status { accounts }
    }

    /// The user's pause (or resume) of one account; returns 1 if its state changed, else 0.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<usize, EngineError> {
        if !self.inner.settings.accounts.iter().any(|a| a.name == name) {
            return Err(EngineError::NoSuchAccount(name.to_owned()));
        }
        self.update_paused(|n| n == name, paused)
    }

    /// The user's pause (or resume) of every account; returns how many changed.
    pub fn set_paused_all(&self, paused: bool) -> Result<usize, EngineError> {
        self.update_paused(|_| true, paused)
    }

    /// Asks the GUI, if any, to show itself (a second launch handed over to us).
    pub fn request_activation(&self, open_dashboard: bool) {
        self.publish(Event::ActivateRequested { open_dashboard });
    }

    fn update_paused(
        &self,
        select: impl Fn(&str) -> bool,
        paused: bool,
    ) -> Result<usize, EngineError> {
        let mut changes = Vec::new();
        {
            let mut state = self.lock_state();
            let mut next = state.clone();
            for a in self
                .inner
                .settings
                .accounts
                .iter()
                .filter(|a| select(&a.name))
            {
                let record = next.accounts.entry(a.name.clone()).or_default();
                let from = record.state();
                record.paused = paused;
                let to = record.state();
                if from != to {
                    changes.push(Event::StateChanged {
                        account: a.name.clone(),
                        from,
                        to,
                    });
                }
            }
            if changes.is_empty() {
                return Ok(0);
            }
            // Persist first: an event must never announce a state a restart would forget.
            next.save(&self.inner.paths.state_file())?;
            *state = next;
        }
        let n = changes.len();
        for e in changes {
            self.publish(e);
        }
        Ok(n)
    }

    fn publish(&self, event: Event) {
        tracing::info!(?event, "engine event");
        // No subscribers is fine: nobody is listening yet.
        let _ = self.inner.events.send(event);
    }

    fn lock_state(&self) -> MutexGuard<'_, StateFile> {
        // A panic while holding the lock leaves consistent data (we swap in a fully built copy),
        // so a poisoned lock is safe to keep using.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engine_with(accounts: &[&str]) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let mut text = String::from(
            "[provider.p]\ntoken_url = \"https://p.example/token\"\nclient_id = \"c\"\n",
        );
        for a in accounts {
            text.push_str(&format!("[[account]]\nname = \"{a}\"\nprovider = \"p\"\n"));
        }
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        std::fs::write(paths.settings_file(), text).unwrap();
        (dir, Engine::open(paths).unwrap())
    }

    #[test]
    fn no_settings_means_no_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(Paths::under(dir.path())).unwrap();
        assert_eq!(e.status(), Status::default());
    }

    #[test]
    fn pause_all_publishes_persists_and_survives_a_restart() {
        let (dir, e) = engine_with(&["a", "b"]);
        let mut rx = e.subscribe();
        assert_eq!(e.set_paused_all(true).unwrap(), 2);
        assert_eq!(
            e.set_paused_all(true).unwrap(),
            0,
            "second pause changes nothing"
        );
        let ev = rx.try_recv().unwrap();
        assert_eq!(
            ev,
            Event::StateChanged {
                account: "a".into(),
                from: AccountState::SignedOut,
                to: AccountState::Paused
            }
        );
        let reopened = Engine::open(Paths::under(dir.path())).unwrap();
        assert!(reopened
            .status()
            .accounts
            .iter()
            .all(|a| a.status == AccountState::Paused));
        reopened.set_paused("b", false).unwrap();
        let states: Vec<_> = reopened
            .status()
            .accounts
            .iter()
            .map(|a| a.status)
            .collect();
        assert_eq!(states, [AccountState::Paused, AccountState::SignedOut]);
    }

    #[test]
    fn pausing_an_unknown_account_says_so() {
        let (_dir, e) = engine_with(&["a"]);
        let err = e.set_paused("zed", true).unwrap_err();
        assert!(matches!(err, EngineError::NoSuchAccount(_)), "{err}");
    }
}
