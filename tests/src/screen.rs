//! An X screen of a test's own (Xvfb) with a system tray (trayer) on it, for pictures of the
//! tray icon and its menu. The session's shared display has no tray, and a tray there would
//! dock every parallel test's icon side by side.
//!
//! The tray app's library (libayatana-appindicator) shows its icon through the
//! StatusNotifierItem protocol when a watcher is on the bus, and as an XEmbed icon in an X tray
//! otherwise; a test's private bus has no watcher, so the icon docks in trayer, and a click
//! opens the app's own GTK menu, which is what the picture shows.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The screen's size: room for the dashboard at 1,400 px beside the tray's menu.
const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
/// trayer's height: the icon is drawn at this size, as on a desktop panel.
const TRAY_HEIGHT: u32 = 32;
/// The desktop shown around a picture's subject, in pixels.
const MARGIN: u32 = 12;
const WAIT: Duration = Duration::from_secs(20);

/// The X server and its tray; both stopped when dropped.
pub struct Screen {
    xvfb: Child,
    tray: Child,
    display: String,
}

impl Screen {
    /// Starts Xvfb on a free display, paints its background and starts trayer at its top right.
    pub fn start() -> Screen {
        // `-displayfd 1`: Xvfb picks a free display and prints its number once it is ready.
        let mut xvfb = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-noreset",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
            ])
            .arg(format!("{WIDTH}x{HEIGHT}x24"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb (make test-deps installs it)");
        let mut number = String::new();
        BufReader::new(xvfb.stdout.take().expect("piped"))
            .read_line(&mut number)
            .expect("read Xvfb's display number");
        let display = format!(":{}", number.trim());
        assert!(display.len() > 1, "Xvfb printed no display number");
        let on_screen = |program: &str| {
            let mut cmd = Command::new(program);
            cmd.env("DISPLAY", &display);
            cmd
        };
        // A desktop's colour rather than black, as a panel would sit on (kept: -noreset, or
        // the server would reset it when xsetroot disconnects).
        let painted = on_screen("xsetroot").args(["-solid", "#3b4252"]).status();
        assert!(
            painted.as_ref().is_ok_and(|s| s.success()),
            "xsetroot failed: {painted:?}"
        );
        let tray = on_screen("trayer")
            .args([
                "--edge",
                "top",
                "--align",
                "right",
                "--widthtype",
                "request",
            ])
            .args(["--height", &TRAY_HEIGHT.to_string(), "--tint", "0x2e3440"])
            .args(["--transparent", "true", "--alpha", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start trayer (make test-deps installs it)");
        let screen = Screen {
            xvfb,
            tray,
            display,
        };
        crate::wait_until("trayer's panel", WAIT, || {
            !screen.windows(&["--class", "trayer"]).is_empty()
        });
        screen
    }

    /// The display, for `DISPLAY` of the processes under test.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Waits until the tray icon of the process `pid` sits in the tray.
    pub fn wait_for_tray_icon(&self, pid: u32) {
        crate::wait_until("the tray icon in the tray", WAIT, || self.icon_docked(pid));
    }

    /// Clicks the tray icon, saves a picture of the icon and its open menu as `out`, and closes
    /// the menu again. `pid` is the tray app's.
    pub fn tray_menu_picture(&self, pid: u32, out: &Path) {
        self.wait_for_tray_icon(pid);
        let before = self.visible_windows_of(pid);
        self.xdotool(&[
            "mousemove",
            &(WIDTH - TRAY_HEIGHT / 2).to_string(),
            &(TRAY_HEIGHT / 2).to_string(),
            "click",
            "1",
        ]);
        let mut menu = None;
        crate::wait_until("the tray menu to open", WAIT, || {
            // GTK maps a few helper windows with the menu; the menu is the big one.
            menu = self
                .visible_windows_of(pid)
                .into_iter()
                .filter(|w| !before.contains(w))
                .filter_map(|w| self.geometry(&w))
                .filter(|&(_, _, w, h)| w > 100 && h > 40)
                .max_by_key(|&(_, _, w, h)| w * h);
            menu.is_some()
        });
        let Some((x, _, _, h)) = menu else {
            unreachable!("waited for the menu")
        };
        // GTK draws the menu once it is mapped; a moment for its first frame.
        std::thread::sleep(Duration::from_millis(300));
        let left = x.saturating_sub(MARGIN);
        self.picture(left, 0, WIDTH - left, TRAY_HEIGHT + h + MARGIN, out);
        self.xdotool(&["key", "Escape"]);
        crate::wait_until("the tray menu to close", WAIT, || {
            self.visible_windows_of(pid) == before
        });
    }

    /// Waits for a notification on the screen (dunst's window) and saves a picture of it as
    /// `out`.
    pub fn notification_picture(&self, out: &Path) {
        let mut shown = None;
        crate::wait_until("a notification on the screen", WAIT, || {
            shown = self
                .windows(&["--onlyvisible", "--class", "Dunst"])
                .first()
                .and_then(|w| self.geometry(w));
            shown.is_some()
        });
        let Some((x, y, w, h)) = shown else {
            unreachable!("waited for the notification")
        };
        std::thread::sleep(Duration::from_millis(300));
        let (left, top) = (x.saturating_sub(MARGIN), y.saturating_sub(MARGIN));
        self.picture(left, top, w + 2 * MARGIN, h + 2 * MARGIN, out);
    }

    /// Saves the rectangle at (`x`, `y`) of `width` × `height` (clipped to the screen) as `out`.
    fn picture(&self, x: u32, y: u32, width: u32, height: u32, out: &Path) {
        let (width, height) = (width.min(WIDTH - x), height.min(HEIGHT - y));
        let status = Command::new("import")
            .env("DISPLAY", &self.display)
            .args(["-window", "root", "-crop"])
            .arg(format!("{width}x{height}+{x}+{y}"))
            .arg("+repage")
            .arg(out)
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "import failed: {status:?}"
        );
    }

    fn icon_docked(&self, pid: u32) -> bool {
        // The icon is an XEmbed window of the app's, mapped inside trayer's panel once docked.
        let pid = pid.to_string();
        let icons = [
            "--all",
            "--onlyvisible",
            "--pid",
            &pid,
            "--class",
            "tray-icon",
        ];
        self.windows(&icons)
            .iter()
            .filter_map(|w| self.geometry(w))
            .any(|(x, y, _, _)| y < TRAY_HEIGHT && x > WIDTH / 2)
    }

    fn visible_windows_of(&self, pid: u32) -> Vec<String> {
        self.windows(&["--onlyvisible", "--pid", &pid.to_string()])
    }

    fn windows(&self, query: &[&str]) -> Vec<String> {
        let out = Command::new("xdotool")
            .env("DISPLAY", &self.display)
            .arg("search")
            .args(query)
            .output();
        out.map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    }

    /// A window's position and size: x, y, width, height.
    fn geometry(&self, window: &str) -> Option<(u32, u32, u32, u32)> {
        let out = Command::new("xdotool")
            .env("DISPLAY", &self.display)
            .args(["getwindowgeometry", "--shell", window])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                .and_then(|v| v.parse::<i64>().ok())
                .map(|v| v.max(0) as u32)
        };
        Some((field("X")?, field("Y")?, field("WIDTH")?, field("HEIGHT")?))
    }

    fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool")
            .env("DISPLAY", &self.display)
            .args(args)
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "xdotool {args:?} failed: {status:?}"
        );
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        for child in [&mut self.tray, &mut self.xvfb] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
