//! A private D-Bus session bus with its own unlocked gnome-keyring and its own dunst, for tests
//! that read and click notifications: tests run in parallel, and on the shared bus `dunstctl
//! action 0` could click another test's notification. The X display (Xvfb) is shared.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The private bus and its services; all are stopped when dropped.
pub struct Desktop {
    dir: tempfile::TempDir,
    address: String,
    bus: Child,
    dunst: Child,
}

impl Desktop {
    /// Starts the bus, the keyring and dunst, and waits until both services own their names.
    pub fn start() -> Desktop {
        Self::start_on(None)
    }

    /// As [`Desktop::start`], with dunst's notifications shown on `display` (a test's own
    /// screen) instead of the session's.
    pub fn start_on(display: Option<&str>) -> Desktop {
        let dir = tempfile::Builder::new()
            .prefix("tt-desktop-")
            .tempdir()
            .expect("temp dir");
        for sub in ["run", "data", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("desktop folders");
        }
        // A session bus without service activation: a keyring the test stopped stays stopped
        // (activation would start another one, locked, on the shared session's folders), and no
        // unlock prompter ever opens on the shared display.
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().join("run").display()
            ),
        )
        .expect("bus config");
        let mut bus = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address=1"])
            .arg(format!("--config-file={}", config.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().expect("piped"))
            .read_line(&mut address)
            .expect("read the bus address");
        let address = address.trim().to_owned();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        Self::unlocked_keyring(dir.path(), &address);
        // `-print` writes every notification it receives to stdout: the test's record of them.
        let printed = std::fs::File::create(dir.path().join("dunst.out")).expect("dunst log");
        // dunst's defaults, except its action menu: instead of dmenu, a script that picks the
        // line a test chose (`Desktop::choose`), the way a person picks from the menu.
        let picker = dir.path().join("pick.sh");
        std::fs::write(
            &picker,
            format!(
                "#!/bin/sh\ncat > '{dir}/menu.txt'\ngrep -F -- \"$(sed -n 1p '{dir}/choice')\" '{dir}/menu.txt' | grep -F -- \"$(sed -n 2p '{dir}/choice')\" | head -n 1\n",
                dir = dir.path().display()
            ),
        )
        .expect("menu picker");
        std::fs::set_permissions(&picker, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("menu picker mode");
        let config = dir.path().join("dunstrc");
        std::fs::write(
            &config,
            // At the bottom right, as many desktops show them: clear of the tray and its menu
            // at the top, which the walkthrough's pictures show.
            format!(
                "[global]\n    dmenu = {}\n    origin = bottom-right\n    offset = 10x10\n",
                picker.display()
            ),
        )
        .expect("dunst config");
        let mut dunst = Self::on_bus(dir.path(), &address, "dunst");
        if let Some(display) = display {
            dunst.env("DISPLAY", display);
        }
        let dunst = dunst
            .arg("-config")
            .arg(&config)
            .arg("-print")
            .stdout(printed)
            .stderr(Stdio::null())
            .spawn()
            .expect("start dunst");
        let desktop = Desktop {
            dir,
            address,
            bus,
            dunst,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let names = desktop.bus_names();
            if names.contains("org.freedesktop.secrets")
                && names.contains("org.freedesktop.Notifications")
            {
                return desktop;
            }
            assert!(
                Instant::now() < deadline,
                "the private keyring and dunst did not start: {names}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Starts gnome-keyring with its login keyring unlocked, replacing a running one.
    fn unlocked_keyring(dir: &Path, address: &str) {
        let mut keyring = Self::on_bus(dir, address, "gnome-keyring-daemon")
            .args(["--replace", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        {
            use std::io::Write;
            let mut stdin = keyring.stdin.take().expect("piped");
            stdin
                .write_all(b"tokentray-test")
                .expect("keyring password");
        }
        // It forks a daemon that lives as long as the bus; the parent exits at once.
        let _ = keyring.wait();
    }

    /// The keychain goes away: the keyring daemon is killed, and nothing restarts it.
    pub fn stop_keyring(&self) {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply=literal",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                "string:org.freedesktop.secrets",
            ])
            .output()
            .expect("dbus-send");
        let text = String::from_utf8_lossy(&out.stdout);
        let pid = text
            .split_whitespace()
            .last()
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("no keyring daemon on the bus: {text}"));
        let status = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.wait_for_name("org.freedesktop.secrets", false);
    }

    /// The keychain comes back (or is unlocked): a keyring daemon with the same keyring file,
    /// unlocked with its password.
    pub fn start_keyring(&self) {
        Self::unlocked_keyring(self.dir.path(), &self.address);
        self.wait_for_name("org.freedesktop.secrets", true);
    }

    /// Locks the login keyring, as a screen locker or the user would.
    pub fn lock_keyring(&self) {
        let out = self
            .command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .expect("dbus-send");
        assert!(
            out.status.success(),
            "lock the keyring: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn wait_for_name(&self, name: &str, present: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.bus_names().contains(name) == present {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not {} the bus",
                if present { "join" } else { "leave" }
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn bus_names(&self) -> String {
        self.command("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.ListNames",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    fn on_bus(dir: &Path, address: &str, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", address)
            .env("XDG_RUNTIME_DIR", dir.join("run"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("HOME", dir.join("home"));
        cmd
    }

    /// A fresh sandbox whose processes use this desktop's bus (its keyring and its dunst).
    pub fn sandbox(&self) -> crate::sandbox::Sandbox {
        let mut s = crate::sandbox::Sandbox::new();
        s.set_env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        s
    }

    /// The bus address, for the processes under test.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A command that talks to this desktop's bus (dunstctl, dbus-send).
    pub fn command(&self, program: &str) -> Command {
        Self::on_bus(self.dir.path(), &self.address, program)
    }

    /// Every notification dunst received so far, oldest first, as `(summary, body)`.
    pub fn notifications(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.dir.path().join("dunst.out")).unwrap_or_default();
        let field = |line: &str, name: &str| {
            line.trim_start()
                .strip_prefix(name)
                .and_then(|v| v.strip_prefix(": '"))
                .map(|v| v.trim_end_matches('\'').to_owned())
        };
        let mut all = Vec::new();
        let mut summary = None;
        for line in text.lines() {
            if let Some(s) = field(line, "summary") {
                summary = Some(s);
            } else if let Some(b) = field(line, "body") {
                if let Some(s) = summary.take() {
                    all.push((s, b));
                }
            }
        }
        all
    }

    /// The notifications whose summary mentions `text`.
    pub fn notifications_about(&self, text: &str) -> Vec<(String, String)> {
        self.notifications()
            .into_iter()
            .filter(|(s, _)| s.contains(text))
            .collect()
    }

    /// `dunstctl count displayed`.
    pub fn displayed(&self) -> u32 {
        self.dunstctl(&["count", "displayed"])
            .trim()
            .parse()
            .unwrap_or(0)
    }

    /// Picks the action labelled `label` (`Allow once`) of the notification whose summary
    /// holds `about` from dunst's action menu, as a person would.
    pub fn choose(&self, label: &str, about: &str) {
        std::fs::write(
            self.dir.path().join("choice"),
            format!("{label}\n{about}\n"),
        )
        .expect("choice");
        let offered = self.dir.path().join("menu.txt");
        let _ = std::fs::remove_file(&offered);
        self.dunstctl(&["context"]);
        // dunst runs the menu after `dunstctl` returns: wait for it, and show what it offered
        // (the test's output when it fails).
        crate::wait_until("dunst's action menu", Duration::from_secs(10), || {
            offered.exists()
        });
        std::thread::sleep(Duration::from_millis(100));
        let menu = std::fs::read_to_string(&offered).unwrap_or_default();
        println!("dunst's menu when choosing {label:?} about {about:?}:\n{menu}");
    }

    /// Runs `dunstctl` with `args` and returns what it printed.
    pub fn dunstctl(&self, args: &[&str]) -> String {
        let out = self
            .command("dunstctl")
            .args(args)
            .output()
            .expect("run dunstctl");
        assert!(
            out.status.success(),
            "dunstctl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.dunst.kill();
        let _ = self.dunst.wait();
        // The keyring daemon leaves with the bus.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

/// The visible X windows of process `pid` titled exactly `title` (tests share one display, so
/// each looks only at its own process's windows).
pub fn visible_windows(pid: u32, title: &str) -> Vec<String> {
    let out = Command::new("xdotool")
        .args([
            "search",
            // Every condition, not any (xdotool's default would match other tests' windows).
            "--all",
            "--onlyvisible",
            "--pid",
            &pid.to_string(),
            "--name",
        ])
        .arg(format!("^{title}$"))
        .output()
        .expect("run xdotool (make test-deps installs it)");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The visible dashboard windows ("Tokentray") of process `pid` and its descendants (the
/// dashboard is a process of its own, started by the tray app).
pub fn dashboard_windows(pid: u32) -> Vec<String> {
    crate::procstat::process_tree(pid)
        .into_iter()
        .flat_map(|p| visible_windows(p, "Tokentray"))
        .collect()
}
