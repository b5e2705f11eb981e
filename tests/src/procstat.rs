//! Process measurements read from `/proc`: wakeups (context switches) and memory.

use std::collections::BTreeMap;
use std::time::Duration;

/// Context switches (voluntary + involuntary) of every thread of `pid`, by thread id.
pub fn context_switches(pid: u32) -> BTreeMap<u32, u64> {
    let mut counts = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return counts;
    };
    for task in tasks.flatten() {
        let Ok(tid) = task.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        let n: u64 = status
            .lines()
            .filter(|l| l.contains("ctxt_switches"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum();
        counts.insert(tid, n);
    }
    counts
}

/// Wakeups per second of `pid` over `window`: the context switches of all its threads (a thread
/// born in the window counts in full; one that died in it is not seen).
pub fn wakeups_per_second(pid: u32, window: Duration) -> f64 {
    let before = context_switches(pid);
    std::thread::sleep(window);
    let after = context_switches(pid);
    let total: u64 = after
        .iter()
        .map(|(tid, n)| n.saturating_sub(before.get(tid).copied().unwrap_or(0)))
        .sum();
    total as f64 / window.as_secs_f64()
}

/// Proportional set size of `pid` in KiB (`/proc/PID/smaps_rollup`).
pub fn pss_kib(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    text.lines()
        .find(|l| l.starts_with("Pss:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The direct children of process `pid` (zombies included, until they are reaped).
pub fn children(pid: u32) -> Vec<u32> {
    let parent_of = |p: u32| {
        let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
        // The command name may hold spaces and parentheses: the fields start after the last ')'.
        stat.rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u32>().ok())
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|p| parent_of(*p) == Some(pid))
        .collect()
}

/// The process and every descendant (WebKit's helper processes belong to the app's cost; the
/// dashboard is a child of the tray app).
pub fn process_tree(pid: u32) -> Vec<u32> {
    let mut all = vec![pid];
    let mut i = 0;
    while i < all.len() {
        for child in children(all[i]) {
            if !all.contains(&child) {
                all.push(child);
            }
        }
        i += 1;
    }
    all
}
