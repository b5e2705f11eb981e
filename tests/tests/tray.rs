//! The always-on tray on Linux, as a panel sees it: launched at login where the panel runs a
//! StatusNotifierWatcher, it is the engine and a StatusNotifierItem in one process with no GTK
//! or WebKit, and its menu, clicked over D-Bus, does what the Tauri tray's menu does. Where no
//! panel runs a watcher, the Tauri tray takes over and the status says why.

use std::time::Duration;

use dbus::blocking::Connection;
use tokentray_tests::desktop::{dashboard_windows, Desktop};
use tokentray_tests::oidc::OidcServer;
use tokentray_tests::panel::{Icon, Panel};
use tokentray_tests::{bins, procstat, require_session, wait_until};

/// The libraries a toolkit tray maps and the lean one must not.
const TOOLKIT: [&str; 3] = ["libgtk-3", "libwebkit2gtk", "libayatana-appindicator"];

fn mapped_libraries(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default()
}

#[test]
fn launched_at_login_the_tray_is_the_engine_and_a_status_notifier_item_whose_menu_works() {
    require_session();
    let desktop = Desktop::start();
    let panel = Panel::start(&desktop);
    let server = OidcServer::start();
    let mut s = desktop.sandbox();
    s.use_scripted_user("alice");
    s.add_account(&server, "work");

    // What the launch-at-login entry runs: the app hands itself over to the lean tray.
    let mut tray = s.spawn(bins::app(), &["--minimized"], "tray.log");
    let pid = tray.pid();
    let bus_name = panel.registered(Duration::from_secs(60));
    s.wait_for_engine(Duration::from_secs(60));
    let maps = mapped_libraries(pid);
    assert!(maps.contains("libdbus-1"), "not the tray process:\n{maps}");
    for toolkit in TOOLKIT {
        assert!(!maps.contains(toolkit), "the always-on tray maps {toolkit}");
    }
    // Programs coming and going on the bus (each one changes a name's owner, which the tray
    // follows for the panel's watcher alone) do not wake it.
    std::thread::sleep(Duration::from_secs(2));
    let before: u64 = procstat::context_switches(pid).values().sum();
    for _ in 0..20 {
        let out = desktop
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetId",
            ])
            .output()
            .expect("dbus-send");
        assert!(out.status.success());
    }
    std::thread::sleep(Duration::from_secs(1));
    let woke = procstat::context_switches(pid).values().sum::<u64>() - before;
    assert!(
        woke < 10,
        "20 programs on the bus woke the idle tray {woke} times"
    );

    let conn = Connection::new_address(desktop.address()).expect("a client on the bus");
    let icon = Icon::new(&conn, &bus_name);
    assert_eq!(icon.text("Id"), "tokentray");
    let ping = s.cli(&["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&ping.stdout).expect("status JSON");
    assert!(status.get("desktop_note").is_none(), "{status}");

    // "Sign in work…" signs in through the browser, as the Tauri tray's line does; the menu
    // follows the engine.
    icon.click("Sign in work…");
    wait_until("the sign-in from the menu", Duration::from_secs(60), || {
        s.account_status("work")["status"] == "enabled"
    });
    wait_until("the menu to follow", Duration::from_secs(10), || {
        icon.labels().iter().any(|l| l == "work — ok")
    });
    let ok_icon = icon.pixmaps();
    assert_eq!(s.scripted_user_runs().len(), 1);

    // Pause all and Resume all reach the engine; the icon changes with the worst state.
    icon.click("Pause all");
    wait_until("every account paused", Duration::from_secs(10), || {
        s.account_status("work")["status"] == "paused"
    });
    wait_until("the paused icon", Duration::from_secs(10), || {
        icon.pixmaps() != ok_icon
    });
    icon.click("Resume all");
    wait_until("every account resumed", Duration::from_secs(10), || {
        s.account_status("work")["status"] == "enabled"
    });
    wait_until("the ok icon again", Duration::from_secs(10), || {
        icon.pixmaps() == ok_icon
    });

    // Launch at login writes the same entry the dashboard's switch writes, and the check follows.
    assert!(!icon.checked("Launch at login"));
    icon.click("Launch at login");
    wait_until("the launch-at-login entry", Duration::from_secs(10), || {
        s.autostart_entry().exists() && icon.checked("Launch at login")
    });
    icon.click("Launch at login");
    wait_until("the entry removed", Duration::from_secs(10), || {
        !s.autostart_entry().exists() && !icon.checked("Launch at login")
    });

    // Open dashboard starts the dashboard's own process; the tray stays lean.
    icon.click("Open dashboard");
    wait_until("the dashboard window", Duration::from_secs(60), || {
        dashboard_windows(pid).len() == 1
    });
    for toolkit in TOOLKIT {
        assert!(!mapped_libraries(pid).contains(toolkit));
    }

    // Quit stops the engine cleanly; the dashboard closes with it.
    icon.click("Quit");
    wait_until("the tray to quit", Duration::from_secs(30), || {
        !tray.is_running()
    });
    let log = tray.output();
    assert!(log.contains("engine stopped"), "{log}");
    assert!(!s.socket().exists(), "socket removed on exit");
    wait_until("the dashboard to close", Duration::from_secs(30), || {
        dashboard_windows(pid).is_empty() && procstat::children(pid).is_empty()
    });
    s.assert_no_secrets(&server, &[]);
}

#[test]
fn where_no_panel_runs_a_watcher_the_gtk_tray_takes_over_and_the_status_says_why() {
    require_session();
    // This desktop's bus has a keyring and a notification daemon but no StatusNotifierWatcher.
    let desktop = Desktop::start();
    let s = desktop.sandbox();
    s.write_settings("");
    let mut tray = s.spawn(bins::cli(), &["run", "--minimized"], "tray.log");
    s.wait_for_engine(Duration::from_secs(60));
    wait_until("the GTK tray", Duration::from_secs(30), || {
        mapped_libraries(tray.pid()).contains("libayatana-appindicator")
    });
    let out = s.cli(&["status"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("no StatusNotifierItem tray icons") && said.contains("`tokentray run`"),
        "{said}"
    );
    assert!(tray.is_running(), "{}", tray.output());
    // Said once in the log, not on every redraw.
    assert_eq!(
        tray.output()
            .matches("StatusNotifierWatcher on the session bus")
            .count(),
        1,
        "{}",
        tray.output()
    );
}
