//! Tokentray's engine: everything that is not GUI.
//!
//! The tray app (`src-tauri`) and the lean CLI (`crates/cli`) are thin adapters around this crate.
//! It must never depend on Tauri, GTK or WebKit; `tests/tests/boundary.rs` enforces that.

pub mod accounts;
pub mod caller;
pub mod crosslock;
pub mod engine;
pub mod events;
pub mod fsutil;
pub mod history;
pub mod http;
pub mod jobs;
pub mod logging;
pub mod oauth;
pub mod ops;
pub mod paths;
pub mod schedule;
pub mod secret;
pub mod settings;
pub mod status;
pub mod sync;
pub mod variant;
pub mod vault;

pub use engine::{Engine, EngineError};
pub use paths::Paths;
