//! The engine, the host layer and the lean CLI never depend on a GUI library, and the engine
//! not on the host's desktop adapters: checked in the dependency graph and in the built
//! binary's dynamic libraries.

use std::process::Command;

use tokentray_tests::bins;

const GUI: [&str; 5] = ["tauri", "gtk", "webkit", "wry", "tao"];

fn dependency_names(package: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "-e",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "-p",
            package,
        ])
        .current_dir(bins::repo_root())
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn gui_crates(names: &[String]) -> Vec<&String> {
    names
        .iter()
        .filter(|n| GUI.iter().any(|g| n.contains(g)))
        .collect()
}

#[test]
fn core_host_and_cli_have_no_gui_crate_in_their_dependency_tree() {
    for package in ["tokentray-core", "tokentray-host", "tokentray"] {
        let names = dependency_names(package);
        assert!(
            names.len() > 5,
            "cargo tree listed too little for {package}: {names:?}"
        );
        assert_eq!(
            gui_crates(&names),
            Vec::<&String>::new(),
            "{package} pulls in a GUI crate"
        );
    }
}

#[test]
fn the_engine_knows_nothing_of_the_desktop_adapters() {
    // Notifications, the clipboard and the socket server are the host's; the engine is reached
    // only through its own API and the operation catalog.
    let core = dependency_names("tokentray-core");
    for adapter in ["tokentray-host", "notify-rust", "arboard"] {
        assert!(
            !core.iter().any(|n| n == adapter),
            "tokentray-core depends on {adapter}"
        );
    }
    // Guards the guard: the host has them.
    let host = dependency_names("tokentray-host");
    assert!(host.iter().any(|n| n == "notify-rust"), "{host:?}");
}

#[test]
fn the_check_itself_sees_gui_crates_in_the_app() {
    // Guards the guard: the same filter must find Tauri in the tray app's tree.
    let names = dependency_names("tokentray-app");
    assert!(!gui_crates(&names).is_empty());
}

#[test]
fn the_lean_binary_links_no_gui_library() {
    let out = Command::new("ldd")
        .arg(bins::cli())
        .output()
        .expect("run ldd");
    let libs = String::from_utf8_lossy(&out.stdout);
    assert!(libs.contains("libc.so"), "ldd output looks wrong: {libs}");
    for gui in ["libgtk", "libwebkit", "libgdk", "libayatana", "libX11"] {
        assert!(!libs.contains(gui), "tokentray links {gui}:\n{libs}");
    }
    let app = Command::new("ldd")
        .arg(bins::app())
        .output()
        .expect("run ldd");
    assert!(
        String::from_utf8_lossy(&app.stdout).contains("libgtk"),
        "the app should link GTK"
    );
}
