//! The tray as a D-Bus StatusNotifierItem with its menu over `com.canonical.dbusmenu`: what
//! libayatana-appindicator speaks behind GTK, spoken here over the libdbus connection the host
//! already uses, with no GUI toolkit. Panels (KDE, XFCE, Cinnamon, GNOME's AppIndicator
//! extension) read the icon, tooltip and menu from these objects and send clicks back.
//!
//! One thread blocks on the connection and answers the panel's calls from the current
//! [`Model`]; [`SniTray::show`] swaps the model, queues the signals that say so and wakes that
//! thread, which writes them (libdbus writes a message queued from another thread only on its
//! connection's next wake-up, and a blocked thread holds the connection). The wake-up is a
//! message from a second connection of ours, so nothing here needs a file descriptor of
//! libdbus's or unsafe code. Nothing wakes while nothing changes: no timer, no polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use dbus::arg::{PropMap, RefArg, Variant};
use dbus::blocking::SyncConnection;
use dbus::channel::{MatchingReceiver, Sender};
use dbus::message::{MatchRule, Message, MessageType};

use tokentray_core::accounts::Health;

use crate::tray_model::{id, sign_in_label, Entry, Model};

const ITEM_PATH: &str = "/StatusNotifierItem";
const MENU_PATH: &str = "/MenuBar";
const ITEM_IFACE: &str = "org.kde.StatusNotifierItem";
const MENU_IFACE: &str = "com.canonical.dbusmenu";
const PROPS_IFACE: &str = "org.freedesktop.DBus.Properties";
const WATCHER: &str = "org.kde.StatusNotifierWatcher";
/// Our own interface: [`WAKE`] only makes the serving thread write what is queued.
const OWN_IFACE: &str = "dev.tokentray.Tray";
const WAKE: &str = "Wake";
/// StatusNotifierItem pixmaps, `a(iiay)`: width, height, ARGB32 bytes.
type Pixmaps = Vec<(i32, i32, Vec<u8>)>;
/// How long start-up waits for the bus to answer (the name, the watcher).
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the tray could not be put on the bus.
#[derive(Debug, thiserror::Error)]
pub enum SniError {
    /// No session bus, or it refused us.
    #[error("no D-Bus session bus for the tray icon ({0}); notifications and the command line keep working")]
    Bus(#[from] dbus::Error),
    /// The thread that serves the panel could not start.
    #[error("cannot start the tray's D-Bus thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// What a click on the menu asks for: one of [`id`]'s ids, or [`id::RELOGIN_PREFIX`] and an
/// account — the same ids the Tauri tray uses.
pub type OnClick = Box<dyn Fn(&str) + Send + Sync>;

/// The tray on the bus; it stays there while this lives.
pub struct SniTray {
    shared: Arc<Shared>,
}

struct Shared {
    conn: SyncConnection,
    /// Sends [`WAKE`] to `conn`'s thread.
    waker: SyncConnection,
    /// This item's bus name, which the watcher is given.
    name: String,
    state: Mutex<State>,
    on_click: OnClick,
}

struct State {
    model: Model,
    /// The menu's layout revision: panels re-read the layout when it grows.
    revision: u32,
}

/// Whether a StatusNotifierWatcher (a panel that shows tray icons) is on the session bus (or the
/// bus at `address`), waiting up to `patience` for one to appear: at login the panel may start
/// beside us. The wait sleeps until the bus says a name changed owner; it does not poll.
pub fn watcher_present(address: Option<&str>, patience: Duration) -> Result<bool, SniError> {
    let conn = match address {
        Some(a) => SyncConnection::new_address(a)?,
        None => SyncConnection::new_session()?,
    };
    let appeared = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = appeared.clone();
    on_watcher_change(&conn, move |present| {
        if present {
            seen.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    })?;
    let owned = watcher_owned(&conn)?;
    let deadline = std::time::Instant::now() + patience;
    let mut present = owned;
    while !present {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        conn.process(left)?;
        present = appeared.load(std::sync::atomic::Ordering::SeqCst);
    }
    Ok(present)
}

impl SniTray {
    /// Puts the tray showing `model` on the session bus (or the bus at `address`), registers it
    /// with the panel's StatusNotifierWatcher when one runs (and again whenever a watcher
    /// appears), and serves it from a thread of its own. Returns whether a watcher took it: a
    /// desktop without one shows no icon.
    pub fn start(
        address: Option<&str>,
        model: Model,
        on_click: OnClick,
    ) -> Result<(SniTray, bool), SniError> {
        let connect = || match address {
            Some(a) => SyncConnection::new_address(a),
            None => SyncConnection::new_session(),
        };
        let (conn, waker) = (connect()?, connect()?);
        let name = format!("org.kde.StatusNotifierItem-{}-1", std::process::id());
        conn.request_name(name.as_str(), false, true, true)?;
        let shared = Arc::new(Shared {
            conn,
            waker,
            name,
            state: Mutex::new(State { model, revision: 1 }),
            on_click,
        });
        let serving = shared.clone();
        shared.conn.start_receive(
            MatchRule::new_method_call(),
            Box::new(move |call, _| {
                serving.answer(&call);
                true
            }),
        );
        // A panel started (or restarted) after us: register with its watcher.
        let again = shared.clone();
        on_watcher_change(&shared.conn, move |present| {
            if present {
                tracing::info!("a StatusNotifierWatcher appeared: showing the tray icon");
                again.register();
            } else {
                tracing::warn!(
                    "the panel's StatusNotifierWatcher went away: no tray icon until a panel \
                     starts again (notifications and the command line keep working)"
                );
            }
        })?;
        let watched = watcher_owned(&shared.conn)?;
        if watched {
            shared.register();
        }
        let looping = shared.clone();
        std::thread::Builder::new()
            .name("tokentray-sni".into())
            .spawn(move || loop {
                // Blocks until the panel calls; the timeout only bounds one wait.
                if let Err(e) = looping.conn.process(Duration::from_secs(24 * 3600)) {
                    tracing::warn!("the tray lost its D-Bus connection ({e})");
                    return;
                }
            })?;
        Ok((SniTray { shared }, watched))
    }

    /// Shows `model`: the panel is told what changed (icon, tooltip, status, menu).
    pub fn show(&self, model: Model) {
        let s = &self.shared;
        let (icon, tip, layout, revision) = {
            let mut state = s.state.lock().unwrap_or_else(PoisonError::into_inner);
            let icon = state.model.health != model.health;
            let tip = state.model.tooltip != model.tooltip;
            let layout = state.model.entries != model.entries;
            if layout {
                state.revision = state.revision.wrapping_add(1);
            }
            state.model = model;
            (icon, tip, layout, state.revision)
        };
        if icon {
            s.signal(ITEM_PATH, ITEM_IFACE, "NewIcon", |m| m);
            let status = s.status();
            s.signal(ITEM_PATH, ITEM_IFACE, "NewStatus", |m| m.append1(status));
        }
        if tip {
            s.signal(ITEM_PATH, ITEM_IFACE, "NewToolTip", |m| m);
        }
        if layout {
            s.signal(MENU_PATH, MENU_IFACE, "LayoutUpdated", |m| {
                m.append2(revision, 0i32)
            });
        }
        if icon || tip || layout {
            s.wake();
        }
    }

    /// The item's bus name.
    pub fn bus_name(&self) -> &str {
        &self.shared.name
    }
}

/// Calls `changed` with whether a watcher is there whenever the watcher's name changes owner,
/// and for nothing else: the bus filters by the name (`arg0`), because every program that
/// connects or leaves changes an owner too, and those must not wake the tray.
fn on_watcher_change(
    conn: &SyncConnection,
    changed: impl Fn(bool) + Send + Sync + 'static,
) -> Result<(), dbus::Error> {
    let rule = MatchRule::new_signal("org.freedesktop.DBus", "NameOwnerChanged")
        .with_sender("org.freedesktop.DBus");
    conn.add_match_no_cb(&format!("{},arg0='{WATCHER}'", rule.match_str()))?;
    conn.start_receive(
        rule,
        Box::new(move |signal, _| {
            if let Ok((name, _old, new)) = signal.read3::<&str, &str, &str>() {
                if name == WATCHER {
                    changed(!new.is_empty());
                }
            }
            true
        }),
    );
    Ok(())
}

/// Whether a watcher owns its name now.
fn watcher_owned(conn: &SyncConnection) -> Result<bool, dbus::Error> {
    conn.with_proxy(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        CALL_TIMEOUT,
    )
    .method_call("org.freedesktop.DBus", "NameHasOwner", (WATCHER,))
    .map(|(owned,): (bool,)| owned)
}

impl Shared {
    fn model(&self) -> Model {
        self.snapshot().0
    }

    /// The model and its menu revision, read together.
    fn snapshot(&self) -> (Model, u32) {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.model.clone(), state.revision)
    }

    /// Wakes the serving thread so that it writes the signals queued from this one.
    fn wake(&self) {
        let own = self.conn.unique_name().to_string();
        match Message::new_method_call(own, "/", OWN_IFACE, WAKE) {
            Ok(mut m) => {
                m.set_no_reply(true);
                if self.waker.send(m).is_err() {
                    tracing::warn!("cannot wake the tray's D-Bus thread");
                }
                // Nobody else uses this connection: flushing it cannot wait on another thread.
                self.waker.channel().flush();
            }
            Err(e) => tracing::warn!("cannot wake the tray's D-Bus thread: {e}"),
        }
    }

    fn register(&self) {
        // Fire and forget: a blocking call here would wait inside the thread that must answer.
        match Message::new_method_call(
            WATCHER,
            "/StatusNotifierWatcher",
            WATCHER,
            "RegisterStatusNotifierItem",
        ) {
            Ok(m) => {
                if self.conn.send(m.append1(&self.name)).is_err() {
                    tracing::warn!("cannot register the tray icon with the panel");
                }
            }
            Err(e) => tracing::warn!("cannot register the tray icon: {e}"),
        }
    }

    fn signal(&self, path: &str, iface: &str, member: &str, args: impl FnOnce(Message) -> Message) {
        match Message::new_signal(path, iface, member) {
            Ok(m) => {
                let _ = self.conn.send(args(m));
            }
            Err(e) => tracing::warn!("cannot signal {member}: {e}"),
        }
    }

    fn status(&self) -> &'static str {
        status_of(self.model().health)
    }

    /// Answers one call from the panel (or anyone on the bus).
    fn answer(&self, call: &Message) {
        if call.msg_type() != MessageType::MethodCall {
            return;
        }
        let path = call.path().map(|p| p.to_string()).unwrap_or_default();
        let iface = call.interface().map(|i| i.to_string()).unwrap_or_default();
        let member = call.member().map(|m| m.to_string()).unwrap_or_default();
        let reply = match (path.as_str(), iface.as_str(), member.as_str()) {
            // Its arrival was the point: the queued signals go out as this thread loops.
            (_, OWN_IFACE, WAKE) => return,
            (_, "org.freedesktop.DBus.Introspectable", "Introspect") => {
                Some(call.method_return().append1(introspection(&path)))
            }
            (ITEM_PATH | MENU_PATH, PROPS_IFACE, "GetAll") => {
                Some(call.method_return().append1(self.properties(&path)))
            }
            (ITEM_PATH | MENU_PATH, PROPS_IFACE, "Get") => {
                let wanted: Option<String> = call.read2::<String, String>().ok().map(|(_, n)| n);
                wanted
                    .and_then(|n| self.properties(&path).remove(&n))
                    .map(|v| call.method_return().append1(v))
            }
            (ITEM_PATH, ITEM_IFACE, "Activate") => {
                // A left click on a panel that does not open the menu itself: the dashboard.
                (self.on_click)(id::DASHBOARD);
                Some(call.method_return())
            }
            (ITEM_PATH, ITEM_IFACE, "SecondaryActivate" | "ContextMenu" | "Scroll") => {
                Some(call.method_return())
            }
            (MENU_PATH, MENU_IFACE, "GetLayout") => {
                let (model, revision) = self.snapshot();
                Some(call.method_return().append2(revision, layout(&model)))
            }
            (MENU_PATH, MENU_IFACE, "GetGroupProperties") => {
                let model = self.model();
                let ids: Vec<i32> = call.read1().unwrap_or_default();
                let all = ids.is_empty();
                let found: Vec<(i32, PropMap)> = (0..=model.entries.len() as i32)
                    .filter(|i| all || ids.contains(i))
                    .map(|i| (i, item_properties(&model, i)))
                    .collect();
                Some(call.method_return().append1(found))
            }
            (MENU_PATH, MENU_IFACE, "GetProperty") => {
                let model = self.model();
                call.read2::<i32, String>().ok().and_then(|(i, name)| {
                    item_properties(&model, i)
                        .remove(&name)
                        .map(|v| call.method_return().append1(v))
                })
            }
            (MENU_PATH, MENU_IFACE, "Event") => {
                if let Ok((i, event)) = call.read2::<i32, String>() {
                    self.event(i, &event);
                }
                Some(call.method_return())
            }
            (MENU_PATH, MENU_IFACE, "EventGroup") => {
                type Events = Vec<(i32, String, Variant<Box<dyn RefArg>>, u32)>;
                for (i, event, _, _) in call.read1::<Events>().unwrap_or_default() {
                    self.event(i, &event);
                }
                Some(call.method_return().append1(Vec::<i32>::new()))
            }
            (MENU_PATH, MENU_IFACE, "AboutToShow") => Some(call.method_return().append1(false)),
            (MENU_PATH, MENU_IFACE, "AboutToShowGroup") => Some(
                call.method_return()
                    .append2(Vec::<i32>::new(), Vec::<i32>::new()),
            ),
            _ => None,
        };
        let reply = reply.unwrap_or_else(|| {
            call.error(
                &"org.freedesktop.DBus.Error.UnknownMethod".into(),
                &std::ffi::CString::new(format!("no {iface}.{member} at {path}"))
                    .unwrap_or_default(),
            )
        });
        let _ = self.conn.send(reply);
    }

    fn event(&self, item: i32, event: &str) {
        if event != "clicked" {
            return;
        }
        let model = self.model();
        let Some(entry) = usize::try_from(item - 1)
            .ok()
            .and_then(|i| model.entries.get(i))
        else {
            return;
        };
        match entry {
            Entry::Action {
                id, enabled: true, ..
            }
            | Entry::Check { id, .. } => (self.on_click)(id),
            Entry::SignIn { account, .. } => {
                (self.on_click)(&format!("{}{account}", id::RELOGIN_PREFIX))
            }
            _ => {}
        }
    }

    fn properties(&self, path: &str) -> PropMap {
        let mut p: PropMap = HashMap::new();
        let mut put = |k: &str, v: Box<dyn RefArg>| {
            p.insert(k.to_owned(), Variant(v));
        };
        if path == MENU_PATH {
            put("Version", Box::new(3u32));
            put("TextDirection", Box::new("ltr".to_owned()));
            put("Status", Box::new("normal".to_owned()));
            put("IconThemePath", Box::<Vec<String>>::default());
            return p;
        }
        let model = self.model();
        put("Category", Box::new("ApplicationStatus".to_owned()));
        put("Id", Box::new("tokentray".to_owned()));
        put("Title", Box::new("Tokentray".to_owned()));
        put("Status", Box::new(status_of(model.health).to_owned()));
        put("WindowId", Box::new(0i32));
        put("IconName", Box::<String>::default());
        put("IconPixmap", Box::new(pixmaps(model.health)));
        put("AttentionIconName", Box::<String>::default());
        put("ItemIsMenu", Box::new(true));
        put("Menu", Box::new(dbus::Path::from(MENU_PATH).into_static()));
        put(
            "ToolTip",
            Box::new((
                String::new(),
                Vec::<(i32, i32, Vec<u8>)>::new(),
                model.tooltip.clone(),
                String::new(),
            )),
        );
        p
    }
}

/// The menu as dbusmenu's layout: the root (id 0) and one item per entry (id = index + 1).
fn layout(model: &Model) -> (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>) {
    let children = (1..=model.entries.len() as i32)
        .map(|i| {
            let item: (i32, PropMap, Vec<Variant<Box<dyn RefArg>>>) =
                (i, item_properties(model, i), Vec::new());
            Variant(Box::new(item) as Box<dyn RefArg>)
        })
        .collect();
    (0, item_properties(model, 0), children)
}

/// The dbusmenu properties of item `i` (0: the root).
fn item_properties(model: &Model, i: i32) -> PropMap {
    let mut p: PropMap = HashMap::new();
    let mut put = |k: &str, v: Box<dyn RefArg>| {
        p.insert(k.to_owned(), Variant(v));
    };
    let text = |s: &str| Box::new(s.to_owned()) as Box<dyn RefArg>;
    if i == 0 {
        put("children-display", text("submenu"));
        return p;
    }
    let Some(entry) = usize::try_from(i - 1)
        .ok()
        .and_then(|n| model.entries.get(n))
    else {
        return p;
    };
    match entry {
        Entry::Info(label) => {
            put("label", text(label));
            put("enabled", Box::new(false));
        }
        Entry::Action { label, enabled, .. } => {
            put("label", text(label));
            put("enabled", Box::new(*enabled));
        }
        Entry::SignIn { account, again } => put("label", text(&sign_in_label(account, *again))),
        Entry::Check { label, checked, .. } => {
            put("label", text(label));
            put("toggle-type", text("checkmark"));
            put("toggle-state", Box::new(i32::from(*checked)));
        }
        Entry::Separator => put("type", text("separator")),
    }
    p
}

/// The item's status for the worst state: panels may draw attention to it.
fn status_of(health: Health) -> &'static str {
    if health == Health::Error {
        "NeedsAttention"
    } else {
        "Active"
    }
}

