//! The engine's public face: owns the accounts, their tokens and their refresh schedule, and
//! publishes every change as an event. Knows nothing of any GUI.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::{broadcast, Notify};

use crate::accounts::{AccountRecord, AccountState, StateError, StateFile};
use crate::crosslock;
use crate::events::{self, Event};
use crate::http::{Http, HttpRequest, LazyHttp};
use crate::jobs::{JobHandle, JobSlot, JobSpec};
use crate::oauth::classify::{ClassTable, Failure, FailureClass, TokenAnswer};
use crate::oauth::refresh::{self, RefreshRequest};
use crate::paths::Paths;
use crate::schedule::{self, Jitter};
use crate::secret::Secret;
use crate::settings::{ProviderSettings, Settings, SettingsError};
use crate::status::{AccountStatus, JobStatus, LastError, Status};
use crate::vault::{TokenSet, Vault, VaultError};

mod login;
pub use login::{LoginMethod, LoginOutcome, LoginPrompt};

/// Why the engine could not do what was asked. Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The settings file is unreadable or invalid.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The state file is unreadable, corrupt or unwritable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The keychain cannot be used.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// No account has that name.
    #[error("no account named {0:?}; `tokentray status` lists them")]
    NoSuchAccount(String),
    /// The account has no tokens.
    #[error("{0} is not signed in; sign in first")]
    SignedOut(String),
    /// The user paused the account and its token needs a refresh.
    #[error("{0} is paused and its token has expired; `tokentray resume {0}` first")]
    Paused(String),
    /// The provider refused the grant for good.
    #[error("{account} needs a new sign-in: {detail}")]
    NeedsRelogin {
        /// The account.
        account: String,
        /// What the provider said.
        detail: String,
    },
    /// The provider settings are wrong.
    #[error("{account}: the provider settings need fixing: {detail}")]
    Config {
        /// The account.
        account: String,
        /// What the provider said.
        detail: String,
    },
    /// A temporary failure; the engine retries on its own.
    #[error("{account}: temporary failure, try again later: {detail}")]
    Temporary {
        /// The account.
        account: String,
        /// What went wrong.
        detail: String,
    },
    /// A local I/O failure (the refresh lock).
    #[error("{0}")]
    Io(String),
    /// A sign-in did not complete.
    #[error("{account}: {message}")]
    Login {
        /// The account.
        account: String,
        /// What went wrong and what to do.
        message: String,
    },
    /// A request that does not make sense (a duplicate name, a missing job); says why.
    #[error("{0}")]
    Invalid(String),
    /// An error that several waiters share (a sign-in's outcome).
    #[error("{0}")]
    Shared(Arc<EngineError>),
    /// A re-login came back as another user than the account had.
    #[error("{account} is signed in as {expected:?}, but this sign-in was for {got:?}; nothing was changed. Sign in as {expected:?}, or add another account for {got:?} (or `tokentray logout {account}` first to switch it)")]
    IdentityMismatch {
        /// The account.
        account: String,
        /// The user the account had.
        expected: String,
        /// The user this sign-in was for.
        got: String,
    },
}

impl EngineError {
    /// A stable code for the error, as it crosses the socket (the CLI maps it to an exit code).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Settings(_) => "settings",
            EngineError::State(_) => "state",
            EngineError::Vault(_) => "keychain",
            EngineError::NoSuchAccount(_) => "no_such_account",
            EngineError::SignedOut(_) => "signed_out",
            EngineError::Paused(_) => "paused",
            EngineError::NeedsRelogin { .. } => "needs_relogin",
            EngineError::Config { .. } => "config",
            EngineError::Temporary { .. } => "temporary",
            EngineError::Io(_) => "io",
            EngineError::Login { .. } => "login_failed",
            EngineError::IdentityMismatch { .. } => "identity_mismatch",
            EngineError::Shared(e) => e.code(),
            EngineError::Invalid(_) => "invalid",
        }
    }
}

/// An access token and when it expires.
#[derive(Debug, Clone)]
pub struct Credential {
    /// The access token.
    pub token: Secret,
    /// Its expiry, when the provider said.
    pub expires_at: Option<OffsetDateTime>,
}

impl Credential {
    fn of(tokens: TokenSet) -> Credential {
        Credential {
            token: tokens.access_token,
            expires_at: tokens.expires_at,
        }
    }

    /// The wire form: `{"token": …, "expires_at": RFC 3339 or null}`. Crosses only the
    /// user's own socket.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "token": self.token.expose(),
            "expires_at": self.expires_at.map(rfc3339),
        })
    }
}

/// An account's failure to tell the person of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The account.
    pub account: String,
    /// Its provider's name in the settings.
    pub provider: String,
    /// `permanent` or `config` (transient trouble is never told).
    pub class: String,
    /// The sentence that says what to do.
    pub message: String,
}

/// The outcome of one refresh attempt, as `tokentray refresh --json` reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RefreshReport {
    /// The account.
    pub account: String,
    /// `ok`, `permanent`, `transient` or `config`.
    pub outcome: String,
    /// The provider's code, if it failed.
    pub code: Option<String>,
    /// The HTTP status, if there was an answer.
    pub http_status: Option<u16>,
    /// What happened, for people.
    pub message: String,
    /// The provider's `Retry-After`, in seconds.
    pub retry_after_s: Option<u64>,
    /// The account's state afterwards.
    pub status: AccountState,
}

/// The engine. Cheap to clone; clones share one set of accounts.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    paths: Paths,
    // Swapped whole on reload; readers take a cheap Arc clone.
    settings: std::sync::RwLock<Arc<Settings>>,
    // std Mutexes: never held across an await; each critical section is a few field updates
    // plus at most one small atomic file write.
    state: Mutex<StateFile>,
    slots: Mutex<HashMap<String, Arc<Slot>>>,
    jobs: Mutex<HashMap<String, JobHandle>>,
    scheduler_started: AtomicBool,
    /// The runtime the scheduler's tasks run on (set by the first `start_scheduler`).
    runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    /// The in-memory state has changes the state file lacks (routine refresh timestamps only).
    state_dirty: AtomicBool,
    /// Wakes the state writer when `state_dirty` is set.
    state_written: Notify,
    vault: Vault,
    http: Arc<dyn Http>,
    events: broadcast::Sender<Event>,
    history: crate::history::History,
    /// Recent permanent failures: (when, provider, account), for the outage rule.
    recent_permanent: Mutex<Vec<(Instant, String, String)>>,
    /// Sign-ins waiting for a person, by account.
    logins: login::Logins,
    /// Serializes read-change-write edits of the settings file.
    settings_edit: Mutex<()>,
    /// Why the state file cannot be written, while it cannot.
    storage_error: Mutex<Option<String>>,
}

/// Per-account runtime state that is not persisted.
struct Slot {
    /// Single flight: whoever holds it is the one refreshing this account in this process.
    flight: tokio::sync::Mutex<()>,
    /// The tokens as last read from or written to the keychain.
    cache: Mutex<Cached>,
    /// Wakes the account's scheduler task when its deadline may have moved.
    wake: Notify,
    /// This account's fixed place in the jitter spread, so its schedule does not wander.
    jitter: f64,
    /// Consecutive permanent answers (the outage rule confirms before flipping to error).
    strikes: Mutex<u32>,
    running: AtomicBool,
    /// The cache holds rotated tokens the keychain refused to store. They are the only working
    /// ones (the provider spent the old refresh token), so they win over the keychain's copy
    /// until a write succeeds.
    unsaved: AtomicBool,
    /// While `unsaved`: the refresh token the provider took for them. The keychain's copy is
    /// overwritten only while it still holds that one (or ours): anything else is newer.
    spent: Mutex<Option<Secret>>,
}

impl Slot {
    fn new(jitter: f64) -> Slot {
        Slot {
            flight: tokio::sync::Mutex::new(()),
            cache: Mutex::new(Cached::Unloaded),
            wake: Notify::new(),
            jitter,
            strikes: Mutex::new(0),
            running: AtomicBool::new(false),
            unsaved: AtomicBool::new(false),
            spent: Mutex::new(None),
        }
    }
}

#[derive(Clone)]
enum Cached {
    Unloaded,
    Loaded(Option<TokenSet>),
}

/// What the blocking half of a keychain read did.
enum VaultRead {
    /// Read the stored tokens.
    Read(Result<Option<TokenSet>, VaultError>),
    /// Wrote the tokens kept in memory over the keychain's stale copy.
    WroteBack(Result<TokenSet, VaultError>),
    /// Found tokens newer than the ones kept in memory, and left them.
    Newer(Option<TokenSet>),
}

/// Writes `ours` (tokens the keychain refused earlier) back, unless the keychain meanwhile holds
/// something other than the copy whose refresh token was `spent`: then that is newer, and wins.
fn write_back(vault: &Vault, account: &str, ours: TokenSet, spent: Option<&Secret>) -> VaultRead {
    let stored = match vault.tokens(account) {
        Ok(stored) => stored,
        Err(e) => return VaultRead::Read(Err(e)),
    };
    let stale = match &stored {
        // The write went through after all.
        Some(st) if !st.refresh_token_differs(&ours) => return VaultRead::WroteBack(Ok(ours)),
        Some(st) => match (&st.refresh_token, spent) {
            (Some(rt), Some(spent)) => rt.same_as(spent),
            (None, _) => true,
            (Some(_), None) => false,
        },
        // Signed out meanwhile (`tokentray logout`): nothing to write back into.
        None => false,
    };
    if stale {
        VaultRead::WroteBack(vault.save_tokens(account, &ours).map(|()| ours))
    } else {
        VaultRead::Newer(stored)
    }
}

