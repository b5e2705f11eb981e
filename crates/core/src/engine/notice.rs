//! The notice: an account's failure episode the person has not been told of yet.

use super::handle::Engine;
use crate::accounts::AccountState;
use crate::oauth::classify::FailureClass;

/// An account's failure to tell the person of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The account.
    pub account: String,
    /// Its provider's name in the settings.
    pub provider: String,
    /// Permanent or config (transient trouble is never told).
    pub class: FailureClass,
    /// The sentence that says what to do.
    pub message: String,
}

impl Engine {
    /// The account's failure if the person has not been told of this episode yet, marking it
    /// told: the notifier asks, so that each episode is told once, even across restarts.
    pub fn take_notice(&self, name: &str) -> Option<Notice> {
        let current = self.record(name);
        if current.system != Some(AccountState::Error) || current.notified {
            return None;
        }
        let mut fresh = false;
        let record = self.update_record(name, |r| {
            if r.system == Some(AccountState::Error) && !r.notified {
                r.notified = true;
                fresh = true;
            }
        });
        if !fresh {
            return None;
        }
        let error = record.last_error?;
        let provider = self
            .settings()
            .accounts
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.provider.clone())
            .unwrap_or_default();
        Some(Notice {
            account: name.to_owned(),
            provider,
            class: error.class,
            message: error.message,
        })
    }
}
