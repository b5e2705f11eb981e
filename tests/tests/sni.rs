//! The tray as a D-Bus StatusNotifierItem (`tokentray_host::sni`, no GUI toolkit), read back
//! over D-Bus the way a panel reads it, on a private bus: started before any panel it says no
//! watcher took it, and registers as soon as one appears; its properties and its dbusmenu items
//! say what the tray model says; a click sent over D-Bus reaches the adapter with the id the
//! Tauri tray uses; a new model changes the icon, the status and the menu, with signals.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::Connection;
use dbus::message::MatchRule;
use tokentray_core::accounts::AccountState;
use tokentray_core::status::{AccountStatus, Status};
use tokentray_host::sni::SniTray;
use tokentray_host::tray_model;
use tokentray_tests::desktop::Desktop;
use tokentray_tests::{bins, require_session};

const ITEM: &str = "org.kde.StatusNotifierItem";
const MENU: &str = "com.canonical.dbusmenu";
const WAIT: Duration = Duration::from_secs(10);

/// StatusNotifierItem's pixmaps, `a(iiay)`: width, height, ARGB32 bytes.
type Pixmaps = Vec<(i32, i32, Vec<u8>)>;

fn status(states: &[(&str, AccountState)]) -> Status {
    Status {
        accounts: states
            .iter()
            .map(|(name, state)| AccountStatus::new(name, "p", *state))
            .collect(),
        storage_error: None,
    }
}

/// The tests' StatusNotifierWatcher on `desktop`'s bus, once it owns its name, and its output.
fn watcher(desktop: &Desktop) -> (Child, mpsc::Receiver<String>) {
    let script = bins::repo_root().join("tests/desktop/sni-watcher.py");
    let mut child = desktop
        .command("/usr/bin/python3")
        .arg(script)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the test watcher");
    let (tx, rx) = mpsc::channel();
    let out = BufReader::new(child.stdout.take().expect("piped"));
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    assert_eq!(rx.recv_timeout(WAIT).as_deref(), Ok("ready"));
    (child, rx)
}

/// Every menu item's label and enabled flag, by id, as a panel reads them.
fn items(conn: &Connection, bus_name: &str) -> Vec<(i32, String, bool)> {
    let menu = conn.with_proxy(bus_name, "/MenuBar", WAIT);
    let (all,): (Vec<(i32, PropMap)>,) = menu
        .method_call(
            MENU,
            "GetGroupProperties",
            (Vec::<i32>::new(), Vec::<String>::new()),
        )
        .expect("GetGroupProperties");
    all.into_iter()
        .filter(|(id, _)| *id > 0)
        .map(|(id, p)| {
            let label = p
                .get("label")
                .and_then(|v| v.0.as_str())
                .or_else(|| p.get("type").and_then(|v| v.0.as_str()))
                .unwrap_or_default()
                .to_owned();
            let enabled = p
                .get("enabled")
                .and_then(|v| v.0.as_i64())
                .is_none_or(|e| e != 0);
            (id, label, enabled)
        })
        .collect()
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
    let (mut panel, said) = watcher(&desktop);
    let line = said.recv_timeout(WAIT).expect("the item registered");
    assert_eq!(
        line,
        format!("registered {} /StatusNotifierItem", tray.bus_name())
    );

    let conn = Connection::new_address(desktop.address()).expect("a client on the bus");
    let item = conn.with_proxy(tray.bus_name(), "/StatusNotifierItem", WAIT);
    let get_s = |name: &str| -> String { item.get(ITEM, name).expect(name) };
    assert_eq!(get_s("Id"), "tokentray");
    assert_eq!(get_s("Status"), "NeedsAttention");
    let menu_path: dbus::Path = item.get(ITEM, "Menu").expect("Menu");
    assert_eq!(&*menu_path, "/MenuBar");
    let (_, _, tip, _): (String, Pixmaps, String, String) =
        item.get(ITEM, "ToolTip").expect("ToolTip");
    assert_eq!(tip, dead.tooltip);
    let error_icon: Pixmaps = item.get(ITEM, "IconPixmap").expect("IconPixmap");
    assert_eq!(error_icon.len(), 1);
    let (w, h, argb) = &error_icon[0];
    assert_eq!((*w, *h, argb.len()), (64, 64, 64 * 64 * 4));
    assert!(
        argb.chunks(4).any(|px| px[0] == 255),
        "an icon with no opaque pixel"
    );

    // The menu, as the model has it, with the layout's root holding one child per line.
    let listed = items(&conn, tray.bus_name());
    let labels: Vec<&str> = listed.iter().map(|(_, l, _)| l.as_str()).collect();
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
        "{listed:?}"
    );
    let menu = conn.with_proxy(tray.bus_name(), "/MenuBar", WAIT);
    type Layout = (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>);
    let (revision, (root, _, children)): (u32, Layout) = menu
        .method_call(MENU, "GetLayout", (0i32, -1i32, Vec::<String>::new()))
        .expect("GetLayout");
    assert_eq!((root, children.len()), (0, listed.len()));

    // A click over D-Bus reaches the adapter with the Tauri tray's ids; a disabled or
    // informational line does nothing.
    let id_of = |label: &str| {
        listed
            .iter()
            .find(|(_, l, _)| l == label)
            .map(|(id, _, _)| *id)
            .unwrap_or_else(|| panic!("no {label:?} in {listed:?}"))
    };
    let click = |id: i32| {
        let () = menu
            .method_call(MENU, "Event", (id, "clicked", Variant(0i32), 0u32))
            .expect("Event");
    };
    click(id_of("alice — ok"));
    click(id_of("Resume all"));
    click(id_of("Re-login bob…"));
    assert_eq!(clicks.recv_timeout(WAIT).as_deref(), Ok("relogin:bob"));
    click(id_of("Open dashboard"));
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
    assert_eq!(get_s("Status"), "Active");
    let ok_icon: Pixmaps = item.get(ITEM, "IconPixmap").expect("IconPixmap");
    assert_ne!(
        ok_icon, error_icon,
        "the icon did not change with the state"
    );
    let (later, _): (u32, Layout) = menu
        .method_call(MENU, "GetLayout", (0i32, -1i32, Vec::<String>::new()))
        .expect("GetLayout");
    assert!(later > revision, "the layout's revision did not grow");
    assert!(!items(&conn, tray.bus_name())
        .iter()
        .any(|(_, l, _)| l.starts_with("Re-login")));

    let _ = panel.kill();
    let _ = panel.wait();
}
