//! Variants: tokens for narrower scopes or another resource, minted from the account's one
//! refresh token under the same single flight as its refresh (rotation written back first),
//! kept in memory until they near expiry. A provider that refuses the scope or resource fails
//! the request, not the account — after a check that its grant survived the refusal.

use std::time::Duration;

use time::OffsetDateTime;

use super::credentials::longer_than_tokens_live;
use super::error::EngineError;
use super::handle::Engine;
use super::refresh::{describe, no_refresh_token_advice, Mode};
use super::slot::Slot;
use super::tokens::{lasts, rfc3339, token_set_from, tokens_need_refresh, Credential};
use crate::events::Event;
use crate::oauth::classify::{Failure, FailureClass};
use crate::variant::{VariantKey, VariantStatus};
use crate::vault::TokenSet;

/// Answers that refuse what a request asked for (its scope or resource), not the grant.
/// (code or sub-code, source)
const REFUSALS: &[(&str, &str)] = &[
    (
        "invalid_scope",
        "RFC 6749 §5.2: the scope is unknown or exceeds the grant's",
    ),
    (
        "invalid_target",
        "RFC 8707 §2: the resource is unknown or not granted",
    ),
    (
        "invalid_resource",
        "Microsoft identity platform: no such resource in the tenant",
    ),
    (
        "AADSTS65001",
        "Microsoft: the resource's consent is missing",
    ),
    ("AADSTS70011", "Microsoft: the scope is not valid"),
    (
        "AADSTS500011",
        "Microsoft: the resource principal was not found",
    ),
    (
        "AADSTS9010010",
        "Microsoft: the resource does not match the scopes",
    ),
];

/// True when `f` refuses the request rather than the grant.
fn refuses_request(f: &Failure) -> bool {
    REFUSALS
        .iter()
        .any(|(code, _)| f.code == *code || f.subcode.as_deref() == Some(code))
}

/// How a mint went wrong.
enum MintError {
    /// The provider refused the scope or resource.
    Refused(Failure),
    /// Anything else, already applied to the account.
    Failed(EngineError),
}

impl From<EngineError> for MintError {
    fn from(e: EngineError) -> MintError {
        MintError::Failed(e)
    }
}

impl Engine {
    /// A variant of the account's token, valid for at least `min_valid`: from memory when it
    /// has time left, else minted (one refresh per account at a time, variants included).
    pub(super) async fn variant(
        &self,
        name: &str,
        key: VariantKey,
        min_valid: Option<Duration>,
    ) -> Result<Credential, EngineError> {
        let slot = self.slot(name)?;
        let record = self.servable(name)?;
        let serves = |t: &TokenSet| {
            let now = OffsetDateTime::now_utc();
            !tokens_need_refresh(t, now) && lasts(t, min_valid, now)
        };
        if let Some(t) = slot.variant(&key) {
            if serves(&t) {
                return Ok(Credential::of(t));
            }
            longer_than_tokens_live(name, &t, min_valid)?;
        }
        if record.paused {
            return Err(EngineError::Paused(name.to_owned()));
        }
        match self.mint(name, &slot, &key, &serves).await {
            Ok(t) => {
                longer_than_tokens_live(name, &t, min_valid)?;
                Ok(Credential::of(t))
            }
            Err(MintError::Failed(e)) => Err(e),
            Err(MintError::Refused(failure)) => {
                Err(self.after_refusal(name, &slot, &key, &failure).await)
            }
        }
    }

