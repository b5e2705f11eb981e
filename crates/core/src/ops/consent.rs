//! Caller consent: with `callers = "ask"`, a program not yet allowed gets an account's token
//! only after the person says so (a notification with Allow once, Always allow, Deny). What this
//! defends against, and what not: `docs/security.md`.

use std::time::Duration;

use super::context::Cx;
use super::error::OpError;
use crate::caller::{Caller, CallerPolicy, Consent};

/// How long a request waits for the person.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The error code of a request the person did not allow (the CLI's exit code 9).
pub const NOT_ALLOWED: &str = "not_allowed";

/// Lets the request through, or says why not in one sentence.
pub(super) async fn check(cx: &Cx<'_>, account: &str, caller: &Caller) -> Result<(), OpError> {
    let settings = cx.engine.settings();
    let Some(a) = settings.account(account) else {
        // The engine answers "no such account" itself.
        return Ok(());
    };
    if a.callers == CallerPolicy::Allow {
        return Ok(());
    }
    let who = caller.describe();
    let Some(program) = caller.program.clone() else {
        return Err(OpError::new(
            NOT_ALLOWED,
            format!(
                "{account} hands its token only to programs you allowed, and the program asking \
                 cannot be told on this system; `tokentray account set {account} --callers allow` \
                 lets every program have it"
            ),
        ));
    };
    if a.allowed_callers.contains(&program) {
        return Ok(());
    }
    drop(settings);
    let consent = cx.desk.ask_caller(account, caller, PATIENCE).await;
    tracing::info!(%account, program = %who, ?consent, "asked the person about a caller");
    match consent {
        Consent::Once => Ok(()),
        Consent::Always => {
            cx.engine.edit_settings(|s| {
                if let Some(a) = s.accounts.iter_mut().find(|a| a.name == account) {
                    if !a.allowed_callers.contains(&program) {
                        a.allowed_callers.push(program.clone());
                    }
                }
                Ok(())
            })?;
            Ok(())
        }
        Consent::Deny => Err(OpError::new(
            NOT_ALLOWED,
            format!("you did not allow {who} to have {account}'s token"),
        )),
        Consent::NoAnswer => Err(OpError::new(
            NOT_ALLOWED,
            format!(
                "nobody allowed {who} to have {account}'s token within {} s; answer the \
                 notification, or allow it ahead with `tokentray account callers {account} \
                 --allow {program}`",
                PATIENCE.as_secs()
            ),
        )),
        Consent::NobodyToAsk(why) => Err(OpError::new(
            NOT_ALLOWED,
            format!(
                "{account} asks you before a new program has its token, and {why}; allow {program} \
                 ahead with `tokentray account callers {account} --allow {program}`, or run the \
                 tray app"
            ),
        )),
    }
}
