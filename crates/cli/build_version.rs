// Shared by the build scripts of `tokentray` (crates/cli/build.rs) and `tokentray-app`
// (src-tauri/build.rs, through `include!`): the version both print for `--version`.

/// Sets `TOKENTRAY_VERSION` for the crate being built: the workspace version, followed by the
/// commit when built from a git checkout ("0.1.0 (commit 0123456789)"), so a bug report names
/// the exact build. A source tarball without git gives the plain version.
fn emit_version() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    match git(&["rev-parse", "--short=10", "HEAD"]) {
        Some(commit) => println!("cargo:rustc-env=TOKENTRAY_VERSION={version} (commit {commit})"),
        None => println!("cargo:rustc-env=TOKENTRAY_VERSION={version}"),
    }
    // A new commit moves HEAD (detached) or a branch's ref, which is a loose file under
    // refs/heads (cargo watches a folder's contents) or a line of packed-refs: rebuild then, not
    // on every build. Only paths that exist: cargo reruns the script every time for a missing one.
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for watched in ["HEAD", "packed-refs", "refs/heads"] {
            let path = format!("{git_dir}/{watched}");
            if std::path::Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
