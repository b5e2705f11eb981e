//! The vault: each account's tokens and each provider's client secret, in the OS keychain and
//! nowhere else. One keychain entry per account holds a small JSON document (access token,
//! refresh token, expiry, scopes), so a rotation is one atomic keychain write.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::secret::Secret;

pub mod chunked;
#[cfg(not(target_os = "linux"))]
mod keyring_store;
#[cfg(target_os = "linux")]
pub mod secret_service;
mod store;

#[cfg(not(target_os = "linux"))]
pub use keyring_store::KeyringStore;
pub use store::{MemoryStore, SecretStore, VaultError};

/// An account's tokens.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: Secret,
    /// The refresh token, if the provider issued one.
    pub refresh_token: Option<Secret>,
    /// The ID token, if any (for identity pinning).
    pub id_token: Option<Secret>,
    /// When the access token expires; `None` if the provider did not say.
    pub expires_at: Option<OffsetDateTime>,
    /// When these tokens were obtained (lifetime = expires_at - obtained_at).
    pub obtained_at: OffsetDateTime,
    /// The granted scopes.
    pub scopes: Vec<String>,
    /// When the refresh token stops working, if the provider said (GitHub App user tokens'
    /// `refresh_token_expires_in`): the day a new sign-in will be needed.
    pub refresh_expires_at: Option<OffsetDateTime>,
}

impl TokenSet {
    /// True when `other` holds a different refresh token (someone else rotated it).
    pub fn refresh_token_differs(&self, other: &TokenSet) -> bool {
        match (&self.refresh_token, &other.refresh_token) {
            (Some(a), Some(b)) => !a.same_as(b),
            (None, None) => false,
            _ => true,
        }
    }
}

/// The keychain form. Private: only the vault turns secrets into plain strings, and only to hand
/// them to the keychain.
#[derive(Serialize, Deserialize)]
struct Stored {
    v: u32,
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    obtained_at: OffsetDateTime,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    refresh_expires_at: Option<OffsetDateTime>,
}

/// This platform's keychain store: the Secret Service on Linux, else the `keyring` crate.
#[cfg(target_os = "linux")]
pub type OsStore = secret_service::SecretServiceStore;
/// This platform's keychain store: the Keychain through the `keyring` crate.
#[cfg(target_os = "macos")]
pub type OsStore = keyring_store::KeyringStore;
/// This platform's keychain store: the Credential Manager through the `keyring` crate, values
/// split across entries of at most 1,200 characters (its limit is 1,280).
#[cfg(windows)]
pub type OsStore = chunked::ChunkedStore<keyring_store::KeyringStore>;

/// The engine's view of the keychain: tokens by account, client secrets by provider.
#[derive(Clone)]
pub struct Vault {
    store: Arc<dyn SecretStore>,
}

const FORMAT_VERSION: u32 = 1;

impl Vault {
    /// A vault over `store`.
    pub fn new(store: Arc<dyn SecretStore>) -> Vault {
        Vault { store }
    }

    /// The OS keychain, under the service name from `$TOKENTRAY_KEYCHAIN_SERVICE` or `tokentray`.
    /// (Tests give each sandbox its own service name.)
    pub fn os_keychain() -> Vault {
        let service =
            std::env::var("TOKENTRAY_KEYCHAIN_SERVICE").unwrap_or_else(|_| "tokentray".into());
        #[cfg(windows)]
        let store = chunked::ChunkedStore::new(
            keyring_store::KeyringStore::new(service),
            chunked::WINDOWS_ENTRY_CHARS,
        );
        #[cfg(not(windows))]
        let store = OsStore::new(service);
        Vault::new(Arc::new(store))
    }

    fn account_key(account: &str) -> String {
        format!("account:{account}")
    }

    fn client_secret_key(provider: &str) -> String {
        format!("client-secret:{provider}")
    }

