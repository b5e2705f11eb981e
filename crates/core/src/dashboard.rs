//! The dashboard's commands, without a GUI: what the page may ask the engine, by name, with JSON
//! arguments and JSON answers. The dashboard runs in a process of its own (so closing it gives
//! all of WebKit's memory back) and sends these over the engine's socket; the engine, in the
//! tray app or headless, answers them here.
//!
//! None returns a secret: "Copy token" puts the token on the clipboard from the engine's process,
//! and a sign-in's page opens from there. Errors are sentences the page shows as they are.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::autostart::Autostart;
use crate::engine::LoginMethod;
use crate::oauth::discovery;
use crate::settings::{AccountSettings, JobSettings, ProviderSettings};
use crate::{Engine, EngineError};

include!("dashboard_commands.rs");

/// Runs the dashboard command `name` with `args` (the page's invoke arguments).
pub async fn call(engine: &Engine, name: &str, args: Value) -> Result<Value, String> {
    fn arg<T: for<'de> Deserialize<'de>>(args: &Value, key: &str) -> Result<T, String> {
        serde_json::from_value(args.get(key).cloned().unwrap_or(Value::Null))
            .map_err(|e| format!("the dashboard sent a bad {key:?} ({e})"))
    }
    let say = |e: EngineError| e.to_string();
    match name {
        "status" => Ok(json!(engine.status())),
        "history" => {
            let hours: u32 = arg(&args, "hours")?;
            let account: Option<String> = arg(&args, "account")?;
            let since =
                time::OffsetDateTime::now_utc() - time::Duration::hours(i64::from(hours.min(72)));
            Ok(json!(engine.history(account.as_deref(), since)))
        }
        "set_paused" => engine
            .set_paused(&arg::<String>(&args, "account")?, arg(&args, "paused")?)
            .map(|_| Value::Null)
            .map_err(say),
        "refresh_now" => engine
            .refresh(&arg::<String>(&args, "account")?)
            .await
            .map(|r| json!(r))
            .map_err(say),
        "sign_in" => sign_in(
            engine,
            &arg::<String>(&args, "account")?,
            arg(&args, "device")?,
        )
        .await
        .map(|v| json!(v)),
        "remove_account" => remove_account(engine, arg(&args, "account")?).await,
        "copy_token" => {
            let token = engine
                .token(&arg::<String>(&args, "account")?)
                .await
                .map_err(say)?;
            if crate::clipboard::copy(token.expose(), std::time::Duration::from_secs(120)) {
                Ok(Value::Null)
            } else {
                Err("there is no clipboard to copy to on this desktop".into())
            }
        }
        "presets" => Ok(json!(discovery::PRESETS)),
        "discover" => provider_from(&arg(&args, "source")?)
            .await
            .map(|p| json!(Endpoints::from(&p))),
        "add_account" => add_account(engine, arg(&args, "new")?).await,
        "save_job" => save_job(engine, arg(&args, "job")?),
        "remove_job" => {
            let name: String = arg(&args, "name")?;
            engine
                .edit_settings(|s| {
                    let before = s.jobs.len();
                    s.jobs.retain(|j| j.name != name);
                    if s.jobs.len() == before {
                        return Err(format!("no job named {name:?}"));
                    }
                    Ok(())
                })
                .map(|()| Value::Null)
                .map_err(say)
        }
        "run_job" => engine
            .run_job_now(&arg::<String>(&args, "name")?)
            .map(|()| Value::Null)
            .map_err(say),
        "app_settings" => {
            let n = engine.settings().notifications;
            Ok(json!({
                "autostart": Autostart::for_current_user().is_enabled(),
                "notify_permanent": n.permanent,
                "notify_config": n.config,
                "settings_file": engine.paths().settings_file().display().to_string(),
                "log_dir": engine.paths().log_dir().display().to_string(),
                "version": env!("CARGO_PKG_VERSION"),
            }))
        }
        "set_autostart" => {
            let autostart = Autostart::for_current_user();
            let result = if arg(&args, "on")? {
                crate::paths::app_binary()
                    .map_err(|e| e.to_string())
                    .and_then(|app| autostart.enable(&app).map_err(|e| e.to_string()))
            } else {
                autostart.disable().map_err(|e| e.to_string())
            };
            // The tray's "Launch at login" check item follows.
            engine.announce_settings_changed();
            result.map(|()| Value::Null)
        }
        "set_notify" => {
            let class: String = arg(&args, "class")?;
            let on: bool = arg(&args, "on")?;
            engine
                .edit_settings(|s| {
                    match class.as_str() {
                        "permanent" => s.notifications.permanent = on,
                        "config" => s.notifications.config = on,
                        other => return Err(format!("no notification class {other:?}")),
                    }
                    Ok(())
                })
                .map(|()| Value::Null)
                .map_err(say)
        }
        "open_log_folder" => {
            let dir = engine.paths().log_dir();
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            crate::browser::open_path(&dir)
                .map(|()| Value::Null)
                .map_err(|e| e.to_string())
        }
        other => Err(format!("the engine has no dashboard command {other:?}")),
    }
}

