//! The per-account slot: what the engine keeps in memory for one account and never persists —
//! the single-flight lock, the token cache, the scheduler's bell, and tokens the keychain refused
//! (kept until they can be written back over the spent copy).

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use time::OffsetDateTime;

use tokio::sync::Notify;

use crate::secret::Secret;
use crate::sync::lock;
use crate::variant::VariantKey;
use crate::vault::{TokenSet, Vault, VaultError};

/// Per-account runtime state that is not persisted.
pub(super) struct Slot {
    /// Single flight: whoever holds it is the one refreshing this account in this process.
    pub(super) flight: tokio::sync::Mutex<()>,
    /// The tokens as last read from or written to the keychain.
    pub(super) cache: Mutex<Cached>,
    /// Wakes the account's scheduler task when its deadline may have moved.
    pub(super) wake: Notify,
    /// This account's fixed place in the jitter spread, so its schedule does not wander.
    pub(super) jitter: f64,
    /// Consecutive permanent answers (the outage rule confirms before flipping to error).
    pub(super) strikes: Mutex<u32>,
    /// Set once the account's scheduler task runs.
    pub(super) running: AtomicBool,
    /// The cache holds rotated tokens the keychain refused to store. They are the only working
    /// ones (the provider spent the old refresh token), so they win over the keychain's copy
    /// until a write succeeds.
    pub(super) unsaved: AtomicBool,
    /// While `unsaved`: the refresh token the provider took for them. The keychain's copy is
    /// overwritten only while it still holds that one (or ours): anything else is newer.
    pub(super) spent: Mutex<Option<Secret>>,
    /// When this process last asked the provider (so waiting callers are spaced).
    pub(super) tried: Mutex<Option<std::time::Instant>>,
    /// Tokens for other scopes or resources, minted from the account's refresh token. Memory
    /// only: a variant is cheap to mint again and must never reach a disk.
    pub(super) variants: Mutex<BTreeMap<VariantKey, TokenSet>>,
}

impl Slot {
    /// An empty slot at `jitter`'s place in the spread.
    pub(super) fn new(jitter: f64) -> Slot {
        Slot {
            flight: tokio::sync::Mutex::new(()),
            cache: Mutex::new(Cached::Unloaded),
            wake: Notify::new(),
            jitter,
            strikes: Mutex::new(0),
            running: AtomicBool::new(false),
            unsaved: AtomicBool::new(false),
            spent: Mutex::new(None),
            tried: Mutex::new(None),
            variants: Mutex::new(BTreeMap::new()),
        }
    }
}

/// The token cache: not read yet, or the keychain's answer (none when signed out).
#[derive(Clone)]
pub(super) enum Cached {
    Unloaded,
    Loaded(Option<TokenSet>),
}

/// What the blocking half of a keychain read did.
pub(super) enum VaultRead {
    /// Read the stored tokens.
    Read(Result<Option<TokenSet>, VaultError>),
    /// Wrote the tokens kept in memory over the keychain's stale copy.
    WroteBack(Result<TokenSet, VaultError>),
    /// Found tokens newer than the ones kept in memory, and left them.
    Newer(Option<TokenSet>),
}

/// Writes `ours` (tokens the keychain refused earlier) back, unless the keychain meanwhile holds
/// something other than the copy whose refresh token was `spent`: then that is newer, and wins.
pub(super) fn write_back(
    vault: &Vault,
    account: &str,
    ours: TokenSet,
    spent: Option<&Secret>,
) -> VaultRead {
    let stored = match vault.tokens(account) {
        Ok(stored) => stored,
        Err(e) => return VaultRead::Read(Err(e)),
    };
    let stale = match &stored {
        // The write went through after all.
        Some(st) if !st.refresh_token_differs(&ours) => return VaultRead::WroteBack(Ok(ours)),
        Some(st) => match (&st.refresh_token, spent) {
            (Some(rt), Some(spent)) => rt.same_as(spent),
            (None, _) => true,
            (Some(_), None) => false,
        },
        // Signed out meanwhile (`tokentray logout`): nothing to write back into.
        None => false,
    };
    if stale {
        VaultRead::WroteBack(vault.save_tokens(account, &ours).map(|()| ours))
    } else {
        VaultRead::Newer(stored)
    }
}

impl Slot {
    /// The variant minted for `key`, if it has not expired.
    pub(super) fn variant(&self, key: &VariantKey) -> Option<TokenSet> {
        let now = OffsetDateTime::now_utc();
        lock(&self.variants)
            .get(key)
            .filter(|t| t.expires_at.is_none_or(|exp| now < exp))
            .cloned()
    }

    /// Keeps a freshly minted variant, dropping the ones that have expired.
    pub(super) fn keep_variant(&self, key: VariantKey, tokens: TokenSet) {
        let now = OffsetDateTime::now_utc();
        let mut all = lock(&self.variants);
        all.retain(|_, t| t.expires_at.is_none_or(|exp| now < exp));
        all.insert(key, tokens);
    }

    /// The variants that have not expired, oldest key first.
    pub(super) fn live_variants(&self) -> Vec<(VariantKey, TokenSet)> {
        let now = OffsetDateTime::now_utc();
        lock(&self.variants)
            .iter()
            .filter(|(_, t)| t.expires_at.is_none_or(|exp| now < exp))
            .map(|(k, t)| (k.clone(), t.clone()))
            .collect()
    }

    /// Forgets every variant (a new sign-in, a sign-out: they belonged to the old grant).
    pub(super) fn forget_variants(&self) {
        lock(&self.variants).clear();
    }

    /// Forgets the variant for `key` if it is `token` (a server rejected it).
    pub(super) fn drop_variant(&self, key: &VariantKey, token: &Secret) -> bool {
        let mut all = lock(&self.variants);
        match all.get(key) {
            Some(t) if t.access_token.same_as(token) => {
                all.remove(key);
                true
            }
            _ => false,
        }
    }

    /// The cached tokens, if the cache was loaded and holds any.
    pub(super) fn cached(&self) -> Option<TokenSet> {
        match &*lock(&self.cache) {
            Cached::Loaded(t) => t.clone(),
            Cached::Unloaded => None,
        }
    }
}
