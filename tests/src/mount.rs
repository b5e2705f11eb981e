//! Mounts for the fault tests: a small disk that fills up, a folder made read-only. They need
//! root (CI runs as root); elsewhere the constructors return `None` and the test says SKIPPED.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A mount over a folder, unmounted when dropped.
pub struct Mount(PathBuf);

impl Mount {
    /// A tmpfs of `size` (such as `512k`) over `dir`.
    pub fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Mount(dir.to_owned()))
    }

    /// `dir` seen read-only from now on. A bind mount: a remount of the disk itself would be
    /// refused while a process holds a file there open for writing (the engine's log).
    pub fn read_only(dir: &Path) -> Option<Mount> {
        for args in [&["--bind"][..], &["-o", "remount,bind,ro"][..]] {
            let ok = Command::new("mount")
                .args(args)
                .arg(dir)
                .arg(dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                let _ = Command::new("umount")
                    .arg(dir)
                    .stderr(Stdio::null())
                    .status();
                return None;
            }
        }
        Some(Mount(dir.to_owned()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
