//! The keychain behind a small interface, its error, and the in-memory store for tests and for
//! platforms CI cannot run.

use crate::secret::Secret;

/// Why the keychain could not be used. Never a reason to fall back to a plain file.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// No keychain answers, or it refused access.
    #[error("the keychain is unavailable ({0}); start it (on Linux a Secret Service such as gnome-keyring) and Tokentray carries on by itself")]
    Unavailable(String),
    /// The keychain is locked. Tokentray never shows an unlock prompt from background work.
    #[error("the keychain is locked; unlock it (sign in to the desktop again, or unlock the \"login\" keyring in Passwords and Keys) and Tokentray carries on by itself")]
    Locked,
    /// An entry exists but is not in Tokentray's format.
    #[error("the keychain entry for {0} is damaged; sign in again to replace it")]
    Corrupt(String),
}

/// The keychain behind a small interface: the OS keychain in the app, an in-memory one where no
/// keychain can run (unit tests of other modules; macOS and Windows paths in CI).
pub trait SecretStore: Send + Sync {
    /// The value under `key`, or `None` if there is none.
    fn get(&self, key: &str) -> Result<Option<Secret>, VaultError>;
    /// Stores `value` under `key`, replacing any old one.
    fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError>;
    /// Deletes `key`; deleting a missing key is fine.
    fn delete(&self, key: &str) -> Result<(), VaultError>;
}

/// An in-memory store, for tests of modules above the vault and for platforms CI cannot run.
#[derive(Default)]
pub struct MemoryStore {
    entries: std::sync::Mutex<std::collections::HashMap<String, Secret>>,
}

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Secret>, VaultError> {
        Ok(self.lock().get(key).cloned())
    }

    fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError> {
        self.lock().insert(key.to_owned(), value.clone());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), VaultError> {
        self.lock().remove(key);
        Ok(())
    }
}

impl MemoryStore {
    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Secret>> {
        // Each operation is a single map call, so a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}