/// Why a refresh is attempted.
enum Mode {
    /// The token is about to expire: refresh unless someone just did.
    Demand,
    /// The scheduler's timer fired: refresh unless the tokens are newer than the ones the timer
    /// was set for. Uses the account's own jitter, not the latest moment `Demand` waits for,
    /// so a timer that fires early in the spread refreshes instead of finding nothing to do.
    Scheduled,
    /// The user asked: refresh whatever the token's age.
    Force,
    /// A server rejected this access token: refresh unless the current one is already another.
    Rejected(Secret),
}

/// How long routine state changes wait before they are written together.
const STATE_WRITE_DELAY: Duration = Duration::from_secs(2);
/// How often tokens the keychain refused are offered again while the account does not refresh.
const WRITE_BACK_RETRY: Duration = Duration::from_secs(30);
/// How often a state file the disk refused is tried again.
const STATE_RETRY: Duration = Duration::from_secs(10);
/// The shortest wait between two scheduled refreshes of one account whose schedule did not move.
const SCHEDULE_FLOOR: Duration = Duration::from_secs(1);
/// How long a permanent failure of one of several accounts of a provider waits for confirmation.
const CONFIRM_AFTER: Duration = Duration::from_secs(60);
/// A provider with at least this many accounts gets the outage rule.
const OUTAGE_MIN_ACCOUNTS: usize = 3;
/// Unknown codes this many times in a row, past expiry, make the account an error.
const UNKNOWN_LIMIT: u32 = 8;

impl Engine {
    /// Loads the settings and the persisted account states from `paths`, with the OS keychain
    /// and the real HTTP client (created on first use).
    pub fn open(paths: Paths) -> Result<Engine, EngineError> {
        Engine::with_parts(paths, Vault::os_keychain(), Arc::new(LazyHttp::default()))
    }

    /// Like [`Engine::open`] with an explicit vault and HTTP client (tests, benchmarks).
    pub fn with_parts(
        paths: Paths,
        vault: Vault,
        http: Arc<dyn Http>,
    ) -> Result<Engine, EngineError> {
        let settings = Settings::load(&paths.settings_file())?;
        let state = StateFile::load(&paths.state_file())?;
        let paths_state_dir = paths.state_dir.clone();
        let mut jitter = Jitter::from_entropy();
        let slots = settings
            .accounts
            .iter()
            .map(|a| (a.name.clone(), Arc::new(Slot::new(jitter.sample()))))
            .collect();
        let jobs = settings
            .jobs
            .iter()
            .map(|j| {
                let slot = JobSlot::new(JobSpec::from_settings(j), jitter.sample());
                (j.name.clone(), Arc::new(slot))
            })
            .collect();
        Ok(Engine {
            inner: Arc::new(Inner {
                paths,
                settings: std::sync::RwLock::new(Arc::new(settings)),
                state: Mutex::new(state),
                slots: Mutex::new(slots),
                jobs: Mutex::new(jobs),
                scheduler_started: AtomicBool::new(false),
                runtime: std::sync::OnceLock::new(),
                state_dirty: AtomicBool::new(false),
                state_written: Notify::new(),
                vault,
                http,
                events: events::channel(),
                history: crate::history::History::open(&paths_state_dir),
                recent_permanent: Mutex::new(Vec::new()),
                logins: login::Logins::default(),
                settings_edit: Mutex::new(()),
                storage_error: Mutex::new(None),
            }),
        })
    }

    /// The directories this engine uses.
    pub fn paths(&self) -> &Paths {
        &self.inner.paths
    }

