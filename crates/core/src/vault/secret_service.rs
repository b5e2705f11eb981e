//! The Linux keychain: the Secret Service (gnome-keyring, KWallet, KeePassXC) over one D-Bus
//! connection and one encrypted session that stay open.
//!
//! The `keyring` crate opens a new connection and negotiates a new session for every call (two
//! of each per write). A rotated refresh token exists only in memory until the write ends, so
//! that write is part of the window in which a crash loses the grant: keeping the session open
//! makes it one round trip. Items keep the `keyring` crate's attributes, so entries written by
//! earlier versions are found.
//!
//! Never prompts: a locked collection is reported as locked, and the engine retries until the
//! user unlocks it. An unlock dialog popping up from a background refresh, with nobody at the
//! desk, would block the refresh and surprise the user.

use std::collections::HashMap;
use std::sync::Mutex;

use dbus_secret_service::{EncryptionType, Error as SsError, Item, SecretService};

use super::store::{SecretStore, VaultError};
use crate::secret::Secret;

/// The Secret Service as a [`SecretStore`], entries under one service name.
pub struct SecretServiceStore {
    service: String,
    /// The open connection and session; `None` until first use and after a failure (the
    /// daemon may have restarted: its sessions die with it).
    session: Mutex<Option<SecretService>>,
}

impl SecretServiceStore {
    /// Entries under the service name `service` (normally `tokentray`).
    pub fn new(service: impl Into<String>) -> SecretServiceStore {
        SecretServiceStore {
            service: service.into(),
            session: Mutex::new(None),
        }
    }

    fn attributes<'a>(&'a self, key: &'a str) -> HashMap<&'a str, &'a str> {
        HashMap::from([
            ("service", self.service.as_str()),
            ("username", key),
            ("target", "default"),
        ])
    }

    /// Runs `op` on the open session, opening one if needed. A failure drops the session, and
    /// a failure of the connection itself is retried once on a new one.
    fn with_session<T>(
        &self,
        op: impl Fn(&SecretService) -> Result<T, SsError>,
    ) -> Result<T, VaultError> {
        let mut guard = self.session.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let (ss, reused) = match guard.take() {
                Some(ss) => (ss, true),
                // A prompt timeout of 0: a locked item fails at once instead of prompting.
                None => (
                    SecretService::connect_with_max_prompt_timeout(EncryptionType::Dh, 0)
                        .map_err(classify)?,
                    false,
                ),
            };
            match op(&ss) {
                Ok(v) => {
                    *guard = Some(ss);
                    return Ok(v);
                }
                // A kept session may have died with a restarted daemon: one more try on a
                // new one. A new one that fails has nothing to retry.
                Err(SsError::Dbus(_)) if reused => continue,
                Err(e) => return Err(classify(e)),
            }
        }
    }
}

fn classify(e: SsError) -> VaultError {
    match e {
        SsError::Locked | SsError::Prompt => VaultError::Locked,
        SsError::Dbus(d) if d.name() == Some("org.freedesktop.Secret.Error.IsLocked") => {
            VaultError::Locked
        }
        other => VaultError::Unavailable(other.to_string()),
    }
}

/// The unlocked matches, newest first; a locked one counts only when nothing else matches.
/// (Duplicates come from other tools or old versions; the newest is the one last written.)
fn newest_first<'a>(
    found: dbus_secret_service::SearchItemsResult<Item<'a>>,
) -> Result<Vec<Item<'a>>, SsError> {
    if found.unlocked.is_empty() && !found.locked.is_empty() {
        return Err(SsError::Locked);
    }
    let mut items: Vec<(u64, Item<'a>)> = found
        .unlocked
        .into_iter()
        .map(|i| (i.get_modified().unwrap_or(0), i))
        .collect();
    items.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    Ok(items.into_iter().map(|(_, i)| i).collect())
}

impl SecretStore for SecretServiceStore {
    fn get(&self, key: &str) -> Result<Option<Secret>, VaultError> {
        let bytes = self.with_session(|ss| {
            let items = newest_first(ss.search_items(self.attributes(key))?)?;
            match items.first() {
                Some(item) => item.get_secret().map(Some),
                None => Ok(None),
            }
        })?;
        match bytes {
            None => Ok(None),
            Some(b) => String::from_utf8(b)
                .map(|s| Some(Secret::new(s)))
                .map_err(|_| VaultError::Corrupt(key.to_owned())),
        }
    }

    fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError> {
        self.with_session(|ss| {
            let items = newest_first(ss.search_items(self.attributes(key))?)?;
            if let Some((first, extra)) = items.split_first() {
                first.set_secret(value.expose().as_bytes(), "text/plain")?;
                // Duplicates would only confuse other tools; removing them is a courtesy, and
                // a refusal (a keychain that asks first) must not fail a write that succeeded.
                for item in extra {
                    if let Err(e) = item.delete() {
                        tracing::info!("cannot remove a duplicate keychain entry for {key}: {e}");
                    }
                }
                return Ok(());
            }
            let collection = ss.get_default_collection()?;
            if collection.is_locked()? {
                return Err(SsError::Locked);
            }
            let mut attributes = self.attributes(key);
            attributes.insert("application", "rust-keyring");
            collection.create_item(
                &format!("Tokentray: {key}"),
                attributes,
                value.expose().as_bytes(),
                true,
                "text/plain",
            )?;
            Ok(())
        })
    }

    fn delete(&self, key: &str) -> Result<(), VaultError> {
        self.with_session(|ss| {
            let found = ss.search_items(self.attributes(key))?;
            if !found.locked.is_empty() {
                // A locked copy would survive the sign-out: say so rather than half-delete.
                return Err(SsError::Locked);
            }
            for item in &found.unlocked {
                item.delete()?;
            }
            Ok(())
        })
    }
}
