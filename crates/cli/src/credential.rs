//! Tokens for other tools: `git-credential get|store|erase` (git's credential-helper protocol)
//! and `exec-credential NAME` (a Kubernetes `ExecCredential`). Both go through the running
//! engine when there is one, so that only Tokentray ever spends a refresh token.

use std::io::{BufRead, Write};

use tokentray_core::ops::{answer, Op};
use tokentray_core::secret::Secret;
use tokentray_core::settings::Settings;
use tokentray_core::variant::TokenRequest;
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::CliError;
use crate::token::VariantArgs;

/// Asks the engine (or, with none, this process) for the account's fresh token, as `request`
/// asks; `on_behalf_of` names the command `exec` will give it to.
pub fn fetch(
    paths: &Paths,
    account: &str,
    request: TokenRequest,
    on_behalf_of: Option<String>,
) -> Result<answer::Token, CliError> {
    engine_call::call(
        paths,
        Op::Token {
            account: account.to_owned(),
            request,
            on_behalf_of,
        },
    )
}

/// `git-credential`'s operation.
#[derive(clap::Args)]
pub struct GitArgs {
    /// `get`, `store` or `erase` (git passes it).
    #[arg(value_parser = ["get", "store", "erase"])]
    operation: String,
}

/// Git's credential-helper protocol on stdin/stdout. `get` answers only for hosts an account
/// claims with `--git-host`, over https; for any other host it prints nothing, so git asks its
/// next helper. `store` is a no-op (Tokentray already has the token). `erase` means the host
/// rejected the token: the account is marked stale and a different token is fetched.
pub fn git(paths: &Paths, args: GitArgs) -> Result<(), CliError> {
    let input = read_git_input(std::io::stdin().lock())?;
    if args.operation == "store" {
        return Ok(());
    }
    let settings = Settings::load(&paths.settings_file())?;
    let Some((account, username)) = claim(&settings, &input) else {
        return Ok(());
    };
    let request = settings
        .account(&account)
        .map(|a| a.git_request())
        .unwrap_or_default();
    if args.operation == "erase" {
        if let Some(rejected) = input.password {
            let result: Result<answer::Rejected, _> = engine_call::call(
                paths,
                Op::Rejected {
                    account: account.clone(),
                    token: rejected,
                    request,
                },
            );
            if let Err(e) = result {
                // git goes on either way; say why the next try may fail too.
                eprintln!("tokentray: {e}");
            }
        }
        return Ok(());
    }
    match fetch(paths, &account, request, None) {
        Ok(f) => {
            let mut out = format!("username={username}\npassword={}\n", f.token.expose());
            if let Some(at) = f.expires_at {
                // git ≥ 2.41 drops the credential by itself after this; older ones ignore it.
                out.push_str(&format!("password_expiry_utc={}\n", at.unix_timestamp()));
            }
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(out.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| CliError::new(format!("cannot answer git: {e}")))
        }
        Err(e) => {
            // Nothing on stdout: git falls through to its next helper or asks the person.
            eprintln!("tokentray: {e}");
            Ok(())
        }
    }
}

/// What git sent: the attributes the helper needs.
#[derive(Default)]
struct GitInput {
    protocol: Option<String>,
    host: Option<String>,
    password: Option<Secret>,
}

fn read_git_input(reader: impl BufRead) -> Result<GitInput, CliError> {
    let mut input = GitInput::default();
    for line in reader.lines() {
        let line = line.map_err(|e| CliError::new(format!("cannot read git's request: {e}")))?;
        if line.is_empty() {
            break;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key {
            "protocol" => input.protocol = Some(value.to_owned()),
            "host" => input.host = Some(value.to_ascii_lowercase()),
            "password" => input.password = Some(Secret::new(value)),
            _ => {}
        }
    }
    Ok(input)
}

/// The account that claims the request's host, and the username to give git. Tokens go over
/// https only (plain http just to the loopback address, for local mirrors and tests).
fn claim(settings: &Settings, input: &GitInput) -> Option<(String, String)> {
    let host = input.host.as_deref()?;
    // `host` may carry a port: `example.com:8443`, `[::1]:8080`.
    let hostname = match host.strip_prefix('[') {
        Some(rest) => rest
            .split(']')
            .next()
            .map_or(host, |h| &host[..h.len() + 2]),
        None => host.split(':').next().unwrap_or(host),
    };
    let loopback = matches!(hostname, "127.0.0.1" | "localhost" | "[::1]");
    match input.protocol.as_deref() {
        Some("https") => {}
        Some("http") if loopback => {}
        _ => return None,
    }
    let account = settings.accounts.iter().find(|a| {
        a.git_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host) || h.eq_ignore_ascii_case(hostname))
    })?;
    let username = account.git_username.clone().unwrap_or_else(|| {
        let preset = settings
            .providers
            .get(&account.provider)
            .and_then(|p| p.preset.as_deref());
        match preset {
            Some("github") => "x-access-token".into(),
            _ => "oauth2".into(),
        }
    });
    Some((account.name.clone(), username))
}

