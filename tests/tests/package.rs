//! The packages `make package` builds, as a user gets them: the `.deb` installed with apt into a
//! clean Debian 12 (so its dependencies must resolve from Debian alone), run there — the CLI, the
//! tray app under the test X server with its icon registered with a StatusNotifierWatcher, the
//! autostart entry — and removed without a trace; the `.rpm` carrying the same files; the
//! Windows zip holding both programs, which run under Wine.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tokentray_tests::cleanroot::CleanRoot;
use tokentray_tests::deadline::{first_line_within, watchdog_after, OutputWithin};
use tokentray_tests::wine::Wine;
use tokentray_tests::{bins, output_text as text, require_session, skip};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The one package file in `make package`'s folder whose name ends in `suffix`; panics with
/// what to run when there is none.
fn package(suffix: &str) -> PathBuf {
    let dir = bins::package_dir();
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        found.len() == 1,
        "expected one *{suffix} in {} (found {found:?}): run `make package` (make test does)",
        dir.display()
    );
    found.into_iter().next().unwrap_or_default()
}

fn run(cmd: &mut Command, within: Duration) -> Output {
    let out = cmd.output_within(within, None);
    assert!(out.status.success(), "{cmd:?} failed:\n{}", text(&out));
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The regular files in the `.deb`, as absolute paths.
fn deb_files(deb: &Path) -> BTreeSet<String> {
    let out = run(
        Command::new("dpkg-deb").arg("--contents").arg(deb),
        Duration::from_secs(30),
    );
    stdout(&out)
        .lines()
        .filter(|line| line.starts_with('-'))
        .filter_map(|line| line.split_whitespace().last())
        .map(|path| path.trim_start_matches('.').to_owned())
        .collect()
}

/// A field of the `.deb`'s control file.
fn deb_field(deb: &Path, field: &str) -> String {
    let out = run(
        Command::new("dpkg-deb").arg("--field").arg(deb).arg(field),
        Duration::from_secs(30),
    );
    stdout(&out).trim().to_owned()
}

fn rpm_query(rpm: &Path, args: &[&str]) -> String {
    let out = run(
        Command::new("rpm").arg("-qp").args(args).arg(rpm),
        Duration::from_secs(30),
    );
    stdout(&out)
}

#[test]
fn the_deb_and_the_rpm_carry_the_same_files_dependencies_and_version() {
    let (deb, rpm) = (package(".deb"), package(".rpm"));
    let files = deb_files(&deb);
    for expected in [
        "/usr/bin/tokentray",
        "/usr/bin/tokentray-app",
        "/usr/share/applications/tokentray.desktop",
        "/usr/share/icons/hicolor/scalable/apps/tokentray.svg",
        "/usr/share/doc/tokentray/LICENSE-MIT",
        "/usr/share/doc/tokentray/LICENSE-APACHE",
        "/usr/share/doc/tokentray/copyright",
    ] {
        assert!(
            files.contains(expected),
            "{expected} is not in the .deb: {files:#?}"
        );
    }
    for n in [16, 24, 32, 48, 64, 128, 256, 512] {
        let icon = format!("/usr/share/icons/hicolor/{n}x{n}/apps/tokentray.png");
        assert!(files.contains(&icon), "{icon} is not in the .deb");
    }

    // The same files in the .rpm, but for Debian's copyright file (RPM has a License tag).
    let rpm_files: BTreeSet<String> =
        rpm_query(&rpm, &["--qf", "[%{FILEMODES:perms} %{FILENAMES}\\n]"])
            .lines()
            .filter(|line| line.starts_with('-'))
            .filter_map(|line| line.split_once(' ').map(|(_, path)| path.to_owned()))
            .collect();
    let deb_only: BTreeSet<String> = ["/usr/share/doc/tokentray/copyright".to_owned()].into();
    let expected: BTreeSet<String> = files.difference(&deb_only).cloned().collect();
    assert_eq!(
        rpm_files, expected,
        "the .rpm's files differ from the .deb's"
    );

    // The workspace's version in both.
    assert_eq!(deb_field(&deb, "Version"), format!("{VERSION}-1"));
    assert_eq!(rpm_query(&rpm, &["--qf", "%{VERSION}"]), VERSION);
    assert_eq!(deb_field(&deb, "Package"), "tokentray");
    assert_eq!(rpm_query(&rpm, &["--qf", "%{NAME}"]), "tokentray");

    // WebKitGTK and the tray library are needed; a Secret Service is only recommended.
    let depends = deb_field(&deb, "Depends");
    for lib in [
        "libwebkit2gtk-4.1-0",
        "libgtk-3-0",
        "libayatana-appindicator3-1",
    ] {
        assert!(
            depends.contains(lib),
            "the .deb does not depend on {lib}: {depends}"
        );
    }
    assert!(!depends.contains("gnome-keyring"), "{depends}");
    assert!(deb_field(&deb, "Recommends").contains("gnome-keyring"));
    let requires = rpm_query(&rpm, &["--requires"]);
    for lib in [
        "libwebkit2gtk-4.1.so.0()(64bit)",
        "libgtk-3.so.0()(64bit)",
        "libayatana-appindicator3.so.1()(64bit)",
    ] {
        assert!(
            requires.contains(lib),
            "the .rpm does not require {lib}: {requires}"
        );
    }
    assert!(!requires.contains("gnome-keyring"), "{requires}");
    assert!(rpm_query(&rpm, &["--recommends"]).contains("gnome-keyring"));
    // Every library the two programs link is required by the .rpm (the .deb's come from
    // dpkg-shlibdeps, which reads the same).
    let extracted = tempfile::tempdir().expect("tempdir");
    run(
        Command::new("dpkg-deb")
            .arg("-x")
            .arg(&deb)
            .arg(extracted.path()),
        Duration::from_secs(60),
    );
    for bin in ["usr/bin/tokentray", "usr/bin/tokentray-app"] {
        for soname in needed(&extracted.path().join(bin)) {
            assert!(
                requires.contains(&format!("{soname}()(64bit)")),
                "{bin} links {soname}, which the .rpm does not require:\n{requires}"
            );
        }
    }

    // The menu entry is valid and names the installed program and icon.
    let entry = extracted
        .path()
        .join("usr/share/applications/tokentray.desktop");
    run(
        Command::new("desktop-file-validate").arg(&entry),
        Duration::from_secs(30),
    );
    let entry = std::fs::read_to_string(&entry).expect("read the menu entry");
    assert!(entry.contains("\nExec=tokentray-app\n"), "{entry}");
    assert!(entry.contains("\nIcon=tokentray\n"), "{entry}");
}

/// The shared libraries `elf` names in its dynamic section.
fn needed(elf: &Path) -> Vec<String> {
    let out = run(
        Command::new("objdump").arg("-p").arg(elf),
        Duration::from_secs(30),
    );
    stdout(&out)
        .lines()
        .filter_map(|line| line.trim().strip_prefix("NEEDED"))
        .map(|name| name.trim().to_owned())
        .collect()
}

/// A D-Bus session bus of its own for the installed tray app, with a StatusNotifierWatcher on
/// it (tests/desktop/sni-watcher.py): the test's shared session has no watcher, and other tests'
/// tray apps must not register with this one.
struct TrayBus {
    daemon: Child,
    watcher: Child,
    address: String,
    registered: mpsc::Receiver<String>,
}

impl TrayBus {
    fn start() -> TrayBus {
        // An abstract socket: reachable from inside the chroot, which shares the network
        // namespace but not the host's /tmp.
        // No service activation: the host's services (portals, keyrings) have no business
        // with a program inside the root, and would only be started and time out.
        let config = tempfile::NamedTempFile::new().expect("bus config");
        std::fs::write(
            config.path(),
            format!(
                "<busconfig><type>session</type>\
                 <listen>unix:abstract=tokentray-package-{}</listen><auth>EXTERNAL</auth>\
                 <policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/>\
                 <allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>",
                std::process::id()
            ),
        )
        .expect("write the bus config");
        let mut daemon = Command::new("dbus-daemon")
            .args(["--nofork", "--print-address=1", "--config-file"])
            .arg(config.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dbus-daemon");
        let out = daemon.stdout.take().expect("piped");
        let address = first_line_within(&mut daemon, out, Duration::from_secs(30), "dbus-daemon")
            .trim()
            .to_owned();
        // Debian's Python, where python3-gi is (another python3 may come first on PATH).
        let mut watcher = Command::new("/usr/bin/python3")
            .arg(bins::repo_root().join("tests/desktop/sni-watcher.py"))
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the StatusNotifierWatcher");
        let lines = BufReader::new(watcher.stdout.take().expect("piped")).lines();
        let (tx, registered) = mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let ready = registered
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_default();
        assert_eq!(ready, "ready", "the StatusNotifierWatcher did not start");
        TrayBus {
            daemon,
            watcher,
            address,
            registered,
        }
    }
}

impl Drop for TrayBus {
    fn drop(&mut self) {
        for child in [&mut self.watcher, &mut self.daemon] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn the_deb_installs_on_a_clean_debian_12_runs_and_removes_without_a_trace() {
    require_session();
    // apt fetches WebKitGTK and its dependencies on the first run (about 100 MB); tests/nextest.toml
    // allows this test longer.
    watchdog_after(Duration::from_secs(1000));
    let deb = package(".deb");
    let cache = std::env::var_os("TOKENTRAY_PACKAGE_CACHE")
        .map(PathBuf::from)
        .expect("TOKENTRAY_PACKAGE_CACHE is set by make test");
    let cached_root = cache.join("debian-12");
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| stdout(&o).trim() == "0");
    if !root_user {
        return skip("installing into a clean Debian root needs root (chroot, mounts)");
    }
    assert!(
        cached_root.join(".tokentray-root").exists(),
        "no clean Debian 12 root at {}: run `make package-root` (make test does)",
        cached_root.display()
    );
    let Some(root) = CleanRoot::over(&cached_root, &cache.join("apt-archives")) else {
        return skip("cannot mount the overlay of the clean Debian root");
    };
    let long = Duration::from_secs(900);

    // Installed with apt, as a user would: its dependencies must resolve from Debian 12 alone.
    // Without the recommended packages, to show none of them is needed to run.
    std::fs::copy(&deb, root.host_path("/tmp/tokentray.deb")).expect("copy the .deb in");
    run(
        root.command("apt-get")
            .args(["-o", "Acquire::Retries=3", "update"]),
        long,
    );
    run(
        root.command("apt-get").args([
            "install",
            "-y",
            "--no-install-recommends",
            "/tmp/tokentray.deb",
        ]),
        long,
    );
    let installed: Vec<String> = stdout(&run(
        root.command("dpkg").args(["-L", "tokentray"]),
        Duration::from_secs(30),
    ))
    .lines()
    .map(str::to_owned)
    .collect();
    let files: Vec<&String> = installed
        .iter()
        .filter(|p| root.host_path(p).is_file())
        .collect();
    assert!(
        files.iter().any(|p| *p == "/usr/bin/tokentray-app"),
        "{installed:#?}"
    );

    // The CLI runs from PATH and knows its version.
    let out = run(
        root.command("tokentray").arg("--version"),
        Duration::from_secs(60),
    );
    assert!(
        stdout(&out).starts_with(&format!("tokentray {VERSION} ")),
        "{}",
        text(&out)
    );
    let out = run(
        root.command("tokentray").arg("status"),
        Duration::from_secs(60),
    );
    assert!(stdout(&out).contains("No accounts yet"), "{}", text(&out));

    // The tray app starts under the test's X server and registers its icon.
    std::fs::create_dir_all(root.host_path("/run/user/0")).expect("runtime dir");
    set_mode(&root.host_path("/run/user/0"), 0o700);
    let bus = TrayBus::start();
    let display = std::env::var("DISPLAY").expect("the session has a DISPLAY");
    let log = root.host_path("/tmp/app.log");
    let mut app = root
        .command("tokentray-app")
        .arg("--minimized")
        .env("DISPLAY", &display)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .env("XDG_RUNTIME_DIR", "/run/user/0")
        .stdout(std::fs::File::create(&log).expect("app log"))
        .stderr(std::fs::File::create(log.with_extension("err")).expect("app log"))
        .spawn()
        .expect("start the installed tray app");
    let app_log = || {
        format!(
            "{}{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
        )
    };
    let registered = loop {
        match bus.registered.recv_timeout(Duration::from_secs(90)) {
            Ok(line) if line.starts_with("registered ") => break line,
            Ok(_) => continue,
            Err(_) => {
                let _ = app.kill();
                panic!(
                    "the tray app registered no tray icon within 90 s:\n{}",
                    app_log()
                );
            }
        }
    };
    println!("installed tray app: {registered}");
    // It stays up (a tray app that dies after registering is no better).
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        app.try_wait().ok().flatten().is_none(),
        "the installed tray app exited:\n{}",
        app_log()
    );

    // Launch at login starts the installed program, not a build folder.
    let out = run(
        root.command("tokentray")
            .args(["autostart", "on"])
            .env("XDG_RUNTIME_DIR", "/run/user/0"),
        Duration::from_secs(60),
    );
    let entry =
        std::fs::read_to_string(root.host_path("/root/.config/autostart/tokentray.desktop"))
            .unwrap_or_else(|e| panic!("no autostart entry ({e}): {}", text(&out)));
    assert!(
        entry.contains("\nExec=\"/usr/bin/tokentray-app\" --minimized\n"),
        "{entry}"
    );
    let _ = Command::new("kill").arg(app.id().to_string()).status();
    let _ = app.wait();
    drop(bus);

    // apt remove takes every file the package brought.
    run(
        root.command("apt-get").args(["remove", "-y", "tokentray"]),
        long,
    );
    let left: Vec<&&String> = files
        .iter()
        .filter(|p| root.host_path(p).exists())
        .collect();
    assert!(left.is_empty(), "apt remove left these behind: {left:?}");
    assert!(!root.host_path("/usr/share/doc/tokentray").exists());
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[test]
fn the_windows_zip_holds_both_programs_and_they_run() {
    let zip = package("-windows-x86_64.zip");
    let listing = run(
        Command::new("unzip").arg("-Z1").arg(&zip),
        Duration::from_secs(30),
    );
    let top = format!("tokentray-{VERSION}-windows-x86_64/");
    let names: BTreeSet<String> = stdout(&listing)
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(|l| l.trim_start_matches(&top).to_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "tokentray.exe",
        "tokentray-app.exe",
        // The app's web view loads through it (the GNU build links it; Windows has none).
        "WebView2Loader.dll",
        "README.md",
        "LICENSE-MIT",
        "LICENSE-APACHE",
    ]
    .map(String::from)
    .into();
    assert_eq!(names, expected, "{}", stdout(&listing));

    let dir = tempfile::tempdir().expect("tempdir");
    run(
        Command::new("unzip")
            .arg("-q")
            .arg(&zip)
            .arg("-d")
            .arg(dir.path()),
        Duration::from_secs(60),
    );
    // Both start from the unpacked folder: every DLL they need is Windows' own or inside.
    let wine = Wine::locate();
    for program in ["tokentray", "tokentray-app"] {
        let exe = dir.path().join(&top).join(format!("{program}.exe"));
        let out = run(
            wine.system_command(&exe.to_string_lossy()).arg("--version"),
            Duration::from_secs(120),
        );
        assert!(
            stdout(&out).starts_with(&format!("{program} {VERSION} ")),
            "{}",
            text(&out)
        );
    }
}
