//! The operation surface: one catalog, typed requests, the same validation and error codes for
//! every caller.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::caller::Consent;
use crate::http::LazyHttp;
use crate::paths::Paths;
use crate::vault::{MemoryStore, Vault};

/// A desk that remembers what it was asked and has no clipboard.
#[derive(Default)]
struct TestDesk {
    activated: Mutex<Vec<bool>>,
    opened: Mutex<Vec<String>>,
    autostart: AtomicBool,
    /// What the person answers about a caller (nobody, if unset).
    consent: Mutex<Option<Consent>>,
    /// Who the person was asked about.
    asked: Mutex<Vec<(String, Caller)>>,
}

impl Desk for TestDesk {
    fn kind(&self) -> &'static str {
        "test"
    }
    fn activate(&self, open_dashboard: bool) {
        self.activated.lock().unwrap().push(open_dashboard);
    }
    fn copy_secret(&self, _: &Secret, _: Duration) -> bool {
        false
    }
    fn open_url(&self, url: &str) -> Result<(), String> {
        self.opened.lock().unwrap().push(url.to_owned());
        Ok(())
    }
    fn open_folder(&self, path: &Path) -> Result<(), String> {
        self.opened.lock().unwrap().push(path.display().to_string());
        Ok(())
    }
    fn autostart(&self) -> bool {
        self.autostart.load(Ordering::SeqCst)
    }
    fn set_autostart(&self, on: bool) -> Result<(), String> {
        self.autostart.store(on, Ordering::SeqCst);
        Ok(())
    }
    fn ask_caller(
        &self,
        account: &str,
        caller: &Caller,
        _: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Consent> + Send + 'static>> {
        self.asked
            .lock()
            .unwrap()
            .push((account.to_owned(), caller.clone()));
        let answer = self
            .consent
            .lock()
            .unwrap()
            .clone()
            .unwrap_or(Consent::NobodyToAsk("nobody is here".into()));
        Box::pin(std::future::ready(answer))
    }
}

/// A program run by a shell.
fn git() -> Caller {
    Caller {
        program: Some("/usr/bin/git".into()),
        parent: Some("/usr/bin/bash".into()),
        through_cli: true,
    }
}

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::under(dir.path());
    std::fs::create_dir_all(&paths.config_dir).unwrap();
    std::fs::write(
        paths.settings_file(),
        "[provider.p]\ntoken_url = \"https://p.example/token\"\nclient_id = \"c\"\n\
         [[account]]\nname = \"a\"\nprovider = \"p\"\n",
    )
    .unwrap();
    let vault = Vault::new(Arc::new(MemoryStore::default()));
    let engine = Engine::with_parts(paths, vault, Arc::new(LazyHttp::default())).unwrap();
    (dir, engine)
}

fn op(json: serde_json::Value) -> Op {
    serde_json::from_value(json).unwrap()
}

async fn run(engine: &Engine, desk: &TestDesk, json: serde_json::Value) -> Result<Value, OpError> {
    perform(engine, desk, &git(), op(json)).await
}

async fn run_as(
    engine: &Engine,
    desk: &TestDesk,
    caller: &Caller,
    json: serde_json::Value,
) -> Result<Value, OpError> {
    perform(engine, desk, caller, op(json)).await
}

