//! The cross-process refresh lock: the app, a headless engine and a CLI without an engine never
//! spend one account's refresh token at the same time.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Held while an account's tokens are refreshed; released on drop (or when the process dies).
pub struct RefreshLock {
    _file: File,
}

/// The lock file of `account` under `state_dir`.
pub fn lock_path(state_dir: &Path, account: &str) -> PathBuf {
    // Account names are the user's; hex keeps any name a valid, unambiguous file name.
    let hex: String = account.bytes().map(|b| format!("{b:02x}")).collect();
    state_dir.join("locks").join(format!("{hex}.lock"))
}

/// Waits for the account's refresh lock. Blocking: call from a blocking thread.
pub fn acquire(state_dir: &Path, account: &str) -> std::io::Result<RefreshLock> {
    let path = lock_path(state_dir, account);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    file.lock()?;
    Ok(RefreshLock { _file: file })
}

/// Async wrapper: waits on a blocking thread so the runtime keeps running.
pub async fn acquire_async(state_dir: PathBuf, account: String) -> std::io::Result<RefreshLock> {
    tokio::task::spawn_blocking(move || acquire(&state_dir, &account))
        .await
        .map_err(std::io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_excludes_a_second_holder_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path(), "a/b").unwrap();
        let other = OpenOptions::new()
            .write(true)
            .open(lock_path(dir.path(), "a/b"))
            .unwrap();
        assert!(other.try_lock().is_err());
        drop(first);
        assert!(other.try_lock().is_ok());
    }
}
