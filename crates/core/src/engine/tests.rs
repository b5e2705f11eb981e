//! The engine's unit tests: states, the outage rule, refused keychain writes, settings edits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use time::OffsetDateTime;

use super::tokens::rfc3339;
use super::*;
use crate::accounts::AccountState;
use crate::events::Event;
use crate::http::{Http, HttpRequest, LazyHttp};
use crate::oauth::classify::FailureClass;
use crate::paths::Paths;
use crate::secret::Secret;
use crate::status::Status;
use crate::vault::{TokenSet, Vault, VaultError};

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
        refresh_expires_at: None,
    }
}

fn engine_with(accounts: &[&str]) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    let mut text =
        String::from("[provider.p]\ntoken_url = \"https://p.example/token\"\nclient_id = \"c\"\n");
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
    assert_eq!(report.outcome, RefreshOutcome::Permanent);
    assert_eq!(state_of(&e, "a"), AccountState::Error);
    assert!(matches!(
        e.token("a").await,
        Err(EngineError::NeedsRelogin { .. })
    ));
}

#[tokio::test]
async fn most_accounts_of_a_provider_dying_together_is_an_outage_not_an_error() {
    let (_dir, e) = engine_answering(&["a", "b", "c"], 400, r#"{"error":"invalid_grant"}"#).await;
    for round in 0..3 {
        for name in ["a", "b", "c"] {
            let report = e.refresh(name).await.unwrap();
            assert_eq!(
                report.outcome,
                RefreshOutcome::Transient,
                "round {round}, {name}: {report:?}"
            );
            assert_ne!(state_of(&e, name), AccountState::Error);
        }
    }
    // The record keeps the provider's real answer for the user to see.
    let st = e.status();
    assert_eq!(
        st.accounts[0].last_error.as_ref().unwrap().class,
        FailureClass::Permanent
    );
}

#[tokio::test]
async fn one_of_several_accounts_dying_is_confirmed_then_an_error() {
    let (_dir, e) = engine_answering(&["a", "b", "c"], 400, r#"{"error":"invalid_grant"}"#).await;
    let first = e.refresh("a").await.unwrap();
    assert_eq!(
        first.outcome,
        RefreshOutcome::Transient,
        "held for confirmation"
    );
    assert_eq!(
        state_of(&e, "a"),
        AccountState::Enabled,
        "token still valid"
    );
    let second = e.refresh("a").await.unwrap();
    assert_eq!(second.outcome, RefreshOutcome::Permanent);
    assert_eq!(state_of(&e, "a"), AccountState::Error);
    assert_eq!(state_of(&e, "b"), AccountState::Enabled);
}

#[tokio::test]
async fn a_config_failure_is_an_error_of_class_config() {
    let (_dir, e) = engine_answering(&["a"], 401, r#"{"error":"invalid_client"}"#).await;
    assert_eq!(
        e.refresh("a").await.unwrap().outcome,
        RefreshOutcome::Config
    );
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
    assert_eq!(report.outcome, RefreshOutcome::Transient);
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
    assert_eq!(report.outcome, RefreshOutcome::Transient);
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

#[tokio::test]
async fn after_shutdown_no_refresh_spends_a_token_and_tasks_end() {
    let (_dir, e) = engine_answering(&["a"], 200, ROTATED).await;
    e.start_scheduler();
    e.shutdown(std::time::Duration::from_secs(5)).await.unwrap();
    let err = e.refresh("a").await.unwrap_err();
    assert!(matches!(err, EngineError::ShuttingDown), "{err}");
    // The token still serves while it is valid: shutting down refuses new refreshes only.
    assert_eq!(e.token("a").await.unwrap().expose(), "at");
    // The scheduler's and the state writer's tasks hold clones of the engine: once they end,
    // this is the last one.
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while Arc::strong_count(&e.inner) > 1 {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("every engine task ended");
}

/// A token endpoint that asks to be left alone for two minutes, and counts who did not.
#[derive(Default)]
struct Throttling(std::sync::atomic::AtomicU32);

impl Http for Throttling {
    fn send(&self, _req: HttpRequest) -> crate::http::HttpFuture<'_> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            Ok(crate::http::HttpResponse {
                status: 429,
                headers: vec![("retry-after".into(), "120".into())],
                body: br#"{"error":"slow_down"}"#.to_vec(),
            })
        })
    }
}

#[tokio::test]
async fn a_retry_after_holds_back_waiting_callers_and_the_network_coming_back() {
    let (dir, _) = engine_with(&["a"]);
    let http = Arc::new(Throttling::default());
    let vault = Vault::new(Arc::new(crate::vault::MemoryStore::default()));
    let e = Engine::with_parts(Paths::under(dir.path()), vault, http.clone()).unwrap();
    let mut expired = for_an_hour("at", "rt");
    expired.expires_at = Some(OffsetDateTime::now_utc() - time::Duration::seconds(1));
    e.sign_in("a", expired).await.unwrap();

    // The caller needs a token now: it tries at once, whatever the schedule says.
    let err = e.token("a").await.unwrap_err();
    assert_eq!(err.code(), "temporary");
    assert_eq!(http.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        state_of(&e, "a"),
        AccountState::Stale,
        "nothing works: stale"
    );
    let asked = e
        .record("a")
        .not_before
        .expect("the provider's Retry-After is kept");
    assert!(asked > OffsetDateTime::now_utc() + time::Duration::seconds(110));

    // Until then neither another caller nor the network's return asks again.
    let err = e.token("a").await.unwrap_err();
    assert!(err.to_string().contains("asked to wait"), "{err}");
    assert_eq!(e.network_back(), 0);
    assert_eq!(
        http.0.load(Ordering::SeqCst),
        1,
        "nobody asked before Retry-After"
    );
}

#[tokio::test]
async fn the_network_coming_back_rechecks_every_account_waiting_out_a_failure() {
    let (_dir, e) = engine_answering(&["a", "b"], 503, "<html>busy</html>").await;
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(10);
    // `a` waits out a failure; `b` is fine and has nothing to retry.
    e.update_record("a", |r| r.retry_at = Some(later));
    assert_eq!(e.network_back(), 1);
    let retry = e.record("a").retry_at.expect("a retry");
    assert!(retry <= OffsetDateTime::now_utc(), "due now: {retry}");
    assert_eq!(e.record("b").retry_at, None);
}
