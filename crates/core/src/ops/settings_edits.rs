//! Operations that change the settings file: accounts, providers, jobs, notifications. Each
//! validates once, here, whoever asks; the file is written by `Engine::edit_settings` alone.

use serde::{Deserialize, Serialize};

use super::context::Cx;
use super::error::OpError;
use crate::caller::CallerPolicy;
use crate::oauth::classify::FailureClass;
use crate::oauth::{discovery, presets};
use crate::secret::Secret;
use crate::settings::{parse_duration, AccountSettings, JobSettings, ProviderSettings, Settings};
use crate::EngineError;

/// Where a provider's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum ProviderSource {
    /// One of [`presets::PRESETS`] at its public service.
    Preset(String),
    /// A preset at an instance of one's own (GitLab self-managed, GitHub Enterprise Server, an
    /// Entra national cloud) or in an Entra tenant.
    PresetAt {
        /// One of [`presets::PRESETS`].
        name: String,
        /// The instance's base URL.
        #[serde(default)]
        instance: Option<String>,
        /// The Entra tenant (microsoft only).
        #[serde(default)]
        tenant: Option<String>,
    },
    /// An issuer URL whose discovery document is read now.
    Issuer(String),
    /// Endpoints given one by one.
    Endpoints {
        /// The authorization endpoint (none: device flow or import only).
        #[serde(default)]
        authorize_url: Option<String>,
        /// The token endpoint.
        token_url: String,
    },
    /// A provider already in the settings, by name (for an account only).
    Existing(String),
}

/// The endpoints a preset or an issuer gives, for the wizard to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoints {
    /// The authorization endpoint.
    pub authorize_url: Option<String>,
    /// The token endpoint.
    pub token_url: String,
    /// The device authorization endpoint.
    pub device_url: Option<String>,
    /// The revocation endpoint.
    pub revoke_url: Option<String>,
    /// The default scopes.
    pub scopes: Vec<String>,
    /// For a preset: what to register at the provider, where, and what its client id looks
    /// like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<presets::Registration>,
}

impl From<&ProviderSettings> for Endpoints {
    fn from(p: &ProviderSettings) -> Endpoints {
        Endpoints {
            authorize_url: p.authorize_url.clone(),
            token_url: p.token_url.clone(),
            device_url: p.device_url.clone(),
            revoke_url: p.revoke_url.clone(),
            scopes: p.scopes.clone(),
            registration: p
                .preset
                .as_deref()
                .and_then(|name| presets::registration(name, None)),
        }
    }
}

/// Refuses a client id that cannot be one of a preset's public service (docs/providers.md).
fn check_client_id(source: &ProviderSource, client_id: &str) -> Result<(), OpError> {
    let public = match source {
        ProviderSource::Preset(name) => Some(name),
        ProviderSource::PresetAt {
            name,
            instance: None,
            ..
        } => Some(name),
        _ => None,
    };
    match public {
        Some(name) => presets::check_client_id(name, client_id).map_err(OpError::bad_argument),
        None => Ok(()),
    }
}

/// A new provider's settings from its source (discovery reads the issuer's document now).
async fn provider_from(source: &ProviderSource) -> Result<ProviderSettings, OpError> {
    match source {
        ProviderSource::Preset(name) => presets::preset(name, &presets::Place::default())
            .map_err(|e| OpError::bad_argument(e.to_string())),
        ProviderSource::PresetAt {
            name,
            instance,
            tenant,
        } => {
            let place = presets::Place {
                instance: instance.clone(),
                tenant: tenant.clone(),
            };
            presets::preset(name, &place).map_err(|e| OpError::bad_argument(e.to_string()))
        }
        ProviderSource::Issuer(url) => {
            let http = crate::http::LazyHttp::default();
            discovery::discover(&http, url.trim())
                .await
                .map_err(|e| OpError::new("config", e.to_string()))
        }
        ProviderSource::Endpoints {
            authorize_url,
            token_url,
        } => Ok(ProviderSettings {
            authorize_url: authorize_url.clone(),
            token_url: token_url.clone(),
            ..ProviderSettings::default()
        }),
        ProviderSource::Existing(name) => Err(OpError::bad_argument(format!(
            "{name:?} names a provider already in the settings; a new one comes from a preset, \
             an issuer or its endpoints"
        ))),
    }
}

