//! Provider endpoints: OpenID Connect discovery, RFC 8414 metadata, and presets for the big
//! providers.

use serde::Deserialize;

use crate::http::{Http, HttpRequest};
use crate::settings::ProviderSettings;

/// Why discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// Neither metadata document could be fetched or read.
    #[error("cannot discover the provider at {issuer}: {detail}. Check the issuer URL, or give --authorize-url and --token-url")]
    Failed {
        /// The issuer.
        issuer: String,
        /// What went wrong with each document.
        detail: String,
    },
    /// The metadata names a different issuer (a mix-up or a wrong URL).
    #[error("the provider at {asked} says its issuer is {said}; use that URL")]
    IssuerMismatch {
        /// What we asked.
        asked: String,
        /// What the document says.
        said: String,
    },
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    device_authorization_endpoint: Option<String>,
    revocation_endpoint: Option<String>,
    userinfo_endpoint: Option<String>,
}

/// Fetches `/.well-known/openid-configuration`, then RFC 8414's
/// `/.well-known/oauth-authorization-server`, and returns the endpoints.
pub async fn discover(http: &dyn Http, issuer: &str) -> Result<ProviderSettings, DiscoveryError> {
    let base = issuer.trim_end_matches('/');
    let mut problems = Vec::new();
    for doc in ["openid-configuration", "oauth-authorization-server"] {
        let url = format!("{base}/.well-known/{doc}");
        let req = HttpRequest {
            method: "GET".into(),
            url: url.clone(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
        };
        let resp = match http.send(req).await {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                problems.push(format!("{url} answered HTTP {}", r.status));
                continue;
            }
            Err(e) => {
                problems.push(format!("{url}: {e:?}"));
                continue;
            }
        };
        let meta: Metadata = match serde_json::from_slice(&resp.body) {
            Ok(m) => m,
            Err(e) => {
                problems.push(format!("{url} is not provider metadata ({e})"));
                continue;
            }
        };
        if meta.issuer.trim_end_matches('/') != base {
            return Err(DiscoveryError::IssuerMismatch {
                asked: issuer.to_owned(),
                said: meta.issuer,
            });
        }
        let Some(token_url) = meta.token_endpoint else {
            problems.push(format!("{url} names no token endpoint"));
            continue;
        };
        return Ok(ProviderSettings {
            issuer: Some(issuer.to_owned()),
            authorize_url: meta.authorization_endpoint,
            token_url,
            device_url: meta.device_authorization_endpoint,
            revoke_url: meta.revocation_endpoint,
            userinfo_url: meta.userinfo_endpoint,
            ..ProviderSettings::default()
        });
    }
    Err(DiscoveryError::Failed {
        issuer: issuer.to_owned(),
        detail: problems.join("; "),
    })
}

/// The presets' names.
pub const PRESETS: [&str; 4] = ["github", "google", "microsoft", "gitlab"];

/// The endpoints and default scopes of a well-known provider.
pub fn preset(name: &str) -> Option<ProviderSettings> {
    let s = |v: &str| Some(v.to_owned());
    let scopes = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect();
    let p = match name {
        // source: GitHub Docs, "Authorizing OAuth apps" and "Refreshing user access tokens".
        // GitHub answers errors with HTTP 200; the classifier handles that for every provider.
        "github" => ProviderSettings {
            authorize_url: s("https://github.com/login/oauth/authorize"),
            token_url: "https://github.com/login/oauth/access_token".into(),
            device_url: s("https://github.com/login/device/code"),
            userinfo_url: s("https://api.github.com/user"),
            ..ProviderSettings::default()
        },
        // source: Google Identity, "OAuth 2.0 for TV and Limited-Input Device Applications" and
        // the discovery document at accounts.google.com.
        "google" => ProviderSettings {
            issuer: s("https://accounts.google.com"),
            authorize_url: s("https://accounts.google.com/o/oauth2/v2/auth"),
            token_url: "https://oauth2.googleapis.com/token".into(),
            device_url: s("https://oauth2.googleapis.com/device/code"),
            revoke_url: s("https://oauth2.googleapis.com/revoke"),
            userinfo_url: s("https://openidconnect.googleapis.com/v1/userinfo"),
            scopes: scopes(&["openid", "email", "profile"]),
            ..ProviderSettings::default()
        },
        // source: Microsoft identity platform, v2.0 endpoints for the `common` tenant.
        "microsoft" => ProviderSettings {
            authorize_url: s("https://login.microsoftonline.com/common/oauth2/v2.0/authorize"),
            token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token".into(),
            device_url: s("https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"),
            userinfo_url: s("https://graph.microsoft.com/oidc/userinfo"),
            scopes: scopes(&["openid", "profile", "offline_access"]),
            ..ProviderSettings::default()
        },
        // source: GitLab Docs, "OAuth 2.0 identity provider API".
        "gitlab" => ProviderSettings {
            issuer: s("https://gitlab.com"),
            authorize_url: s("https://gitlab.com/oauth/authorize"),
            token_url: "https://gitlab.com/oauth/token".into(),
            device_url: s("https://gitlab.com/oauth/authorize_device"),
            revoke_url: s("https://gitlab.com/oauth/revoke"),
            userinfo_url: s("https://gitlab.com/oauth/userinfo"),
            scopes: scopes(&["openid", "read_user"]),
            ..ProviderSettings::default()
        },
        _ => return None,
    };
    Some(ProviderSettings {
        preset: Some(name.to_owned()),
        ..p
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_a_token_url_and_sign_in() {
        for name in PRESETS {
            let p = preset(name).unwrap();
            assert!(p.token_url.starts_with("https://"), "{name}");
            assert!(p.authorize_url.is_some(), "{name}");
            assert_eq!(p.preset.as_deref(), Some(name));
        }
        assert!(preset("nope").is_none());
    }
}
