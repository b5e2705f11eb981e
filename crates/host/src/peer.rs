//! Which program is on the other end of a connection: its executable and its parent's, from the
//! peer's process id (Linux: `/proc`; Windows: the process table). When the peer is Tokentray's
//! own CLI, the program that ran the CLI is the one asking.

use std::path::PathBuf;

use tokentray_core::caller::Caller;

/// The caller behind the process `pid`, as far as this system tells.
pub fn identify(pid: Option<u32>) -> Caller {
    let Some(pid) = pid else {
        return Caller::default();
    };
    let program = image(pid);
    let parent_pid = parent(pid);
    if program.as_ref().is_some_and(is_our_cli) {
        // `tokentray token` asks for whoever ran it: that program is the caller.
        let grandparent = parent_pid.and_then(parent);
        return Caller {
            program: parent_pid.and_then(image).map(text),
            parent: grandparent.and_then(image).map(text),
            through_cli: true,
        };
    }
    Caller {
        program: program.map(text),
        parent: parent_pid.and_then(image).map(text),
        through_cli: false,
    }
}

/// The caller of this process itself (the CLI's engine-less path): whoever ran it.
pub fn of_this_process() -> Caller {
    identify(Some(std::process::id()))
}

fn text(p: PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

/// True for the `tokentray` CLI: this engine's own binary (the headless engine is the CLI) or
/// the CLI installed beside the app.
fn is_our_cli(exe: &PathBuf) -> bool {
    let name = format!("tokentray{}", std::env::consts::EXE_SUFFIX);
    let Ok(me) = std::env::current_exe() else {
        return false;
    };
    let same = |a: &PathBuf, b: &PathBuf| {
        a == b
            || a.canonicalize()
                .ok()
                .is_some_and(|a| b.canonicalize().ok() == Some(a))
    };
    same(exe, &me) || same(exe, &me.with_file_name(name))
}

#[cfg(target_os = "linux")]
fn image(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

#[cfg(target_os = "linux")]
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: the name may hold spaces and parentheses, so split after the
    // last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace()
        .nth(1)?
        .parse()
        .ok()
        .filter(|&p| p != 0)
}

#[cfg(windows)]
fn image(pid: u32) -> Option<PathBuf> {
    crate::transport::process_image(pid).ok().map(PathBuf::from)
}

#[cfg(windows)]
fn parent(pid: u32) -> Option<u32> {
    crate::transport::parent_pid(pid).ok().filter(|&p| p != 0)
}

#[cfg(not(any(target_os = "linux", windows)))]
fn image(_pid: u32) -> Option<PathBuf> {
    None
}

#[cfg(not(any(target_os = "linux", windows)))]
fn parent(_pid: u32) -> Option<u32> {
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_peer_running_our_own_binary_is_our_cli_so_its_parent_is_the_caller() {
        // A process running this very binary is what the headless engine sees when its own
        // CLI connects: the program that ran it is the caller.
        let me = std::process::id();
        let caller = identify(Some(me));
        let ran_me = parent(me).and_then(image).map(text);
        assert!(ran_me.is_some());
        assert_eq!(caller.program, ran_me);
        assert!(caller.through_cli);
        // Another program is itself: this test's parent (cargo or nextest).
        let parent_pid = parent(me).unwrap();
        let other = identify(Some(parent_pid));
        assert_eq!(other.program, ran_me);
        assert!(!other.through_cli);
        assert_eq!(identify(None), Caller::default());
    }
}