#[tokio::test]
async fn an_asking_account_hands_its_token_only_to_programs_the_person_allows() {
    let (_dir, engine) = engine();
    let desk = TestDesk::default();
    let token = json!({"op": "token", "account": "a"});
    // The default: no question, the engine answers (here: not signed in).
    let e = run(&engine, &desk, token.clone()).await.unwrap_err();
    assert_eq!(e.code, "signed_out");
    assert!(desk.asked.lock().unwrap().is_empty());

    run(
        &engine,
        &desk,
        json!({"op": "set_account", "account": "a", "callers": "ask"}),
    )
    .await
    .unwrap();
    // Nobody to ask: refused with the sentence that says how to allow it ahead.
    let e = run(&engine, &desk, token.clone()).await.unwrap_err();
    assert_eq!(e.code, "not_allowed");
    assert!(e.message.contains("--allow /usr/bin/git"), "{}", e.message);
    // Deny, then once: once lets this request through and remembers nothing.
    *desk.consent.lock().unwrap() = Some(Consent::Deny);
    let e = run(&engine, &desk, token.clone()).await.unwrap_err();
    assert_eq!(e.code, "not_allowed");
    assert!(
        e.message
            .contains("/usr/bin/git (started by /usr/bin/bash)"),
        "{}",
        e.message
    );
    *desk.consent.lock().unwrap() = Some(Consent::Once);
    assert_eq!(
        run(&engine, &desk, token.clone()).await.unwrap_err().code,
        "signed_out"
    );
    assert!(engine.settings().accounts[0].allowed_callers.is_empty());
    // Always: on the list, and never asked again.
    *desk.consent.lock().unwrap() = Some(Consent::Always);
    assert_eq!(
        run(&engine, &desk, token.clone()).await.unwrap_err().code,
        "signed_out"
    );
    assert_eq!(
        engine.settings().accounts[0].allowed_callers,
        ["/usr/bin/git"]
    );
    let asked = desk.asked.lock().unwrap().len();
    *desk.consent.lock().unwrap() = Some(Consent::Deny);
    assert_eq!(
        run(&engine, &desk, token.clone()).await.unwrap_err().code,
        "signed_out"
    );
    assert_eq!(desk.asked.lock().unwrap().len(), asked);
    // Another program is asked about; `exec` names the command it runs, heeded only from the CLI.
    let exec = json!({"op": "token", "account": "a", "on_behalf_of": "/usr/bin/gh"});
    assert_eq!(
        run(&engine, &desk, exec.clone()).await.unwrap_err().code,
        "not_allowed"
    );
    let last = desk.asked.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(last.program.as_deref(), Some("/usr/bin/gh"));
    assert_eq!(last.parent.as_deref(), Some("/usr/bin/git"));
    let direct = Caller {
        through_cli: false,
        ..git()
    };
    // From a program that speaks to the socket itself, the claim is ignored: it is git asking.
    assert_eq!(
        run_as(&engine, &desk, &direct, exec)
            .await
            .unwrap_err()
            .code,
        "signed_out"
    );
    // A program that cannot be told is refused without asking.
    let e = run_as(&engine, &desk, &Caller::default(), token.clone())
        .await
        .unwrap_err();
    assert_eq!(e.code, "not_allowed");
    // Revoked: asked again.
    let left = run(
        &engine,
        &desk,
        json!({"op": "revoke_caller", "account": "a", "program": "/usr/bin/git"}),
    )
    .await
    .unwrap();
    assert_eq!(left, json!([]));
    assert_eq!(
        run(&engine, &desk, token).await.unwrap_err().code,
        "not_allowed"
    );
}

use serde_json::{json, Value};

#[test]
fn every_name_is_unique_and_names_its_request() {
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in CATALOG {
        assert!(seen.insert(*name), "{name} twice");
    }
    assert_eq!(op(json!({"op": "status"})).name(), "status");
    assert_eq!(op(json!({"op": "token", "account": "a"})).name(), "token");
}

#[test]
fn the_dashboard_cannot_ask_for_anything_that_answers_or_takes_a_secret() {
    let dashboard: Vec<&str> = dashboard_operations().collect();
    for secret in [
        "token",
        "rejected",
        "import",
        "login",
        "add_provider",
        "subscribe",
    ] {
        assert!(
            !dashboard.contains(&secret),
            "{secret} must stay off the page"
        );
    }
    assert!(dashboard.contains(&"status") && dashboard.contains(&"copy_token"));
}

#[test]
fn a_request_with_a_token_never_shows_it_in_debug() {
    let rejected = op(json!({"op": "rejected", "account": "a", "token": "tok-secret-42"}));
    let shown = format!("{rejected:?}");
    assert_eq!(shown, "Op(rejected, \"a\")");
    // The wire form carries it (the user's own socket), as it came.
    assert_eq!(
        serde_json::to_value(&rejected).unwrap()["token"],
        "tok-secret-42"
    );
}

