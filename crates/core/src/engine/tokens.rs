//! Token math: when a token set needs a refresh, whether it still works, how a token answer
//! becomes the stored set, and the credential handed to callers. Pure functions of their
//! arguments and the clock.

use time::OffsetDateTime;

use crate::oauth::classify::TokenAnswer;
use crate::schedule;
use crate::secret::Secret;
use crate::vault::TokenSet;

/// An access token and when it expires. On the wire `{"token": …, "expires_at": RFC 3339 or
/// null}`; it crosses only the user's own socket.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Credential {
    /// The access token.
    #[serde(with = "crate::secret::exposed")]
    pub token: Secret,
    /// Its expiry, when the provider said.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

impl Credential {
    /// The access token of `tokens`.
    pub(crate) fn of(tokens: TokenSet) -> Credential {
        Credential {
            token: tokens.access_token,
            expires_at: tokens.expires_at,
        }
    }
}

/// True when `t` is close enough to expiry that it should be refreshed before use.
pub(crate) fn tokens_need_refresh(t: &TokenSet, now: OffsetDateTime) -> bool {
    t.expires_at
        .is_some_and(|exp| schedule::needs_refresh(t.obtained_at, exp, now))
}

/// True when `t` is still valid `min` from now (a token without an expiry always is).
pub(crate) fn lasts(t: &TokenSet, min: Option<std::time::Duration>, now: OffsetDateTime) -> bool {
    match (min, t.expires_at) {
        (Some(min), Some(exp)) => exp - now >= min,
        _ => true,
    }
}

/// How long the provider's tokens live, as `t` shows it (none when it never said).
pub(crate) fn lifetime(t: &TokenSet) -> Option<std::time::Duration> {
    t.expires_at
        .map(|exp| (exp - t.obtained_at).try_into().unwrap_or_default())
}

/// True while `t`'s access token has not expired (or never expires).
pub(crate) fn still_valid(t: &TokenSet, now: OffsetDateTime) -> bool {
    t.expires_at.is_none_or(|exp| now < exp)
}

/// New tokens from a token answer; a refresh answer without a new refresh token keeps the old
/// one (providers that do not rotate).
pub fn token_set_from(answer: TokenAnswer, previous: Option<&TokenSet>) -> TokenSet {
    let now = OffsetDateTime::now_utc();
    let scopes = match &answer.scope {
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
        None => previous.map(|p| p.scopes.clone()).unwrap_or_default(),
    };
    let kept_refresh = answer.refresh_token.is_none();
    TokenSet {
        access_token: answer.access_token,
        refresh_token: answer
            .refresh_token
            .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        id_token: answer
            .id_token
            .or_else(|| previous.and_then(|p| p.id_token.clone())),
        // Clamped to ten years: a provider's absurd `expires_in` must not overflow the date.
        expires_at: answer
            .expires_in
            .map(|s| now + time::Duration::seconds(s.min(10 * 365 * 86_400) as i64)),
        obtained_at: now,
        scopes,
        // A refresh token's lifetime, as told with it; an answer that keeps the old refresh
        // token keeps its end.
        refresh_expires_at: match (answer.refresh_expires_in, kept_refresh) {
            (Some(s), _) => Some(now + time::Duration::seconds(s.min(10 * 365 * 86_400) as i64)),
            (None, true) => previous.and_then(|p| p.refresh_expires_at),
            (None, false) => None,
        },
    }
}

/// The timestamp as the status, history and wire forms show it (RFC 3339, UTC).
pub(crate) fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
