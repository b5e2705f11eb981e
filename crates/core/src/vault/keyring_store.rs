//! The OS keychain through the `keyring` crate: Keychain on macOS, Credential Manager on
//! Windows.

use super::store::{SecretStore, VaultError};
use crate::secret::Secret;

/// The OS keychain through the `keyring` crate (Keychain on macOS, Credential Manager on
/// Windows). Calls block: run them off the async threads.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    /// Entries under the keychain service name `service` (normally `tokentray`).
    pub fn new(service: impl Into<String>) -> KeyringStore {
        KeyringStore {
            service: service.into(),
        }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry, VaultError> {
        keyring::Entry::new(&self.service, key).map_err(|e| map_keyring_error(key, e))
    }
}

fn map_keyring_error(key: &str, e: keyring::Error) -> VaultError {
    use keyring::Error as K;
    match e {
        K::BadEncoding(_) => VaultError::Corrupt(key.to_owned()),
        // PlatformFailure / NoStorageAccess: no Secret Service, a locked collection, a refused
        // prompt. Everything else is equally "the keychain cannot be used right now".
        other => VaultError::Unavailable(other.to_string()),
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<Secret>, VaultError> {
        match self.entry(key)?.get_password() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(key, e)),
        }
    }

    fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError> {
        self.entry(key)?
            .set_password(value.expose())
            .map_err(|e| map_keyring_error(key, e))
    }

    fn delete(&self, key: &str) -> Result<(), VaultError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring_error(key, e)),
        }
    }
}
