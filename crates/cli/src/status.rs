//! `tokentray status`: every account's state, from the running engine or, without one, from disk.

use tokentray_core::ops::{answer, Op};
use tokentray_core::status::Status;
use tokentray_core::Paths;

use crate::error::CliError;

/// Arguments of `status`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// Print one JSON document (the shape in the CLI contract).
    #[arg(long)]
    json: bool,
}

/// Runs `status`.
pub fn run(paths: &Paths, args: StatusArgs) -> Result<(), CliError> {
    let status = current(paths)?;
    if args.json {
        let text =
            serde_json::to_string_pretty(&status).map_err(|e| CliError::new(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", table(&status, paths));
    }
    Ok(())
}

/// The live status from the running engine, else what is on disk.
fn current(paths: &Paths) -> Result<Status, CliError> {
    let status: answer::Status = crate::engine_call::call(paths, Op::Status {})?;
    Ok(status)
}

/// What an empty status says: how to begin.
fn no_accounts(paths: &Paths) -> String {
    format!(
            "No accounts yet. Add one in the dashboard (`tokentray run`), or from here:\n\
             \x20 tokentray provider add NAME --preset github|google|microsoft|gitlab --client-id ID\n\
             \x20 tokentray account add ACCOUNT --provider NAME\n\
             \x20 tokentray login ACCOUNT\n\
             What to register at each provider: docs/providers.md in Tokentray's source. Accounts are kept in {}\n",
            paths.settings_file().display()
    )
}

/// The warnings and notes under the table, one sentence each.
fn notes(status: &Status) -> String {
    let mut out = String::new();
    if let Some(e) = &status.storage_error {
        out.push_str(&format!("\nWarning: {e}\n"));
    }
    if let Some(note) = &status.desktop_note {
        out.push_str(&format!("\nNote: {note}\n"));
    }
    out
}

fn table(status: &Status, paths: &Paths) -> String {
    if status.accounts.is_empty() {
        return format!("{}{}", no_accounts(paths), notes(status));
    }
    let rows: Vec<[String; 4]> = status
        .accounts
        .iter()
        .map(|a| {
            [
                a.name.clone(),
                a.provider.clone(),
                a.status.label().to_owned(),
                a.expires_at.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["ACCOUNT", "PROVIDER", "STATE", "EXPIRES"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let colour = colour_wanted();
    let mut out = String::new();
    for (n, row) in std::iter::once(&header).chain(&rows).enumerate() {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(col, (cell, w))| {
                let padded = format!("{cell:w$}");
                match (colour, n, col) {
                    (true, 0, _) => format!("\x1b[1m{padded}\x1b[0m"),
                    (true, _, 2) => paint(&padded, status.accounts[n - 1].status),
                    _ => padded,
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    // Tokens minted for other scopes or resources (what they are for, never the tokens).
    let variants: Vec<String> = status
        .accounts
        .iter()
        .flat_map(|a| {
            a.variants.iter().map(move |v| {
                let scopes = match v.scopes.as_slice() {
                    [] => "the sign-in's scopes".to_owned(),
                    s => s.join(" "),
                };
                let resource = v
                    .resource
                    .as_deref()
                    .map(|r| format!(" for {r}"))
                    .unwrap_or_default();
                let expires = v.expires_at.as_deref().unwrap_or("never");
                format!("  {}: {scopes}{resource}, expires {expires}\n", a.name)
            })
        })
        .collect();
    if !variants.is_empty() {
        out.push_str("\nTokens for other scopes and resources:\n");
        out.extend(variants);
    }
    // What to do about each account in trouble, one sentence each.
    for a in &status.accounts {
        if let Some(e) = &a.last_error {
            out.push_str(&format!("\n{}: {}", a.name, e.message));
        }
    }
    if status.accounts.iter().any(|a| a.last_error.is_some()) {
        out.push('\n');
    }
    out.push_str(&notes(status));
    out
}

/// Colour only for a person at a terminal, and never when `NO_COLOR` is set (no-color.org).
fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn paint(text: &str, state: tokentray_core::accounts::AccountState) -> String {
    use tokentray_core::accounts::AccountState::*;
    let code = match state {
        Enabled => "32",           // green
        Stale => "33",             // yellow
        Error => "1;31",           // bold red
        Paused | SignedOut => "2", // dim
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}
