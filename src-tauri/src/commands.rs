//! The dashboard's IPC commands: thin calls into the engine. None returns a secret: "Copy token"
//! puts the token on the clipboard from here, and a sign-in's page opens from here; the page
//! only ever sees states, times, codes to type and sentences. Errors are the engine's sentences.

use serde::{Deserialize, Serialize};
use tauri::State;
use tokentray_core::autostart::Autostart;
use tokentray_core::engine::{LoginMethod, RefreshReport};
use tokentray_core::history::Entry;
use tokentray_core::oauth::discovery;
use tokentray_core::settings::{AccountSettings, JobSettings, ProviderSettings};
use tokentray_core::status::Status;
use tokentray_core::{Engine, EngineError};

/// Every command's error: the sentence the page shows.
type Answer<T> = Result<T, String>;

fn say(e: EngineError) -> String {
    e.to_string()
}

/// The status snapshot (the same as `tokentray status --json`).
#[tauri::command]
pub fn status(engine: State<'_, Engine>) -> Status {
    engine.status()
}

/// The last `hours` of history of one account (or all), oldest first.
#[tauri::command]
pub fn history(engine: State<'_, Engine>, account: Option<String>, hours: u32) -> Vec<Entry> {
    let since = time::OffsetDateTime::now_utc() - time::Duration::hours(i64::from(hours.min(72)));
    engine.history(account.as_deref(), since)
}

/// The person's pause or resume of one account.
#[tauri::command]
pub fn set_paused(engine: State<'_, Engine>, account: String, paused: bool) -> Answer<()> {
    engine.set_paused(&account, paused).map(drop).map_err(say)
}

/// One refresh now; the report carries no token.
#[tauri::command]
pub async fn refresh_now(engine: State<'_, Engine>, account: String) -> Answer<RefreshReport> {
    engine.refresh(&account).await.map_err(say)
}

/// What the page shows while a sign-in waits: a code to type, or nothing (the browser is open).
#[derive(Serialize)]
pub struct SignInView {
    /// `browser` or `device`.
    method: LoginMethod,
    /// The device code, to show and copy.
    user_code: Option<String>,
    /// Where to type it.
    verification_uri: Option<String>,
    /// How long the person has.
    expires_in_s: u64,
}

/// Starts a sign-in (or finds the one waiting) and opens its page in the browser. The
/// outcome arrives as a `login_finished` engine event.
#[tauri::command]
pub async fn sign_in(
    engine: State<'_, Engine>,
    account: String,
    device: bool,
) -> Answer<SignInView> {
    let method = if device {
        LoginMethod::Device
    } else {
        LoginMethod::Auto
    };
    let prompt = engine.begin_login(&account, method).await.map_err(say)?;
    tokentray_core::browser::open(&prompt.url).map_err(|e| e.to_string())?;
    Ok(SignInView {
        method: prompt.method,
        user_code: prompt.user_code,
        verification_uri: prompt.verification_uri,
        expires_in_s: prompt.expires_in_s,
    })
}

/// Signs the account out, deletes its secrets and removes it (and its jobs) from the settings.
#[tauri::command]
pub async fn remove_account(engine: State<'_, Engine>, account: String) -> Answer<()> {
    engine.forget(&account).await.map_err(say)?;
    engine
        .edit_settings(|s| {
            s.accounts.retain(|a| a.name != account);
            s.jobs.retain(|j| j.account != account);
            Ok(())
        })
        .map_err(say)
}

/// Puts the account's fresh token on the clipboard for two minutes. The token never reaches
/// the page.
#[tauri::command]
pub async fn copy_token(engine: State<'_, Engine>, account: String) -> Answer<()> {
    let token = engine.token(&account).await.map_err(say)?;
    if tokentray_core::clipboard::copy(token.expose(), std::time::Duration::from_secs(120)) {
        Ok(())
    } else {
        Err("there is no clipboard to copy to on this desktop".into())
    }
}

/// The endpoints a preset or an issuer's discovery document gives, for the wizard to show.
#[derive(Serialize)]
pub struct Endpoints {
    authorize_url: Option<String>,
    token_url: String,
    device_url: Option<String>,
    revoke_url: Option<String>,
    scopes: Vec<String>,
}

impl From<&ProviderSettings> for Endpoints {
    fn from(p: &ProviderSettings) -> Endpoints {
        Endpoints {
            authorize_url: p.authorize_url.clone(),
            token_url: p.token_url.clone(),
            device_url: p.device_url.clone(),
            revoke_url: p.revoke_url.clone(),
            scopes: p.scopes.clone(),
        }
    }
}

/// Where the wizard's provider comes from.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Source {
    /// One of [`discovery::PRESETS`].
    Preset(String),
    /// An issuer URL to discover.
    Issuer(String),
}