/// The state's icon as StatusNotifierItem pixmaps: ARGB32 in network byte order, decoded once
/// per state (panels read it again on every change).
fn pixmaps(health: Health) -> Pixmaps {
    static DECODED: [std::sync::OnceLock<Pixmaps>; 4] = [const { std::sync::OnceLock::new() }; 4];
    let slot = match health {
        Health::Ok => 0,
        Health::Paused => 1,
        Health::Stale => 2,
        Health::Error => 3,
    };
    DECODED[slot].get_or_init(|| decode(health)).clone()
}

fn decode(health: Health) -> Pixmaps {
    let png: &[u8] = match health {
        Health::Ok => include_bytes!("../../../icons/tray-ok.png"),
        Health::Paused => include_bytes!("../../../icons/tray-paused.png"),
        Health::Stale => include_bytes!("../../../icons/tray-stale.png"),
        Health::Error => include_bytes!("../../../icons/tray-error.png"),
    };
    match argb(png) {
        Ok(p) => vec![p],
        Err(e) => {
            tracing::warn!("cannot decode the tray icon: {e}");
            Vec::new()
        }
    }
}

fn argb(png: &[u8]) -> Result<(i32, i32, Vec<u8>), png::DecodingError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::ALPHA);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let frame = reader.next_frame(&mut buf)?;
    let rgba = &buf[..frame.buffer_size()];
    let mut out = Vec::with_capacity(rgba.len());
    for px in rgba.chunks_exact(4) {
        out.extend_from_slice(&[px[3], px[0], px[1], px[2]]);
    }
    Ok((frame.width as i32, frame.height as i32, out))
}

