//! The README's walkthrough, lived as a new user lives it, in the real webview, the real tray
//! and the real notification daemon: an empty dashboard, a preset chosen, signed in, the grant
//! dying at the provider, the re-login, healthy again. Each step's pictures — the dashboard at
//! 520 and 1,400 px, the tray menu, the notification — land in `target/screenshots/walkthrough/`;
//! `make screenshots` copies them to `docs/images/walkthrough/` for the README.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokentray_tests::desktop::Desktop;
use tokentray_tests::oidc::{scripted_user, OidcServer, Options};
use tokentray_tests::screen::Screen;
use tokentray_tests::webdriver::Dashboard;
use tokentray_tests::{bins, require_session, sandbox::Sandbox};

const WAIT: Duration = Duration::from_secs(30);
/// The dashboard's narrowest window and a wide screen's.
const WIDTHS: [u32; 2] = [520, 1400];
const ACCOUNT: &str = "github";

fn card_is(status: &str) -> String {
    format!(
        "const c = document.querySelector('.card[data-account=\"{ACCOUNT}\"]'); \
         return !!c && c.dataset.status === '{status}';"
    )
}

/// The dashboard's pictures of one step, at each width; the page fits each without sideways
/// scrolling.
fn pictures(dash: &Dashboard, step: &str) {
    for width in WIDTHS {
        // Below the tray's menu, which its pictures show alone.
        dash.set_window_rect(Some((0, 300)), width, 760);
        dash.wait_until(
            &format!("the page laid out for {width} px"),
            &format!(
                "const w = document.documentElement.clientWidth; \
                 return w <= {width} && w > {width} - 24;"
            ),
            WAIT,
        );
        let fits = dash.run(
            "return document.documentElement.scrollWidth <= document.documentElement.clientWidth;",
            vec![],
        );
        assert_eq!(
            fits,
            serde_json::Value::Bool(true),
            "{step}: the page scrolls sideways at {width} px"
        );
        dash.screenshot(&format!("{step}-{width}px"));
    }
}

/// The person in the browser waits at a gate until the test lets them through, so the
/// dashboard can be pictured while it waits for a sign-in.
struct SlowUser {
    gate: PathBuf,
    // Outside the sandbox, whose files the secrets check reads (a FIFO would hold it).
    _dir: tempfile::TempDir,
}

impl SlowUser {
    fn install(s: &mut Sandbox) -> SlowUser {
        let dir = tempfile::tempdir().expect("temp dir");
        let gate = dir.path().join("browser-gate");
        let made = std::process::Command::new("mkfifo").arg(&gate).status();
        assert!(made.as_ref().is_ok_and(|m| m.success()), "mkfifo: {made:?}");
        let script = dir.path().join("slow-browser.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nread _ < '{}'\nexec '{}' \"$@\"\n",
                gate.display(),
                scripted_user().display()
            ),
        )
        .expect("browser script");
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("browser script mode");
        s.set_env("BROWSER", &script.to_string_lossy());
        SlowUser { gate, _dir: dir }
    }

    /// Lets the waiting browser go on (opening the gate waits for it to be there).
    fn go(&self) {
        let mut gate = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.gate)
            .expect("open the browser's gate");
        gate.write_all(b"go\n").expect("open the gate");
    }
}

fn tray_picture(screen: &Screen, app_pid: u32, shots: &Path, step: &str) {
    screen.tray_menu_picture(app_pid, &shots.join(format!("{step}-tray.png")));
}