async fn provider_from(source: &Source) -> Answer<ProviderSettings> {
    match source {
        Source::Preset(name) => {
            discovery::preset(name).ok_or_else(|| format!("there is no preset named {name:?}"))
        }
        Source::Issuer(url) => {
            let http = tokentray_core::http::LazyHttp::default();
            discovery::discover(&http, url.trim())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// The presets the wizard offers.
#[tauri::command]
pub fn presets() -> Vec<&'static str> {
    discovery::PRESETS.to_vec()
}

/// Looks up a preset's or an issuer's endpoints.
#[tauri::command]
pub async fn discover(source: Source) -> Answer<Endpoints> {
    provider_from(&source).await.map(|p| Endpoints::from(&p))
}

/// The wizard's answers.
#[derive(Deserialize)]
pub struct NewAccount {
    name: String,
    source: Source,
    client_id: String,
    scopes: Vec<String>,
    git_hosts: Vec<String>,
}

/// Adds a provider (named after the account) and the account; signing in is the next step.
#[tauri::command]
pub async fn add_account(engine: State<'_, Engine>, new: NewAccount) -> Answer<()> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err("an account name is one word, such as work-github".into());
    }
    if new.client_id.trim().is_empty() {
        return Err(
            "the client id is needed: it is the OAuth app you registered with the provider".into(),
        );
    }
    let mut provider = provider_from(&new.source).await?;
    provider.client_id = new.client_id.trim().to_owned();
    let scopes: Vec<String> = new
        .scopes
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if !scopes.is_empty() {
        provider.scopes = scopes;
    }
    engine
        .edit_settings(|s| {
            if s.account(&name).is_some() {
                return Err(format!("an account named {name:?} already exists"));
            }
            let provider_name = (1..)
                .map(|n| {
                    if n == 1 {
                        name.clone()
                    } else {
                        format!("{name}-{n}")
                    }
                })
                .find(|p| !s.providers.contains_key(p))
                .unwrap_or_else(|| name.clone());
            s.providers.insert(provider_name.clone(), provider);
            s.accounts.push(AccountSettings {
                name: name.clone(),
                provider: provider_name,
                git_hosts: new.git_hosts.clone(),
                git_username: None,
            });
            Ok(())
        })
        .map_err(say)
}

/// Adds a warm-up job, or changes the one with the same name (edit). The page never sees a
/// job's headers, body or URL query (they may hold keys), so an edit keeps them.
#[tauri::command]
pub fn save_job(engine: State<'_, Engine>, mut job: JobSettings) -> Answer<()> {
    // A job sends the account's bearer token: only over https (plain http to this machine).
    let url = job.url.trim();
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| url.starts_with(p));
    if !url.starts_with("https://") && !loopback {
        return Err("a job's URL must start with https:// (it carries the account's token)".into());
    }
    engine
        .edit_settings(|s| {
            if let Some(old) = s.jobs.iter().find(|j| j.name == job.name) {
                if old.account != job.account {
                    return Err(format!(
                        "a job named {:?} already belongs to {}; pick another name",
                        job.name, old.account
                    ));
                }
                let bare = old.url.split(['?', '#']).next().unwrap_or_default();
                if job.url == bare {
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
        })
        .map_err(say)
}

/// Removes a warm-up job.
#[tauri::command]
pub fn remove_job(engine: State<'_, Engine>, name: String) -> Answer<()> {
    engine
        .edit_settings(|s| {
            let before = s.jobs.len();
            s.jobs.retain(|j| j.name != name);
            if s.jobs.len() == before {
                return Err(format!("no job named {name:?}"));
            }
            Ok(())
        })
        .map_err(say)
}

/// Runs a warm-up job now.
#[tauri::command]
pub fn run_job(engine: State<'_, Engine>, name: String) -> Answer<()> {
    engine.run_job_now(&name).map_err(say)
}

/// The settings screen's state.
#[derive(Serialize)]
pub struct AppSettings {
    autostart: bool,
    notify_permanent: bool,
    notify_config: bool,
    settings_file: String,
    log_dir: String,
    version: &'static str,
}

/// The settings screen's state.
#[tauri::command]
pub fn app_settings(engine: State<'_, Engine>) -> AppSettings {
    let n = engine.settings().notifications;
    AppSettings {
        autostart: Autostart::for_current_user().is_enabled(),
        notify_permanent: n.permanent,
        notify_config: n.config,
        settings_file: engine.paths().settings_file().display().to_string(),
        log_dir: engine.paths().log_dir().display().to_string(),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// Turns launch at login on or off (the same as the tray's check item and `tokentray autostart`).
#[tauri::command]
pub fn set_autostart(app: tauri::AppHandle, on: bool) -> Answer<()> {
    let autostart = Autostart::for_current_user();
    let result = if on {
        std::env::current_exe()
            .map_err(|e| e.to_string())
            .and_then(|exe| autostart.enable(&exe).map_err(|e| e.to_string()))
    } else {
        autostart.disable().map_err(|e| e.to_string())
    };
    crate::tray::update(&app);
    result
}

/// Turns notifications of one class (`permanent` or `config`) on or off.
#[tauri::command]
pub fn set_notify(engine: State<'_, Engine>, class: String, on: bool) -> Answer<()> {
    engine
        .edit_settings(|s| {
            match class.as_str() {
                "permanent" => s.notifications.permanent = on,
                "config" => s.notifications.config = on,
                other => return Err(format!("no notification class {other:?}")),
            }
            Ok(())
        })
        .map_err(say)
}

/// Opens the log folder in the file manager.
#[tauri::command]
pub fn open_log_folder(engine: State<'_, Engine>) -> Answer<()> {
    let dir = engine.paths().log_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    tokentray_core::browser::open_path(&dir).map_err(|e| e.to_string())
}
