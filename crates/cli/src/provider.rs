//! `tokentray provider add|list`.

use std::io::Read;

use tokentray_core::oauth::classify::FailureClass;
use tokentray_core::oauth::presets;
use tokentray_core::ops::{answer, Op, ProviderSource};
use tokentray_core::secret::Secret;
use tokentray_core::settings::Settings;
use tokentray_core::Paths;

use crate::engine_call;
use crate::error::{code, CliError};

/// Provider commands.
#[derive(clap::Subcommand)]
pub enum ProviderCommand {
    /// Add an OAuth provider: by issuer (discovery), by endpoints, or from a preset.
    Add(Box<AddArgs>),
    /// Overrule what Tokentray makes of one of the provider's error codes.
    Class {
        /// The provider's name.
        name: String,
        /// The error code, as `tokentray status` shows it.
        code: String,
        /// What it means: permanent (sign in again), transient (retry), config (fix the
        /// settings), or default (the built-in reading).
        #[arg(value_parser = ["permanent", "transient", "config", "default"])]
        class: String,
    },
    /// List the providers.
    List {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `provider add`.
#[derive(clap::Args)]
pub struct AddArgs {
    /// The provider's name.
    name: String,
    /// The issuer URL; its endpoints are discovered now. With --preset: the instance the
    /// preset's paths are served from (GitLab self-managed, GitHub Enterprise Server, an Entra
    /// national cloud).
    #[arg(long, conflicts_with = "token_url")]
    issuer: Option<String>,
    /// A well-known provider.
    #[arg(long, value_parser = presets::PRESETS)]
    preset: Option<String>,
    /// The Microsoft Entra tenant: common (the default), organizations, consumers, a tenant id
    /// or a domain.
    #[arg(long, requires = "preset")]
    tenant: Option<String>,
    /// The authorization endpoint.
    #[arg(long, requires = "token_url")]
    authorize_url: Option<String>,
    /// The token endpoint.
    #[arg(long)]
    token_url: Option<String>,
    /// The device authorization endpoint.
    #[arg(long)]
    device_url: Option<String>,
    /// The revocation endpoint.
    #[arg(long)]
    revoke_url: Option<String>,
    /// The OAuth client id of the app you registered at the provider (with --preset and
    /// without it, `provider add` says what to register).
    #[arg(long)]
    client_id: Option<String>,
    /// A scope to ask for (repeatable); presets bring their own defaults.
    #[arg(long = "scope")]
    scopes: Vec<String>,
    /// Read the client secret from stdin (it goes to the keychain, never to a file).
    #[arg(long)]
    client_secret_stdin: bool,
}

/// Runs a provider command.
pub fn run(paths: &Paths, cmd: ProviderCommand) -> Result<(), CliError> {
    let file = paths.settings_file();
    match cmd {
        ProviderCommand::List { json } => {
            let settings = Settings::load(&file)?;
            if json {
                let list: Vec<serde_json::Value> = settings
                    .providers
                    .iter()
                    .map(|(name, p)| {
                        let mut v = serde_json::json!(p);
                        v["name"] = serde_json::json!(name);
                        v
                    })
                    .collect();
                println!("{}", serde_json::json!({ "providers": list }));
            } else if settings.providers.is_empty() {
                println!("No providers yet. Add one with `tokentray provider add NAME --issuer URL --client-id ID`");
            } else {
                for (name, p) in &settings.providers {
                    println!("{name}  {}  client {}", p.token_url, p.client_id);
                }
            }
        }
        ProviderCommand::Add(args) => add(paths, *args)?,
        ProviderCommand::Class { name, code, class } => {
            let class = match class.as_str() {
                "permanent" => Some(FailureClass::Permanent),
                "transient" => Some(FailureClass::Transient),
                "config" => Some(FailureClass::Config),
                _ => None,
            };
            let (): answer::SetClass = engine_call::call(
                paths,
                Op::SetClass {
                    provider: name.clone(),
                    code: code.clone(),
                    class,
                },
            )?;
            match class {
                Some(class) => println!("{name}: {code} now means {class}"),
                None => println!("{name}: {code} is read as the built-in table says"),
            }
        }
    }
    Ok(())
}

fn add(paths: &Paths, args: AddArgs) -> Result<(), CliError> {
    let Some(client_id) = args.client_id else {
        // What to register, where, and what to copy from it.
        let guide = args
            .preset
            .as_deref()
            .and_then(|p| presets::registration(p, args.issuer.as_deref()))
            .map_or_else(
                || {
                    " at the provider: a public (native or desktop) client with the redirect URI \
                    http://127.0.0.1/callback (docs/providers.md)"
                        .to_owned()
                },
                |r| {
                    format!(
                        " at {}: {} Then: --client-id {}",
                        r.page, r.register, r.client_id_example
                    )
                },
            );
        return Err(CliError::with_code(
            format!("--client-id is the id of the OAuth app you register{guide}"),
            code::USAGE,
        ));
    };
    let source = if let Some(name) = args.preset {
        ProviderSource::PresetAt {
            name,
            instance: args.issuer,
            tenant: args.tenant,
        }
    } else if let Some(issuer) = args.issuer {
        eprintln!("Discovering {issuer} …");
        ProviderSource::Issuer(issuer)
    } else if let Some(token_url) = args.token_url {
        ProviderSource::Endpoints {
            authorize_url: args.authorize_url,
            token_url,
        }
    } else {
        return Err(CliError::with_code(
            "say where the provider is: --issuer URL, --preset NAME, or --token-url URL",
            code::USAGE,
        ));
    };
    let client_secret = if args.client_secret_stdin {
        let mut secret = String::new();
        std::io::stdin()
            .read_to_string(&mut secret)
            .map_err(|e| CliError::new(format!("cannot read the client secret from stdin: {e}")))?;
        Some(Secret::new(secret.trim_end_matches(['\r', '\n'])))
    } else {
        None
    };
    let added: answer::AddProvider = engine_call::call(
        paths,
        Op::AddProvider {
            name: args.name.clone(),
            source,
            client_id,
            scopes: args.scopes,
            device_url: args.device_url,
            revoke_url: args.revoke_url,
            client_secret,
        },
    )?;
    println!(
        "added provider {} (token endpoint {})",
        args.name, added.token_url
    );
    Ok(())
}
