//! The human-editable settings file: providers, accounts, jobs. Never holds a secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::caller::CallerPolicy;
use crate::oauth::classify::ClassOverrides;

/// Everything the user configured. A missing file means "nothing configured yet".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Which failures get a desktop notification (`[notifications]`).
    #[serde(default, skip_serializing_if = "Notifications::is_default")]
    pub notifications: Notifications,
    /// OAuth providers by name (`[provider.NAME]`).
    #[serde(
        default,
        rename = "provider",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub providers: BTreeMap<String, ProviderSettings>,
    /// The accounts, in the order the user added them (the tray lists them in this order).
    #[serde(default, rename = "account", skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountSettings>,
    /// Warm-up jobs (`[[job]]`).
    #[serde(default, rename = "job", skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobSettings>,
}

/// Which failures are told with a desktop notification. Transient trouble never is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// A sign-in died (re-login needed).
    #[serde(default = "yes")]
    pub permanent: bool,
    /// A provider's settings are wrong.
    #[serde(default = "yes")]
    pub config: bool,
}

fn yes() -> bool {
    true
}

impl Default for Notifications {
    fn default() -> Notifications {
        Notifications {
            permanent: true,
            config: true,
        }
    }
}

impl Notifications {
    fn is_default(&self) -> bool {
        *self == Notifications::default()
    }
}

/// An OAuth provider: where its endpoints are and which client Tokentray signs in as.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// The preset it came from (github, google, microsoft, gitlab), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The issuer it was discovered from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The authorization endpoint (browser sign-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorize_url: Option<String>,
    /// The token endpoint.
    pub token_url: String,
    /// The device authorization endpoint (RFC 8628), if the provider has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_url: Option<String>,
    /// The revocation endpoint (RFC 7009), if the provider has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_url: Option<String>,
    /// The userinfo endpoint, if any (identity pinning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub userinfo_url: Option<String>,
    /// The OAuth client id.
    pub client_id: String,
    /// The scopes to ask for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Extra parameters of the browser sign-in's authorization request (Google's
    /// `access_type = "offline"`, without which it sends no refresh token).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub authorize_params: BTreeMap<String, String>,
    /// True when a client secret is stored in the keychain for this provider.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub client_secret: bool,
    /// Per-provider changes to the failure classification table.
    #[serde(default, skip_serializing_if = "ClassOverrides::is_empty")]
    pub errors: ClassOverrides,
}

/// One OAuth account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSettings {
    /// The name the user calls it by (`tokentray token NAME`).
    pub name: String,
    /// The provider it signs in with.
    pub provider: String,
    /// Git hosts this account answers for in the credential helper.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git_hosts: Vec<String>,
    /// The username the credential helper gives git (default: what the provider expects,
    /// `x-access-token` for GitHub, `oauth2` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_username: Option<String>,
    /// The scopes of the token git gets, instead of the sign-in's (`tokentray token --scope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git_scopes: Vec<String>,
    /// The resource of the token git gets (`tokentray token --resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_resource: Option<String>,
    /// How long the token git gets must still be valid: `10m` (`tokentray token --min-valid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_min_valid: Option<String>,
    /// Whether any program may have the token, or the person is asked for each new one.
    #[serde(default, skip_serializing_if = "CallerPolicy::is_default")]
    pub callers: CallerPolicy,
    /// Programs (executable paths) the person always allows, with `callers = "ask"`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_callers: Vec<String>,
}

impl AccountSettings {
    /// What the credential helper asks the engine for on this account's behalf.
    pub fn git_request(&self) -> crate::variant::TokenRequest {
        crate::variant::TokenRequest {
            scopes: self.git_scopes.clone(),
            resource: self.git_resource.clone(),
            min_valid_s: self
                .git_min_valid
                .as_deref()
                .and_then(parse_duration)
                .map(|d| d.as_secs()),
        }
    }
}

/// A warm-up job: an authenticated HTTP request repeated on an interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    /// The job's name.
    pub name: String,
    /// The account whose token it uses.
    pub account: String,
    /// The URL to call.
    pub url: String,
    /// The HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// The interval: `30s`, `5m`, `2h`.
    #[serde(default = "default_every")]
    pub every: String,
    /// Extra headers, each `Name: value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<String>,
    /// A request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

fn default_every() -> String {
    "5m".into()
}

/// Parses `30s`, `5m`, `2h` (and `1d`); a bare number is seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

