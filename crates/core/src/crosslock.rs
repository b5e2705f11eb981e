//! The cross-process refresh lock: the app, a headless engine and a CLI without an engine never
//! spend one account's refresh token at the same time.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::paths::Paths;

/// Held while an account's tokens are refreshed; released on drop (or when the process dies).
pub struct RefreshLock {
    _file: File,
}

/// The lock file of `account` under `dir`.
pub fn lock_path(dir: &Path, account: &str) -> PathBuf {
    // Account names are the user's; hex keeps any name a valid, unambiguous file name.
    let hex: String = account.bytes().map(|b| format!("{b:02x}")).collect();
    dir.join("locks").join(format!("{hex}.lock"))
}

/// Waits for the account's refresh lock. Blocking: call from a blocking thread.
///
/// The lock lives in the state folder, which every process of the user agrees on (a cron job
/// without `$XDG_RUNTIME_DIR` included). A full or read-only state disk must not stop refreshes:
/// an existing lock file is locked read-only (`flock` needs no write access), and only when it
/// cannot be created does the runtime folder stand in.
pub fn acquire(paths: &Paths, account: &str) -> std::io::Result<RefreshLock> {
    let path = lock_path(&paths.state_dir, account);
    let file = open_rw(&path).or_else(|_| File::open(&path)).or_else(|e| {
        tracing::warn!(
            "cannot create the refresh lock {} ({e}); using the runtime folder's",
            path.display()
        );
        open_rw(&lock_path(&paths.runtime_dir, account))
    })?;
    file.lock()?;
    Ok(RefreshLock { _file: file })
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

/// Async wrapper: waits on a blocking thread so the runtime keeps running.
pub async fn acquire_async(paths: Paths, account: String) -> std::io::Result<RefreshLock> {
    tokio::task::spawn_blocking(move || acquire(&paths, &account))
        .await
        .map_err(std::io::Error::other)?
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
}