    /// The settings this engine runs with.
    pub fn settings(&self) -> Arc<Settings> {
        self.inner
            .settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Re-reads the settings file: new accounts get a schedule, removed ones lose theirs. A
    /// broken file is reported and the old settings stay in force.
    pub fn reload(&self) -> Result<(), EngineError> {
        let settings = Arc::new(Settings::load(&self.inner.paths.settings_file())?);
        *self
            .inner
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = settings.clone();
        let mut jitter = Jitter::from_entropy();
        {
            let mut slots = lock(&self.inner.slots);
            slots.retain(|name, slot| {
                let keep = settings.account(name).is_some();
                if !keep {
                    // Its scheduler task sees the slot gone and ends.
                    slot.wake.notify_one();
                }
                keep
            });
            for a in &settings.accounts {
                slots
                    .entry(a.name.clone())
                    .or_insert_with(|| Arc::new(Slot::new(jitter.sample())));
            }
        }
        {
            let mut jobs = lock(&self.inner.jobs);
            jobs.retain(|name, slot| {
                let keep = settings
                    .jobs
                    .iter()
                    .any(|j| &j.name == name && JobSpec::from_settings(j) == slot.spec);
                if !keep {
                    slot.wake.notify_one();
                }
                keep
            });
            for j in &settings.jobs {
                jobs.entry(j.name.clone()).or_insert_with(|| {
                    Arc::new(JobSlot::new(JobSpec::from_settings(j), jitter.sample()))
                });
            }
        }
        if self.inner.scheduler_started.load(Ordering::SeqCst) {
            self.start_scheduler();
        }
        self.publish(Event::SettingsChanged);
        Ok(())
    }

    /// A receiver of every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// A snapshot of every account, in settings order. Never touches the keychain.
    pub fn status(&self) -> Status {
        let settings = self.settings();
        let jobs: Vec<JobHandle> = lock(&self.inner.jobs).values().cloned().collect();
        let state = self.lock_state();
        let accounts = settings
            .accounts
            .iter()
            .map(|a| {
                let r = state.accounts.get(&a.name).cloned().unwrap_or_default();
                let next = self.next_refresh(&a.name, &r);
                let mut account_jobs: Vec<JobStatus> = jobs
                    .iter()
                    .filter(|j| j.spec.account == a.name)
                    .map(|j| {
                        let rec = j.snapshot();
                        JobStatus {
                            name: j.spec.name.clone(),
                            every_s: j.spec.every.as_secs(),
                            state: if r.state() == AccountState::Enabled {
                                "running".into()
                            } else {
                                "paused".into()
                            },
                            runs: rec.runs,
                            last_run: rec.last_run.map(rfc3339),
                            last_status: rec.last_status,
                            latency_ms: rec.last_latency_ms,
                            next_run: rec.next_run.map(rfc3339),
                            method: Some(j.spec.method.clone()),
                            // The query may carry an API key: status shows the URL without it.
                            url: Some(
                                j.spec
                                    .url
                                    .split(['?', '#'])
                                    .next()
                                    .unwrap_or_default()
                                    .to_owned(),
                            ),
                        }
                    })
                    .collect();
                account_jobs.sort_by(|x, y| x.name.cmp(&y.name));
                AccountStatus {
                    name: a.name.clone(),
                    provider: a.provider.clone(),
                    status: r.state(),
                    expires_at: r.expires_at.map(rfc3339),
                    last_refresh: r.last_refresh.map(rfc3339),
                    next_refresh: next.map(rfc3339),
                    last_error: r.last_error.clone(),
                    jobs: account_jobs,
                }
            })
            .collect();
        Status {
            accounts,
            storage_error: lock(&self.inner.storage_error).clone(),
        }
    }

    /// The user's pause (or resume) of one account; returns 1 if its state changed, else 0.
    pub fn set_paused(&self, name: &str, paused: bool) -> Result<usize, EngineError> {
        self.slot(name)?;
        self.update_paused(|n| n == name, paused)
    }

    /// The user's pause (or resume) of every account; returns how many changed.
    pub fn set_paused_all(&self, paused: bool) -> Result<usize, EngineError> {
        self.update_paused(|_| true, paused)
    }

    /// Tells listeners (the tray) that something they show from outside the settings file
    /// changed, such as launch at login.
    pub fn announce_settings_changed(&self) {
        self.publish(Event::SettingsChanged);
    }

    /// Asks the GUI, if any, to show itself (a second launch handed over to us).
    pub fn request_activation(&self, open_dashboard: bool) {
        self.publish(Event::ActivateRequested { open_dashboard });
    }

    /// Stores freshly obtained tokens (a sign-in, or tokens imported from another tool) and
    /// makes the account enabled: clears error and pause, resets backoff.
    pub async fn sign_in(&self, name: &str, tokens: TokenSet) -> Result<(), EngineError> {
        self.sign_in_as(name, tokens, None).await
    }

    /// [`Engine::sign_in`], recording who signed in when that is known.
    async fn sign_in_as(
        &self,
        name: &str,
        tokens: TokenSet,
        subject: Option<String>,
    ) -> Result<(), EngineError> {
        let slot = self.slot(name)?;
        let _flight = slot.flight.lock().await;
        self.save_tokens(name, &tokens).await?;
        *lock(&slot.cache) = Cached::Loaded(Some(tokens.clone()));
        slot.unsaved.store(false, Ordering::SeqCst);
        *lock(&slot.strikes) = 0;
        self.update_record(name, |r| {
            r.system = Some(AccountState::Enabled);
            r.paused = false;
            r.obtained_at = Some(tokens.obtained_at);
            r.expires_at = tokens.expires_at;
            r.last_error = None;
            r.retry_at = None;
            r.failures = 0;
            r.unknown_failures = 0;
            r.notified = false;
            if subject.is_some() {
                r.subject = subject;
            }
        })?;
        slot.wake.notify_one();
        Ok(())
    }

    /// Imports tokens obtained elsewhere: a token endpoint's JSON answer, or a bare refresh
    /// token (then the first use refreshes). After this, Tokentray is the only spender.
    pub async fn import(&self, name: &str, text: &Secret) -> Result<(), EngineError> {
        let raw = text.expose().trim();
        let answer = crate::oauth::classify::classify(
            &crate::oauth::classify::RawAnswer {
                status: 200,
                headers: &[],
                body: raw.as_bytes(),
            },
            ClassTable::shared(),
            std::time::SystemTime::now(),
        );
        let tokens = match answer {
            crate::oauth::classify::Verdict::Ok(answer) => token_set_from(answer, None),
            _ if !raw.is_empty() && !raw.contains(char::is_whitespace) && !raw.starts_with('{') => {
                let now = OffsetDateTime::now_utc();
                TokenSet {
                    access_token: Secret::new(""),
                    refresh_token: Some(Secret::new(raw)),
                    id_token: None,
                    // Already expired: the first use refreshes.
                    expires_at: Some(now),
                    obtained_at: now,
                    scopes: Vec::new(),
                }
            }
            _ => {
                return Err(EngineError::Io(
                    "expected a token response (JSON with access_token) or a refresh token".into(),
                ))
            }
        };
        // An ID token in the answer says who this is: pin it, as a sign-in would.
        let subject = tokens
            .id_token
            .as_ref()
            .and_then(|t| crate::oauth::login::id_token_subject(t.expose()));
        self.sign_in_as(name, tokens, subject).await
    }

    /// Signs the account out: revokes its refresh token where the provider can (best effort),
    /// deletes its secrets and forgets its state. The settings entry is the caller's to remove.
    pub async fn forget(&self, name: &str) -> Result<(), EngineError> {
        let slot = self.slot(name)?;
        self.cancel_login(name);
        let _flight = slot.flight.lock().await;
        let (_lock, tokens) = self.lock_and_reload(name, &slot).await?;
        let (provider_name, provider) = self.provider_of(name)?;
        if let (Some(url), Some(tokens)) = (&provider.revoke_url, &tokens) {
            let secret = if provider.client_secret {
                let vault = self.inner.vault.clone();
                blocking(move || vault.client_secret(&provider_name)).await?
            } else {
                None
            };
            let (token, hint) = match &tokens.refresh_token {
                Some(rt) => (rt, "refresh_token"),
                None => (&tokens.access_token, "access_token"),
            };
            if let Err(e) = refresh::revoke(
                self.inner.http.as_ref(),
                url,
                &provider.client_id,
                secret.as_ref(),
                token,
                hint,
            )
            .await
            {
                tracing::warn!(account = %name, "revocation failed ({e}); deleting the local copy anyway");
            }
        }
        let vault = self.inner.vault.clone();
        let account = name.to_owned();
        blocking(move || vault.delete_tokens(&account)).await?;
        *lock(&slot.cache) = Cached::Loaded(None);
        self.update_record(name, |r| *r = AccountRecord::default())?;
        slot.wake.notify_one();
        Ok(())
    }

    /// A fresh access token: from memory when it has time left, else refreshed first (one
    /// refresh per account however many callers ask at once).
    pub async fn token(&self, name: &str) -> Result<Secret, EngineError> {
        self.credential(name).await.map(|c| c.token)
    }

    /// A fresh access token and when it expires (for git's `password_expiry_utc` and
    /// Kubernetes' `expirationTimestamp`).
    pub async fn credential(&self, name: &str) -> Result<Credential, EngineError> {
        let slot = self.slot(name)?;
        let record = self.record(name);
        match record.system {
            Some(AccountState::Error) => return Err(self.error_from_record(name, &record)),
            None | Some(AccountState::SignedOut) => {
                return Err(EngineError::SignedOut(name.to_owned()))
            }
            _ => {}
        }
        let tokens = self
            .load(name, &slot)
            .await?
            .ok_or_else(|| EngineError::SignedOut(name.to_owned()))?;
        let now = OffsetDateTime::now_utc();
        if !tokens_need_refresh(&tokens, now) {
            return Ok(Credential::of(tokens));
        }
        if record.paused {
            return if still_valid(&tokens, now) {
                Ok(Credential::of(tokens))
            } else {
                Err(EngineError::Paused(name.to_owned()))
            };
        }
        match self.refresh_flight(name, &slot, Mode::Demand).await {
            Ok(fresh) => Ok(Credential::of(fresh)),
            // A transient failure while a token still works: keep serving the newest one (a
            // refresh whose tokens the keychain refused left them in the cache).
            Err(e @ EngineError::Temporary { .. }) => {
                let now = OffsetDateTime::now_utc();
                self.cached(&slot)
                    .into_iter()
                    .chain([tokens])
                    .find(|t| still_valid(t, now))
                    .map(Credential::of)
                    .ok_or(e)
            }
            Err(e) => Err(e),
        }
    }

    /// A server (git, a job's API) rejected `rejected`: the account is stale until a token other
    /// than that one is found — another process's newer one in the keychain, else a refresh.
    /// One refresh per call at most: never a loop.
    pub async fn token_rejected(
        &self,
        name: &str,
        rejected: &Secret,
    ) -> Result<Credential, EngineError> {
        let slot = self.slot(name)?;
        // git may erase a password that is not ours (another helper's, an old cached one):
        // only the current token being rejected makes the account stale and costs a refresh.
        match self.load(name, &slot).await? {
            Some(current) if !current.access_token.same_as(rejected) => {
                return Ok(Credential::of(current))
            }
            None => return Err(EngineError::SignedOut(name.to_owned())),
            Some(_) => {}
        }
        self.mark_stale(name);
        self.refresh_flight(name, &slot, Mode::Rejected(rejected.clone()))
            .await
            .map(Credential::of)
    }

    /// One refresh attempt now, whatever the state (the user asked for it).
    pub async fn refresh(&self, name: &str) -> Result<RefreshReport, EngineError> {
        let slot = self.slot(name)?;
        let result = self.refresh_flight(name, &slot, Mode::Force).await;
        let record = self.record(name);
        let report = |outcome: &str, message: String| RefreshReport {
            account: name.to_owned(),
            outcome: outcome.to_owned(),
            code: record.last_error.as_ref().map(|e| e.code.clone()),
            http_status: record.last_error.as_ref().and_then(|e| e.http_status),
            message,
            retry_after_s: record
                .retry_at
                .map(|at| (at - OffsetDateTime::now_utc()).whole_seconds().max(0) as u64),
            status: record.state(),
        };
        match result {
            Ok(_) => Ok(RefreshReport {
                code: None,
                http_status: None,
                retry_after_s: None,
                ..report("ok", "refreshed".into())
            }),
            Err(EngineError::NeedsRelogin { detail, .. }) => Ok(report("permanent", detail)),
            Err(EngineError::Config { detail, .. }) => Ok(report("config", detail)),
            Err(EngineError::Temporary { detail, .. }) => Ok(report("transient", detail)),
            Err(e) => Err(e),
        }
    }

    /// Runs every account's refresh schedule on the current tokio runtime until it stops. Each
    /// account sleeps until its own deadline: nothing wakes when nothing is due.
    ///
    /// Later calls (a reload adds accounts) may come from any thread, such as a GUI's main
    /// thread: the tasks go to the runtime of the first call.
    pub fn start_scheduler(&self) {
        let rt = match tokio::runtime::Handle::try_current() {
            Ok(current) => self.inner.runtime.get_or_init(|| current).clone(),
            Err(_) => match self.inner.runtime.get() {
                Some(rt) => rt.clone(),
                None => {
                    tracing::error!("the scheduler needs a tokio runtime; it was not started");
                    return;
                }
            },
        };
        if !self.inner.scheduler_started.swap(true, Ordering::SeqCst) {
            let engine = self.clone();
            rt.spawn(async move { engine.write_state_behind().await });
        }
        let slots: Vec<(String, Arc<Slot>)> = lock(&self.inner.slots)
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for (name, slot) in slots {
            if slot.running.swap(true, Ordering::SeqCst) {
                continue;
            }
            let engine = self.clone();
            rt.spawn(async move { engine.schedule_account(name, slot).await });
        }
        let jobs: Vec<JobHandle> = lock(&self.inner.jobs).values().cloned().collect();
        for job in jobs {
            if job.running.swap(true, Ordering::SeqCst) {
                continue;
            }
            let engine = self.clone();
            rt.spawn(async move { engine.run_job(job).await });
        }
    }

    /// Re-evaluates every schedule now (after a resume or a clock change): overdue refreshes run
    /// at once, overdue jobs run once.
    pub fn recheck_all(&self) {
        for slot in lock(&self.inner.slots).values() {
            slot.wake.notify_one();
        }
        for job in lock(&self.inner.jobs).values() {
            job.wake.notify_one();
        }
    }

    /// One job's life: wait for its turn while its account is enabled, hold while it is not,
    /// and run at once when the account comes back. Missed runs are not replayed.
    async fn run_job(self, job: JobHandle) {
        // Wall-clock deadlines: after a suspend, a wake-up finds the run overdue and runs it once.
        let mut next = OffsetDateTime::now_utc() + job.interval().mul_f64(job.jitter);
        let mut held = false;
        loop {
            let current = lock(&self.inner.jobs).get(&job.spec.name).cloned();
            if !current.is_some_and(|c| Arc::ptr_eq(&c, &job)) {
                return; // removed or changed
            }
            if self.record(&job.spec.account).state() != AccountState::Enabled {
                held = true;
                job.set_next(None);
                job.wake.notified().await;
                continue;
            }
            if held || job.run_now.swap(false, Ordering::SeqCst) {
                held = false;
                next = OffsetDateTime::now_utc();
            }
            let wait = Duration::try_from(next - OffsetDateTime::now_utc()).unwrap_or_default();
            job.set_next(Some(next));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = job.wake.notified() => continue,
            }
            if self.record(&job.spec.account).state() != AccountState::Enabled {
                continue;
            }
            self.run_job_once(&job).await;
            next = OffsetDateTime::now_utc() + job.interval();
        }
    }

