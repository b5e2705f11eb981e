//! OAuth: classifying token-endpoint answers and the refresh grant.

pub mod classify;
pub mod discovery;
pub mod refresh;