fn one_word(name: &str, what: &str) -> Result<String, OpError> {
    let name = name.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(OpError::bad_argument(format!(
            "{what} name is one word, such as work-github"
        )));
    }
    Ok(name.to_owned())
}

fn cleaned(list: &[String]) -> Vec<String> {
    list.iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn add_account(
    cx: &Cx<'_>,
    name: String,
    source: ProviderSource,
    client_id: Option<String>,
    scopes: Vec<String>,
    git_hosts: Vec<String>,
    git_username: Option<String>,
) -> Result<(), OpError> {
    let name = one_word(&name, "an account")?;
    let client_id = client_id
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let scopes = cleaned(&scopes);
    // A provider of its own (the wizard), or one already in the settings (`account add`).
    let own = match &source {
        ProviderSource::Existing(_) => {
            if client_id.is_some() || !scopes.is_empty() {
                return Err(OpError::bad_argument(
                    "the client id and scopes belong to the provider; change them there",
                ));
            }
            None
        }
        _ => {
            let client_id = client_id.ok_or_else(|| {
                OpError::bad_argument(
                    "the client id is needed: it is the OAuth app you registered with the \
                     provider",
                )
            })?;
            check_client_id(&source, &client_id)?;
            let mut provider = provider_from(&source).await?;
            provider.client_id = client_id;
            if !scopes.is_empty() {
                provider.scopes = scopes;
            }
            Some(provider)
        }
    };
    let git_hosts = cleaned(&git_hosts);
    cx.engine.edit_settings(|s| {
        if s.account(&name).is_some() {
            return Err(format!("an account named {name:?} already exists"));
        }
        let provider_name = match (&source, own) {
            (ProviderSource::Existing(p), _) => {
                if !s.providers.contains_key(p) {
                    return Err(format!(
                        "no provider named {p:?}; add it with `tokentray provider add {p} …`"
                    ));
                }
                p.clone()
            }
            (_, Some(provider)) => {
                // Named after the account, unless that name is taken.
                let free = (1..)
                    .map(|n| match n {
                        1 => name.clone(),
                        n => format!("{name}-{n}"),
                    })
                    .find(|p| !s.providers.contains_key(p))
                    .unwrap_or_else(|| name.clone());
                s.providers.insert(free.clone(), provider);
                free
            }
            (_, None) => return Err("the account has no provider".into()),
        };
        s.accounts.push(AccountSettings {
            name: name.clone(),
            provider: provider_name,
            git_hosts,
            git_username,
            ..AccountSettings::default()
        });
        Ok(())
    })?;
    Ok(())
}

/// An account's options to change: `None` leaves one as it is, an empty value clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOptions {
    /// Git hosts the account answers for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_hosts: Option<Vec<String>>,
    /// The username git gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_username: Option<String>,
    /// The scopes of git's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_scopes: Option<Vec<String>>,
    /// The resource of git's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_resource: Option<String>,
    /// How long git's token must still be valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_min_valid: Option<String>,
    /// Whether any program may have the token, or the person is asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callers: Option<CallerPolicy>,
}

pub(super) async fn set_account(
    cx: &Cx<'_>,
    account: String,
    options: AccountOptions,
) -> Result<(), OpError> {
    let text = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    cx.engine.edit_settings(|s| {
        let a = account_in(s, &account)?;
        if let Some(hosts) = &options.git_hosts {
            a.git_hosts = cleaned(hosts);
        }
        if let Some(scopes) = &options.git_scopes {
            a.git_scopes = cleaned(scopes);
        }
        if options.git_username.is_some() {
            a.git_username = text(options.git_username.clone());
        }
        if options.git_resource.is_some() {
            a.git_resource = text(options.git_resource.clone());
        }
        if options.git_min_valid.is_some() {
            a.git_min_valid = text(options.git_min_valid.clone());
        }
        if let Some(policy) = options.callers {
            a.callers = policy;
        }
        Ok(())
    })?;
    Ok(())
}

