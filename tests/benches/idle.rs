//! Idle cost and start-up, side by side in one run (release builds, inside the private desktop
//! session, on a bus of the bench's own with a panel's StatusNotifierWatcher): a bare Tauri 2
//! tray app (`tests/bare-tray`), a bare StatusNotifierItem (`tests/bare-sni`), Tokentray's tray
//! as it was (the Tauri tray, `TOKENTRAY_TRAY=gtk`) and as it is on Linux now (what launch at
//! login runs: the engine and a StatusNotifierItem in one process), each with 25 signed-in
//! accounts with hour-long tokens and a warm-up job not yet due; then the lean tray after the
//! dashboard was opened and closed, both StatusNotifierItems with no watcher on the bus, and the
//! headless engine. Also the time from launch to the tray icon, and the binaries' sizes. Prints
//! figures; asserts nothing.
//!
//!   make bench   (tests/session.sh cargo bench -p tokentray-tests --bench idle)

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokentray_tests::desktop::Desktop;
use tokentray_tests::panel::Panel;
use tokentray_tests::procstat;
use tokentray_tests::sandbox::Sandbox;

const ACCOUNTS: usize = 25;
const SETTLE: Duration = Duration::from_secs(5);
const WINDOW: Duration = Duration::from_secs(30);

/// One process the bench launches: its row's name, program, arguments and `TOKENTRAY_TRAY`.
struct Subject {
    name: &'static str,
    program: &'static str,
    args: &'static [&'static str],
    tray: Option<&'static str>,
}

const BARE_TAURI: Subject = Subject {
    name: "bare Tauri 2 tray app",
    program: "bare-tray",
    args: &[],
    tray: None,
};
const BARE_SNI: Subject = Subject {
    name: "bare StatusNotifierItem (libdbus)",
    program: "bare-sni",
    args: &[],
    tray: None,
};
const TAURI_TRAY: Subject = Subject {
    name: "Tokentray, Tauri tray (as before)",
    program: "tokentray-app",
    args: &["--minimized"],
    tray: Some("gtk"),
};
const LEAN_TRAY: Subject = Subject {
    name: "Tokentray, engine + SNI (now)",
    program: "tokentray-app",
    args: &["--minimized"],
    tray: None,
};
/// The lean tray where no panel runs a watcher (forced, as if the panel had not started yet).
const LEAN_UNWATCHED: Subject = Subject {
    name: "Tokentray, engine + SNI, no watcher",
    program: "tokentray",
    args: &["run", "--minimized"],
    tray: Some("sni"),
};