/// `exec-credential`'s arguments.
#[derive(clap::Args)]
pub struct ExecArgs {
    /// The account.
    name: String,
    #[command(flatten)]
    variant: VariantArgs,
}

/// Prints a Kubernetes `ExecCredential` (`client.authentication.k8s.io/v1`) with the account's
/// token and its expiry, for a kubeconfig `exec` entry.
pub fn exec(paths: &Paths, args: ExecArgs) -> Result<(), CliError> {
    let f = fetch(paths, &args.name, args.variant.request(), None)?;
    let mut status = serde_json::json!({ "token": f.token.expose() });
    if let Some(at) = f.expires_at {
        let at = at
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| CliError::new(format!("cannot write the expiry: {e}")))?;
        status["expirationTimestamp"] = serde_json::json!(at);
    }
    let doc = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": status,
    });
    println!("{doc}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokentray_core::settings::{AccountSettings, ProviderSettings};

    fn settings() -> Settings {
        let mut s = Settings::default();
        for (name, preset) in [("gh", Some("github")), ("corp", None)] {
            s.providers.insert(
                name.into(),
                ProviderSettings {
                    preset: preset.map(Into::into),
                    token_url: "https://example.com/token".into(),
                    client_id: "c".into(),
                    ..ProviderSettings::default()
                },
            );
        }
        s.accounts.push(AccountSettings {
            name: "work".into(),
            provider: "gh".into(),
            git_hosts: vec!["github.com".into()],
            git_username: None,
            ..AccountSettings::default()
        });
        s.accounts.push(AccountSettings {
            name: "corp".into(),
            provider: "corp".into(),
            git_hosts: vec!["git.corp.example:8443".into()],
            git_username: Some("me".into()),
            ..AccountSettings::default()
        });
        s
    }

    fn input(text: &str) -> GitInput {
        read_git_input(text.as_bytes()).unwrap()
    }

    #[test]
    fn hosts_are_claimed_over_https_with_the_provider_username() {
        let s = settings();
        let c = claim(&s, &input("protocol=https\nhost=GitHub.com\n\n"));
        assert_eq!(c, Some(("work".into(), "x-access-token".into())));
        let c = claim(&s, &input("protocol=https\nhost=git.corp.example:8443\n"));
        assert_eq!(c, Some(("corp".into(), "me".into())));
    }

    #[test]
    fn other_hosts_and_plain_http_get_nothing() {
        let s = settings();
        assert_eq!(claim(&s, &input("protocol=https\nhost=gitlab.com\n")), None);
        assert_eq!(claim(&s, &input("protocol=http\nhost=github.com\n")), None);
        assert_eq!(claim(&s, &input("protocol=ssh\nhost=github.com\n")), None);
        assert_eq!(claim(&s, &input("host=github.com\n")), None);
        // IPv6 loopback with a port is loopback: plain http is allowed there.
        let mut s = s;
        s.accounts[1].git_hosts.push("[::1]".into());
        let c = claim(&s, &input("protocol=http\nhost=[::1]:8080\n"));
        assert_eq!(c, Some(("corp".into(), "me".into())));
    }

    #[test]
    fn input_stops_at_the_blank_line_and_keeps_the_password_secret() {
        let i = input("protocol=https\nhost=a\npassword=p\n\nhost=b\n");
        assert_eq!(i.host.as_deref(), Some("a"));
        assert_eq!(i.password.as_ref().map(Secret::expose), Some("p"));
        assert_eq!(format!("{:?}", i.password), "Some(Secret([redacted]))");
    }
}