    /// One run. A 401/403 marks the account stale and retries once with a token that differs
    /// from the rejected one (re-read from the keychain, else refreshed); never a loop.
    async fn run_job_once(&self, job: &JobSlot) {
        let account = &job.spec.account;
        let started = Instant::now();
        let token = match self.token(account).await {
            Ok(t) => t,
            Err(e) => {
                tracing::info!(job = %job.spec.name, "skipped: no token ({e})");
                return;
            }
        };
        let mut status = self.send_job(job, &token).await;
        let rejected = matches!(status, Some(401 | 403));
        if rejected && !job.snapshot().auth_suspect {
            tracing::info!(job = %job.spec.name, ?status, "token rejected; marking the account stale");
            self.mark_stale(account);
            match self.token_after_rejection(account, &token).await {
                Ok(fresh) => {
                    status = self.send_job(job, &fresh).await;
                    if matches!(status, Some(401 | 403)) {
                        tracing::warn!(job = %job.spec.name, ?status, "a fresh token was rejected too; the job's URL or scopes are wrong, not the token");
                        job.set_auth_suspect(true);
                    }
                }
                Err(e) => tracing::info!(job = %job.spec.name, "no fresh token: {e}"),
            }
        } else if status.is_some_and(|s| (200..300).contains(&s)) {
            job.set_auth_suspect(false);
        }
        job.record_run(status, started);
        self.publish(Event::JobRan {
            job: job.spec.name.clone(),
            account: account.clone(),
            status,
        });
    }

    async fn send_job(&self, job: &JobSlot, token: &Secret) -> Option<u16> {
        let mut headers = job.spec.headers.clone();
        headers.push(("authorization".into(), format!("Bearer {}", token.expose())));
        let req = HttpRequest {
            method: job.spec.method.clone(),
            url: job.spec.url.clone(),
            headers,
            body: job.spec.body.clone().unwrap_or_default().into_bytes(),
        };
        match self.inner.http.send(req).await {
            Ok(resp) => Some(resp.status),
            Err(e) => {
                tracing::info!(job = %job.spec.name, "request failed: {e:?}");
                None
            }
        }
    }

    /// A server rejected the account's token: the account is stale until a token works.
    fn mark_stale(&self, name: &str) {
        let result = self.update_record(name, |r| {
            if r.system == Some(AccountState::Enabled) {
                r.system = Some(AccountState::Stale);
            }
        });
        if let Err(e) = result {
            tracing::warn!(account = %name, "cannot record the stale state: {e}");
        }
    }

    /// A token other than `rejected`: another process's newer one from the keychain, else a
    /// refreshed one.
    async fn token_after_rejection(
        &self,
        name: &str,
        rejected: &Secret,
    ) -> Result<Secret, EngineError> {
        let slot = self.slot(name)?;
        self.refresh_flight(name, &slot, Mode::Rejected(rejected.clone()))
            .await
            .map(|t| t.access_token)
    }

    async fn schedule_account(self, name: String, slot: Arc<Slot>) {
        // The moment the timer last fired: if the next due moment is not later, the record and
        // the tokens disagree, and waiting a little is better than spinning.
        let mut fired: Option<OffsetDateTime> = None;
        loop {
            match self.slot(&name) {
                Ok(current) if Arc::ptr_eq(&current, &slot) => {}
                _ => return, // the account was removed (or re-added with a new schedule)
            }
            let record = self.record(&name);
            let due = self.next_refresh(&name, &record);
            match due {
                None => slot.wake.notified().await,
                Some(at) => {
                    let mut wait =
                        Duration::try_from(at - OffsetDateTime::now_utc()).unwrap_or_default();
                    if fired.is_some_and(|f| at <= f) {
                        tracing::warn!(account = %name, "refresh schedule did not move; waiting before the next try");
                        wait = wait.max(SCHEDULE_FLOOR);
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {
                            fired = Some(at);
                            let refreshing = matches!(
                                record.state(),
                                AccountState::Enabled | AccountState::Stale
                            );
                            let result = if refreshing {
                                self.refresh_flight(&name, &slot, Mode::Scheduled).await.map(drop)
                            } else {
                                self.retry_write_back(&name, &slot).await
                            };
                            if let Err(e) = result {
                                tracing::info!(account = %name, "scheduled refresh failed: {e}");
                            }
                        }
                        _ = slot.wake.notified() => {}
                    }
                }
            }
        }
    }