/// Why the settings could not be read. Each variant says where and what to do.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file exists but could not be read.
    #[error("cannot read the settings file {path}: {source}")]
    Read {
        /// The settings file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file parses but does not hang together (an account names a missing provider, …).
    #[error("the settings file {path} is inconsistent: {problem}. Fix it by hand (Tokentray will not overwrite it)")]
    Inconsistent {
        /// The settings file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The file could not be written.
    #[error("cannot write the settings file {path}: {source}")]
    Write {
        /// The settings file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid; it is left untouched for the user to fix.
    #[error("the settings file {path} is invalid at line {line}, column {column}: {message}. Fix it by hand (Tokentray will not overwrite it)")]
    Invalid {
        /// The settings file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What the parser said.
        message: String,
    },
}

impl Settings {
    /// Reads the settings file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Settings::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(source) => Err(SettingsError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses settings text; `path` only labels errors.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, SettingsError> {
        let settings: Settings = toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_column(text, span.start))
                .unwrap_or((1, 1));
            SettingsError::Invalid {
                path: path.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        settings
            .check()
            .map_err(|problem| SettingsError::Inconsistent {
                path: path.to_owned(),
                problem,
            })?;
        Ok(settings)
    }

    /// Writes the settings atomically. Comments are not kept: the file is rewritten whole, so a
    /// hand edit and a CLI edit never interleave half-way.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        let write = |source| SettingsError::Write {
            path: path.to_owned(),
            source,
        };
        let text = toml::to_string_pretty(self).map_err(|e| write(std::io::Error::other(e)))?;
        let text = format!("{HEADER}{text}");
        crate::fsutil::write_atomic(path, text.as_bytes()).map_err(write)
    }

    /// The account named `name`.
    pub fn account(&self, name: &str) -> Option<&AccountSettings> {
        self.accounts.iter().find(|a| a.name == name)
    }

    /// Whether the parts refer to each other correctly: unique names, known providers and
    /// accounts, readable intervals. Says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.accounts {
            if !seen.insert(a.name.as_str()) {
                return Err(format!("two accounts are named {:?}", a.name));
            }
            if let Some(text) = &a.git_min_valid {
                if parse_duration(text).is_none() {
                    return Err(format!(
                        "account {:?} has git_min_valid {text:?}; use forms like 90s, 10m, 1h",
                        a.name
                    ));
                }
            }
            a.git_request()
                .validate()
                .map_err(|e| format!("account {:?}: git_{}", a.name, e.trim_start_matches("--")))?;
            if !self.providers.contains_key(&a.provider) {
                return Err(format!(
                    "account {:?} uses provider {:?}, which is not defined ([provider.{}])",
                    a.name, a.provider, a.provider
                ));
            }
        }
        let mut jobs = std::collections::BTreeSet::new();
        for j in &self.jobs {
            if !jobs.insert(j.name.as_str()) {
                return Err(format!("two jobs are named {:?}", j.name));
            }
            if self.account(&j.account).is_none() {
                return Err(format!(
                    "job {:?} uses account {:?}, which is not defined",
                    j.name, j.account
                ));
            }
            match parse_duration(&j.every) {
                Some(d) if d.as_secs() >= 1 => {}
                _ => {
                    return Err(format!(
                        "job {:?} has interval {:?}; use forms like 30s, 5m, 2h",
                        j.name, j.every
                    ))
                }
            }
        }
        Ok(())
    }
}

const HEADER: &str = "# Tokentray settings: providers, accounts, warm-up jobs. No secrets here; tokens and\n# client secrets live in the OS keychain. Edit freely; `tokentray status` reports mistakes.\n\n";

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_settings() {
        let dir = tempfile::tempdir().unwrap();
        let s = Settings::load(&dir.path().join("nope.toml")).unwrap();
        assert!(s.accounts.is_empty());
    }

    #[test]
    fn accounts_parse_in_order() {
        let text = "[provider.p]\ntoken_url = \"https://x/token\"\nclient_id = \"c\"\n\n[[account]]\nname = \"b\"\nprovider = \"p\"\n\n[[account]]\nname = \"a\"\nprovider = \"p\"\n";
        let s = Settings::parse(text, Path::new("s.toml")).unwrap();
        let names: Vec<_> = s.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
    }

    #[test]
    fn a_broken_file_names_path_line_and_column() {
        let text = "[[account]]\nname = \"a\"\nprovider = = \"p\"\n";
        let err = Settings::parse(text, Path::new("/cfg/settings.toml")).unwrap_err();
        let SettingsError::Invalid { line, column, .. } = &err else {
            panic!("wrong error: {err}");
        };
        assert_eq!((*line, *column), (3, 12));
        let msg = err.to_string();
        assert!(msg.contains("/cfg/settings.toml"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn an_account_with_a_missing_provider_is_inconsistent() {
        let text = "[[account]]\nname = \"a\"\nprovider = \"nope\"\n";
        let err = Settings::parse(text, Path::new("s.toml")).unwrap_err();
        assert!(matches!(err, SettingsError::Inconsistent { .. }), "{err}");
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        let mut s = Settings::default();
        s.providers.insert(
            "p".into(),
            ProviderSettings {
                token_url: "https://x/token".into(),
                client_id: "c".into(),
                scopes: vec!["openid".into()],
                ..ProviderSettings::default()
            },
        );
        s.accounts.push(AccountSettings {
            name: "a".into(),
            provider: "p".into(),
            git_hosts: vec!["github.com".into()],
            git_username: None,
            ..AccountSettings::default()
        });
        s.jobs.push(JobSettings {
            name: "warm".into(),
            account: "a".into(),
            url: "https://x/api".into(),
            method: "GET".into(),
            every: "30s".into(),
            headers: vec![],
            body: None,
        });
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), s);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("45"), Some(Duration::from_secs(45)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("99999999999999999999h"), None);
    }

    #[test]
    fn unknown_keys_are_errors_not_silently_dropped() {
        let text = "[[account]]\nname = \"a\"\nprovder = \"p\"\n";
        let err = Settings::parse(text, Path::new("s.toml")).unwrap_err();
        assert!(err.to_string().contains("provder"), "{err}");
    }
}
