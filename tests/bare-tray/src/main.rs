//! A bare Tauri 2 tray app: the floor Tokentray's idle cost is measured against
//! (`make bench`, `docs/performance.md`). One icon, one menu item, no window, no engine.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::RunEvent;

fn main() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
            let menu = Menu::with_items(app, &[&quit])?;
            TrayIconBuilder::with_id("main")
                .icon(tauri::image::Image::from_bytes(include_bytes!(
                    "../../../icons/tray-ok.png"
                ))?)
                .menu(&menu)
                .on_menu_event(|app, _| app.exit(0))
                .build(app)?;
            println!("tray icon created");
            Ok(())
        })
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, event| {
            if let RunEvent::ExitRequested {
                code: None, api, ..
            } = event
            {
                api.prevent_exit();
            }
        }),
        Err(e) => {
            eprintln!("bare-tray: {e}");
            std::process::exit(1)
        }
    }
}
