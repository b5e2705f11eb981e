//! The tray as a D-Bus StatusNotifierItem (`tokentray_host::sni`, no GUI toolkit), read back
//! over D-Bus the way a panel reads it, on a private bus: started before any panel it says no
//! watcher took it, and registers as soon as one appears; its properties and its dbusmenu items
//! say what the tray model says; a click sent over D-Bus reaches the adapter with the id the
//! Tauri tray uses; a new model changes the icon, the status and the menu, with signals.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use dbus::blocking::Connection;
use dbus::message::MatchRule;
use tokentray_core::accounts::AccountState;
use tokentray_core::status::{AccountStatus, Status};
use tokentray_host::sni::SniTray;
use tokentray_host::tray_model;
use tokentray_tests::desktop::Desktop;
use tokentray_tests::panel::{Icon, Panel, ITEM, MENU, WAIT};
use tokentray_tests::require_session;

fn status(states: &[(&str, AccountState)]) -> Status {
    Status {
        accounts: states
            .iter()
            .map(|(name, state)| AccountStatus::new(name, "p", *state))
            .collect(),
        ..Status::default()
    }
}

#[test]
fn the_tray_is_a_status_notifier_item_a_panel_reads_and_clicks_over_dbus() {
    require_session();
    let desktop = Desktop::start();
    let (clicked, clicks) = mpsc::channel();
    let dead = tray_model::model(
        Ok(&status(&[
            ("alice", AccountState::Enabled),
            ("bob", AccountState::Error),
        ])),
        false,
    );
    // Before any panel: on the bus, but no watcher took it.
    let (tray, watched) = SniTray::start(
        Some(desktop.address()),
        dead.clone(),
        Box::new(move |id| {
            let _ = clicked.send(id.to_owned());
        }),
    )
    .expect("the tray on the bus");
    assert!(!watched, "no watcher runs yet");
    // A panel starts: the item registers with its watcher by itself.
    let panel = Panel::start(&desktop);
    assert_eq!(panel.registered(WAIT), tray.bus_name());

    let conn = Connection::new_address(desktop.address()).expect("a client on the bus");
    let icon = Icon::new(&conn, tray.bus_name());
    assert_eq!(icon.text("Id"), "tokentray");
    assert_eq!(icon.text("Status"), "NeedsAttention");
    assert_eq!(icon.menu_path(), "/MenuBar");
    assert_eq!(icon.tooltip(), dead.tooltip);
    let error_icon = icon.pixmaps();
    assert_eq!(error_icon.len(), 1);
    let (w, h, argb) = &error_icon[0];
    assert_eq!((*w, *h, argb.len()), (64, 64, 64 * 64 * 4));
    assert!(
        argb.chunks(4).any(|px| px[0] == 255),
        "an icon with no opaque pixel"
    );

    // The menu, as the model has it, with the layout's root holding one child per line.
    let labels = icon.labels();
    assert_eq!(
        labels,
        [
            "alice — ok",
            "bob — needs attention",
            "separator",
            "Re-login bob…",
            "separator",
            "Open dashboard",
            "Launch at login",
            "separator",
            "Pause all",
            "Resume all",
            "separator",
            "Quit"
        ],
    );
    let (revision, (root, _, children)) = icon.layout();
    assert_eq!((root, children.len()), (0, labels.len()));

    // A click over D-Bus reaches the adapter with the Tauri tray's ids; a disabled or
    // informational line does nothing.
    icon.click("alice — ok");
    icon.click("Resume all");
    icon.click("Re-login bob…");
    assert_eq!(clicks.recv_timeout(WAIT).as_deref(), Ok("relogin:bob"));
    icon.click("Open dashboard");
    assert_eq!(clicks.recv_timeout(WAIT).as_deref(), Ok("dashboard"));
    assert!(
        clicks.try_recv().is_err(),
        "a line that does nothing did something"
    );

    // All well again: the panel is told, and reads the new icon, status and menu.
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    for member in ["NewIcon", "NewStatus", "LayoutUpdated"] {
        let heard = heard.clone();
        conn.add_match(
            MatchRule::new_signal(
                if member == "LayoutUpdated" {
                    MENU
                } else {
                    ITEM
                },
                member,
            ),
            move |(): (), _, m| {
                let name = m.member().map(|n| n.to_string()).unwrap_or_default();
                heard.lock().unwrap().push(name);
                true
            },
        )
        .expect("match");
    }
    tray.show(tray_model::model(
        Ok(&status(&[
            ("alice", AccountState::Enabled),
            ("bob", AccountState::Enabled),
        ])),
        false,
    ));
    let deadline = Instant::now() + WAIT;
    while heard.lock().unwrap().len() < 3 {
        assert!(
            Instant::now() < deadline,
            "signals: {:?}",
            heard.lock().unwrap()
        );
        conn.process(Duration::from_millis(200)).expect("process");
    }
    assert_eq!(icon.text("Status"), "Active");
    let ok_icon = icon.pixmaps();
    assert_ne!(
        ok_icon, error_icon,
        "the icon did not change with the state"
    );
    let (later, _) = icon.layout();
    assert!(later > revision, "the layout's revision did not grow");
    assert!(!icon.labels().iter().any(|l| l.starts_with("Re-login")));
}
