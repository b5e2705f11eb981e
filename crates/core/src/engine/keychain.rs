//! The engine's trips to the keychain: reads that fill the slot's cache, the cross-process
//! refresh lock taken in the same trip, writes, and the write-back of tokens the keychain
//! refused earlier. Every call runs on the blocking pool, never on the async threads.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::error::EngineError;
use super::handle::Engine;
use super::slot::{write_back, Cached, Slot, VaultRead};
use crate::crosslock;
use crate::sync::lock;
use crate::vault::{TokenSet, VaultError};

impl Engine {
    /// The account's tokens: from the cache, else from the keychain.
    pub(super) async fn load(
        &self,
        name: &str,
        slot: &Slot,
    ) -> Result<Option<TokenSet>, EngineError> {
        if let Cached::Loaded(t) = lock(&slot.cache).clone() {
            return Ok(t);
        }
        self.reload_from_vault(name, slot).await
    }

    /// Reads the keychain afresh (writing refused tokens back over a spent copy first).
    pub(super) async fn reload_from_vault(
        &self,
        name: &str,
        slot: &Slot,
    ) -> Result<Option<TokenSet>, EngineError> {
        let read = self.vault_read(name, slot);
        let result = tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| EngineError::KeychainCall(e.to_string()))?;
        self.after_vault_read(name, slot, result)
    }

    /// Takes the account's cross-process refresh lock and reads the keychain under it, in one
    /// trip to the blocking pool (a refresh's fixed local cost is mostly such trips).
    pub(super) async fn lock_and_reload(
        &self,
        name: &str,
        slot: &Slot,
    ) -> Result<(crosslock::RefreshLock, Option<TokenSet>), EngineError> {
        let paths = self.inner.paths.clone();
        let account = name.to_owned();
        let read = self.vault_read(name, slot);
        let (lock, result) = tokio::task::spawn_blocking(move || {
            crosslock::acquire(&paths, &account).map(|lock| (lock, read()))
        })
        .await
        .map_err(|e| EngineError::KeychainCall(e.to_string()))?
        .map_err(|source| EngineError::RefreshLock {
            account: name.to_owned(),
            source,
        })?;
        Ok((lock, self.after_vault_read(name, slot, result)?))
    }

    /// The blocking half of a keychain read: the stored tokens, or — while the cache holds
    /// tokens the keychain refused — those, written over the keychain's spent copy first.
    pub(super) fn vault_read(
        &self,
        name: &str,
        slot: &Slot,
    ) -> impl FnOnce() -> VaultRead + Send + 'static {
        let vault = self.inner.vault.clone();
        let account = name.to_owned();
        let ours = if slot.unsaved.load(Ordering::SeqCst) {
            Some((slot.cached(), lock(&slot.spent).clone()))
        } else {
            None
        };
        move || match ours {
            Some((Some(ours), spent)) => write_back(&vault, &account, ours, spent.as_ref()),
            Some((None, _)) => VaultRead::Read(Ok(None)),
            None => VaultRead::Read(vault.tokens(&account)),
        }
    }

    /// The async half: updates the cache, and clears a keychain error the read proved over.
    pub(super) fn after_vault_read(
        &self,
        name: &str,
        slot: &Slot,
        read: VaultRead,
    ) -> Result<Option<TokenSet>, EngineError> {
        let tokens = match read {
            VaultRead::Read(r) => r?,
            VaultRead::WroteBack(r) => {
                let ours = r?;
                slot.unsaved.store(false, Ordering::SeqCst);
                *lock(&slot.spent) = None;
                tracing::info!(account = %name, "the keychain is back; the tokens kept in memory are stored");
                Some(ours)
            }
            VaultRead::Newer(stored) => {
                // Someone stored newer tokens (a sign-in elsewhere, or our write went through
                // after all and another process rotated them): theirs win.
                slot.unsaved.store(false, Ordering::SeqCst);
                *lock(&slot.spent) = None;
                tracing::info!(account = %name, "the keychain holds newer tokens than the ones kept in memory; using those");
                stored
            }
        };
        *lock(&slot.cache) = Cached::Loaded(tokens.clone());
        if self
            .record(name)
            .last_error
            .as_ref()
            .is_some_and(|e| e.code.starts_with("keychain_"))
        {
            self.update_record(name, |r| {
                r.last_error = None;
                r.failures = 0;
                r.retry_at = None;
            });
        }
        Ok(tokens)
    }

    /// Writes `tokens` to the keychain.
    pub(super) async fn save_tokens(
        &self,
        name: &str,
        tokens: &TokenSet,
    ) -> Result<(), EngineError> {
        let vault = self.inner.vault.clone();
        let account = name.to_owned();
        let tokens = tokens.clone();
        blocking(move || vault.save_tokens(&account, &tokens)).await
    }

    /// Stores tokens the keychain refused earlier, for every account that has some, if it takes
    /// them now (before exiting).
    pub(super) fn write_back_unsaved(&self) {
        let slots: Vec<(String, Arc<Slot>)> = lock(&self.inner.slots)
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for (name, slot) in slots {
            if !slot.unsaved.load(Ordering::SeqCst) {
                continue;
            }
            let Some(tokens) = slot.cached() else {
                continue;
            };
            let spent = lock(&slot.spent).clone();
            match write_back(&self.inner.vault, &name, tokens, spent.as_ref()) {
                VaultRead::WroteBack(Ok(_)) | VaultRead::Newer(_) => {
                    slot.unsaved.store(false, Ordering::SeqCst)
                }
                VaultRead::WroteBack(Err(e)) | VaultRead::Read(Err(e)) => {
                    tracing::error!(account = %name, "the newest tokens are lost with this exit, so the account will need a new sign-in: {e}")
                }
                VaultRead::Read(Ok(_)) => {}
            }
        }
    }
}

/// Runs a blocking keychain call off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::KeychainCall(e.to_string()))?
        .map_err(EngineError::Vault)
}
