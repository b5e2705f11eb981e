//! Provider endpoints from OpenID Connect discovery or RFC 8414 metadata (the big providers'
//! presets are in `presets`).

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
