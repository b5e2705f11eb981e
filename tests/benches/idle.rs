//! Idle cost and start-up, side by side in one run (release builds, inside the private desktop
//! session): a bare Tauri 2 tray app (`tests/bare-tray`), `tokentray-app` with 25 signed-in
//! accounts each with a warm-up job not yet due (window closed; then after the dashboard was
//! opened and closed), and the headless engine with the same 25. Also the time from launch to
//! the tray icon, and the binaries' sizes. Prints figures; asserts nothing.
//!
//!   make bench   (tests/session.sh cargo bench -p tokentray-tests --bench idle)

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokentray_tests::procstat;
use tokentray_tests::sandbox::Sandbox;

const ACCOUNTS: usize = 25;
const SETTLE: Duration = Duration::from_secs(5);
const WINDOW: Duration = Duration::from_secs(30);

fn main() {
    if std::env::var_os("TOKENTRAY_SESSION").is_none() {
        eprintln!(
            "run inside tests/session.sh (make bench does): it needs a desktop and a keychain"
        );
        std::process::exit(2);
    }
    let release = tokentray_tests::bins::repo_root().join("target/release");
    let s = setup(&release);

    println!("idle cost over {WINDOW:?} after {SETTLE:?} to settle ({ACCOUNTS} accounts, window closed):");
    println!(
        "  {:<46} {:>10} {:>12} {:>14}",
        "process", "wakeups/s", "PSS MiB", "to tray icon"
    );

    // Alternate the two, twice: the page cache and other processes' sharing move PSS by several
    // MiB from one launch to the next, and the first launch pays for a cold cache.
    let mut bare_runs = Vec::new();
    let mut app_runs = Vec::new();
    for round in 0..2 {
        let (mut bare, bare_start) = launch(&s, &release.join("bare-tray"), &[], "bare.log");
        let idle = measure(&mut bare);
        row(
            &format!("bare Tauri 2 tray app (run {})", round + 1),
            &idle,
            Some(bare_start),
        );
        bare_runs.push(idle);
        stop(bare);
        let (mut app, app_start) = launch(
            &s,
            &release.join("tokentray-app"),
            &["--minimized"],
            "app.log",
        );
        let idle = measure(&mut app);
        row(
            &format!("tokentray-app, 25 accounts + 25 jobs (run {})", round + 1),
            &idle,
            Some(app_start),
        );
        app_runs.push(idle);
        if round == 0 {
            stop(app);
        } else {
            break_out(app, &s, &release, bare_runs, app_runs);
            return;
        }
    }
}

/// The second round's app goes on to the dashboard and the headless engine.
fn break_out(
    mut app: Child,
    s: &Sandbox,
    release: &Path,
    bare_runs: Vec<Idle>,
    app_runs: Vec<Idle>,
) {
    // Compare the warm runs: the first launch of the day pays for a cold page cache.
    let (Some(bare_idle), Some(app_idle)) = (bare_runs.last(), app_runs.last()) else {
        return;
    };
    // A second launch opens the dashboard in the running app; Ctrl+W closes it.
    let opened = s
        .command(release.join("tokentray-app"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("second launch");
    assert!(opened.success());
    let window = wait_for_window(app.id());
    std::thread::sleep(SETTLE);
    let open_pss = tree_pss_kib(app.id());
    close_window(app.id(), &window);
    let after = measure(&mut app);
    println!(
        "  {:<46} {:>10} {:>12.1}",
        "  … with the dashboard open",
        "",
        open_pss as f64 / 1024.0
    );
    row("  … after the dashboard was closed", &after, None);
    stop(app);

    let (mut headless, _) = launch(
        s,
        &release.join("tokentray"),
        &["run", "--headless"],
        "headless.log",
    );
    let headless_idle = measure(&mut headless);
    row("tokentray run --headless, same 25", &headless_idle, None);
    stop(headless);

    println!();
    println!(
        "  app / bare (warm runs): wakeups {:.2}x, PSS {:.2}x; after the dashboard closed: PSS {:.2}x of before",
        app_idle.wakeups / bare_idle.wakeups.max(1e-9),
        app_idle.pss_kib as f64 / bare_idle.pss_kib.max(1) as f64,
        after.pss_kib as f64 / app_idle.pss_kib.max(1) as f64,
    );
    println!("\nrelease binaries:");
    for name in ["tokentray", "tokentray-app", "bare-tray"] {
        let size = std::fs::metadata(release.join(name))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("  {name:<16} {:>6.1} MiB", size as f64 / 1024.0 / 1024.0);
    }
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
fn setup(release: &Path) -> Sandbox {
    let s = Sandbox::new();
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
fn launch(s: &Sandbox, program: &Path, args: &[&str], log: &str) -> (Child, Duration) {
    let log = s.root().join(log);
    let out = std::fs::File::create(&log).expect("log");
    let started = Instant::now();
    let child = s
        .command(program)
        .args(args)
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("launch");
    let headless = args.contains(&"--headless");
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

fn tree_wakeups(pid: u32, window: Duration) -> f64 {
    let pids = procstat::process_tree(pid);
    let before: Vec<_> = pids
        .iter()
        .map(|p| procstat::context_switches(*p))
        .collect();
    std::thread::sleep(window);
    pids.iter()
        .zip(before)
        .map(|(p, before)| {
            procstat::context_switches(*p)
                .iter()
                .map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
                .sum::<u64>()
        })
        .sum::<u64>() as f64
        / window.as_secs_f64()
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
