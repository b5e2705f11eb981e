//! A clean Debian 12 system to install the built package into: an overlay over the root that
//! `tests/package/root.sh` created once (debootstrap's minimal base), so every run starts from
//! that clean state and the cached root stays clean. Needs root (mounts, chroot).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The overlay, mounted under a temporary folder; unmounted (with everything mounted in it)
/// when dropped.
pub struct CleanRoot {
    dir: tempfile::TempDir,
    merged: PathBuf,
}

/// The environment of every command in the root: nothing of the host's but what is named here.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn mount(args: &[&str], target: &Path) -> bool {
    Command::new("mount")
        .args(args)
        .arg(target)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl CleanRoot {
    /// An overlay over `cached` (the clean root), its writes kept in memory, with `/proc`,
    /// `/dev`, the X server's socket folder and the host's DNS settings, and apt's downloads
    /// kept in `apt_cache` (so a second run does not fetch the same packages again). `None`
    /// when this run cannot mount.
    pub fn over(cached: &Path, apt_cache: &Path) -> Option<CleanRoot> {
        let dir = tempfile::Builder::new()
            .prefix("tokentray-root.")
            .tempdir()
            .ok()?;
        let rw = dir.path().join("rw");
        let merged = dir.path().join("merged");
        std::fs::create_dir_all(&rw).ok()?;
        std::fs::create_dir_all(&merged).ok()?;
        // In memory: the overlay's upper layer must be a filesystem overlayfs accepts, and /tmp
        // may itself be an overlay (containers).
        if !mount(&["-t", "tmpfs", "-o", "size=6g,mode=0755", "tmpfs"], &rw) {
            return None;
        }
        let root = CleanRoot {
            dir,
            merged: merged.clone(),
        };
        let (upper, work) = (rw.join("upper"), rw.join("work"));
        std::fs::create_dir_all(&upper).ok()?;
        std::fs::create_dir_all(&work).ok()?;
        let layers = format!(
            "lowerdir={},upperdir={},workdir={}",
            cached.display(),
            upper.display(),
            work.display()
        );
        if !mount(&["-t", "overlay", "overlay", "-o", &layers], &merged) {
            return None;
        }
        std::fs::create_dir_all(apt_cache.join("partial")).ok()?;
        std::fs::create_dir_all(merged.join("tmp/.X11-unix")).ok()?;
        let ok = mount(&["-t", "proc", "proc"], &merged.join("proc"))
            && mount(&["--rbind", "/dev"], &merged.join("dev"))
            // So that unmounting the root's /dev can never reach the machine's own.
            && mount(&["--make-rslave"], &merged.join("dev"))
            && mount(&["--bind", "/tmp/.X11-unix"], &merged.join("tmp/.X11-unix"))
            && mount(
                &["--bind", &apt_cache.to_string_lossy()],
                &merged.join("var/cache/apt/archives"),
            );
        if !ok {
            return None;
        }
        std::fs::copy("/etc/resolv.conf", merged.join("etc/resolv.conf")).ok()?;
        Some(root)
    }

    /// The root's top folder, as the host sees it.
    pub fn path(&self) -> &Path {
        &self.merged
    }

    /// A host path for `path` inside the root (`/usr/bin/x` → `<root>/usr/bin/x`).
    pub fn host_path(&self, path: &str) -> PathBuf {
        self.merged.join(path.trim_start_matches('/'))
    }

    /// `program` run inside the root as its root user, with a clean environment (PATH, HOME,
    /// LANG, noninteractive apt) plus what the caller adds with `.env`.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("/usr/sbin/chroot");
        cmd.arg(&self.merged)
            .arg(program)
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", "/root")
            .env("LANG", "C.UTF-8")
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }
}

impl Drop for CleanRoot {
    fn drop(&mut self) {
        // Recursive and lazy: a process left running inside must not keep the mounts (or the
        // machine's /dev, bound in) busy.
        let _ = Command::new("umount")
            .args(["-R", "-l"])
            .arg(&self.merged)
            .stderr(Stdio::null())
            .status();
        let _ = Command::new("umount")
            .args(["-l"])
            .arg(self.dir.path().join("rw"))
            .stderr(Stdio::null())
            .status();
    }
}