/// The account named `account` in `s`, to change.
fn account_in<'s>(s: &'s mut Settings, account: &str) -> Result<&'s mut AccountSettings, String> {
    s.accounts
        .iter_mut()
        .find(|a| a.name == account)
        .ok_or_else(|| format!("no account named {account:?}; `tokentray status` lists them"))
}

pub(super) async fn set_callers(
    cx: &Cx<'_>,
    account: String,
    allow: Vec<String>,
    revoke: Vec<String>,
) -> Result<Vec<String>, OpError> {
    for program in &allow {
        if !std::path::Path::new(program).is_absolute() {
            return Err(OpError::bad_argument(format!(
                "--allow {program:?}: give the program's full path, such as /usr/bin/git"
            )));
        }
    }
    let mut list = vec![];
    cx.engine.edit_settings(|s| {
        let a = account_in(s, &account)?;
        a.allowed_callers.retain(|p| !revoke.contains(p));
        for program in &allow {
            if !a.allowed_callers.contains(program) {
                a.allowed_callers.push(program.clone());
            }
        }
        list = a.allowed_callers.clone();
        Ok(())
    })?;
    Ok(list)
}

pub(super) async fn revoke_caller(
    cx: &Cx<'_>,
    account: String,
    program: String,
) -> Result<Vec<String>, OpError> {
    set_callers(cx, account, vec![], vec![program]).await
}

