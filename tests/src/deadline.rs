//! Running a program to completion with a deadline: a hung program fails its test within
//! minutes, with what it was doing, instead of holding the whole run until CI's limit.
//!
//! On expiry the process tree is listed (state and kernel wait channel of each process), the
//! stuck process's threads are backtraced with gdb when it is installed (`make test-deps`
//! installs it), the tree is killed, and the test panics with all of it and the output so far.

use std::io::{Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::procstat::process_tree;

/// How long any one CLI call may take in a test. A refresh gives up after 30 s and a sign-in
/// driven by the scripted user takes seconds; twice the longest honest wait is a hang.
pub const CLI_DEADLINE: Duration = Duration::from_secs(150);

/// How long a test runs before its process says what it and its children are doing (on
/// stderr, which nextest shows when it kills the test a minute later: tests/nextest.toml).
pub const WATCHDOG_AFTER: Duration = Duration::from_secs(240);

/// Seconds after the watchdog's start when it speaks; a long test moves it with
/// [`watchdog_after`].
static WATCHDOG_AT: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(WATCHDOG_AFTER.as_secs());

/// For a test that is long by design (and allowed longer in tests/nextest.toml): the watchdog
/// speaks after `after` instead.
pub fn watchdog_after(after: Duration) {
    WATCHDOG_AT.store(after.as_secs(), std::sync::atomic::Ordering::SeqCst);
}

/// Under nextest (one test per process), starts a thread that prints a diagnosis of this
/// process and its children if the test is still running after [`WATCHDOG_AFTER`]. A hang
/// inside the test itself then shows where it is, not only that it was killed.
pub fn start_watchdog() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("NEXTEST_RUN_ID").is_none() {
        return;
    }
    ONCE.call_once(|| {
        let started = Instant::now();
        let _ = std::thread::Builder::new()
            .name("test-watchdog".into())
            .spawn(move || {
                let at =
                    || Duration::from_secs(WATCHDOG_AT.load(std::sync::atomic::Ordering::SeqCst));
                while started.elapsed() < at() {
                    std::thread::sleep(at().saturating_sub(started.elapsed()));
                }
                let me = std::process::id();
                let mut text = diagnose(me);
                for child in process_tree(me).into_iter().skip(1) {
                    text.push_str(&format!("--- child {child}:\n"));
                    text.push_str(&backtraces(child));
                }
                eprintln!(
                    "WATCHDOG: this test has run for {:?}.\n{text}",
                    started.elapsed()
                );
            });
    });
}

/// Runs programs to completion within a deadline.
pub trait OutputWithin {
    /// Like [`Command::output`] (stdin from `stdin`, else null), but panics with a diagnosis
    /// when the program has not finished, output pipes closed, after `within`.
    fn output_within(&mut self, within: Duration, stdin: Option<&[u8]>) -> Output;
}

impl OutputWithin for Command {
    fn output_within(&mut self, within: Duration, stdin: Option<&[u8]>) -> Output {
        let what = format!(
            "{:?} {:?}",
            self.get_program(),
            self.get_args().collect::<Vec<_>>()
        );
        let mut child = self
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A program that exits without reading its input is not this helper's concern.
            let _ = pipe.write_all(bytes);
        }
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let deadline = Instant::now() + within;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Ok(None) => {
                    let diagnosis = diagnose(child.id());
                    kill_tree(&mut child);
                    let (out, err) = (collect(stdout), collect(stderr));
                    panic!(
                        "{what} did not finish within {within:?}; it was killed.\n\
                         {diagnosis}\n--- its stdout so far:\n{}\n--- its stderr so far:\n{}",
                        String::from_utf8_lossy(&out),
                        String::from_utf8_lossy(&err)
                    );
                }
                Err(e) => panic!("wait for {what}: {e}"),
            }
        };
        // The pipes close when every process holding them has exited: a background child that
        // inherited them would keep `Command::output` waiting forever.
        let until = deadline.max(Instant::now()) + Duration::from_secs(2);
        let out = stdout.recv_timeout(until.saturating_duration_since(Instant::now()));
        let err = stderr.recv_timeout(until.saturating_duration_since(Instant::now()));
        match (out, err) {
            (Ok(stdout), Ok(stderr)) => Output {
                status,
                stdout,
                stderr,
            },
            _ => panic!(
                "{what} exited ({status}) but its output pipes stayed open: a process it started \
                 still holds them.\n{}",
                process_table()
            ),
        }
    }
}

