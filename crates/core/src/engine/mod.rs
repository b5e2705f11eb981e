//! The engine: owns the accounts, their tokens, their refresh schedule and their warm-up jobs,
//! and publishes every change as an event. Knows nothing of any GUI or transport.
//!
//! Split by what each room owns (`docs/architecture.md` walks through them). This file is only
//! the front door: it declares the rooms and re-exports the public face. No room imports from
//! here; each names the room it uses, so the rooms form no cycle.
//!
//! - state, no behaviour of the engine's own: [`error`], `tokens` (token math), `records` (the
//!   state file), `slot` (per-account memory), `outage` (the outage rule), `logins` (sign-ins
//!   waiting);
//! - `handle`: the [`Engine`] that holds them all, and the doors they share;
//! - behaviour, each an `impl Engine` block: `configure` (settings), `keychain`, `refresh`,
//!   `credentials` (what callers get), `variants` (tokens for other scopes and
//!   resources), `grant` (sign-in stored, sign-out), `sign_in` (the
//!   flows), `scheduler`, `job_runner`, `snapshot` (status), `shutdown`.

mod configure;
mod credentials;
pub mod error;
mod grant;
mod handle;
mod job_runner;
mod keychain;
mod logins;
mod outage;
mod records;
mod refresh;
mod scheduler;
mod shutdown;
mod sign_in;
mod slot;
mod snapshot;
mod tokens;
mod variants;

pub use credentials::{RefreshOutcome, RefreshReport};
pub use error::EngineError;
pub use handle::Engine;
pub use logins::{LoginMethod, LoginOutcome, LoginPrompt};
pub use shutdown::SHUTDOWN_PATIENCE;
pub use tokens::{token_set_from, Credential};

#[cfg(test)]
mod tests;
