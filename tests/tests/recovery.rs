//! Back to work within seconds when the provider or the network returns: the probe cadence while
//! a token is expired, a waiting caller trying at once, the network's return as an event, and
//! a provider's `Retry-After` still honoured. Real engine, real OAuth server, real D-Bus.

use std::time::{Duration, Instant};

use serde_json::json;
use tokentray_tests::desktop::Desktop;
use tokentray_tests::oidc::{OidcServer, Options};
use tokentray_tests::sandbox::Sandbox;
use tokentray_tests::{bins, require_session, wait_until};

/// Tokens for 10 s: the engine refreshes about 5 s in, and the token is dead at 10 s.
fn short_lived_server() -> OidcServer {
    OidcServer::start_with(Options {
        access_ttl: 10,
        ..Default::default()
    })
}

/// The headless engine of `s`, once it answers.
fn headless(s: &Sandbox) -> tokentray_tests::sandbox::Running {
    let engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    engine
}

/// What NetworkManager sends when the machine is connected again (NM_STATE_CONNECTED_GLOBAL),
/// on the test's own bus.
fn network_is_back(desktop: &Desktop) {
    let sent = desktop
        .command("dbus-send")
        .args([
            "--session",
            "--type=signal",
            "/org/freedesktop/NetworkManager",
            "org.freedesktop.NetworkManager.StateChanged",
            "uint32:70",
        ])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// The token endpoint answers 503 for `outage`, starting now; returns the moment it is back.
fn outage(server: &OidcServer, outage: Duration) -> Instant {
    let ms = outage.as_millis() as u64;
    server.fault(json!({"kind": "5xx", "path": "/token", "for_ms": ms}));
    Instant::now() + outage
}

/// Waits until the account is stale (its token dead, the provider still down), then until the
/// provider is back, and returns how long after that the account was enabled.
fn recovery_after(s: &Sandbox, back: Instant, account: &str) -> Duration {
    wait_until("the account to turn stale", Duration::from_secs(60), || {
        s.account_status(account)["status"] == "stale"
    });
    assert!(
        Instant::now() < back,
        "the account must turn stale during the outage"
    );
    std::thread::sleep(back.saturating_duration_since(Instant::now()));
    wait_until("the account to work again", Duration::from_secs(60), || {
        s.account_status(account)["status"] == "enabled"
    });
    back.elapsed()
}

#[test]
fn after_a_20_s_provider_outage_the_account_works_within_10_s() {
    require_session();
    let server = short_lived_server();
    let s = Sandbox::new();
    s.sign_in(&server, "ona", "ona");
    let back = outage(&server, Duration::from_secs(20));
    let mut engine = headless(&s);
    let took = recovery_after(&s, back, "ona");
    println!(
        "recovered {:.1} s after the provider came back",
        took.as_secs_f64()
    );
    assert!(
        took <= Duration::from_secs(10),
        "the account worked only {took:?} after the provider came back"
    );
    // It never looked dead: the history has no turn to error.
    let history = std::fs::read_to_string(s.state_dir().join("history.jsonl")).unwrap_or_default();
    assert!(history.contains("refresh_failed"), "{history}");
    assert!(!history.contains("\"to\":\"error\""), "{history}");
    engine.terminate();
}

#[test]
fn after_a_5_minute_provider_outage_the_account_works_within_10_s() {
    require_session();
    // Long by design (tests/nextest.toml allows it 10 minutes).
    tokentray_tests::deadline::watchdog_after(Duration::from_secs(540));
    let server = short_lived_server();
    let s = Sandbox::new();
    s.sign_in(&server, "otto", "otto");
    let back = outage(&server, Duration::from_secs(300));
    let mut engine = headless(&s);
    let before = server.refresh_count();
    let took = recovery_after(&s, back, "otto");
    println!(
        "recovered {:.1} s after the provider came back",
        took.as_secs_f64()
    );
    assert!(
        took <= Duration::from_secs(10),
        "the account worked only {took:?} after the provider came back"
    );
    // Probing, not hammering: a try every few seconds over the five minutes.
    let tries = server.refresh_count() - before;
    assert!(
        (20..=150).contains(&tries),
        "{tries} refresh requests in a 5-minute outage"
    );
    engine.terminate();
}

#[test]
fn a_token_caller_waiting_through_an_outage_gets_one_within_2_s_of_the_return() {
    require_session();
    let server = short_lived_server();
    let s = Sandbox::new();
    s.sign_in(&server, "pia", "pia");
    let mut engine = headless(&s);
    // Down until well past the token's death; the caller keeps asking, as a script would.
    let back = outage(&server, Duration::from_secs(30));
    wait_until("the account to turn stale", Duration::from_secs(60), || {
        s.account_status("pia")["status"] == "stale"
    });
    let mut failed = 0;
    let (asking_since, requests_before) = (Instant::now(), server.refresh_count());
    let first_token = loop {
        let out = s.cli(&["token", "pia"]);
        if out.status.success() {
            break Instant::now();
        }
        assert_eq!(
            out.status.code(),
            Some(4),
            "a temporary failure while it is down"
        );
        failed += 1;
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "no token 30 s after the provider came back"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let after = first_token.saturating_duration_since(back);
    println!(
        "first token {:.1} s after the provider came back",
        after.as_secs_f64()
    );
    assert!(failed > 0, "the caller asked during the outage");
    // Four calls a second, but at most one try a second reaches the provider (plus the
    // schedule's own probes): a script in a loop is not a storm.
    let requests = server.refresh_count() - requests_before;
    let allowed = asking_since.elapsed().as_secs_f64() * 1.5 + 3.0;
    assert!(
        (requests as f64) <= allowed,
        "{requests} token requests for {failed} calls in {:?}",
        asking_since.elapsed()
    );
    assert!(
        after <= Duration::from_secs(2),
        "the waiting caller got a token only {after:?} after the provider came back"
    );
    engine.terminate();
}

#[test]
fn the_network_coming_back_rechecks_at_once() {
    require_session();
    let server = short_lived_server();
    // Its own bus: the connectivity signal reaches this test's engine only.
    let desktop = Desktop::start();
    let mut s = desktop.sandbox();
    s.set_env("TOKENTRAY_NM_BUS", "session");
    s.sign_in(&server, "nel", "nel");
    // No answer at all (the connection dropped): the network, not the provider.
    server.fault(json!({"kind": "drop", "path": "/token"}));
    let mut engine = headless(&s);
    // Three tries: the next one is at least 10 s away now (the probe wait grows to 30 s while
    // only the network is missing, since its return is an event).
    let start = server.refresh_count();
    wait_until("three failed tries", Duration::from_secs(90), || {
        server.refresh_count() >= start + 3
    });
    // The last failure recorded (the account turns stale in the same write as its next try).
    wait_until("the account to turn stale", Duration::from_secs(30), || {
        s.account_status("nel")["status"] == "stale"
    });
    server.clear_faults();
    let tries = server.refresh_count();
    let sent = Instant::now();
    network_is_back(&desktop);
    wait_until(
        "the re-check after the network came back",
        Duration::from_secs(6),
        || s.account_status("nel")["status"] == "enabled",
    );
    println!(
        "working {:.1} s after the signal",
        sent.elapsed().as_secs_f64()
    );
    assert_eq!(server.refresh_count(), tries + 1, "one try, at once");
    engine.terminate();
    assert!(
        engine.output().contains("the network is back"),
        "{}",
        engine.output()
    );
}

#[test]
fn a_retry_after_is_honoured_by_the_schedule_callers_and_the_network() {
    require_session();
    let server = short_lived_server();
    let desktop = Desktop::start();
    let mut s = desktop.sandbox();
    s.set_env("TOKENTRAY_NM_BUS", "session");
    s.sign_in(&server, "rae", "rae");
    // The token is dead 10 s after the sign-in.
    let dead = Instant::now() + Duration::from_secs(11);
    server.fault(json!({
        "kind": "status", "path": "/token", "status": 429, "count": 1,
        "headers": {"retry-after": "120"},
        "body": {"error": "slow_down"},
    }));
    let mut engine = headless(&s);
    let start = server.refresh_count();
    wait_until("the 429", Duration::from_secs(30), || {
        server.refresh_count() > start
    });
    let asked = server.refresh_count();
    // The token dies while the provider asked to be left alone: a caller, the schedule and a
    // network event all wait.
    std::thread::sleep(dead.saturating_duration_since(Instant::now()));
    let out = s.cli(&["token", "rae"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "temporary: the provider asked to wait"
    );
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        said.contains("slow_down") && said.contains("asked to wait"),
        "{said}"
    );
    assert_eq!(
        s.account_status("rae")["status"],
        "stale",
        "no working token: the account says so"
    );
    network_is_back(&desktop);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        server.refresh_count(),
        asked,
        "nobody asked before Retry-After ran out"
    );
    let next: time::OffsetDateTime = time::OffsetDateTime::parse(
        s.account_status("rae")["next_refresh"]
            .as_str()
            .unwrap_or_default(),
        &time::format_description::well_known::Rfc3339,
    )
    .expect("a next refresh");
    let wait = next - time::OffsetDateTime::now_utc();
    assert!(
        wait > time::Duration::seconds(90),
        "the next try is {wait} away, not after the 120 s asked for"
    );
    engine.terminate();
}

#[test]
fn a_due_job_on_a_stale_account_tries_at_once() {
    require_session();
    let server = short_lived_server();
    let s = Sandbox::new();
    s.sign_in(&server, "jay", "jay");
    let url = format!("{}/api/whoami", server.issuer());
    let added = s.cli(&[
        "job",
        "add",
        "warm",
        "--account",
        "jay",
        "--url",
        &url,
        "--every",
        "1s",
    ]);
    assert!(
        added.status.success(),
        "{}",
        tokentray_tests::output_text(&added)
    );
    // No answer at all: without a caller the next try would be at least 10 s after the third.
    server.fault(json!({"kind": "drop", "path": "/token"}));
    let mut engine = headless(&s);
    wait_until("the account to turn stale", Duration::from_secs(60), || {
        s.account_status("jay")["status"] == "stale"
    });
    let start = server.refresh_count();
    wait_until("three more failed tries", Duration::from_secs(90), || {
        server.refresh_count() >= start + 3
    });
    server.clear_faults();
    let back = Instant::now();
    // The held job is a caller: when its turn comes it asks, and the account works again.
    wait_until(
        "the job's try after the return",
        Duration::from_secs(5),
        || s.account_status("jay")["status"] == "enabled",
    );
    println!(
        "working {:.1} s after the return",
        back.elapsed().as_secs_f64()
    );
    engine.terminate();
}
