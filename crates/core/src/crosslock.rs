//! The cross-process refresh lock: the app, a headless engine and a CLI without an engine never
//! spend one account's refresh token at the same time.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::paths::Paths;

/// Held while an account's tokens are refreshed; released on drop (or when the process dies).
pub struct RefreshLock {
    _files: Vec<File>,
}

/// The lock file of `account` under `dir`.
pub fn lock_path(dir: &Path, account: &str) -> PathBuf {
    // Account names are the user's; hex keeps any name a valid, unambiguous file name.
    let hex: String = account.bytes().map(|b| format!("{b:02x}")).collect();
    dir.join("locks").join(format!("{hex}.lock"))
}

/// Waits for the account's refresh lock. Blocking: call from a blocking thread.
///
/// Two lock files, always taken in the same order. The state folder's comes first: every process
/// of the user agrees on it (a cron job without `$XDG_RUNTIME_DIR` included); an existing one is
/// locked read-only when the disk is full or read-only (`flock` needs no write access). The
/// runtime folder's comes second: a process that could not create the state folder's file holds
/// only that one, and must still exclude the others.
pub fn acquire(paths: &Paths, account: &str) -> std::io::Result<RefreshLock> {
    let mut files = Vec::with_capacity(2);
    let state = lock_path(&paths.state_dir, account);
    match open_rw(&state).or_else(|_| File::open(&state)) {
        Ok(file) => {
            file.lock()?;
            files.push(file);
        }
        Err(e) => tracing::warn!(
            "cannot create the refresh lock {} ({e}); relying on the runtime folder's",
            state.display()
        ),
    }
    let _ = crate::fsutil::create_private_dir(&paths.runtime_dir);
    match open_rw(&lock_path(&paths.runtime_dir, account)) {
        Ok(file) => {
            file.lock()?;
            files.push(file);
        }
        Err(e) if files.is_empty() => return Err(e),
        Err(e) => tracing::debug!("no runtime-folder refresh lock ({e})"),
    }
    Ok(RefreshLock { _files: files })
}

fn open_rw(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_excludes_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let first = acquire(&paths, "a/b").unwrap();
        let other = OpenOptions::new()
            .write(true)
            .open(lock_path(&paths.state_dir, "a/b"))
            .unwrap();
        assert!(other.try_lock().is_err());
        drop(first);
        assert!(other.try_lock().is_ok());
    }

    #[test]
    fn a_holder_of_only_the_runtime_lock_still_excludes() {
        // A process that could not create the state folder's file holds only this one.
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::under(dir.path());
        let runtime = open_rw(&lock_path(&paths.runtime_dir, "acct")).unwrap();
        runtime.lock().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = paths.clone();
        let waiter = std::thread::spawn(move || {
            let lock = acquire(&p, "acct");
            let _ = tx.send(lock.is_ok());
        });
        assert!(
            rx.recv_timeout(std::time::Duration::from_millis(300))
                .is_err(),
            "acquired while another process held the runtime folder's lock"
        );
        drop(runtime);
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10)),
            Ok(true)
        );
        waiter.join().unwrap();
    }
}