fn main() {
    if std::env::var_os("TOKENTRAY_SESSION").is_none() {
        eprintln!(
            "run inside tests/session.sh (make bench does): it needs a desktop and a keychain"
        );
        std::process::exit(2);
    }
    let release = tokentray_tests::bins::repo_root().join("target/release");
    let desktop = Desktop::start();
    let panel = Panel::start(&desktop);
    let s = setup(&desktop, &release);

    println!("idle cost over {WINDOW:?} after {SETTLE:?} to settle ({ACCOUNTS} accounts, window closed):");
    println!(
        "  {:<46} {:>10} {:>12} {:>14}",
        "process", "wakeups/s", "PSS MiB", "to tray icon"
    );

    // Round robin, twice: the page cache and other processes' sharing move PSS by several MiB
    // from one launch to the next, and the first launch pays for a cold cache. The second
    // round's figures are the ones compared.
    let subjects = [&BARE_TAURI, &BARE_SNI, &TAURI_TRAY, &LEAN_TRAY];
    let mut warm = Vec::new();
    for round in 1..=2 {
        warm.clear();
        for subject in subjects {
            let (mut child, start) = launch(&s, &release, subject);
            let idle = measure(&mut child);
            row(
                &format!("{} (run {round})", subject.name),
                &idle,
                Some(start),
            );
            warm.push(idle);
            if round == 2 && std::ptr::eq(subject, &LEAN_TRAY) {
                dashboard_round_trip(child, &s, &release);
            } else {
                stop(child);
            }
        }
    }

    // No panel: neither item may wake for want of one.
    drop(panel);
    for subject in [&BARE_SNI, &LEAN_UNWATCHED] {
        let (mut child, start) = launch(&s, &release, subject);
        let idle = measure(&mut child);
        row(subject.name, &idle, Some(start));
        stop(child);
    }
    let (mut headless, _) = launch(
        &s,
        &release,
        &Subject {
            name: "headless",
            program: "tokentray",
            args: &["run", "--headless"],
            tray: None,
        },
    );
    let headless_idle = measure(&mut headless);
    row("tokentray run --headless, same 25", &headless_idle, None);
    stop(headless);

    if let [bare_tauri, bare_sni, tauri_tray, lean] = &warm[..] {
        println!();
        println!(
            "  now / before (run 2): PSS {:.2}x, wakeups {:.2} vs {:.2}/s; now / bare Tauri tray: PSS {:.2}x; now - bare SNI item: {:.1} MiB",
            lean.pss_kib as f64 / tauri_tray.pss_kib.max(1) as f64,
            lean.wakeups,
            tauri_tray.wakeups,
            lean.pss_kib as f64 / bare_tauri.pss_kib.max(1) as f64,
            (lean.pss_kib as f64 - bare_sni.pss_kib as f64) / 1024.0,
        );
    }
    println!("\nrelease binaries:");
    for name in ["tokentray", "tokentray-app", "bare-tray", "bare-sni"] {
        let size = std::fs::metadata(release.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("  {name:<16} {:>6.1} MiB", size as f64 / 1024.0 / 1024.0);
    }
}

/// Opens the dashboard from the running lean tray (a second launch asks for it), measures the
/// two processes together, closes it (Ctrl+W) and measures the tray again.
fn dashboard_round_trip(mut tray: Child, s: &Sandbox, release: &Path) {
    let opened = s
        .command(release.join("tokentray"))
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("second launch");
    assert!(opened.success());
    let window = wait_for_window(tray.id());
    std::thread::sleep(SETTLE);
    let open_pss = tree_pss_kib(tray.id());
    close_window(tray.id(), &window);
    let after = measure(&mut tray);
    println!(
        "  {:<46} {:>10} {:>12.1}",
        "  … with the dashboard open",
        "",
        open_pss as f64 / 1024.0
    );
    row("  … after the dashboard was closed", &after, None);
    stop(tray);
}

struct Idle {
    wakeups: f64,
    pss_kib: u64,
}

fn row(name: &str, idle: &Idle, start: Option<Duration>) {
    let start = start.map_or(String::new(), |d| {
        format!("{:.0} ms", d.as_secs_f64() * 1000.0)
    });
    println!(
        "  {name:<46} {:>10.2} {:>12.1} {:>14}",
        idle.wakeups,
        idle.pss_kib as f64 / 1024.0,
        start
    );
}

/// 25 accounts with hour-long tokens (nothing to refresh in the window) and 25 daily jobs.
fn setup(desktop: &Desktop, release: &Path) -> Sandbox {
    let s = desktop.sandbox();
    let mut settings = String::from(
        "[provider.bench]\ntoken_url = \"http://127.0.0.1:9/token\"\nclient_id = \"bench\"\n",
    );
    for i in 0..ACCOUNTS {
        settings.push_str(&format!(
            "\n[[account]]\nname = \"acct{i:02}\"\nprovider = \"bench\"\n"
        ));
    }
    for i in 0..ACCOUNTS {
        settings.push_str(&format!(
            "\n[[job]]\nname = \"job{i:02}\"\naccount = \"acct{i:02}\"\nurl = \"http://127.0.0.1:9/warm\"\nevery = \"24h\"\n"
        ));
    }
    s.write_settings(&settings);
    for i in 0..ACCOUNTS {
        let mut child = s
            .command(release.join("tokentray"))
            .args(["account", "import", &format!("acct{i:02}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("tokentray account import");
        use std::io::Write;
        let answer = format!(
            r#"{{"access_token":"bench-a-{i}","refresh_token":"bench-r-{i}","expires_in":3600,"token_type":"Bearer"}}"#
        );
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(answer.as_bytes())
            .expect("write");
        assert!(child.wait().expect("import").success());
    }
    s
}

/// Starts `program` and returns it with the time until it logged "tray icon created" (for the
/// headless engine: until its socket answers).
fn launch(s: &Sandbox, release: &Path, subject: &Subject) -> (Child, Duration) {
    let program = release.join(subject.program);
    let log = s.root().join(format!("{}.log", subject.program));
    let out = std::fs::File::create(&log).expect("log");
    let started = Instant::now();
    let mut cmd = s.command(&program);
    if let Some(tray) = subject.tray {
        cmd.env("TOKENTRAY_TRAY", tray);
    }
    let child = cmd
        .args(subject.args)
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("launch");
    let headless = subject.args.contains(&"--headless");
    let deadline = started + Duration::from_secs(60);
    loop {
        let ready = if headless {
            s.socket().exists()
        } else {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("tray icon created")
        };
        if ready {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not start",
            program.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    (child, started.elapsed())
}

fn measure(child: &mut Child) -> Idle {
    std::thread::sleep(SETTLE);
    let wakeups = tree_wakeups(child.id(), WINDOW);
    Idle {
        wakeups,
        pss_kib: tree_pss_kib(child.id()),
    }
}

fn tree_pss_kib(pid: u32) -> u64 {
    procstat::process_tree(pid)
        .into_iter()
        .filter_map(procstat::pss_kib)
        .sum()
}

/// Wakeups per second of the process tree over `window`. Above one every two seconds it also
/// names the threads that woke, so a surprise can be traced to its source.
fn tree_wakeups(pid: u32, window: Duration) -> f64 {
    let pids = procstat::process_tree(pid);
    let before: Vec<_> = pids
        .iter()
        .map(|p| procstat::context_switches(*p))
        .collect();
    std::thread::sleep(window);
    let mut by_thread = Vec::new();
    for (p, before) in pids.iter().zip(before) {
        for (tid, n) in procstat::context_switches(*p) {
            let woke = n.saturating_sub(before.get(&tid).copied().unwrap_or(0));
            if woke > 0 {
                let name = std::fs::read_to_string(format!("/proc/{p}/task/{tid}/comm"))
                    .unwrap_or_default();
                by_thread.push((woke, format!("{} ({p}/{tid})", name.trim())));
            }
        }
    }
    let total: u64 = by_thread.iter().map(|(n, _)| n).sum();
    let per_second = total as f64 / window.as_secs_f64();
    if per_second > 0.5 {
        by_thread.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        let top: Vec<String> = by_thread
            .iter()
            .take(4)
            .map(|(n, name)| format!("{name}: {n}"))
            .collect();
        println!("    (woken threads: {})", top.join(", "));
    }
    per_second
}

fn wait_for_window(pid: u32) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(w) = tokentray_tests::desktop::dashboard_windows(pid).first() {
            return w.clone();
        }
        assert!(Instant::now() < deadline, "the dashboard did not open");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn close_window(pid: u32, window: &str) {
    for _ in 0..10 {
        if tokentray_tests::desktop::dashboard_windows(pid).is_empty() {
            return;
        }
        let _ = Command::new("xdotool")
            .args(["windowfocus", "--sync", window])
            .status();
        let _ = Command::new("xdotool").args(["key", "ctrl+w"]).status();
        std::thread::sleep(Duration::from_secs(1));
    }
    panic!("the dashboard did not close");
}

fn stop(mut child: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}