#[tokio::test]
async fn validation_and_codes_are_the_same_for_every_caller() {
    let (_dir, engine) = engine();
    let desk = TestDesk::default();
    let job = |every: &str, account: &str, url: &str| {
        json!({"op": "save_job", "new": true, "job": {
            "name": "j", "account": account, "url": url, "method": "get", "every": every,
        }})
    };
    let code_of = |r: Result<Value, OpError>| r.unwrap_err().code;
    assert_eq!(
        code_of(run(&engine, &desk, job("soon", "a", "https://x.example/")).await),
        code::BAD_ARGUMENT
    );
    assert_eq!(
        code_of(run(&engine, &desk, job("5m", "nope", "https://x.example/")).await),
        "no_such_account"
    );
    assert_eq!(
        code_of(run(&engine, &desk, job("5m", "a", "http://x.example/")).await),
        code::BAD_ARGUMENT,
        "plain http to another host"
    );
    run(&engine, &desk, job("5m", "a", "https://x.example/?key=k"))
        .await
        .unwrap();
    assert_eq!(engine.settings().jobs[0].method, "GET");
    assert_eq!(
        code_of(run(&engine, &desk, job("5m", "a", "https://x.example/")).await),
        code::INVALID,
        "a new job may not replace one"
    );
    // An edit from the page (no query, no headers) keeps what the page never saw.
    let mut edit = job("10m", "a", "https://x.example/");
    edit["new"] = json!(false);
    run(&engine, &desk, edit).await.unwrap();
    assert_eq!(engine.settings().jobs[0].url, "https://x.example/?key=k");
    assert_eq!(engine.settings().jobs[0].every, "10m");

    let err = run(&engine, &desk, json!({"op": "remove_job", "name": "zz"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, code::INVALID);
    assert!(err.message.contains("job list"), "{}", err.message);

    let account = |name: &str, provider: &str| {
        json!({"op": "add_account", "name": name,
               "source": {"kind": "existing", "value": provider}})
    };
    run(&engine, &desk, account("b", "p")).await.unwrap();
    assert_eq!(
        code_of(run(&engine, &desk, account("b", "p")).await),
        code::INVALID
    );
    assert_eq!(
        code_of(run(&engine, &desk, account("c", "none")).await),
        code::INVALID
    );
    assert_eq!(
        code_of(run(&engine, &desk, account("two words", "p")).await),
        code::BAD_ARGUMENT
    );
    assert_eq!(
        code_of(
            run(
                &engine,
                &desk,
                json!({"op": "set_notify", "class": "transient", "on": true})
            )
            .await
        ),
        code::BAD_ARGUMENT
    );

    // A person's reading of a code is kept in the settings, and can be taken back.
    let set = json!({"op": "set_class", "provider": "p", "code": "weird", "class": "permanent"});
    run(&engine, &desk, set).await.unwrap();
    let p = engine.settings().providers["p"].clone();
    assert_eq!(p.errors.codes.get("weird"), Some(&FailureClass::Permanent));
    let unset = json!({"op": "set_class", "provider": "p", "code": "weird"});
    run(&engine, &desk, unset).await.unwrap();
    assert!(engine.settings().providers["p"].errors.is_empty());
    let nobody = json!({"op": "set_class", "provider": "zz", "code": "x", "class": "config"});
    assert_eq!(code_of(run(&engine, &desk, nobody).await), code::INVALID);
}

#[tokio::test]
async fn the_desk_does_the_desktop_part() {
    let (_dir, engine) = engine();
    let desk = TestDesk::default();
    let ping = run(&engine, &desk, json!({"op": "ping"})).await.unwrap();
    assert_eq!(ping["kind"], "test");
    assert_eq!(ping["protocol"], PROTOCOL);
    run(
        &engine,
        &desk,
        json!({"op": "activate", "open_dashboard": true}),
    )
    .await
    .unwrap();
    assert_eq!(*desk.activated.lock().unwrap(), [true]);
    run(&engine, &desk, json!({"op": "set_autostart", "on": true}))
        .await
        .unwrap();
    let app = run(&engine, &desk, json!({"op": "app_settings"}))
        .await
        .unwrap();
    assert_eq!(app["autostart"], true);
    // Not signed in: the engine's own code, not a string.
    let err = run(&engine, &desk, json!({"op": "copy_token", "account": "a"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, "signed_out");
    let err = run(&engine, &desk, json!({"op": "subscribe"}))
        .await
        .unwrap_err();
    assert_eq!(err.code, code::UNSUPPORTED);
}
