//! A bare StatusNotifierItem: the floor the lean tray's idle cost is measured against (`make
//! bench`, `docs/performance.md`). One icon, one menu line (Quit), no engine; SIGTERM ends it.

use tokentray_core::accounts::Health;
use tokentray_host::tray_model::{Entry, Model};

fn main() {
    let model = Model {
        health: Health::Ok,
        tooltip: "bare".to_owned(),
        entries: vec![Entry::Action {
            id: "quit",
            label: "Quit",
            enabled: true,
        }],
    };
    let (quit, quitted) = std::sync::mpsc::channel();
    let on_click = Box::new(move |_: &str| {
        let _ = quit.send(());
    });
    match tokentray_host::sni::SniTray::start(None, model, on_click) {
        Ok((tray, watched)) => {
            println!("tray icon created (a watcher took it: {watched})");
            let _ = quitted.recv();
            drop(tray);
        }
        Err(e) => {
            eprintln!("bare-sni: {e}");
            std::process::exit(1);
        }
    }
}
