//! The tray app under a real X server and D-Bus session: it starts tray-only, stays up, sleeps
//! when idle, and a second launch hands over to it.

use std::time::{Duration, Instant};

use tokentray_tests::desktop::dashboard_windows;
use tokentray_tests::{bins, procstat, require_session, sandbox::Sandbox, wait_until};

/// How long the app must stay up.
const SOAK: Duration = Duration::from_secs(120);
/// The window over which wakeups are counted.
const IDLE_WINDOW: Duration = Duration::from_secs(30);

#[test]
fn tray_app_stays_up_idles_quietly_and_a_second_launch_hands_over() {
    require_session();
    let s = Sandbox::new();
    let started = Instant::now();
    let mut app = s.spawn(bins::app(), &["--minimized"], "app.log");
    s.wait_for_engine(Duration::from_secs(60));
    assert!(app.is_running(), "{}", app.output());

    // Let start-up settle, then count wakeups of every thread while nothing is due.
    std::thread::sleep(Duration::from_secs(3));
    let wakeups = procstat::wakeups_per_second(app.pid(), IDLE_WINDOW);
    let pss = procstat::pss_kib(app.pid()).unwrap_or(0);
    println!("idle tray app: {wakeups:.2} wakeups/s over {IDLE_WINDOW:?}, PSS {pss} KiB");
    assert!(
        wakeups < 1.0,
        "idle tray app wakes {wakeups:.2} times a second"
    );

    // A second launch through the CLI hands over and exits 0; the first keeps running.
    let second = s.cli(&["run", "--minimized"]);
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(
        app.is_running(),
        "the first app exited after a second launch:\n{}",
        app.output()
    );

    // The app serves the CLI over its socket.
    s.write_settings("");
    let status = s.cli(&["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"accounts": []}));

    while started.elapsed() < SOAK {
        std::thread::sleep(Duration::from_secs(1));
        assert!(app.is_running(), "the tray app exited:\n{}", app.output());
    }
    assert!(
        app.output().contains("handed over"),
        "the app did not log the hand-over:\n{}",
        app.output()
    );

    // SIGTERM (a logout) stops the tray app as Quit does: the host stops, the engine shuts
    // down and flushes, the socket goes, and the exit is clean.
    let status = app.terminate();
    assert!(status.success(), "{status:?}\n{}", app.output());
    assert!(
        app.output().contains("engine stopped"),
        "the app exited without stopping its engine:\n{}",
        app.output()
    );
    assert!(!s.socket().exists(), "socket removed on exit");
}

#[test]
fn the_dashboard_works_against_a_headless_engine_and_ends_with_it() {
    require_session();
    let s = Sandbox::new();
    let mut engine = s.spawn(bins::cli(), &["run", "--headless"], "engine.log");
    s.wait_for_engine(Duration::from_secs(20));
    let mut dash = s.spawn(bins::app(), &["--dashboard"], "dashboard.log");
    wait_until("the dashboard window", Duration::from_secs(30), || {
        tokentray_tests::desktop::visible_windows(dash.pid(), "Tokentray").len() == 1
    });
    // The engine quits (the tray app's Quit does the same): the dashboard closes itself.
    engine.terminate();
    wait_until(
        "the dashboard to end with the engine",
        Duration::from_secs(15),
        || !dash.is_running(),
    );
    assert!(
        dash.output().contains("the engine went away"),
        "{}",
        dash.output()
    );
}

#[test]
fn dashboard_opens_on_a_second_launch_and_is_destroyed_when_closed() {
    require_session();
    // One X display is shared by the tests: only this app's windows count.
    let s = Sandbox::new();
    let mut app = s.spawn(bins::app(), &["--minimized"], "app.log");
    let pid = app.pid();
    s.wait_for_engine(Duration::from_secs(60));
    assert!(
        dashboard_windows(pid).is_empty(),
        "--minimized must not open a window"
    );

    // `tokentray run` without --minimized asks the running app for its dashboard.
    assert!(s.cli(&["run"]).status.success());
    wait_until("the dashboard window", Duration::from_secs(30), || {
        dashboard_windows(pid).len() == 1
    });
    // Asked again while it is open: the open one is used (it comes to the front), not a second.
    assert!(s.cli(&["run"]).status.success());
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(dashboard_windows(pid).len(), 1);
    assert_eq!(
        procstat::children(pid).len(),
        1,
        "a second dashboard process"
    );

    // Close it like a person would (Ctrl+W); the window goes away, the tray app stays. The page
    // may still be loading its script when the first key arrives, so try a few times.
    let mut closed = false;
    for _ in 0..10 {
        let Some(window) = dashboard_windows(pid).first().cloned() else {
            closed = true;
            break;
        };
        // Focus can fail while the window is being mapped; the next round tries again.
        let _ = std::process::Command::new("xdotool")
            .args(["windowfocus", "--sync", &window])
            .status();
        let key = std::process::Command::new("xdotool")
            .args(["key", "ctrl+w"])
            .status()
            .unwrap();
        assert!(key.success());
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(
        closed || dashboard_windows(pid).is_empty(),
        "Ctrl+W did not close the dashboard"
    );
    // Closed, not hidden: its process is gone (and reaped), which is what returns the memory.
    wait_until(
        "the dashboard process to end",
        Duration::from_secs(10),
        || procstat::children(pid).is_empty(),
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        app.is_running(),
        "closing the dashboard ended the app:\n{}",
        app.output()
    );

    // And it opens again.
    assert!(s.cli(&["run"]).status.success());
    wait_until("the dashboard to reopen", Duration::from_secs(30), || {
        dashboard_windows(pid).len() == 1
    });
}

#[test]
fn with_a_broken_settings_file_the_app_stays_the_one_tray_and_its_dashboard_opens() {
    require_session();
    let s = Sandbox::new();
    s.write_settings("[[account]]\nname = \"alice\"\nprovider = = \"x\"\n");
    let mut app = s.spawn(bins::app(), &["--minimized"], "app.log");
    let pid = app.pid();
    wait_until("the app's socket", Duration::from_secs(60), || {
        s.socket().exists()
    });
    // The CLI hears the app's sentence: what to fix, and where.
    let out = s.cli(&["status"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 3"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second launch hands over instead of starting a second tray, and opens the dashboard.
    let mut second = s.spawn(bins::cli(), &["run"], "second.log");
    wait_until(
        "the second launch to hand over",
        Duration::from_secs(20),
        || !second.is_running(),
    );
    assert!(
        second.output().contains("handed over"),
        "{}",
        second.output()
    );
    wait_until("the dashboard window", Duration::from_secs(30), || {
        dashboard_windows(pid).len() == 1
    });
    assert!(app.is_running(), "{}", app.output());
}

#[test]
fn the_bundle_identifier_is_one_every_platforms_bundler_accepts() {
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(bins::repo_root().join("src-tauri/tauri.conf.json"))
            .expect("tauri.conf.json"),
    )
    .expect("tauri.conf.json is JSON");
    let id = conf["identifier"].as_str().expect("an identifier");
    // Reverse DNS of ASCII letters, digits and hyphens (macOS' CFBundleIdentifier, Windows'
    // application id, a Linux desktop file's name); the Tauri CLI refuses one that ends in
    // `.app`, which macOS reserves for bundles.
    let parts: Vec<&str> = id.split('.').collect();
    assert!(parts.len() >= 2, "{id}");
    assert!(
        parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')),
        "{id}"
    );
    assert!(!id.to_ascii_lowercase().ends_with(".app"), "{id}");
}

#[test]
fn every_platforms_icon_is_there_at_its_sizes() {
    let icons = bins::repo_root().join("icons");
    // Freedesktop's hicolor theme, as a package installs it: PNG, RGBA, N×N.
    for n in [16u32, 24, 32, 48, 64, 128, 256, 512] {
        let path = icons.join(format!("hicolor/{n}x{n}/apps/tokentray.png"));
        let png =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (make icons)", path.display()));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
        let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
        let height = u32::from_be_bytes([png[20], png[21], png[22], png[23]]);
        assert_eq!((width, height), (n, n), "{}", path.display());
        assert_eq!(png[25], 6, "{} is RGBA", path.display());
    }
    // Windows' .ico (tauri-build embeds it) with a 256-pixel image, and macOS' .icns.
    let ico = std::fs::read(icons.join("icon.ico")).expect("icons/icon.ico");
    assert_eq!(&ico[..4], &[0, 0, 1, 0]);
    let count = u16::from_le_bytes([ico[4], ico[5]]) as usize;
    assert!(
        (0..count).any(|i| ico[6 + 16 * i] == 0),
        "a 256-pixel image (width byte 0)"
    );
    let icns = std::fs::read(icons.join("icon.icns")).expect("icons/icon.icns");
    assert_eq!(&icns[..4], b"icns");
    assert_eq!(
        u32::from_be_bytes([icns[4], icns[5], icns[6], icns[7]]) as usize,
        icns.len()
    );
}