    /// The account's tokens, or `None` if it never signed in.
    pub fn tokens(&self, account: &str) -> Result<Option<TokenSet>, VaultError> {
        let key = Vault::account_key(account);
        let Some(raw) = self.store.get(&key)? else {
            return Ok(None);
        };
        let s: Stored =
            serde_json::from_str(raw.expose()).map_err(|_| VaultError::Corrupt(key.clone()))?;
        if s.v != FORMAT_VERSION {
            return Err(VaultError::Corrupt(key));
        }
        Ok(Some(TokenSet {
            access_token: Secret::new(s.access_token),
            refresh_token: s.refresh_token.map(Secret::new),
            id_token: s.id_token.map(Secret::new),
            expires_at: s.expires_at,
            obtained_at: s.obtained_at,
            scopes: s.scopes,
            refresh_expires_at: s.refresh_expires_at,
        }))
    }

    /// Stores the account's tokens, replacing the old ones in one write.
    pub fn save_tokens(&self, account: &str, tokens: &TokenSet) -> Result<(), VaultError> {
        let stored = Stored {
            v: FORMAT_VERSION,
            access_token: tokens.access_token.expose().to_owned(),
            refresh_token: tokens.refresh_token.as_ref().map(|s| s.expose().to_owned()),
            id_token: tokens.id_token.as_ref().map(|s| s.expose().to_owned()),
            expires_at: tokens.expires_at,
            obtained_at: tokens.obtained_at,
            scopes: tokens.scopes.clone(),
            refresh_expires_at: tokens.refresh_expires_at,
        };
        // Serializing a struct of strings and dates cannot fail.
        let json = Secret::new(serde_json::to_string(&stored).unwrap_or_default());
        self.store.set(&Vault::account_key(account), &json)
    }

    /// Forgets the account's tokens.
    pub fn delete_tokens(&self, account: &str) -> Result<(), VaultError> {
        self.store.delete(&Vault::account_key(account))
    }

    /// The provider's client secret, if it has one.
    pub fn client_secret(&self, provider: &str) -> Result<Option<Secret>, VaultError> {
        self.store.get(&Vault::client_secret_key(provider))
    }

    /// Stores the provider's client secret.
    pub fn save_client_secret(&self, provider: &str, secret: &Secret) -> Result<(), VaultError> {
        self.store.set(&Vault::client_secret_key(provider), secret)
    }

    /// Forgets the provider's client secret.
    pub fn delete_client_secret(&self, provider: &str) -> Result<(), VaultError> {
        self.store.delete(&Vault::client_secret_key(provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TokenSet {
        TokenSet {
            access_token: Secret::new("at-1"),
            refresh_token: Some(Secret::new("rt-1")),
            id_token: None,
            expires_at: Some(OffsetDateTime::UNIX_EPOCH + time::Duration::hours(1)),
            obtained_at: OffsetDateTime::UNIX_EPOCH,
            scopes: vec!["openid".into()],
            refresh_expires_at: None,
        }
    }

    #[test]
    fn tokens_round_trip_and_delete() {
        let v = Vault::new(Arc::new(MemoryStore::default()));
        assert!(v.tokens("a").unwrap().is_none());
        v.save_tokens("a", &sample()).unwrap();
        let back = v.tokens("a").unwrap().unwrap();
        assert_eq!(back.access_token.expose(), "at-1");
        assert_eq!(
            back.refresh_token.as_ref().map(Secret::expose),
            Some("rt-1")
        );
        assert_eq!(back.expires_at, sample().expires_at);
        assert!(!back.refresh_token_differs(&sample()));
        v.delete_tokens("a").unwrap();
        v.delete_tokens("a").unwrap();
        assert!(v.tokens("a").unwrap().is_none());
    }

    #[test]
    fn a_damaged_entry_is_corrupt_not_empty() {
        let store = Arc::new(MemoryStore::default());
        store.set("account:a", &Secret::new("{not json")).unwrap();
        let v = Vault::new(store);
        assert!(matches!(v.tokens("a"), Err(VaultError::Corrupt(_))));
    }

    #[test]
    fn debug_of_a_token_set_shows_no_token() {
        let text = format!("{:?}", sample());
        assert!(!text.contains("at-1") && !text.contains("rt-1"), "{text}");
    }
}
