//! Token variants: what a caller asks of an account's token beyond "a fresh one" — narrower
//! scopes (RFC 6749 §6 lets a refresh ask for a subset), another resource (RFC 8707), and how
//! long it must still live. Pure data and parsing; the engine mints and caches variants.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a caller asks for. The default is the account's own token, as it always was.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// Scopes to ask for instead of the sign-in's (a subset of them, on most providers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// The resource (RFC 8707 `resource`) the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The token must still be valid this many seconds from now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_valid_s: Option<u64>,
}

impl TokenRequest {
    /// Which variant this asks for: none for the account's own token.
    pub fn key(&self) -> Option<VariantKey> {
        if self.scopes.is_empty() && self.resource.is_none() {
            return None;
        }
        let mut scopes = self.scopes.clone();
        scopes.sort();
        scopes.dedup();
        Some(VariantKey {
            scopes,
            resource: self.resource.clone(),
        })
    }

    /// How long the token must still live, if the caller said.
    pub fn min_valid(&self) -> Option<Duration> {
        self.min_valid_s.map(Duration::from_secs)
    }

    /// Refuses what no provider could mean: a scope with spaces or control characters
    /// (RFC 6749 §3.3's `scope-token`), a resource that is not an absolute URI or has a
    /// fragment (RFC 8707 §2). The message names the option.
    pub fn validate(&self) -> Result<(), String> {
        for s in &self.scopes {
            let ok = !s.is_empty()
                && s.bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !ok {
                return Err(format!(
                    "--scope {s:?} is not one scope: give each with its own --scope, without spaces or quotes"
                ));
            }
        }
        if let Some(r) = &self.resource {
            match url::Url::parse(r) {
                Ok(u) if u.fragment().is_none() => {}
                Ok(_) => {
                    return Err(format!(
                        "--resource {r:?} must be an absolute URI without a #fragment (RFC 8707)"
                    ))
                }
                Err(e) => {
                    return Err(format!(
                        "--resource {r:?} is not an absolute URI ({e}), such as https://api.example.com"
                    ))
                }
            }
        }
        Ok(())
    }
}

/// One variant of an account's token: the scopes (sorted, once each) and the resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VariantKey {
    /// The scopes asked for; empty for the sign-in's.
    pub scopes: Vec<String>,
    /// The resource asked for.
    pub resource: Option<String>,
}

impl VariantKey {
    /// The option that names this part of the request, for a refusal's sentence.
    pub fn options(&self) -> String {
        let mut parts: Vec<String> = self.scopes.iter().map(|s| format!("--scope {s}")).collect();
        if let Some(r) = &self.resource {
            parts.push(format!("--resource {r}"));
        }
        parts.join(" ")
    }
}

/// A live variant as `status --json` and the dashboard show it: what it is for and when it
/// expires, never the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantStatus {
    /// Its scopes as the caller asked (empty: the sign-in's).
    pub scopes: Vec<String>,
    /// Its resource, if any.
    pub resource: Option<String>,
    /// When it expires (RFC 3339 UTC), if the provider said.
    pub expires_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_ignores_scope_order_and_repeats() {
        let a = TokenRequest {
            scopes: vec!["read".into(), "api".into(), "read".into()],
            ..TokenRequest::default()
        };
        let b = TokenRequest {
            scopes: vec!["api".into(), "read".into()],
            min_valid_s: Some(60),
            ..TokenRequest::default()
        };
        assert_eq!(a.key(), b.key());
        assert_eq!(TokenRequest::default().key(), None);
        let only_time = TokenRequest {
            min_valid_s: Some(600),
            ..TokenRequest::default()
        };
        assert_eq!(
            only_time.key(),
            None,
            "--min-valid alone is the account's own token"
        );
    }

    #[test]
    fn malformed_scopes_and_resources_are_refused_naming_the_option() {
        let scope = |s: &str| TokenRequest {
            scopes: vec![s.into()],
            ..TokenRequest::default()
        };
        assert!(scope("repo").validate().is_ok());
        assert!(scope("https://graph.microsoft.com/.default")
            .validate()
            .is_ok());
        for bad in ["read write", "", "a\"b", "tab\there"] {
            let e = scope(bad).validate().unwrap_err();
            assert!(e.starts_with("--scope"), "{e}");
        }
        let resource = |r: &str| TokenRequest {
            resource: Some(r.into()),
            ..TokenRequest::default()
        };
        assert!(resource("https://api.example.com/v1").validate().is_ok());
        for bad in ["api.example.com", "https://api.example.com/#x", "/v1/api"] {
            let e = resource(bad).validate().unwrap_err();
            assert!(e.starts_with("--resource"), "{e}");
        }
    }
}
