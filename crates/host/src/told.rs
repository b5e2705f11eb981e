//! The notifier's memory of the failure episodes it has told, in a file of its own in the state
//! folder, so that a restart does not tell again. An episode is one set of tokens failing: it
//! is keyed by when those tokens were obtained, so a new sign-in or refresh starts a new one.
//! The notifier keeps this itself; it never writes into the engine's records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Told episodes by account.
pub(crate) struct Told {
    path: PathBuf,
    episodes: Mutex<BTreeMap<String, String>>,
}

impl Told {
    /// The memory in `state_dir`; missing or unreadable is empty (at worst one more notice).
    pub(crate) fn open(state_dir: &Path) -> Told {
        let path = state_dir.join("notified.json");
        let episodes = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Told {
            path,
            episodes: Mutex::new(episodes),
        }
    }

    /// True, and remembered, when `episode` of `account` has not been told yet.
    pub(crate) fn first_time(&self, account: &str, episode: &str) -> bool {
        let Ok(mut episodes) = self.episodes.lock() else {
            return true;
        };
        if episodes.get(account).is_some_and(|e| e == episode) {
            return false;
        }
        episodes.insert(account.to_owned(), episode.to_owned());
        self.save(&episodes);
        true
    }

    /// Forgets the accounts `keep` says no longer need remembering (they work again, or are
    /// gone).
    pub(crate) fn retain(&self, keep: impl Fn(&str) -> bool) {
        let Ok(mut episodes) = self.episodes.lock() else {
            return;
        };
        let before = episodes.len();
        episodes.retain(|account, _| keep(account));
        if episodes.len() != before {
            self.save(&episodes);
        }
    }

    fn save(&self, episodes: &BTreeMap<String, String>) {
        let written = serde_json::to_vec_pretty(episodes)
            .map_err(std::io::Error::other)
            .and_then(|bytes| tokentray_core::fsutil::write_atomic(&self.path, &bytes));
        if let Err(e) = written {
            // Worst case a restart tells once more; never a reason to stay silent now.
            tracing::warn!(
                "cannot remember told notifications in {}: {e}",
                self.path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_is_told_once_across_restarts_and_a_new_one_again() {
        let dir = tempfile::tempdir().unwrap();
        let told = Told::open(dir.path());
        assert!(told.first_time("a", "t1"));
        assert!(!told.first_time("a", "t1"));
        let told = Told::open(dir.path());
        assert!(!told.first_time("a", "t1"), "remembered across a restart");
        assert!(told.first_time("a", "t2"), "new tokens, new episode");
        told.retain(|account| account != "a");
        assert!(Told::open(dir.path()).first_time("a", "t2"), "forgotten");
    }
}
