//! The clipboard, for a device sign-in's code and the dashboard's "Copy token" (which copies
//! from the Rust side, so the token never enters the page).

/// Puts `text` on the clipboard for at most `keep` (on X11 and Wayland the clipboard is served by
/// its owner, so a thread owns it until something else is copied or `keep` ends). Returns
/// whether it worked; a machine without a clipboard (a server) is not an error.
pub fn copy(text: &str, keep: std::time::Duration) -> bool {
    let mut clipboard = match arboard::Clipboard::new() {
        Ok(c) => c,
        Err(e) => {
            tracing::info!("no clipboard to copy to ({e})");
            return false;
        }
    };
    #[cfg(all(unix, not(target_os = "macos")))]
    {
        let text = text.to_owned();
        let spawned = std::thread::Builder::new()
            .name("tokentray-clipboard".into())
            .spawn(move || {
                use arboard::SetExtLinux;
                let until = std::time::Instant::now() + keep;
                // A token or a code does not belong in a clipboard manager's history.
                let set = clipboard.set().exclude_from_history().wait_until(until);
                if let Err(e) = set.text(text) {
                    tracing::info!("cannot copy to the clipboard ({e})");
                }
            });
        spawned.is_ok()
    }
    #[cfg(not(all(unix, not(target_os = "macos"))))]
    {
        // The clipboard keeps its text here without an owner: clear it after `keep` unless
        // something else was copied meanwhile. A token or a code belongs in no clipboard
        // history, cloud clipboard or clipboard monitor.
        let set = clipboard.set();
        #[cfg(windows)]
        let set = {
            use arboard::SetExtWindows;
            set.exclude_from_history()
                .exclude_from_cloud()
                .exclude_from_monitoring()
        };
        #[cfg(target_os = "macos")]
        let set = {
            use arboard::SetExtApple;
            set.exclude_from_history()
        };
        if let Err(e) = set.text(text) {
            tracing::info!("cannot copy to the clipboard ({e})");
            return false;
        }
        let text = text.to_owned();
        let _ = std::thread::Builder::new()
            .name("tokentray-clipboard".into())
            .spawn(move || {
                std::thread::sleep(keep);
                if let Ok(mut c) = arboard::Clipboard::new() {
                    if c.get_text().is_ok_and(|t| t == text) {
                        let _ = c.clear();
                    }
                }
            });
        true
    }
}