fn introspection(path: &str) -> String {
    let body = match path {
        ITEM_PATH => format!(
            r#"<interface name="{ITEM_IFACE}">
  <method name="Activate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
  <method name="SecondaryActivate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
  <method name="ContextMenu"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
  <method name="Scroll"><arg type="i" direction="in"/><arg type="s" direction="in"/></method>
  <property name="Category" type="s" access="read"/><property name="Id" type="s" access="read"/>
  <property name="Title" type="s" access="read"/><property name="Status" type="s" access="read"/>
  <property name="WindowId" type="i" access="read"/><property name="IconName" type="s" access="read"/>
  <property name="IconPixmap" type="a(iiay)" access="read"/>
  <property name="AttentionIconName" type="s" access="read"/>
  <property name="ToolTip" type="(sa(iiay)ss)" access="read"/>
  <property name="ItemIsMenu" type="b" access="read"/><property name="Menu" type="o" access="read"/>
  <signal name="NewIcon"/><signal name="NewToolTip"/><signal name="NewStatus"><arg type="s"/></signal>
</interface>"#
        ),
        MENU_PATH => format!(
            r#"<interface name="{MENU_IFACE}">
  <method name="GetLayout"><arg type="i" direction="in"/><arg type="i" direction="in"/><arg type="as" direction="in"/><arg type="u" direction="out"/><arg type="(ia{{sv}}av)" direction="out"/></method>
  <method name="GetGroupProperties"><arg type="ai" direction="in"/><arg type="as" direction="in"/><arg type="a(ia{{sv}})" direction="out"/></method>
  <method name="GetProperty"><arg type="i" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="out"/></method>
  <method name="Event"><arg type="i" direction="in"/><arg type="s" direction="in"/><arg type="v" direction="in"/><arg type="u" direction="in"/></method>
  <method name="EventGroup"><arg type="a(isvu)" direction="in"/><arg type="ai" direction="out"/></method>
  <method name="AboutToShow"><arg type="i" direction="in"/><arg type="b" direction="out"/></method>
  <method name="AboutToShowGroup"><arg type="ai" direction="in"/><arg type="ai" direction="out"/><arg type="ai" direction="out"/></method>
  <property name="Version" type="u" access="read"/><property name="TextDirection" type="s" access="read"/>
  <property name="Status" type="s" access="read"/><property name="IconThemePath" type="as" access="read"/>
  <signal name="LayoutUpdated"><arg type="u"/><arg type="i"/></signal>
</interface>"#
        ),
        _ => String::new(),
    };
    format!(
        "<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\" \
         \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n<node>\n{body}\n</node>"
    )
}