    /// Tokens the keychain refused, of an account that does not refresh now (paused, in
    /// error): written back under the refresh lock, without refreshing.
    async fn retry_write_back(&self, name: &str, slot: &Slot) -> Result<(), EngineError> {
        let _flight = slot.flight.lock().await;
        if !slot.unsaved.load(Ordering::SeqCst) {
            return Ok(());
        }
        match self.lock_and_reload(name, slot).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // Only the retry moves: the account's state is the person's (paused) or sticky
                // (error), not the keychain's to change.
                self.update_record(name, |r| {
                    r.retry_at = Some(OffsetDateTime::now_utc() + WRITE_BACK_RETRY);
                })?;
                Err(e)
            }
        }
    }

    /// When the scheduler will next refresh the account (or retry storing its tokens), if at
    /// all.
    fn next_refresh(&self, name: &str, r: &AccountRecord) -> Option<OffsetDateTime> {
        let unsaved = lock(&self.inner.slots)
            .get(name)
            .is_some_and(|s| s.unsaved.load(Ordering::SeqCst));
        if unsaved {
            return Some(r.retry_at.unwrap_or_else(OffsetDateTime::now_utc));
        }
        match r.state() {
            AccountState::Enabled | AccountState::Stale => {}
            _ => return None,
        }
        if let Some(retry) = r.retry_at {
            return Some(retry);
        }
        let (obtained, expires) = (r.obtained_at?, r.expires_at?);
        let jitter = lock(&self.inner.slots).get(name).map_or(0.0, |s| s.jitter);
        Some(schedule::refresh_at(obtained, expires, jitter))
    }

    /// The single-flight refresh. `force` refreshes even when another caller just did.
    async fn refresh_flight(
        &self,
        name: &str,
        slot: &Slot,
        mode: Mode,
    ) -> Result<TokenSet, EngineError> {
        let _flight = slot.flight.lock().await;
        // Someone in this process refreshed while we waited: use theirs.
        let still_good = |t: &TokenSet| match &mode {
            Mode::Demand => !tokens_need_refresh(t, OffsetDateTime::now_utc()),
            Mode::Scheduled => t.expires_at.is_some_and(|exp| {
                schedule::refresh_at(t.obtained_at, exp, slot.jitter) > OffsetDateTime::now_utc()
            }),
            Mode::Force => false,
            Mode::Rejected(bad) => !t.access_token.same_as(bad),
        };
        let unsaved = slot.unsaved.load(Ordering::SeqCst);
        if let Some(current) = self.cached(slot).filter(|_| !unsaved) {
            if still_good(&current) {
                if matches!(mode, Mode::Scheduled | Mode::Rejected(_)) {
                    // The record may lag the tokens (a crash lost a written-behind update; a
                    // rejection marked it stale): bring it in step so the schedule moves and
                    // the account is enabled again.
                    self.note_adopted(name, &current)?;
                }
                return Ok(current);
            }
        }
        // Another process (the CLI, the other engine kind) may have refreshed: the keychain is
        // the truth, and spending a refresh token someone already rotated would kill the grant.
        let (_lock, stored) = match self.lock_and_reload(name, slot).await {
            Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e)),
            other => other?,
        };
        let Some(current) = stored else {
            return Err(EngineError::SignedOut(name.to_owned()));
        };
        if still_good(&current) {
            self.note_adopted(name, &current)?;
            return Ok(current);
        }
        let Some(refresh_token) = current.refresh_token.clone() else {
            let failure = Failure {
                class: FailureClass::Permanent,
                code: "no_refresh_token".into(),
                subcode: None,
                http_status: None,
                description: None,
                advice: "The provider gave no refresh token; sign in again when the token expires."
                    .into(),
                retry_after: None,
                known: true,
            };
            return Err(self.record_failure(name, slot, Some(&current), failure));
        };
        let (provider_name, provider) = self.provider_of(name)?;
        let client_secret = if provider.client_secret {
            let vault = self.inner.vault.clone();
            let p = provider_name.clone();
            match blocking(move || vault.client_secret(&p)).await {
                Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e)),
                other => other?,
            }
        } else {
            None
        };
        let table = if provider.errors.is_empty() {
            std::borrow::Cow::Borrowed(ClassTable::shared())
        } else {
            std::borrow::Cow::Owned(ClassTable::shared().with_overrides(&provider.errors))
        };
        let answer = refresh::refresh(
            self.inner.http.as_ref(),
            &RefreshRequest {
                token_url: &provider.token_url,
                client_id: &provider.client_id,
                client_secret: client_secret.as_ref(),
                refresh_token: &refresh_token,
            },
            &table,
        )
        .await;
        match answer {
            Ok(answer) => {
                let fresh = token_set_from(answer, Some(&current));
                // Rotated tokens go to the keychain before anything else: the old refresh token
                // is already spent, so these are the only ones that work.
                let saved = self.save_tokens(name, &fresh).await;
                *lock(&slot.cache) = Cached::Loaded(Some(fresh.clone()));
                if let Err(e) = saved {
                    // Kept in memory (never in a file) and written as soon as the keychain
                    // answers again: the scheduler retries, and so does every refresh. Any
                    // error counts: the old refresh token is spent either way.
                    *lock(&slot.spent) = Some(refresh_token.clone());
                    slot.unsaved.store(true, Ordering::SeqCst);
                    tracing::error!(account = %name, "the keychain refused the new tokens; keeping them in memory until it is back: {e}");
                    let e = match e {
                        EngineError::Vault(v) => v,
                        other => VaultError::Unavailable(other.to_string()),
                    };
                    return Err(self.keychain_failed(name, slot, &e));
                }
                *lock(&slot.strikes) = 0;
                self.update_record(name, |r| {
                    r.system = Some(AccountState::Enabled);
                    r.obtained_at = Some(fresh.obtained_at);
                    r.expires_at = fresh.expires_at;
                    r.last_refresh = Some(fresh.obtained_at);
                    r.last_error = None;
                    r.retry_at = None;
                    r.failures = 0;
                    r.unknown_failures = 0;
                    r.notified = false;
                })?;
                self.publish(Event::Refreshed {
                    account: name.to_owned(),
                });
                slot.wake.notify_one();
                Ok(fresh)
            }
            Err(failure) if failure.class == FailureClass::Permanent => {
                // Before declaring the grant dead: did someone else rotate it meanwhile?
                let now_stored = match self.reload_from_vault(name, slot).await {
                    Err(EngineError::Vault(e)) => return Err(self.keychain_failed(name, slot, &e)),
                    other => other?,
                };
                if let Some(now_stored) = now_stored {
                    if now_stored.refresh_token_differs(&current) {
                        tracing::info!(account = %name, "another process rotated the tokens; adopting them");
                        self.note_adopted(name, &now_stored)?;
                        return Ok(now_stored);
                    }
                }
                Err(self.record_failure(name, slot, Some(&current), failure))
            }
            Err(failure) => Err(self.record_failure(name, slot, Some(&current), failure)),
        }
    }

    /// The keychain could not be read or written during a refresh: a transient failure the
    /// status shows with the keychain's own advice, retried with backoff like any other.
    fn keychain_failed(&self, name: &str, slot: &Slot, e: &VaultError) -> EngineError {
        let (class, code) = match e {
            VaultError::Locked => (FailureClass::Transient, "keychain_locked"),
            VaultError::Corrupt(_) => (FailureClass::Permanent, "keychain_entry_damaged"),
            VaultError::Unavailable(_) => (FailureClass::Transient, "keychain_unavailable"),
        };
        let mut advice = e.to_string();
        if slot.unsaved.load(Ordering::SeqCst) {
            advice.push_str(". The newest tokens are kept in memory until then; quitting Tokentray now would lose them");
        }
        let failure = Failure {
            class,
            code: code.into(),
            subcode: None,
            http_status: None,
            description: None,
            advice,
            retry_after: None,
            known: true,
        };
        let cached = self.cached(slot);
        self.record_failure(name, slot, cached.as_ref(), failure)
    }

    /// Applies a failure to the account's state and returns the matching error.
    fn record_failure(
        &self,
        name: &str,
        slot: &Slot,
        tokens: Option<&TokenSet>,
        failure: Failure,
    ) -> EngineError {
        let now = OffsetDateTime::now_utc();
        let settings = self.settings();
        let provider = settings
            .account(name)
            .map(|a| a.provider.clone())
            .unwrap_or_default();
        let mut class = failure.class;
        let mut note = None;
        if class == FailureClass::Permanent {
            let strikes = {
                let mut s = lock(&slot.strikes);
                *s += 1;
                *s
            };
            let (failing, total) = self.note_permanent(&provider, name);
            if total >= OUTAGE_MIN_ACCOUNTS {
                if strikes == 1 {
                    // One of several accounts: confirm once before flipping to error.
                    class = FailureClass::Transient;
                    note = Some(CONFIRM_AFTER);
                } else if failing * 3 >= total * 2 {
                    // Most of the provider's accounts "died" together: an outage, not a mass
                    // revocation. Stay stale and keep checking.
                    tracing::warn!(%provider, failing, total, "most accounts of this provider fail permanently at once; treating it as an outage");
                    class = FailureClass::Transient;
                }
            }
        }
        let known = failure.known;
        let last_error = LastError {
            class: failure.class.as_str().to_owned(),
            code: failure.code.clone(),
            http_status: failure.http_status,
            message: describe(&failure),
            at: rfc3339(now),
        };
        let mut retry_after = failure.retry_after;
        if let Some(confirm) = note {
            retry_after = Some(retry_after.map_or(confirm, |r| r.max(confirm)));
        }
        let record = self.update_record(name, |r| {
            r.last_error = Some(last_error.clone());
            match class {
                FailureClass::Permanent | FailureClass::Config => {
                    r.system = Some(AccountState::Error);
                    r.retry_at = None;
                }
                FailureClass::Transient => {
                    r.failures = r.failures.saturating_add(1);
                    r.unknown_failures = if known { 0 } else { r.unknown_failures + 1 };
                    let expired = !tokens.is_some_and(|t| still_valid(t, now));
                    if expired && r.unknown_failures >= UNKNOWN_LIMIT {
                        // An unknown code that keeps coming back past expiry is not going away:
                        // stop retrying and ask the user.
                        r.system = Some(AccountState::Error);
                        r.retry_at = None;
                        return;
                    }
                    let wait =
                        schedule::backoff(r.failures, retry_after, Jitter::from_entropy().sample());
                    r.retry_at = Some(now + wait);
                    if expired {
                        r.system = Some(AccountState::Stale);
                    }
                }
            }
        });
        slot.wake.notify_one();
        let detail = describe(&failure);
        let account = name.to_owned();
        self.publish(Event::RefreshFailed {
            account: account.clone(),
            class: failure.class,
            code: failure.code.clone(),
        });
        match record.map(|r| r.state()) {
            Ok(AccountState::Error) if class == FailureClass::Config => {
                EngineError::Config { account, detail }
            }
            Ok(AccountState::Error) => EngineError::NeedsRelogin { account, detail },
            Ok(_) => EngineError::Temporary { account, detail },
            Err(e) => e,
        }
    }

    /// Records a permanent failure of `account`; returns (accounts of the provider that failed
    /// permanently in the last two minutes, accounts of the provider).
    fn note_permanent(&self, provider: &str, account: &str) -> (usize, usize) {
        let now = Instant::now();
        let mut recent = lock(&self.inner.recent_permanent);
        recent.retain(|(at, _, _)| now.duration_since(*at) < 2 * CONFIRM_AFTER);
        recent.push((now, provider.to_owned(), account.to_owned()));
        let mut failing: Vec<&str> = recent
            .iter()
            .filter(|(_, p, _)| p == provider)
            .map(|(_, _, a)| a.as_str())
            .collect();
        failing.sort_unstable();
        failing.dedup();
        let total = self
            .settings()
            .accounts
            .iter()
            .filter(|a| a.provider == provider)
            .count();
        (failing.len(), total)
    }

    fn note_adopted(&self, name: &str, tokens: &TokenSet) -> Result<(), EngineError> {
        self.update_record(name, |r| {
            if r.system != Some(AccountState::Error) {
                r.system = Some(AccountState::Enabled);
            }
            r.obtained_at = Some(tokens.obtained_at);
            r.expires_at = tokens.expires_at;
            r.retry_at = None;
        })
        .map(|_| ())
    }

    fn error_from_record(&self, name: &str, r: &AccountRecord) -> EngineError {
        let detail = r
            .last_error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the last refresh failed for good".into());
        match r.last_error.as_ref().map(|e| e.class.as_str()) {
            Some("config") => EngineError::Config {
                account: name.to_owned(),
                detail,
            },
            _ => EngineError::NeedsRelogin {
                account: name.to_owned(),
                detail,
            },
        }
    }

    fn provider_of(&self, name: &str) -> Result<(String, ProviderSettings), EngineError> {
        let settings = self.settings();
        let account = settings
            .account(name)
            .ok_or_else(|| EngineError::NoSuchAccount(name.to_owned()))?;
        let provider = settings
            .providers
            .get(&account.provider)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchAccount(name.to_owned()))?;
        Ok((account.provider.clone(), provider))
    }

    async fn load(&self, name: &str, slot: &Slot) -> Result<Option<TokenSet>, EngineError> {
        if let Cached::Loaded(t) = lock(&slot.cache).clone() {
            return Ok(t);
        }
        self.reload_from_vault(name, slot).await
    }

    async fn reload_from_vault(
        &self,
        name: &str,
        slot: &Slot,
    ) -> Result<Option<TokenSet>, EngineError> {
        let read = self.vault_read(name, slot);
        let result = tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| EngineError::Io(format!("a keychain call failed: {e}")))?;
        self.after_vault_read(name, slot, result)
    }

    /// Takes the account's cross-process refresh lock and reads the keychain under it, in one
    /// trip to the blocking pool (a refresh's fixed local cost is mostly such trips).
    async fn lock_and_reload(
        &self,
        name: &str,
        slot: &Slot,
    ) -> Result<(crosslock::RefreshLock, Option<TokenSet>), EngineError> {
        let paths = self.inner.paths.clone();
        let account = name.to_owned();
        let read = self.vault_read(name, slot);
        let (lock, result) = tokio::task::spawn_blocking(move || {
            crosslock::acquire(&paths, &account).map(|lock| (lock, read()))
        })
        .await
        .map_err(|e| EngineError::Io(format!("a keychain call failed: {e}")))?
        .map_err(|e| EngineError::Io(format!("cannot take the refresh lock of {name}: {e}")))?;
        Ok((lock, self.after_vault_read(name, slot, result)?))
    }

    /// The blocking half of a keychain read: the stored tokens, or — while the cache holds
    /// tokens the keychain refused — those, written over the keychain's spent copy first.
    fn vault_read(&self, name: &str, slot: &Slot) -> impl FnOnce() -> VaultRead + Send + 'static {
        let vault = self.inner.vault.clone();
        let account = name.to_owned();
        let ours = if slot.unsaved.load(Ordering::SeqCst) {
            Some((self.cached(slot), lock(&slot.spent).clone()))
        } else {
            None
        };
        move || match ours {
            Some((Some(ours), spent)) => write_back(&vault, &account, ours, spent.as_ref()),
            Some((None, _)) => VaultRead::Read(Ok(None)),
            None => VaultRead::Read(vault.tokens(&account)),
        }
    }

    /// The async half: updates the cache, and clears a keychain error the read proved over.
    fn after_vault_read(
        &self,
        name: &str,
        slot: &Slot,
        read: VaultRead,
    ) -> Result<Option<TokenSet>, EngineError> {
        let tokens = match read {
            VaultRead::Read(r) => r?,
            VaultRead::WroteBack(r) => {
                let ours = r?;
                slot.unsaved.store(false, Ordering::SeqCst);
                *lock(&slot.spent) = None;
                tracing::info!(account = %name, "the keychain is back; the tokens kept in memory are stored");
                Some(ours)
            }
            VaultRead::Newer(stored) => {
                // Someone stored newer tokens (a sign-in elsewhere, or our write went through
                // after all and another process rotated them): theirs win.
                slot.unsaved.store(false, Ordering::SeqCst);
                *lock(&slot.spent) = None;
                tracing::info!(account = %name, "the keychain holds newer tokens than the ones kept in memory; using those");
                stored
            }
        };
        *lock(&slot.cache) = Cached::Loaded(tokens.clone());
        if self
            .record(name)
            .last_error
            .as_ref()
            .is_some_and(|e| e.code.starts_with("keychain_"))
        {
            self.update_record(name, |r| {
                r.last_error = None;
                r.failures = 0;
                r.retry_at = None;
            })?;
        }
        Ok(tokens)
    }

    async fn save_tokens(&self, name: &str, tokens: &TokenSet) -> Result<(), EngineError> {
        let vault = self.inner.vault.clone();
        let account = name.to_owned();
        let tokens = tokens.clone();
        blocking(move || vault.save_tokens(&account, &tokens)).await
    }

    fn cached(&self, slot: &Slot) -> Option<TokenSet> {
        match &*lock(&slot.cache) {
            Cached::Loaded(t) => t.clone(),
            Cached::Unloaded => None,
        }
    }

    fn slot(&self, name: &str) -> Result<Arc<Slot>, EngineError> {
        lock(&self.inner.slots)
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchAccount(name.to_owned()))
    }

    fn record(&self, name: &str) -> AccountRecord {
        self.lock_state()
            .accounts
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Changes one account's record, persists it, and publishes a state change if there was one.
    /// Returns the record as it is now.
    ///
    /// A change of state or of the last error is written before this returns. A routine refresh
    /// (new timestamps, same state) is written behind, at most once per [`STATE_WRITE_DELAY`],
    /// while the scheduler runs: rewriting the whole file for each of 10,000 accounts' refreshes
    /// would cost more than the refreshes, and the keychain already holds the new expiry.
    fn update_record(
        &self,
        name: &str,
        change: impl FnOnce(&mut AccountRecord),
    ) -> Result<AccountRecord, EngineError> {
        let (from, record) = {
            let mut state = self.lock_state();
            let before = state.accounts.get(name).cloned();
            let from = before
                .as_ref()
                .map_or(AccountState::SignedOut, AccountRecord::state);
            let mut record = before.clone().unwrap_or_default();
            change(&mut record);
            let routine = before.as_ref().is_some_and(|b| {
                b.state() == record.state()
                    && b.last_error == record.last_error
                    && b.paused == record.paused
                    && b.notified == record.notified
            });
            if routine && self.inner.scheduler_started.load(Ordering::SeqCst) {
                state.accounts.insert(name.to_owned(), record.clone());
                self.inner.state_dirty.store(true, Ordering::SeqCst);
                self.inner.state_written.notify_one();
            } else {
                // Persist first: an event must never announce a state a restart would forget.
                let mut next = state.clone();
                next.accounts.insert(name.to_owned(), record.clone());
                match next.save(&self.inner.paths.state_file()) {
                    Ok(()) => {
                        *state = next;
                        self.inner.state_dirty.store(false, Ordering::SeqCst);
                        drop(state);
                        self.storage_ok();
                    }
                    Err(e) => {
                        // A full or read-only disk must not stop tokens from flowing (they live
                        // in the keychain): keep the change, say so, and retry the write.
                        *state = next;
                        self.inner.state_dirty.store(true, Ordering::SeqCst);
                        drop(state);
                        self.storage_failed(&e.to_string());
                        self.inner.state_written.notify_one();
                    }
                }
            }
            (from, record)
        };
        let to = record.state();
        if from != to {
            self.wake_jobs(name);
            self.publish(Event::StateChanged {
                account: name.to_owned(),
                from,
                to,
            });
        }
        Ok(record)
    }

    fn update_paused(
        &self,
        select: impl Fn(&str) -> bool,
        paused: bool,
    ) -> Result<usize, EngineError> {
        let mut changes = Vec::new();
        {
            let mut state = self.lock_state();
            let mut next = state.clone();
            for a in self.settings().accounts.iter().filter(|a| select(&a.name)) {
                let record = next.accounts.entry(a.name.clone()).or_default();
                let from = record.state();
                record.paused = paused;
                let to = record.state();
                if from != to {
                    changes.push(Event::StateChanged {
                        account: a.name.clone(),
                        from,
                        to,
                    });
                }
            }
            if changes.is_empty() {
                return Ok(0);
            }
            next.save(&self.inner.paths.state_file())?;
            *state = next;
        }
        let n = changes.len();
        for e in changes {
            if let Event::StateChanged { account, .. } = &e {
                if let Ok(slot) = self.slot(account) {
                    slot.wake.notify_one();
                }
                self.wake_jobs(account);
            }
            self.publish(e);
        }
        Ok(n)
    }

    fn wake_jobs(&self, account: &str) {
        for job in lock(&self.inner.jobs).values() {
            if job.spec.account == account {
                job.wake.notify_one();
            }
        }
    }

    /// Runs a job now (a person asked), if its account is enabled; its schedule starts over.
    pub fn run_job_now(&self, name: &str) -> Result<(), EngineError> {
        let job = lock(&self.inner.jobs)
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::Invalid(format!("no job named {name:?}")))?;
        job.run_now.store(true, Ordering::SeqCst);
        job.wake.notify_one();
        Ok(())
    }

    /// Changes the settings file: reads it fresh (it may have been edited by hand), applies
    /// `change` (which may refuse with a sentence), checks the result, writes it atomically and
    /// reloads. A broken file is never overwritten: loading it fails first.
    pub fn edit_settings(
        &self,
        change: impl FnOnce(&mut Settings) -> Result<(), String>,
    ) -> Result<(), EngineError> {
        // Two edits at once (the GUI runs commands concurrently) must not lose one.
        let _editing = lock(&self.inner.settings_edit);
        let path = self.inner.paths.settings_file();
        let mut settings = Settings::load(&path)?;
        change(&mut settings).map_err(EngineError::Invalid)?;
        settings.check().map_err(EngineError::Invalid)?;
        settings.save(&path)?;
        self.reload()
    }

    /// The account's failure if the person has not been told of this episode yet, marking it
    /// told: the notifier asks, so that each episode is told once, even across restarts.
    pub fn take_notice(&self, name: &str) -> Option<Notice> {
        let current = self.record(name);
        if current.system != Some(AccountState::Error) || current.notified {
            return None;
        }
        let mut fresh = false;
        let record = self
            .update_record(name, |r| {
                if r.system == Some(AccountState::Error) && !r.notified {
                    r.notified = true;
                    fresh = true;
                }
            })
            .ok()?;
        if !fresh {
            return None;
        }
        let error = record.last_error?;
        let provider = self
            .settings()
            .accounts
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.provider.clone())
            .unwrap_or_default();
        Some(Notice {
            account: name.to_owned(),
            provider,
            class: error.class,
            message: error.message,
        })
    }

    /// History since `since`, optionally of one account.
    pub fn history(
        &self,
        account: Option<&str>,
        since: OffsetDateTime,
    ) -> Vec<crate::history::Entry> {
        self.inner.history.read(account, since)
    }

    fn publish(&self, event: Event) {
        tracing::info!(?event, "engine event");
        self.inner.history.record(&event);
        // No subscribers is fine: nobody is listening yet.
        let _ = self.inner.events.send(event);
    }

    /// Writes routine changes to the state file, batched: event-driven, it sleeps until
    /// something is dirty, and while the disk refuses, retries every [`STATE_RETRY`].
    async fn write_state_behind(self) {
        loop {
            self.inner.state_written.notified().await;
            tokio::time::sleep(STATE_WRITE_DELAY).await;
            while self.flush_state().is_err() {
                tokio::time::sleep(STATE_RETRY).await;
            }
        }
    }

    /// Before exiting: stores tokens the keychain refused earlier if it takes them now, and
    /// writes any state not yet in the state file.
    pub fn flush(&self) -> Result<(), EngineError> {
        let slots: Vec<(String, Arc<Slot>)> = lock(&self.inner.slots)
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        for (name, slot) in slots {
            if !slot.unsaved.load(Ordering::SeqCst) {
                continue;
            }
            let Some(tokens) = self.cached(&slot) else {
                continue;
            };
            let spent = lock(&slot.spent).clone();
            match write_back(&self.inner.vault, &name, tokens, spent.as_ref()) {
                VaultRead::WroteBack(Ok(_)) | VaultRead::Newer(_) => {
                    slot.unsaved.store(false, Ordering::SeqCst)
                }
                VaultRead::WroteBack(Err(e)) | VaultRead::Read(Err(e)) => {
                    tracing::error!(account = %name, "the newest tokens are lost with this exit, so the account will need a new sign-in: {e}")
                }
                VaultRead::Read(Ok(_)) => {}
            }
        }
        self.flush_state()
    }

    /// True while some account's newest tokens exist only in memory (the keychain refused them).
    pub fn has_unsaved_tokens(&self) -> bool {
        lock(&self.inner.slots)
            .values()
            .any(|s| s.unsaved.load(Ordering::SeqCst))
    }

    /// Writes any state not yet in the state file.
    fn flush_state(&self) -> Result<(), EngineError> {
        let state = self.lock_state();
        if self.inner.state_dirty.swap(false, Ordering::SeqCst) {
            if let Err(e) = state.save(&self.inner.paths.state_file()) {
                self.inner.state_dirty.store(true, Ordering::SeqCst);
                drop(state);
                self.storage_failed(&e.to_string());
                return Err(e.into());
            }
            drop(state);
            self.storage_ok();
        }
        Ok(())
    }

    fn storage_failed(&self, error: &str) {
        let error = &format!(
            "{error}. Tokens keep working meanwhile (they are in the keychain), and Tokentray writes the file as soon as it can."
        );
        let changed = {
            let mut current = lock(&self.inner.storage_error);
            let changed = current.as_deref() != Some(error);
            *current = Some(error.to_owned());
            changed
        };
        if changed {
            tracing::error!("{error}");
            self.publish(Event::StorageChanged {
                error: Some(error.to_owned()),
            });
        }
    }

    fn storage_ok(&self) {
        if lock(&self.inner.storage_error).take().is_some() {
            tracing::info!("the state file is written again");
            self.publish(Event::StorageChanged { error: None });
        }
    }

    fn lock_state(&self) -> MutexGuard<'_, StateFile> {
        lock(&self.inner.state)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.state_dirty.load(Ordering::SeqCst) {
            if let Err(e) = lock(&self.state).save(&self.paths.state_file()) {
                tracing::warn!("{e}");
            }
        }
    }
}

