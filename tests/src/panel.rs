//! A panel for the tests, on a desktop's bus: the StatusNotifierWatcher a panel runs
//! (`tests/desktop/sni-watcher.py`), and a client that reads a tray's StatusNotifierItem and
//! dbusmenu and clicks its lines the way a panel does.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::stdintf::org_freedesktop_dbus::Properties;
use dbus::blocking::Connection;

use crate::desktop::Desktop;

/// The StatusNotifierItem interface.
pub const ITEM: &str = "org.kde.StatusNotifierItem";
/// The menu's interface.
pub const MENU: &str = "com.canonical.dbusmenu";
/// How long a panel's call or a registration may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// StatusNotifierItem's pixmaps, `a(iiay)`: width, height, ARGB32 bytes.
pub type Pixmaps = Vec<(i32, i32, Vec<u8>)>;
/// A dbusmenu layout node: id, properties, children.
pub type Layout = (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>);

/// The watcher, running on a desktop's bus until dropped.
pub struct Panel {
    child: Child,
    said: mpsc::Receiver<String>,
}

impl Panel {
    /// Starts the watcher on `desktop`'s bus and waits until it owns its name.
    pub fn start(desktop: &Desktop) -> Panel {
        let script = crate::bins::repo_root().join("tests/desktop/sni-watcher.py");
        let mut child = desktop
            .command("/usr/bin/python3")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the test watcher");
        let (tx, said) = mpsc::channel();
        let out = BufReader::new(child.stdout.take().expect("piped"));
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        assert_eq!(said.recv_timeout(WAIT).as_deref(), Ok("ready"));
        Panel { child, said }
    }

    /// The next item to register: its bus name, once it has registered at
    /// `/StatusNotifierItem` within `within`.
    pub fn registered(&self, within: Duration) -> String {
        let line = self
            .said
            .recv_timeout(within)
            .expect("no tray icon registered with the panel");
        line.strip_prefix("registered ")
            .and_then(|l| l.strip_suffix(" /StatusNotifierItem"))
            .unwrap_or_else(|| panic!("the watcher said {line:?}"))
            .to_owned()
    }
}

impl Drop for Panel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A panel's view of one tray icon.
pub struct Icon<'a> {
    conn: &'a Connection,
    bus_name: String,
}

impl<'a> Icon<'a> {
    /// The icon at `bus_name`, read through `conn`.
    pub fn new(conn: &'a Connection, bus_name: &str) -> Icon<'a> {
        Icon {
            conn,
            bus_name: bus_name.to_owned(),
        }
    }

    /// A string property of the item (`Id`, `Status`, …).
    pub fn text(&self, name: &str) -> String {
        self.item().get(ITEM, name).expect(name)
    }

    /// The item's tooltip's title.
    pub fn tooltip(&self) -> String {
        let (_, _, tip, _): (String, Pixmaps, String, String) =
            self.item().get(ITEM, "ToolTip").expect("ToolTip");
        tip
    }

    /// The item's icon.
    pub fn pixmaps(&self) -> Pixmaps {
        self.item().get(ITEM, "IconPixmap").expect("IconPixmap")
    }

    /// The object path the item names for its menu.
    pub fn menu_path(&self) -> String {
        let path: dbus::Path = self.item().get(ITEM, "Menu").expect("Menu");
        path.to_string()
    }

    /// The menu's layout revision and tree.
    pub fn layout(&self) -> (u32, Layout) {
        self.menu()
            .method_call(MENU, "GetLayout", (0i32, -1i32, Vec::<String>::new()))
            .expect("GetLayout")
    }

    /// Every menu line's id, label (a separator's is "separator") and enabled flag.
    pub fn lines(&self) -> Vec<(i32, String, bool)> {
        let (all,): (Vec<(i32, PropMap)>,) = self
            .menu()
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

    /// The labels alone.
    pub fn labels(&self) -> Vec<String> {
        self.lines().into_iter().map(|(_, l, _)| l).collect()
    }

    /// Whether the check line `label` is checked.
    pub fn checked(&self, label: &str) -> bool {
        let id = self.id_of(label);
        let (all,): (Vec<(i32, PropMap)>,) = self
            .menu()
            .method_call(MENU, "GetGroupProperties", (vec![id], Vec::<String>::new()))
            .expect("GetGroupProperties");
        all.iter().any(|(_, p)| {
            p.get("toggle-state")
                .and_then(|v| v.0.as_i64())
                .is_some_and(|s| s == 1)
        })
    }

    /// Clicks the line labelled `label`, as a panel sends it.
    pub fn click(&self, label: &str) {
        self.click_id(self.id_of(label));
    }

    /// Clicks the line with the menu id `id`.
    pub fn click_id(&self, id: i32) {
        let () = self
            .menu()
            .method_call(MENU, "Event", (id, "clicked", Variant(0i32), 0u32))
            .expect("Event");
    }

    /// The menu id of the line labelled `label`.
    pub fn id_of(&self, label: &str) -> i32 {
        let lines = self.lines();
        lines
            .iter()
            .find(|(_, l, _)| l == label)
            .map(|(id, _, _)| *id)
            .unwrap_or_else(|| panic!("no {label:?} in {lines:?}"))
    }

    fn item(&self) -> dbus::blocking::Proxy<'_, &Connection> {
        self.conn
            .with_proxy(self.bus_name.as_str(), "/StatusNotifierItem", WAIT)
    }

    fn menu(&self) -> dbus::blocking::Proxy<'_, &Connection> {
        self.conn
            .with_proxy(self.bus_name.as_str(), "/MenuBar", WAIT)
    }
}
