//! The dashboard in the real webview (WebKitWebDriver through `tauri-driver`, under Xvfb),
//! against the real OAuth server: the add-account wizard, sign-in with the scripted user, a dead
//! grant shown with its Re-login button, overruling how its code is read, the re-login, history,
//! and every IPC command's answer searched for tokens. Screenshots of each screen land in `target/screenshots/dashboard/`.

use std::time::Duration;

use serde_json::json;
use tokentray_tests::desktop::Desktop;
use tokentray_tests::oidc::OidcServer;
use tokentray_tests::webdriver::Dashboard;
use tokentray_tests::{bins, output_text as text, require_session, wait_until};

const WAIT: Duration = Duration::from_secs(30);

fn card_status_is(account: &str, status: &str) -> String {
    format!(
        "const c = document.querySelector('.card[data-account=\"{account}\"]'); \
         return !!c && c.dataset.status === '{status}';"
    )
}

#[test]
fn the_wizard_signs_in_and_a_dead_grant_is_fixed_with_one_click() {
    require_session();
    let server = OidcServer::start();
    // A bus of its own: this app's notifications and tray stay out of other tests' way.
    let desktop = Desktop::start();
    let mut s = desktop.sandbox();
    s.use_scripted_user("alice");
    let shots = bins::repo_root().join("target/screenshots/dashboard");
    // The tray app runs the engine; the dashboard is a process of its own that talks to it.
    let mut app = s.spawn(bins::app(), &["--minimized"], "app.log");
    s.wait_for_engine(Duration::from_secs(60));
    let dash = Dashboard::start(&s, &bins::app(), &["--dashboard"], &shots);

    dash.wait_for("#empty", WAIT);
    dash.screenshot("1-no-accounts");
    // The production build (tauri's custom-protocol) enforces the content security policy of
    // tauri.conf.json: a script injected into the page does not run.
    let injected = dash.run(
        "const s = document.createElement('script'); \
         s.textContent = 'window.__injected = true'; document.head.appendChild(s); \
         return window.__injected === true;",
        vec![],
    );
    assert_eq!(
        injected,
        serde_json::Value::Bool(false),
        "an injected inline script ran: the dashboard has no content security policy"
    );

    // The wizard: a preset says what to register there and refuses a client id of the wrong
    // shape for its public service...
    dash.click("#open-wizard");
    dash.click("#presets button[data-preset='github']");
    dash.wait_until(
        "the GitHub registration guide",
        "const r = document.querySelector('#registration'); \
         return !r.hidden && r.textContent.includes('http://127.0.0.1/callback') \
           && r.textContent.includes('https://github.com/settings/apps/new');",
        WAIT,
    );
    dash.type_into("#account-name", "gh");
    dash.type_into("#client-id", "my-app");
    dash.screenshot("2a-preset-github");
    dash.click("#wizard-add");
    dash.wait_until(
        "the client id refused",
        "const e = document.querySelector('#wizard-error'); \
         return !e.hidden && e.textContent.includes('is not a github client id');",
        WAIT,
    );
    dash.run(
        "for (const id of ['account-name', 'client-id']) document.getElementById(id).value = ''; \
         return true;",
        vec![],
    );
    // ...then discovery from the issuer, and the account.
    dash.type_into("#issuer", server.issuer());
    dash.click("#discover");
    dash.wait_until(
        "the discovered endpoints",
        "return document.querySelector('#endpoints').textContent.includes('Tokens:');",
        WAIT,
    );
    dash.type_into("#account-name", "work");
    dash.type_into("#client-id", "tokentray");
    dash.type_into("#scopes", "openid offline_access api");
    dash.screenshot("2-add-account");
    dash.click("#wizard-add");
    // The app opened the browser: the scripted user signs in.
    dash.wait_until(
        "the account enabled",
        &card_status_is("work", "enabled"),
        WAIT,
    );
    dash.screenshot("3-signed-in");

    // The grant dies at the provider; "Refresh now" finds out.
    server.revoke("alice");
    dash.click(".card[data-account='work'] [data-action='refresh']");
    dash.wait_until(
        "the account in error",
        &card_status_is("work", "error"),
        WAIT,
    );
    let problem = dash.text(".card[data-account='work'] .problem");
    assert!(problem.contains("re-login"), "{problem}");
    assert_eq!(
        dash.text(".card[data-account='work'] [data-action='sign-in']"),
        "Re-login"
    );
    dash.screenshot("4-needs-re-login");
    // The card says it once: no message line repeating it, no countdown of a dead token, but
    // when it failed and what fixes it; the account named after its provider shows the name once.
    let said = dash.run(
        "const c = document.querySelector('.card[data-account=\"work\"]'); \
         const t = document.querySelector('#toast'); \
         return [t.hidden || !t.textContent.includes('work'), \
                 c.querySelector('.times').innerText.replace(/\\s+/g, ' ').trim(), \
                 c.querySelector('.provider').textContent];",
        vec![],
    );
    assert_eq!(
        said[0],
        json!(true),
        "the failure is repeated above the card: {said}"
    );
    let times = said[1].as_str().unwrap_or_default();
    assert!(
        times.starts_with("Failed") && times.contains("What fixes it signing in again"),
        "{times}"
    );
    assert!(
        !times.contains("in 0:"),
        "a dead token counts down: {times}"
    );
    assert_eq!(said[2], json!(""), "{said}");

    // The person overrules how the provider's code is read, and takes it back (issue 16).
    let verdict = ".card[data-account='work'] .verdict";
    assert!(
        dash.text(verdict).contains("invalid_grant"),
        "{}",
        dash.text(verdict)
    );
    dash.run(
        &format!(
            "const s = document.querySelector(\"{verdict} select\"); s.value = 'transient'; \
             s.dispatchEvent(new Event('change'));"
        ),
        vec![],
    );
    dash.screenshot("4b-overrule-a-code");
    dash.click(&format!("{verdict} button[type='submit']"));
    let settings_file = s.config_dir().join("settings.toml");
    let overruled = || std::fs::read_to_string(&settings_file).unwrap_or_default();
    wait_until("the class in the settings", WAIT, || {
        overruled().contains("invalid_grant = \"transient\"")
    });
    assert!(
        dash.text("#toast").contains("retry later"),
        "{}",
        dash.text("#toast")
    );
    dash.run(
        &format!(
            "const s = document.querySelector(\"{verdict} select\"); s.value = 'default'; \
             s.dispatchEvent(new Event('change'));"
        ),
        vec![],
    );
    dash.click(&format!("{verdict} button[type='submit']"));
    wait_until("the class gone from the settings", WAIT, || {
        !overruled().contains("invalid_grant")
    });

    dash.click(".card[data-account='work'] [data-action='sign-in']");
    dash.wait_until(
        "the account enabled again",
        &card_status_is("work", "enabled"),
        WAIT,
    );
    let token = s.token("work");
    assert_eq!(server.whoami(&token), (200, "alice".into()));

    // History: the timeline shows the refreshes and state changes.
    dash.click(".card[data-account='work'] [data-action='details']");
    dash.wait_for(".card[data-account='work'] .timeline svg circle", WAIT);
    dash.screenshot("5-history");

    // A token minted for another scope shows on the card (what for, when it expires; never the
    // token), and so do the programs an asking account always allows, each revocable.
    let out = s.cli(&["token", "work", "--scope", "openid"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["account", "set", "work", "--callers", "ask"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = s.cli(&["account", "callers", "work", "--allow", "/usr/bin/git"]);
    assert!(out.status.success(), "{}", text(&out));
    dash.wait_until(
        "the variant and the allowed program on the card",
        "const c = document.querySelector('.card[data-account=\"work\"]'); \
         return !!c && c.querySelector('.variants li')?.textContent.startsWith('openid — expires in') \
           && !!c.querySelector('.callers li[data-program=\"/usr/bin/git\"]');",
        WAIT,
    );
    dash.screenshot("5b-variants-and-callers");
    dash.click(".card[data-account='work'] .callers li button");
    wait_until("the program revoked", WAIT, || {
        s.account_status("work")["allowed_callers"].is_null()
    });
    let out = s.cli(&["account", "set", "work", "--callers", "allow"]);
    assert!(out.status.success(), "{}", text(&out));
    // The redraw that follows is over before the next step starts typing.
    dash.wait_until(
        "the card without the callers",
        "return document.querySelector('.card[data-account=\"work\"] .callers')?.hidden === true;",
        WAIT,
    );

    // An engine event redraws the cards; what the person is in the middle of survives it: the
    // open event list, the field being typed in, its text and its caret.
    dash.click(".card[data-account='work'] details summary");
    dash.type_into(".card[data-account='work'] .job-form [name='name']", "warm");
    let before = dash.run(
        "return document.querySelectorAll('.card[data-account=\"work\"] .events li').length;",
        vec![],
    );
    assert!(s.cli(&["refresh", "work"]).status.success());
    dash.wait_until(
        "the redraw after the refresh",
        &format!(
            "return document.querySelectorAll('.card[data-account=\"work\"] .events li').length > {before};"
        ),
        WAIT,
    );
    let kept = dash.run(
        "const a = document.activeElement; \
         return [a.name || '', a.value || '', a.selectionStart ?? -1, \
                 !!document.querySelector('.card[data-account=\"work\"] details').open];",
        vec![],
    );
    assert_eq!(kept, json!(["name", "warm", 4, true]), "{kept}");
    dash.run(
        "const f = document.querySelector('.card[data-account=\"work\"] .job-form'); \
         f.reset(); document.activeElement.blur(); return true;",
        vec![],
    );
    let runs = s.scripted_user_runs();
    assert_eq!(runs.len(), 2, "{runs:?}");

    // Every command the page may call, with real arguments: no answer holds a token.
    let issuer = server.issuer().to_owned();
    let calls = [
        ("status", json!({})),
        ("history", json!({"account": "work", "hours": 24})),
        ("presets", json!({})),
        (
            "discover",
            json!({"source": {"kind": "issuer", "value": issuer}}),
        ),
        ("refresh", json!({"account": "work"})),
        ("copy_token", json!({"account": "work"})),
        ("app_settings", json!({})),
        ("set_paused", json!({"account": "work", "paused": true})),
        ("set_paused", json!({"account": "work", "paused": false})),
        (
            "save_job",
            json!({"job": {"name": "ping", "account": "work",
            "url": format!("{issuer}/api/whoami"), "method": "GET", "every": "1h"}}),
        ),
        ("run_job", json!({"name": "ping"})),
        ("remove_job", json!({"name": "ping"})),
        ("set_notify", json!({"class": "config", "on": true})),
        ("set_autostart", json!({"on": true})),
        ("set_autostart", json!({"on": false})),
    ];
    let mut answers = Vec::new();
    for (cmd, args) in calls {
        let answer = dash.run_async(
            "const done = arguments[2];
             window.__TAURI__.core.invoke(arguments[0], arguments[1])
               .then((v) => done(JSON.stringify(v) ?? 'null'), (e) => done('error: ' + JSON.stringify(e)));",
            vec![json!(cmd), args],
        );
        let answer = answer.as_str().unwrap_or_default().to_owned();
        assert!(!answer.starts_with("error"), "{cmd}: {answer}");
        answers.push(answer);
    }
    // A job that would carry the token in the clear is refused, with the operation's own code
    // (the same one the CLI turns into exit code 2).
    let refused = dash.run_async(
        "const done = arguments[1];
         window.__TAURI__.core.invoke('save_job', {job: arguments[0]})
           .then(() => done('accepted'), (e) => done('error: ' + e.code + ': ' + e.message));",
        vec![json!({"name": "leak", "account": "work", "url": "http://example.com/", "method": "GET", "every": "1h"})],
    );
    let refused = refused.as_str().unwrap_or_default();
    assert!(
        refused.starts_with("error: bad_argument: ") && refused.contains("https://"),
        "{refused}"
    );
    let text = answers.join("\n");
    assert!(text.contains("\"status\""), "{text}");
    for t in server.issued_tokens() {
        assert!(!text.contains(&t), "an IPC answer held a token: {text}");
    }
    // "Copy token" put the current token on the clipboard, from the Rust side.
    let current = s.token("work");
    let pasted = std::process::Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&pasted.stdout), current);

    // Readable at 200% zoom: the layout reflows instead of scrolling sideways.
    dash.run(
        "document.documentElement.style.zoom = '200%'; return true;",
        vec![],
    );
    dash.wait_until(
        "no sideways scrolling at 200%",
        "return document.documentElement.scrollWidth <= window.innerWidth + 1;",
        WAIT,
    );
    dash.screenshot("6-zoom-200");
    dash.run(
        "document.documentElement.style.zoom = ''; return true;",
        vec![],
    );

    // The timeline is drawn at the card's own width, narrow or wide, and its dots stay round.
    for width in [520, 1400] {
        dash.set_window_size(width, 800);
        dash.wait_until(
            &format!("the timeline redrawn for a {width} px window"),
            "const b = document.querySelector('.card[data-account=\"work\"] .timeline'); \
             const s = b && b.querySelector('svg'); \
             return !!s && s.getAttribute('viewBox') === `0 0 ${Math.round(b.clientWidth)} 46` \
               && Math.abs(s.getBoundingClientRect().width - b.clientWidth) <= 1;",
            WAIT,
        );
        let dot = dash.run(
            "const r = document.querySelector('.card[data-account=\"work\"] .timeline circle') \
               .getBoundingClientRect(); return [r.width, r.height];",
            vec![],
        );
        let (w, h) = (
            dot[0].as_f64().unwrap_or(0.0),
            dot[1].as_f64().unwrap_or(1.0),
        );
        assert!(
            (w - h).abs() < 0.5 && w > 6.0,
            "a timeline dot is {w}×{h} at {width} px"
        );
        dash.screenshot(&format!("7-timeline-{width}px"));
    }

    // A read-only state disk: tokens keep flowing, and a banner says what is wrong until the
    // engine can write again.
    let state_dir = s.root().join("state/tokentray");
    if let Some(read_only) = tokentray_tests::mount::Mount::read_only(&state_dir) {
        dash.click(".card[data-account='work'] [data-action='refresh']");
        dash.wait_until(
            "the storage banner",
            "const b = document.querySelector('#storage'); \
             return !b.hidden && b.textContent.includes('Read-only file system');",
            WAIT,
        );
        dash.screenshot("7-storage-error");
        drop(read_only);
        dash.wait_until(
            "the banner to go once the disk is writable",
            "return document.querySelector('#storage').hidden;",
            WAIT,
        );
    } else {
        tokentray_tests::skip("the read-only disk banner needs a bind mount (root)");
    }

    // Remove asks first; "Keep it" keeps it, "Remove" removes it and its secrets.
    dash.click(".card[data-account='work'] [data-action='remove']");
    dash.wait_for("#confirm-remove[open]", WAIT);
    dash.screenshot("8-confirm-remove");
    dash.click("#confirm-remove button[value='cancel']");
    dash.wait_until(
        "the dialog to close",
        "return !document.querySelector('#confirm-remove').open;",
        WAIT,
    );
    assert_eq!(
        s.account_status("work")["status"],
        "enabled",
        "Keep it kept it"
    );
    dash.click(".card[data-account='work'] [data-action='remove']");
    dash.click("#confirm-yes");
    dash.wait_for("#empty", WAIT);
    let out = s.cli(&["status", "--json"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["accounts"],
        json!([])
    );
    drop(dash);
    assert!(
        app.is_running(),
        "the dashboard's end ended the app:\n{}",
        app.output()
    );
    app.terminate();
    s.assert_no_secrets(&server, &[]);
}