/// What the page shows while a sign-in waits: a code to type, or nothing (the browser is open).
#[derive(Serialize)]
struct SignInView {
    /// `browser` or `device`.
    method: LoginMethod,
    /// The device code, to show and copy.
    user_code: Option<String>,
    /// Where to type it.
    verification_uri: Option<String>,
    /// How long the person has.
    expires_in_s: u64,
}

/// Starts a sign-in (or finds the one waiting) and opens its page in the browser. The outcome
/// arrives as a `login_finished` engine event.
async fn sign_in(engine: &Engine, account: &str, device: bool) -> Result<SignInView, String> {
    let method = if device {
        LoginMethod::Device
    } else {
        LoginMethod::Auto
    };
    let prompt = engine
        .begin_login(account, method)
        .await
        .map_err(|e| e.to_string())?;
    if let Err(e) = crate::browser::open(&prompt.url) {
        // A device code can be typed on any machine: show it even when no browser opens here
        // (a headless engine without a display). A browser sign-in cannot go on without one.
        if prompt.user_code.is_none() {
            return Err(format!(
                "{e}; or sign in from a terminal with `tokentray login {account}`"
            ));
        }
        tracing::warn!(%account, "cannot open the device sign-in page: {e}");
    }
    Ok(SignInView {
        method: prompt.method,
        user_code: prompt.user_code,
        verification_uri: prompt.verification_uri,
        expires_in_s: prompt.expires_in_s,
    })
}

/// Signs the account out, deletes its secrets and removes it (and its jobs) from the settings.
async fn remove_account(engine: &Engine, account: String) -> Result<Value, String> {
    engine.forget(&account).await.map_err(|e| e.to_string())?;
    engine
        .edit_settings(|s| {
            s.accounts.retain(|a| a.name != account);
            s.jobs.retain(|j| j.account != account);
            Ok(())
        })
        .map(|()| Value::Null)
        .map_err(|e| e.to_string())
}

/// The endpoints a preset or an issuer's discovery document gives, for the wizard to show.
#[derive(Serialize)]
struct Endpoints {
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
enum Source {
    /// One of [`discovery::PRESETS`].
    Preset(String),
    /// An issuer URL to discover.
    Issuer(String),
}

async fn provider_from(source: &Source) -> Result<ProviderSettings, String> {
    match source {
        Source::Preset(name) => {
            discovery::preset(name).ok_or_else(|| format!("there is no preset named {name:?}"))
        }
        Source::Issuer(url) => {
            let http = crate::http::LazyHttp::default();
            discovery::discover(&http, url.trim())
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// The wizard's answers.
#[derive(Deserialize)]
struct NewAccount {
    name: String,
    source: Source,
    client_id: String,
    scopes: Vec<String>,
    git_hosts: Vec<String>,
}

/// Adds a provider (named after the account) and the account; signing in is the next step.
async fn add_account(engine: &Engine, new: NewAccount) -> Result<Value, String> {
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
        .map(|()| Value::Null)
        .map_err(|e| e.to_string())
}

/// Adds a warm-up job, or changes the one with the same name (edit). The page never sees a
/// job's headers, body or URL query (they may hold keys), so an edit keeps them.
fn save_job(engine: &Engine, mut job: JobSettings) -> Result<Value, String> {
    if let Some(why) = crate::jobs::refuse_url(&job.url) {
        return Err(why);
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
                let bare = crate::http::without_query(&old.url);
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
        .map(|()| Value::Null)
        .map_err(|e| e.to_string())
}
