//! OAuth: classifying token-endpoint answers, the refresh grant, and interactive sign-in.

pub mod classify;
pub mod discovery;
pub mod flows;
pub mod presets;
pub mod refresh;