/// Locks a std Mutex. Every critical section swaps in fully built values, so a poisoned lock
/// still guards consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs a blocking keychain call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, VaultError> + Send + 'static,
) -> Result<T, EngineError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EngineError::Io(format!("a keychain call failed: {e}")))?
        .map_err(EngineError::Vault)
}

fn tokens_need_refresh(t: &TokenSet, now: OffsetDateTime) -> bool {
    t.expires_at
        .is_some_and(|exp| schedule::needs_refresh(t.obtained_at, exp, now))
}

fn still_valid(t: &TokenSet, now: OffsetDateTime) -> bool {
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
    TokenSet {
        access_token: Secret::new(answer.access_token),
        refresh_token: answer
            .refresh_token
            .map(Secret::new)
            .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        id_token: answer
            .id_token
            .map(Secret::new)
            .or_else(|| previous.and_then(|p| p.id_token.clone())),
        // Clamped to ten years: a provider's absurd `expires_in` must not overflow the date.
        expires_at: answer
            .expires_in
            .map(|s| now + time::Duration::seconds(s.min(10 * 365 * 86_400) as i64)),
        obtained_at: now,
        scopes,
    }
}

fn describe(f: &Failure) -> String {
    let mut text = f.advice.clone();
    let code = match (&f.subcode, f.http_status) {
        (Some(sub), Some(st)) => format!(" ({}, {sub}, HTTP {st})", f.code),
        (None, Some(st)) => format!(" ({}, HTTP {st})", f.code),
        (_, None) => format!(" ({})", f.code),
    };
    text.push_str(&code);
    if let Some(d) = &f.description {
        text.push_str(": ");
        text.push_str(d);
    }
    text
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens obtained now that expire in an hour.
    fn for_an_hour(access: &str, refresh: &str) -> TokenSet {
        let now = OffsetDateTime::now_utc();
        TokenSet {
            access_token: Secret::new(access),
            refresh_token: Some(Secret::new(refresh)),
            id_token: None,
            expires_at: Some(now + time::Duration::hours(1)),
            obtained_at: now,
            scopes: vec![],
        }
    }

    fn engine_with(accounts: &[&str]) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let mut text = String::from(
            "[provider.p]\ntoken_url = \"https://p.example/token\"\nclient_id = \"c\"\n",
        );
        for a in accounts {
            text.push_str(&format!("[[account]]\nname = \"{a}\"\nprovider = \"p\"\n"));
        }
        std::fs::create_dir_all(&paths.config_dir).unwrap();
        std::fs::write(paths.settings_file(), text).unwrap();
        let vault = Vault::new(Arc::new(crate::vault::MemoryStore::default()));
        let engine = Engine::with_parts(paths, vault, Arc::new(LazyHttp::default())).unwrap();
        (dir, engine)
    }

    #[test]
    fn settings_edited_from_a_thread_without_a_runtime_schedule_on_the_engines_runtime() {
        let (_dir, e) = engine_with(&["a"]);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async { e.start_scheduler() });
        // A GUI's main thread: no runtime here, and the reload must not panic.
        e.edit_settings(|s| {
            let mut b = s.accounts[0].clone();
            b.name = "b".into();
            s.accounts.push(b);
            Ok(())
        })
        .unwrap();
        let names: Vec<String> = e.status().accounts.into_iter().map(|a| a.name).collect();
        assert_eq!(names, ["a", "b"]);
        let refused = e.edit_settings(|_| Err("no".into())).unwrap_err();
        assert_eq!(refused.code(), "invalid");
    }

    #[test]
    fn no_settings_means_no_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let e = Engine::open(Paths::under(dir.path())).unwrap();
        assert_eq!(e.status(), Status::default());
    }

    #[test]
    fn pause_all_publishes_persists_and_survives_a_restart() {
        let (dir, e) = engine_with(&["a", "b"]);
        let mut rx = e.subscribe();
        assert_eq!(e.set_paused_all(true).unwrap(), 2);
        assert_eq!(
            e.set_paused_all(true).unwrap(),
            0,
            "second pause changes nothing"
        );
        let ev = rx.try_recv().unwrap();
        assert_eq!(
            ev,
            Event::StateChanged {
                account: "a".into(),
                from: AccountState::SignedOut,
                to: AccountState::Paused
            }
        );
        let reopened = Engine::open(Paths::under(dir.path())).unwrap();
        assert!(reopened
            .status()
            .accounts
            .iter()
            .all(|a| a.status == AccountState::Paused));
        reopened.set_paused("b", false).unwrap();
        let states: Vec<_> = reopened
            .status()
            .accounts
            .iter()
            .map(|a| a.status)
            .collect();
        assert_eq!(states, [AccountState::Paused, AccountState::SignedOut]);
    }

    #[test]
    fn pausing_an_unknown_account_says_so() {
        let (_dir, e) = engine_with(&["a"]);
        let err = e.set_paused("zed", true).unwrap_err();
        assert!(matches!(err, EngineError::NoSuchAccount(_)), "{err}");
    }

    /// A token endpoint that always answers with one canned response.
    struct Canned(u16, &'static str);

    impl Http for Canned {
        fn send(&self, _req: HttpRequest) -> crate::http::HttpFuture<'_> {
            let (status, body) = (self.0, self.1);
            Box::pin(async move {
                Ok(crate::http::HttpResponse {
                    status,
                    headers: vec![],
                    body: body.as_bytes().to_vec(),
                })
            })
        }
    }

    async fn engine_answering(
        accounts: &[&str],
        status: u16,
        body: &'static str,
    ) -> (tempfile::TempDir, Engine) {
        let (dir, _) = engine_with(accounts);
        let vault = Vault::new(Arc::new(crate::vault::MemoryStore::default()));
        let e = Engine::with_parts(
            Paths::under(dir.path()),
            vault,
            Arc::new(Canned(status, body)),
        )
        .unwrap();
        for a in accounts {
            let tokens = for_an_hour("at", "rt");
            e.sign_in(a, tokens).await.unwrap();
        }
        (dir, e)
    }

    fn state_of(e: &Engine, name: &str) -> AccountState {
        e.status()
            .accounts
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.status)
            .unwrap()
    }

    #[tokio::test]
    async fn a_lone_account_with_a_dead_grant_is_an_error_at_once() {
        let (_dir, e) = engine_answering(&["a"], 400, r#"{"error":"invalid_grant"}"#).await;
        let report = e.refresh("a").await.unwrap();
        assert_eq!(report.outcome, "permanent");
        assert_eq!(state_of(&e, "a"), AccountState::Error);
        assert!(matches!(
            e.token("a").await,
            Err(EngineError::NeedsRelogin { .. })
        ));
    }

    #[tokio::test]
    async fn most_accounts_of_a_provider_dying_together_is_an_outage_not_an_error() {
        let (_dir, e) =
            engine_answering(&["a", "b", "c"], 400, r#"{"error":"invalid_grant"}"#).await;
        for round in 0..3 {
            for name in ["a", "b", "c"] {
                let report = e.refresh(name).await.unwrap();
                assert_eq!(
                    report.outcome, "transient",
                    "round {round}, {name}: {report:?}"
                );
                assert_ne!(state_of(&e, name), AccountState::Error);
            }
        }
        // The record keeps the provider's real answer for the user to see.
        let st = e.status();
        assert_eq!(
            st.accounts[0].last_error.as_ref().unwrap().class,
            "permanent"
        );
    }

    #[tokio::test]
    async fn one_of_several_accounts_dying_is_confirmed_then_an_error() {
        let (_dir, e) =
            engine_answering(&["a", "b", "c"], 400, r#"{"error":"invalid_grant"}"#).await;
        let first = e.refresh("a").await.unwrap();
        assert_eq!(first.outcome, "transient", "held for confirmation");
        assert_eq!(
            state_of(&e, "a"),
            AccountState::Enabled,
            "token still valid"
        );
        let second = e.refresh("a").await.unwrap();
        assert_eq!(second.outcome, "permanent");
        assert_eq!(state_of(&e, "a"), AccountState::Error);
        assert_eq!(state_of(&e, "b"), AccountState::Enabled);
    }

    #[tokio::test]
    async fn a_config_failure_is_an_error_of_class_config() {
        let (_dir, e) = engine_answering(&["a"], 401, r#"{"error":"invalid_client"}"#).await;
        assert_eq!(e.refresh("a").await.unwrap().outcome, "config");
        assert_eq!(state_of(&e, "a"), AccountState::Error);
        assert!(matches!(
            e.token("a").await,
            Err(EngineError::Config { .. })
        ));
    }

    #[tokio::test]
    async fn a_transient_failure_keeps_serving_a_valid_token_and_backs_off() {
        let (_dir, e) = engine_answering(&["a"], 503, "<html>busy</html>").await;
        let report = e.refresh("a").await.unwrap();
        assert_eq!(report.outcome, "transient");
        assert_eq!(state_of(&e, "a"), AccountState::Enabled);
        assert_eq!(e.token("a").await.unwrap().expose(), "at");
        let st = e.status();
        let next = st.accounts[0].next_refresh.clone().unwrap();
        assert!(next > rfc3339(OffsetDateTime::now_utc() - time::Duration::seconds(1)));
    }

    /// A keychain that refuses writes while `refusing` is set.
    #[derive(Default)]
    struct Refusing {
        inner: crate::vault::MemoryStore,
        refusing: AtomicBool,
    }

    impl crate::vault::SecretStore for Refusing {
        fn get(&self, key: &str) -> Result<Option<Secret>, VaultError> {
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &Secret) -> Result<(), VaultError> {
            if self.refusing.load(Ordering::SeqCst) {
                return Err(VaultError::Locked);
            }
            self.inner.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), VaultError> {
            self.inner.delete(key)
        }
    }

    const ROTATED: &str =
        r#"{"access_token":"at-2","refresh_token":"rt-2","token_type":"Bearer","expires_in":3600}"#;

    async fn rotated_while_refusing() -> (tempfile::TempDir, Engine, Arc<Refusing>) {
        let (dir, _) = engine_with(&["a"]);
        let store = Arc::new(Refusing::default());
        let e = Engine::with_parts(
            Paths::under(dir.path()),
            Vault::new(store.clone()),
            Arc::new(Canned(200, ROTATED)),
        )
        .unwrap();
        let tokens = for_an_hour("at", "rt");
        e.sign_in("a", tokens).await.unwrap();
        store.refusing.store(true, Ordering::SeqCst);
        let report = e.refresh("a").await.unwrap();
        assert_eq!(report.outcome, "transient");
        assert_eq!(report.code.as_deref(), Some("keychain_locked"));
        // The rotated token serves from memory; the keychain still holds the spent one.
        assert_eq!(e.token("a").await.unwrap().expose(), "at-2");
        assert!(e.has_unsaved_tokens());
        store.refusing.store(false, Ordering::SeqCst);
        (dir, e, store)
    }

    fn stored_refresh_token(store: &Refusing) -> Option<String> {
        let raw = crate::vault::SecretStore::get(store, "account:a").unwrap()?;
        let v: serde_json::Value = serde_json::from_str(raw.expose()).unwrap();
        v["refresh_token"].as_str().map(str::to_owned)
    }

    #[tokio::test]
    async fn refused_tokens_are_written_back_over_the_spent_copy() {
        let (_dir, e, store) = rotated_while_refusing().await;
        e.flush().unwrap();
        assert!(!e.has_unsaved_tokens());
        assert_eq!(stored_refresh_token(&store).as_deref(), Some("rt-2"));
    }

    #[tokio::test]
    async fn newer_tokens_in_the_keychain_win_over_refused_ones() {
        let (_dir, e, store) = rotated_while_refusing().await;
        // Meanwhile a sign-in elsewhere stored a new grant.
        let newer = for_an_hour("at-9", "rt-9");
        Vault::new(store.clone()).save_tokens("a", &newer).unwrap();
        e.flush().unwrap();
        assert!(!e.has_unsaved_tokens());
        assert_eq!(stored_refresh_token(&store).as_deref(), Some("rt-9"));
    }

    #[tokio::test]
    async fn a_signed_out_account_has_no_token_and_sign_in_enables_it() {
        let (_dir, e) = engine_with(&["a"]);
        assert!(matches!(e.token("a").await, Err(EngineError::SignedOut(_))));
        let tokens = for_an_hour("at", "rt");
        e.sign_in("a", tokens).await.unwrap();
        assert_eq!(e.token("a").await.unwrap().expose(), "at");
        let s = e.status();
        assert_eq!(s.accounts[0].status, AccountState::Enabled);
        assert!(s.accounts[0].next_refresh.is_some());
    }
}
