//! The tray icon and its menu through Tauri. `tokentray_host::tray_model` decides what to show
//! from the status; `render` turns that into Tauri menu items; clicks go back to the engine.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, IsMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tokentray_core::accounts::Health;
use tokentray_core::Engine;
use tokentray_host::tray_actions::{self, After};
use tokentray_host::tray_model::{id, sign_in_label, Entry, Model};
use tokentray_host::Host;

use crate::dashboard;
use crate::startup::StartupError;

const TRAY_ID: &str = "main";

fn icon(health: Health) -> tauri::Result<Image<'static>> {
    let bytes: &'static [u8] = match health {
        Health::Ok => include_bytes!("../../icons/tray-ok.png"),
        Health::Paused => include_bytes!("../../icons/tray-paused.png"),
        Health::Stale => include_bytes!("../../icons/tray-stale.png"),
        Health::Error => include_bytes!("../../icons/tray-error.png"),
    };
    Image::from_bytes(bytes)
}

fn render(app: &AppHandle, model: &Model) -> tauri::Result<Menu<Wry>> {
    let mut items: Vec<Box<dyn IsMenuItem<Wry>>> = Vec::new();
    for (n, entry) in model.entries.iter().enumerate() {
        items.push(match entry {
            Entry::Info(text) => Box::new(MenuItem::with_id(
                app,
                format!("info-{n}"),
                text,
                false,
                None::<&str>,
            )?),
            Entry::Action { id, label, enabled } => {
                Box::new(MenuItem::with_id(app, *id, *label, *enabled, None::<&str>)?)
            }
            Entry::SignIn { account, again } => Box::new(MenuItem::with_id(
                app,
                format!("{}{account}", id::RELOGIN_PREFIX),
                sign_in_label(account, *again),
                true,
                None::<&str>,
            )?),
            Entry::Check { id, label, checked } => Box::new(CheckMenuItem::with_id(
                app,
                *id,
                *label,
                true,
                *checked,
                None::<&str>,
            )?),
            Entry::Separator => Box::new(PredefinedMenuItem::separator(app)?),
        });
    }
    let refs: Vec<&dyn IsMenuItem<Wry>> = items.iter().map(|b| b.as_ref()).collect();
    Menu::with_items(app, &refs)
}

fn current_model(app: &AppHandle) -> Model {
    let problem = app.try_state::<StartupError>();
    tray_actions::current_model(
        app.try_state::<Host>().as_deref(),
        problem.as_ref().map(|e| e.0.as_str()),
    )
}

/// Creates the tray icon. `engine` is the engine or why it could not start.
pub fn create(app: &AppHandle, engine: Result<&Engine, &str>) -> tauri::Result<()> {
    if let Err(problem) = engine {
        app.manage(StartupError(problem.to_owned()));
    }
    let model = current_model(app);
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon(model.health)?)
        .tooltip(&model.tooltip)
        .menu(&render(app, &model)?)
        .show_menu_on_left_click(true)
        .on_menu_event(|app, event| on_click(app, event.id.as_ref()))
        .build(app)?;
    // The start-up benchmark times the launch to this line.
    tracing::info!("tray icon created");
    Ok(())
}

/// Re-reads the status and redraws the icon and menu.
pub fn update(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY_ID) else {
        return;
    };
    let model = current_model(app);
    let result = icon(model.health)
        .and_then(|i| tray.set_icon(Some(i)))
        .and_then(|()| tray.set_tooltip(Some(&model.tooltip)))
        .and_then(|()| render(app, &model))
        .and_then(|menu| tray.set_menu(Some(menu)));
    if let Err(e) = result {
        tracing::warn!("cannot update the tray: {e}");
    }
}

fn on_click(app: &AppHandle, id: &str) {
    let host = app.try_state::<Host>();
    match tray_actions::on_click(host.as_deref(), id) {
        After::Nothing => {}
        After::Redraw => update(app),
        After::OpenDashboard => dashboard::open(app),
        After::Quit => app.exit(0),
        After::Spawn(work) => {
            tauri::async_runtime::spawn(work);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_icon_decodes() {
        for h in [Health::Ok, Health::Paused, Health::Stale, Health::Error] {
            let image = icon(h).unwrap();
            assert_eq!((image.width(), image.height()), (64, 64), "{h:?}");
        }
    }
}