/// The first line `child` prints on `stdout`, within `within`; past it (or at end of output)
/// the child is diagnosed as in [`OutputWithin`], killed, and the test panics naming `what`.
pub fn first_line_within(
    child: &mut Child,
    stdout: impl Read + Send + 'static,
    within: Duration,
    what: &str,
) -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut line = String::new();
        let read = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    match rx.recv_timeout(within) {
        Ok(Ok(line)) if !line.is_empty() => line,
        other => {
            let why = match other {
                Err(_) => format!("printed no line within {within:?}"),
                Ok(Err(e)) => format!("could not be read ({e})"),
                Ok(Ok(_)) => "ended without a line".to_owned(),
            };
            let diagnosis = diagnose(child.id());
            kill_tree(child);
            panic!("{what} {why}; it was killed.\n{diagnosis}");
        }
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

fn collect(rx: mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
    rx.recv_timeout(Duration::from_secs(2)).unwrap_or_default()
}

/// The process tree of this test, then the threads of `pid` with their backtraces.
fn diagnose(pid: u32) -> String {
    let mut text = String::from("--- processes (the stuck one and the rest of this test's):\n");
    text.push_str(&process_table());
    text.push_str(&backtraces(pid));
    text
}

/// The threads of `pid` (name, wait channel, syscall), and their backtraces when gdb can
/// attach.
fn backtraces(pid: u32) -> String {
    let mut text = format!("--- threads of {pid} (name, wait channel, syscall):\n");
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let p = task.path();
            let read = |f: &str| {
                std::fs::read_to_string(p.join(f))
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            text.push_str(&format!(
                "{} {} wchan={} syscall={}\n",
                task.file_name().to_string_lossy(),
                read("comm"),
                read("wchan"),
                read("syscall")
            ));
        }
    }
    match Command::new("gdb")
        .args(["-p", &pid.to_string(), "-batch", "-nx"])
        .args(["-ex", "set pagination off", "-ex", "thread apply all bt 40"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) => {
            text.push_str("--- gdb backtraces:\n");
            text.push_str(&String::from_utf8_lossy(&out.stdout));
        }
        Err(e) => text.push_str(&format!("--- no backtraces (gdb: {e})\n")),
    }
    text
}

/// Every process of this test (the test binary's own descendants), one line each.
fn process_table() -> String {
    let pids: Vec<String> = process_tree(std::process::id())
        .iter()
        .map(u32::to_string)
        .collect();
    match Command::new("ps")
        .args([
            "-o",
            "pid,ppid,stat,wchan:30,etimes,args",
            "-p",
            &pids.join(","),
        ])
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        Err(e) => format!("(no process table: ps: {e})\n"),
    }
}

/// Kills `child` and everything it started that is still its descendant.
fn kill_tree(child: &mut Child) {
    for pid in process_tree(child.id()).into_iter().skip(1) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "did not finish within 1s")]
    fn a_program_past_its_deadline_is_killed_and_named() {
        Command::new("sleep")
            .arg("30")
            .output_within(Duration::from_secs(1), None);
    }

    #[test]
    #[should_panic(expected = "output pipes stayed open")]
    fn a_background_child_holding_the_pipes_is_named() {
        Command::new("sh")
            .args(["-c", "sleep 30 & echo started"])
            .output_within(Duration::from_secs(1), None);
    }

    #[test]
    #[should_panic(expected = "a silent server printed no line within 1s")]
    fn a_server_that_never_says_it_is_ready_is_killed_and_named() {
        let mut child = Command::new("sleep")
            .arg("30")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        first_line_within(
            &mut child,
            stdout,
            Duration::from_secs(1),
            "a silent server",
        );
    }

    #[test]
    fn a_ready_line_is_read_in_time() {
        let mut child = Command::new("sh")
            .args(["-c", "echo ready; sleep 30"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = first_line_within(&mut child, stdout, Duration::from_secs(20), "sh");
        assert_eq!(line, "ready\n");
        kill_tree(&mut child);
    }

    #[test]
    fn a_program_in_time_gives_its_output_and_status() {
        let out = Command::new("sh")
            .args(["-c", "cat; echo err >&2; exit 3"])
            .output_within(Duration::from_secs(20), Some(b"in"));
        assert_eq!(out.stdout, b"in");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
    }
}
