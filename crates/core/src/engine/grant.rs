//! An account's grant arriving and leaving: a sign-in's (or an import's) tokens stored and the
//! account enabled, and a sign-out that revokes where it can and deletes the secrets.

use std::sync::atomic::Ordering;

use time::OffsetDateTime;

use super::error::EngineError;
use super::handle::Engine;
use super::keychain::blocking;
use super::slot::Cached;
use super::tokens::token_set_from;
use crate::accounts::{AccountRecord, AccountState};
use crate::oauth::classify::ClassTable;
use crate::oauth::refresh;
use crate::secret::Secret;
use crate::sync::lock;
use crate::vault::TokenSet;

impl Engine {
    /// Stores freshly obtained tokens (a sign-in, or tokens imported from another tool) and
    /// makes the account enabled: clears error and pause, resets backoff.
    pub async fn sign_in(&self, name: &str, tokens: TokenSet) -> Result<(), EngineError> {
        self.sign_in_as(name, tokens, None).await
    }

    /// [`Engine::sign_in`], recording who signed in when that is known.
    pub(super) async fn sign_in_as(
        &self,
        name: &str,
        tokens: TokenSet,
        subject: Option<String>,
    ) -> Result<(), EngineError> {
        let slot = self.slot(name)?;
        let _flight = slot.flight.lock().await;
        self.save_tokens(name, &tokens).await?;
        *lock(&slot.cache) = Cached::Loaded(Some(tokens.clone()));
        slot.forget_variants();
        slot.unsaved.store(false, Ordering::SeqCst);
        *lock(&slot.strikes) = 0;
        self.update_record(name, |r| {
            r.system = Some(AccountState::Enabled);
            r.paused = false;
            r.obtained_at = Some(tokens.obtained_at);
            r.expires_at = tokens.expires_at;
            r.sign_in_expires_at = tokens.refresh_expires_at;
            r.last_error = None;
            r.retry_at = None;
            r.not_before = None;
            r.failures = 0;
            r.unknown_failures = 0;
            if subject.is_some() {
                r.subject = subject;
            }
        });
        slot.wake.notify_one();
        Ok(())
    }

    /// Imports tokens obtained elsewhere: a token endpoint's JSON answer, or a bare refresh
    /// token (then the first use refreshes). After this, Tokentray is the only spender.
    pub async fn import(&self, name: &str, text: &Secret) -> Result<(), EngineError> {
        let raw = text.expose().trim();
        let answer = crate::oauth::classify::classify(
            &crate::oauth::classify::RawAnswer {
                status: 200,
                headers: &[],
                body: raw.as_bytes(),
            },
            ClassTable::shared(),
            std::time::SystemTime::now(),
        );
        let tokens = match answer {
            crate::oauth::classify::Verdict::Ok(answer) => token_set_from(answer, None),
            _ if !raw.is_empty() && !raw.contains(char::is_whitespace) && !raw.starts_with('{') => {
                let now = OffsetDateTime::now_utc();
                TokenSet {
                    access_token: Secret::new(""),
                    refresh_token: Some(Secret::new(raw)),
                    id_token: None,
                    // Already expired: the first use refreshes.
                    expires_at: Some(now),
                    obtained_at: now,
                    scopes: Vec::new(),
                    refresh_expires_at: None,
                }
            }
            _ => return Err(EngineError::NotTokens),
        };
        // An ID token in the answer says who this is: pin it, as a sign-in would.
        let subject = tokens
            .id_token
            .as_ref()
            .and_then(|t| crate::oauth::flows::id_token_identity(t.expose()))
            .map(|who| who.subject);
        self.sign_in_as(name, tokens, subject).await
    }

    /// Signs the account out: revokes its refresh token where the provider can (best effort),
    /// deletes its secrets and forgets its state. The settings entry is the caller's to remove.
    pub async fn forget(&self, name: &str) -> Result<(), EngineError> {
        let slot = self.slot(name)?;
        self.cancel_login(name);
        let _flight = slot.flight.lock().await;
        let (_lock, tokens) = self.lock_and_reload(name, &slot).await?;
        let (provider_name, provider) = self.provider_of(name)?;
        if let (Some(url), Some(tokens)) = (&provider.revoke_url, &tokens) {
            let secret = if provider.client_secret {
                let vault = self.inner.vault.clone();
                blocking(move || vault.client_secret(&provider_name)).await?
            } else {
                None
            };
            let (token, hint) = match &tokens.refresh_token {
                Some(rt) => (rt, "refresh_token"),
                None => (&tokens.access_token, "access_token"),
            };
            if let Err(e) = refresh::revoke(
                self.inner.http.as_ref(),
                url,
                &provider.client_id,
                secret.as_ref(),
                token,
                hint,
            )
            .await
            {
                tracing::warn!(account = %name, "revocation failed ({e}); deleting the local copy anyway");
            }
        }
        let vault = self.inner.vault.clone();
        let account = name.to_owned();
        blocking(move || vault.delete_tokens(&account)).await?;
        *lock(&slot.cache) = Cached::Loaded(None);
        slot.forget_variants();
        self.update_record(name, |r| *r = AccountRecord::default());
        slot.wake.notify_one();
        Ok(())
    }
}
