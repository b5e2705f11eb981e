//! The big providers' endpoints, scopes and sign-in parameters, at their public service or at an
//! instance of one's own (GitHub Enterprise Server, GitLab self-managed, an Entra tenant or
//! national cloud). What to register at each is in docs/providers.md.

use std::collections::BTreeMap;

use crate::settings::ProviderSettings;

/// The presets' names.
pub const PRESETS: [&str; 4] = ["github", "google", "microsoft", "gitlab"];

/// Where a preset's provider lives, when not at its public service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Place {
    /// The instance's base URL (`https://gitlab.example.com`, `https://ghe.example.com`,
    /// `https://login.microsoftonline.us`).
    pub instance: Option<String>,
    /// The Microsoft Entra tenant: `common` (the default), `organizations`, `consumers`, a
    /// tenant id or a verified domain.
    pub tenant: Option<String>,
}

/// Why a preset cannot be made. Each says what to give instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresetError {
    /// No such preset.
    #[error(
        "there is no preset named {0:?}; the presets are github, google, microsoft and gitlab"
    )]
    Unknown(String),
    /// The instance URL is not one Tokentray will send tokens to.
    #[error("the instance {url:?} {why}; give its base URL, such as https://gitlab.example.com")]
    BadInstance {
        /// What was given.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The tenant is not a name Entra accepts.
    #[error(
        "the tenant {0:?} is not common, organizations, consumers, a tenant id or a domain name"
    )]
    BadTenant(String),
    /// A tenant for a provider that has none.
    #[error("only the microsoft preset has tenants")]
    NoTenants,
}

/// The settings of preset `name` at `place` (client id empty: the caller adds it).
pub fn preset(name: &str, place: &Place) -> Result<ProviderSettings, PresetError> {
    if place.tenant.is_some() && name != "microsoft" {
        return Err(PresetError::NoTenants);
    }
    let instance = place.instance.as_deref().map(instance_base).transpose()?;
    let at = |default: &str| instance.clone().unwrap_or_else(|| default.to_owned());
    let scopes = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect();
    let p = match name {
        // source: GitHub Docs, "Authorizing OAuth apps" and "Refreshing user access tokens";
        // Enterprise Server serves the same paths on its host and the API under /api/v3.
        // Errors come with HTTP 200 (flows and the classifier read them as errors).
        "github" => {
            let base = at("https://github.com");
            ProviderSettings {
                authorize_url: Some(format!("{base}/login/oauth/authorize")),
                token_url: format!("{base}/login/oauth/access_token"),
                device_url: Some(format!("{base}/login/device/code")),
                userinfo_url: Some(match &instance {
                    None => "https://api.github.com/user".to_owned(),
                    Some(base) => format!("{base}/api/v3/user"),
                }),
                ..ProviderSettings::default()
            }
        }
        // source: Google Identity, "OAuth 2.0 for Mobile & Desktop Apps": a refresh token only
        // with access_type=offline, and again on a later sign-in only with prompt=consent.
        // An instance here is a proxy or a test server that serves Google's paths.
        "google" => {
            let (accounts, apis, userinfo) = match &instance {
                None => (
                    "https://accounts.google.com".to_owned(),
                    "https://oauth2.googleapis.com".to_owned(),
                    "https://openidconnect.googleapis.com".to_owned(),
                ),
                Some(b) => (b.clone(), b.clone(), b.clone()),
            };
            ProviderSettings {
                issuer: Some(accounts.clone()),
                authorize_url: Some(format!("{accounts}/o/oauth2/v2/auth")),
                token_url: format!("{apis}/token"),
                device_url: Some(format!("{apis}/device/code")),
                revoke_url: Some(format!("{apis}/revoke")),
                userinfo_url: Some(format!("{userinfo}/v1/userinfo")),
                scopes: scopes(&["openid", "email", "profile"]),
                authorize_params: BTreeMap::from([
                    ("access_type".to_owned(), "offline".to_owned()),
                    ("prompt".to_owned(), "consent".to_owned()),
                ]),
                ..ProviderSettings::default()
            }
        }
        // source: Microsoft identity platform, "OAuth 2.0 authorization code flow" and
        // "National clouds": /{tenant}/oauth2/v2.0/…; a refresh token only with offline_access.
        "microsoft" => {
            let tenant = place.tenant.as_deref().unwrap_or("common").trim();
            if !tenant_ok(tenant) {
                return Err(PresetError::BadTenant(tenant.to_owned()));
            }
            let base = format!(
                "{}/{tenant}/oauth2/v2.0",
                at("https://login.microsoftonline.com")
            );
            ProviderSettings {
                authorize_url: Some(format!("{base}/authorize")),
                token_url: format!("{base}/token"),
                device_url: Some(format!("{base}/devicecode")),
                // Graph lives elsewhere in national clouds; the ID token names the user there.
                userinfo_url: instance
                    .is_none()
                    .then(|| "https://graph.microsoft.com/oidc/userinfo".to_owned()),
                scopes: scopes(&["openid", "profile", "offline_access"]),
                ..ProviderSettings::default()
            }
        }
        // source: GitLab Docs, "OAuth 2.0 identity provider API"; self-managed instances serve
        // the same paths under their own URL.
        "gitlab" => {
            let base = at("https://gitlab.com");
            ProviderSettings {
                issuer: Some(base.clone()),
                authorize_url: Some(format!("{base}/oauth/authorize")),
                token_url: format!("{base}/oauth/token"),
                device_url: Some(format!("{base}/oauth/authorize_device")),
                revoke_url: Some(format!("{base}/oauth/revoke")),
                userinfo_url: Some(format!("{base}/oauth/userinfo")),
                scopes: scopes(&["openid", "read_user"]),
                ..ProviderSettings::default()
            }
        }
        other => return Err(PresetError::Unknown(other.to_owned())),
    };
    Ok(ProviderSettings {
        preset: Some(name.to_owned()),
        ..p
    })
}

