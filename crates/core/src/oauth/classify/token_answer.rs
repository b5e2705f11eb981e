//! What a successful token answer holds.

use crate::secret::Secret;

/// A successful token response. The tokens are [`Secret`]s from the moment they are parsed.
#[derive(Debug, Clone)]
pub struct TokenAnswer {
    /// The new access token.
    pub access_token: Secret,
    /// A new (rotated) refresh token, if the provider sent one.
    pub refresh_token: Option<Secret>,
    /// A new ID token, if any.
    pub id_token: Option<Secret>,
    /// The access token's lifetime in seconds.
    pub expires_in: Option<u64>,
    /// The granted scopes (space-separated), if sent.
    pub scope: Option<String>,
    /// The token type (normally `Bearer`).
    pub token_type: Option<String>,
    /// The refresh token's lifetime in seconds, if the provider says (GitHub's
    /// `refresh_token_expires_in`).
    pub refresh_expires_in: Option<u64>,
}