#[test]
fn a_new_user_goes_from_an_empty_dashboard_to_a_token_and_back_from_a_dead_grant() {
    require_session();
    // GitHub (here an Enterprise Server at the test server's address): its sign-ins have an
    // end date, which the card shows.
    let server = OidcServer::start_with(Options {
        quirks: Some("github"),
        // GitHub's own: 8-hour tokens from a sign-in that lasts six months.
        access_ttl: 8 * 3600,
        refresh_ttl: 184 * 86_400,
        ..Options::default()
    });
    let screen = Screen::start();
    let desktop = Desktop::start_on(Some(screen.display()));
    let mut s = desktop.sandbox();
    s.set_env("DISPLAY", screen.display());
    // The tray a panel without StatusNotifierItems gets (GTK, docked over XEmbed in trayer): the
    // one tray whose menu this X screen can draw. Where a panel shows StatusNotifierItems, the
    // panel draws the same menu lines from the tray's dbusmenu (tests/tests/tray.rs).
    s.set_env("TOKENTRAY_TRAY", "gtk");
    s.use_scripted_user("octo");
    let user = SlowUser::install(&mut s);
    let shots = bins::repo_root().join("target/screenshots/walkthrough");
    std::fs::create_dir_all(&shots).expect("screenshot folder");

    let app = s.spawn(bins::app(), &["--minimized"], "app.log");
    s.wait_for_engine(Duration::from_secs(60));
    let dash = Dashboard::start(&s, &bins::app(), &["--dashboard"], &shots);

    // 1. Nothing yet: the page and the tray say what to do first.
    dash.wait_for("#empty", WAIT);
    assert!(dash.text("#empty").contains("Add one"));
    pictures(&dash, "1-empty");
    tray_picture(&screen, app.pid(), &shots, "1-empty");

    // 2. The GitHub preset, at the company's own GitHub: what to register, and where.
    dash.click("#open-wizard");
    dash.click("#presets button[data-preset='github']");
    dash.wait_until(
        "the place of one's own offered",
        "return !document.querySelector('#place').hidden;",
        WAIT,
    );
    dash.type_into("#place-value", server.issuer());
    dash.click("#use-place");
    dash.wait_until(
        "the guide pointing at the instance",
        &format!(
            "const r = document.querySelector('#registration'); \
             return !r.hidden && r.querySelector('.page').textContent === '{}/settings/apps/new' \
               && document.querySelector('#endpoints').textContent.includes('{}/login/oauth/authorize');",
            server.issuer(),
            server.issuer()
        ),
        WAIT,
    );
    dash.type_into("#account-name", ACCOUNT);
    dash.type_into("#client-id", "tokentray");
    pictures(&dash, "2-preset-chosen");

    // 3. Sign in: the card waits for the browser, then has its token.
    dash.click("#wizard-add");
    dash.wait_until(
        "the card waiting for the browser",
        &format!(
            "const p = document.querySelector('.card[data-account=\"{ACCOUNT}\"] .signin'); \
             return !!p && !p.hidden && p.textContent.includes('browser');"
        ),
        WAIT,
    );
    pictures(&dash, "3-signing-in");
    tray_picture(&screen, app.pid(), &shots, "3-signing-in");
    user.go();
    dash.wait_until("the account signed in", &card_is("enabled"), WAIT);
    // The provider said when the sign-in ends; the card says it.
    let ends = dash.text(&format!(".card[data-account='{ACCOUNT}'] .sign-in-ends dd"));
    assert!(ends.contains("(in "), "sign-in end on the card: {ends:?}");
    pictures(&dash, "4-signed-in");
    tray_picture(&screen, app.pid(), &shots, "4-signed-in");
    assert!(!s.token(ACCOUNT).is_empty());

    // 4. The grant dies at the provider: the next refresh finds out, the account turns to
    // error, and one notification offers the re-login.
    assert!(server.revoke("octo") > 0);
    dash.click(&format!(
        ".card[data-account='{ACCOUNT}'] [data-action='refresh']"
    ));
    dash.wait_until("the account in error", &card_is("error"), WAIT);
    screen.notification_picture(&shots.join("5-failure-notification.png"));
    let told = desktop.notifications();
    assert_eq!(told.len(), 1, "one notification: {told:?}");
    assert!(
        told[0].0.contains(ACCOUNT) || told[0].1.contains(ACCOUNT),
        "{told:?}"
    );
    pictures(&dash, "5-failure");
    tray_picture(&screen, app.pid(), &shots, "5-failure");

    // 5. Re-login from the card; the browser opens again.
    dash.click(&format!(
        ".card[data-account='{ACCOUNT}'] [data-action='sign-in']"
    ));
    dash.wait_until(
        "the card waiting for the re-login",
        &format!(
            "const p = document.querySelector('.card[data-account=\"{ACCOUNT}\"] .signin'); \
             return !!p && !p.hidden;"
        ),
        WAIT,
    );
    // While the browser is out, the button starts the sign-in over instead.
    assert_eq!(
        dash.text(&format!(
            ".card[data-account='{ACCOUNT}'] [data-action='sign-in']"
        )),
        "Restart sign-in"
    );
    pictures(&dash, "6-re-login");
    user.go();

    // 6. Healthy again, with a new token; the tray says so too.
    dash.wait_until("the account enabled again", &card_is("enabled"), WAIT);
    pictures(&dash, "7-healthy");
    tray_picture(&screen, app.pid(), &shots, "7-healthy");
    let token = s.token(ACCOUNT);
    assert_eq!(server.whoami(&token).0, 200);
    assert_eq!(s.scripted_user_runs().len(), 2);
    s.assert_no_secrets(&server, &[]);
}