pub(super) async fn remove_account(cx: &Cx<'_>, account: String) -> Result<(), OpError> {
    cx.engine.forget(&account).await?;
    // Re-read: the file may have changed while the provider was being called.
    cx.engine.edit_settings(|s| {
        s.accounts.retain(|a| a.name != account);
        s.jobs.retain(|j| j.account != account);
        Ok(())
    })?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn add_provider(
    cx: &Cx<'_>,
    name: String,
    source: ProviderSource,
    client_id: String,
    scopes: Vec<String>,
    device_url: Option<String>,
    revoke_url: Option<String>,
    client_secret: Option<Secret>,
) -> Result<ProviderSettings, OpError> {
    let name = one_word(&name, "a provider")?;
    if cx.engine.settings().providers.contains_key(&name) {
        return Err(OpError::invalid(format!(
            "a provider named {name:?} already exists"
        )));
    }
    check_client_id(&source, &client_id)?;
    let mut provider = provider_from(&source).await?;
    provider.client_id = client_id.trim().to_owned();
    let scopes = cleaned(&scopes);
    if !scopes.is_empty() {
        provider.scopes = scopes;
    }
    if device_url.is_some() {
        provider.device_url = device_url;
    }
    if revoke_url.is_some() {
        provider.revoke_url = revoke_url;
    }
    if let Some(secret) = &client_secret {
        cx.engine.save_client_secret(&name, secret).await?;
        provider.client_secret = true;
    }
    let added = provider.clone();
    cx.engine.edit_settings(|s| {
        if s.providers.contains_key(&name) {
            return Err(format!("a provider named {name:?} already exists"));
        }
        s.providers.insert(name.clone(), provider);
        Ok(())
    })?;
    Ok(added)
}

pub(super) async fn presets(_: &Cx<'_>) -> Result<Vec<String>, OpError> {
    Ok(presets::PRESETS.iter().map(|p| (*p).to_owned()).collect())
}

pub(super) async fn discover(_: &Cx<'_>, source: ProviderSource) -> Result<Endpoints, OpError> {
    let mut endpoints = Endpoints::from(&provider_from(&source).await?);
    if let ProviderSource::PresetAt {
        name,
        instance: Some(instance),
        ..
    } = &source
    {
        endpoints.registration = presets::registration(name, Some(instance));
    }
    Ok(endpoints)
}

/// The job's own shape: what no settings file may hold, said as a usage error.
fn check_job(job: &mut JobSettings) -> Result<(), OpError> {
    job.name = one_word(&job.name, "a job")?;
    if parse_duration(&job.every).is_none_or(|d| d.as_secs() < 1) {
        return Err(OpError::bad_argument(format!(
            "cannot read the interval {:?}; use forms like 30s, 5m, 2h",
            job.every
        )));
    }
    if let Some(bad) = job.headers.iter().find(|h| !h.contains(':')) {
        return Err(OpError::bad_argument(format!(
            "header {bad:?} is not `Name: value`"
        )));
    }
    if let Some(why) = crate::jobs::refuse_url(&job.url) {
        return Err(OpError::bad_argument(why));
    }
    job.method = job.method.trim().to_ascii_uppercase();
    Ok(())
}

pub(super) async fn save_job(cx: &Cx<'_>, mut job: JobSettings, new: bool) -> Result<(), OpError> {
    if cx.engine.settings().account(&job.account).is_none() {
        return Err(EngineError::NoSuchAccount(job.account).into());
    }
    check_job(&mut job)?;
    cx.engine.edit_settings(|s| {
        if let Some(old) = s.jobs.iter().find(|j| j.name == job.name) {
            if new {
                return Err(format!("a job named {:?} already exists", job.name));
            }
            if old.account != job.account {
                return Err(format!(
                    "a job named {:?} already belongs to {}; pick another name",
                    job.name, old.account
                ));
            }
            // The page never sees these (they may hold keys): an edit keeps them.
            if job.url == crate::http::without_query(&old.url) {
                job.url = old.url.clone();
            }
            if job.headers.is_empty() {
                job.headers = old.headers.clone();
            }
            if job.body.is_none() {
                job.body = old.body.clone();
            }
        }
        s.jobs.retain(|j| j.name != job.name);
        s.jobs.push(job);
        Ok(())
    })?;
    Ok(())
}

pub(super) async fn remove_job(cx: &Cx<'_>, name: String) -> Result<(), OpError> {
    cx.engine.edit_settings(|s| {
        let before = s.jobs.len();
        s.jobs.retain(|j| j.name != name);
        if s.jobs.len() == before {
            return Err(format!(
                "no job named {name:?}; `tokentray job list` lists them"
            ));
        }
        Ok(())
    })?;
    Ok(())
}

pub(super) async fn run_job(cx: &Cx<'_>, name: String) -> Result<(), OpError> {
    Ok(cx.engine.run_job_now(&name)?)
}

pub(super) async fn set_class(
    cx: &Cx<'_>,
    provider: String,
    code: String,
    class: Option<FailureClass>,
) -> Result<(), OpError> {
    let code = code.trim().to_owned();
    if code.is_empty() || code.contains(char::is_whitespace) {
        return Err(OpError::bad_argument(
            "name the error code as the status shows it, such as invalid_request",
        ));
    }
    cx.engine.edit_settings(|s| {
        let Some(p) = s.providers.get_mut(&provider) else {
            return Err(format!(
                "no provider named {provider:?}; `tokentray provider list` lists them"
            ));
        };
        match class {
            Some(class) => {
                p.errors.codes.insert(code.clone(), class);
            }
            None => {
                p.errors.codes.remove(&code);
            }
        }
        Ok(())
    })?;
    Ok(())
}

pub(super) async fn set_notify(cx: &Cx<'_>, class: FailureClass, on: bool) -> Result<(), OpError> {
    if class == FailureClass::Transient {
        return Err(OpError::bad_argument(
            "transient trouble is never notified (the tray shows it); the classes are \
             permanent and config",
        ));
    }
    cx.engine.edit_settings(|s| {
        match class {
            FailureClass::Config => s.notifications.config = on,
            _ => s.notifications.permanent = on,
        }
        Ok(())
    })?;
    Ok(())
}