    /// One refresh grant that asks for `key`'s scopes and resource.
    async fn mint(
        &self,
        name: &str,
        slot: &Slot,
        key: &VariantKey,
        serves: &(dyn Fn(&TokenSet) -> bool + Sync),
    ) -> Result<TokenSet, MintError> {
        let _flight = slot.flight.lock().await;
        if self.is_closing() {
            return Err(EngineError::ShuttingDown.into());
        }
        // Another caller minted it while we waited.
        if let Some(t) = slot.variant(key).filter(|t| serves(t)) {
            return Ok(t);
        }
        if let Some(wait) = self.caller_must_wait(name, slot) {
            return Err(wait.into());
        }
        // The keychain is the truth: another process may have rotated the refresh token.
        let (_lock, stored) = match self.lock_and_reload(name, slot).await {
            Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e).into()),
            other => other?,
        };
        let current = stored.ok_or_else(|| EngineError::SignedOut(name.to_owned()))?;
        let (provider_name, provider) = self.provider_of(name)?;
        let Some(refresh_token) = current.refresh_token.clone() else {
            return Err(EngineError::Refused {
                account: name.to_owned(),
                detail: format!(
                    "a token for {} is minted from the refresh token, and this sign-in has none. {}",
                    key.options(),
                    no_refresh_token_advice(provider.preset.as_deref())
                ),
            }
            .into());
        };
        let answer = self
            .spend(
                name,
                slot,
                (&provider_name, &provider),
                &refresh_token,
                &key.scopes,
                key.resource.as_deref(),
            )
            .await?;
        match answer {
            Ok(answer) => {
                let fresh = token_set_from(answer, Some(&current));
                // The account keeps its own access token; only the refresh token moves on.
                let kept = TokenSet {
                    refresh_token: fresh.refresh_token.clone(),
                    refresh_expires_at: fresh.refresh_expires_at,
                    ..current.clone()
                };
                let variant = TokenSet {
                    refresh_token: None,
                    id_token: None,
                    refresh_expires_at: None,
                    scopes: if key.scopes.is_empty() {
                        fresh.scopes.clone()
                    } else {
                        key.scopes.clone()
                    },
                    ..fresh
                };
                slot.keep_variant(key.clone(), variant.clone());
                if kept.refresh_token_differs(&current) {
                    // A keychain that refuses keeps the rotation in memory and says so on the
                    // account; the variant itself is good either way.
                    if self
                        .store_fresh(name, slot, &kept, &refresh_token)
                        .await
                        .is_ok()
                    {
                        self.update_record(name, |r| {
                            r.sign_in_expires_at = kept.refresh_expires_at
                        });
                    }
                }
                self.publish(Event::VariantIssued {
                    account: name.to_owned(),
                    scopes: key.scopes.clone(),
                    resource: key.resource.clone(),
                });
                Ok(variant)
            }
            Err(failure) if refuses_request(&failure) => Err(MintError::Refused(failure)),
            Err(failure) if failure.class == FailureClass::Permanent => {
                // Before declaring the grant dead: did someone else rotate it meanwhile?
                if let Ok(Some(now_stored)) = self.reload_from_vault(name, slot).await {
                    if now_stored.refresh_token_differs(&current) {
                        return Err(EngineError::Temporary {
                            account: name.to_owned(),
                            detail: "another process rotated the sign-in at that moment; ask again"
                                .into(),
                        }
                        .into());
                    }
                }
                Err(self
                    .record_failure(name, slot, Some(&current), failure)
                    .into())
            }
            // The provider is away or asked to wait: the account learns it (its schedule and the
            // spacing of callers follow), and its own token keeps working meanwhile.
            Err(failure) => Err(self
                .record_failure(name, slot, Some(&current), failure)
                .into()),
        }
    }

    /// The provider refused a variant. Some providers spend the refresh token before they
    /// look at the scope or resource (oidc-provider v9 does for an unknown resource), and then
    /// the sign-in is gone: one refresh of the account's own token says which it was, so the
    /// account never looks healthy with a dead grant.
    async fn after_refusal(
        &self,
        name: &str,
        slot: &Slot,
        key: &VariantKey,
        failure: &Failure,
    ) -> EngineError {
        let asked = key.options();
        let said = describe(failure);
        match self.refresh_flight(name, slot, Mode::Force).await {
            Ok(_) => EngineError::Refused {
                account: name.to_owned(),
                detail: format!(
                    "the provider refused {asked}: {said}. The sign-in itself is fine; ask only for \
                     scopes it was granted and resources the provider knows"
                ),
            },
            Err(EngineError::NeedsRelogin { detail, .. }) => EngineError::NeedsRelogin {
                account: name.to_owned(),
                detail: format!(
                    "the provider refused {asked} ({}) and spent the refresh token with it, so the \
                     sign-in is gone ({detail}); sign in again, and ask only for what it was granted",
                    failure.code
                ),
            },
            Err(other) => EngineError::Refused {
                account: name.to_owned(),
                detail: format!(
                    "the provider refused {asked}: {said}. Whether the sign-in survived could not \
                     be checked: {other}"
                ),
            },
        }
    }

    /// The live variants of an account, for the status (no tokens).
    pub(super) fn variant_status(&self, slot: &Slot) -> Vec<VariantStatus> {
        slot.live_variants()
            .into_iter()
            .map(|(key, t)| VariantStatus {
                scopes: key.scopes,
                resource: key.resource,
                expires_at: t.expires_at.map(rfc3339),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: &str, subcode: Option<&str>) -> Failure {
        Failure {
            class: FailureClass::Config,
            code: code.into(),
            subcode: subcode.map(Into::into),
            http_status: Some(400),
            description: None,
            advice: String::new(),
            retry_after: None,
            known: true,
        }
    }

    #[test]
    fn scope_and_resource_refusals_are_the_requests_not_the_grants() {
        assert!(refuses_request(&failure("invalid_scope", None)));
        assert!(refuses_request(&failure("invalid_target", None)));
        assert!(refuses_request(&failure(
            "invalid_grant",
            Some("AADSTS65001")
        )));
        assert!(!refuses_request(&failure("invalid_grant", None)));
        assert!(!refuses_request(&failure(
            "invalid_grant",
            Some("AADSTS70008")
        )));
        assert!(!refuses_request(&failure("invalid_client", None)));
    }
}