/// An instance URL as a base: https (or http to this machine), no query, no trailing slash.
fn instance_base(raw: &str) -> Result<String, PresetError> {
    let bad = |why| PresetError::BadInstance {
        url: raw.to_owned(),
        why,
    };
    let url = url::Url::parse(raw.trim()).map_err(|_| bad("is not a URL"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return Err(bad("names no host")),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(bad(
                "is not https (tokens would cross the network in clear)",
            ))
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("carries a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `common`, `organizations`, `consumers`, a GUID or a domain: letters, digits, dots, dashes.
fn tenant_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 100
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !t.starts_with(['.', '-'])
}

/// What to register at a preset's provider, where, and what its client id looks like: the
/// same text as docs/providers.md, shown by the wizard and `provider add --preset`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    /// What to register, in a few sentences.
    pub register: String,
    /// The provider's page for it.
    pub page: String,
    /// What a client id looks like there.
    pub client_id_example: String,
}

/// The registration guide of preset `name`, at its public service or at `instance` (GitHub
/// Enterprise Server and self-managed GitLab register apps on the instance's own pages).
pub fn registration(name: &str, instance: Option<&str>) -> Option<Registration> {
    let (register, page, example) = match name {
        "github" => (
            "Register a GitHub App with \"Expire user authorization tokens\" on (8-hour tokens \
             that Tokentray refreshes), or an OAuth app (its tokens never expire): Callback URL \
             http://127.0.0.1/callback (any port is accepted), and tick \"Enable Device Flow\" for \
             device sign-ins. Copy its Client ID.",
            "https://github.com/settings/apps/new",
            "Iv23liABCDEF01234567",
        ),
        "google" => (
            "Create an OAuth client ID of type \"Desktop app\" (no redirect URI to enter: loopback \
             on any port is allowed). Its client secret is sent but not secret: give it with \
             --client-secret-stdin. For device sign-ins, a second client of type \"TVs and \
             Limited Input devices\".",
            "https://console.cloud.google.com/apis/credentials",
            "1234567890-abc123def456.apps.googleusercontent.com",
        ),
        "microsoft" => (
            "Register an application, add the platform \"Mobile and desktop applications\" with \
             redirect URI http://127.0.0.1/callback, and set \"Allow public client flows\" to Yes \
             for device sign-ins. Copy its Application (client) ID.",
            "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade",
            "00000000-0000-0000-0000-000000000000",
        ),
        "gitlab" => (
            "Create an application with \"Confidential\" unticked, redirect URI \
             http://127.0.0.1/callback, and the scopes openid read_user plus what your tools need \
             (read_api, read_repository, write_repository). Copy its Application ID.",
            "https://gitlab.com/-/user_settings/applications",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ),
        _ => return None,
    };
    let page = match (name, instance.map(instance_base)) {
        ("github" | "gitlab", Some(Ok(base))) => page
            .replace("https://github.com", &base)
            .replace("https://gitlab.com", &base),
        _ => page.to_owned(),
    };
    Some(Registration {
        register: register.to_owned(),
        page,
        client_id_example: example.to_owned(),
    })
}

/// Refuses a client id that cannot be one of the preset's public service, with what to copy
/// instead. Only where the provider's ids have a documented shape: GitHub's (`Iv1.` and 16 hex
/// digits, or 20 letters and digits since 2024's `Iv23li…`/`Ov23li…`), Google's
/// (`NUMBER-ID.apps.googleusercontent.com`) and Microsoft's (a GUID). An instance of one's own
/// may register its clients otherwise, so only the public services are checked.
pub fn check_client_id(name: &str, client_id: &str) -> Result<(), String> {
    let id = client_id.trim();
    let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
    let hex = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
    let ok = match name {
        "github" => match id.strip_prefix("Iv1.") {
            Some(rest) => rest.len() == 16 && hex(rest),
            None => id.len() == 20 && alnum(id),
        },
        "google" => id
            .strip_suffix(".apps.googleusercontent.com")
            .and_then(|head| head.split_once('-'))
            .is_some_and(|(number, rest)| {
                !number.is_empty()
                    && number.chars().all(|c| c.is_ascii_digit())
                    && !rest.is_empty()
                    && alnum(rest)
            }),
        "microsoft" => {
            let parts: Vec<&str> = id.split('-').collect();
            parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12]) && parts.iter().all(|p| hex(p))
        }
        _ => true,
    };
    if ok {
        return Ok(());
    }
    let guide = registration(name, None).map_or_else(String::new, |r| {
        format!(
            "; it looks like {}. Copy it from the app you registered ({}): {}",
            r.client_id_example, r.page, r.register
        )
    });
    Err(format!("{id:?} is not a {name} client id{guide}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_a_token_url_and_sign_in() {
        for name in PRESETS {
            let p = preset(name, &Place::default()).unwrap();
            assert!(p.token_url.starts_with("https://"), "{name}");
            assert!(p.authorize_url.is_some(), "{name}");
            assert_eq!(p.preset.as_deref(), Some(name));
        }
        assert_eq!(
            preset("nope", &Place::default()),
            Err(PresetError::Unknown("nope".into()))
        );
    }

    #[test]
    fn instances_and_tenants() {
        let at = |name: &str, instance: Option<&str>, tenant: Option<&str>| {
            preset(
                name,
                &Place {
                    instance: instance.map(str::to_owned),
                    tenant: tenant.map(str::to_owned),
                },
            )
        };
        let gl = at("gitlab", Some("https://git.example.com/gitlab/"), None).unwrap();
        assert_eq!(gl.token_url, "https://git.example.com/gitlab/oauth/token");
        assert_eq!(gl.issuer.as_deref(), Some("https://git.example.com/gitlab"));
        let ghe = at("github", Some("https://ghe.example.com"), None).unwrap();
        assert_eq!(
            ghe.userinfo_url.as_deref(),
            Some("https://ghe.example.com/api/v3/user")
        );
        let ms = at("microsoft", None, Some("organizations")).unwrap();
        assert_eq!(
            ms.token_url,
            "https://login.microsoftonline.com/organizations/oauth2/v2.0/token"
        );
        let us = at(
            "microsoft",
            Some("https://login.microsoftonline.us"),
            Some("8eaef023-2b34-4da1-9baa-8bc8c9d6a490"),
        )
        .unwrap();
        assert!(us
            .token_url
            .starts_with("https://login.microsoftonline.us/8eaef023-2b34-4da1-9baa-8bc8c9d6a490/"));
        assert!(us.userinfo_url.is_none());
        assert!(matches!(
            at("microsoft", None, Some("a/b")),
            Err(PresetError::BadTenant(_))
        ));
        assert_eq!(
            at("github", None, Some("common")),
            Err(PresetError::NoTenants)
        );
        // Tokens never go out in clear, except to this machine (tests, a local proxy).
        assert!(matches!(
            at("gitlab", Some("http://gitlab.example.com"), None),
            Err(PresetError::BadInstance { .. })
        ));
        assert!(at("gitlab", Some("http://127.0.0.1:8080"), None).is_ok());
        assert!(at("gitlab", Some("https://x.example?a=b"), None).is_err());
        let g = at("google", None, None).unwrap();
        assert_eq!(g.authorize_params["access_type"], "offline");
    }

    #[test]
    fn client_ids_of_the_public_services_have_their_documented_shape() {
        for (preset, good, bad) in [
            ("github", "Iv1.0123456789abcdef", "Iv1.0123"),
            ("github", "Ov23liABCDEF01234567", "my-app"),
            (
                "google",
                "1234-abc123.apps.googleusercontent.com",
                "abc.apps.googleusercontent.com",
            ),
            (
                "microsoft",
                "8eaef023-2b34-4da1-9baa-8bc8c9d6a490",
                "8eaef0232b344da19baa8bc8c9d6a490",
            ),
        ] {
            assert_eq!(check_client_id(preset, good), Ok(()), "{preset} {good}");
            let e = check_client_id(preset, bad).unwrap_err();
            assert!(e.contains("it looks like") && e.contains("https://"), "{e}");
        }
        // GitLab documents no shape: anything goes.
        assert_eq!(check_client_id("gitlab", "whatever"), Ok(()));
        // Every preset has its guide, and the examples pass their own check.
        for name in PRESETS {
            let r = registration(name, None).unwrap();
            assert_eq!(
                check_client_id(name, &r.client_id_example),
                Ok(()),
                "{name}"
            );
            assert!(
                r.register.contains("127.0.0.1") || name == "google",
                "{name}"
            );
        }
        // An instance of one's own registers its apps on its own pages.
        let at = |name, url| registration(name, Some(url)).unwrap().page;
        assert_eq!(
            at("github", "https://ghe.example.com/"),
            "https://ghe.example.com/settings/apps/new"
        );
        assert_eq!(
            at("gitlab", "https://git.example.com/gitlab"),
            "https://git.example.com/gitlab/-/user_settings/applications"
        );
        assert!(at("microsoft", "https://login.microsoftonline.us").starts_with("https://entra."));
    }
}
