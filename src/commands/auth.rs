//! `auth api-key set|clear` and `auth status`.
//!
//! Endpoints: only `auth status` calls one, `GET /storage/kvs?page[number]=1&page[size]=1`, to
//! check that the key is accepted; `set` and `clear` touch nothing but the config file.

use std::io::{IsTerminal as _, Read as _};

use anyhow::Context as _;
use serde::Serialize;

use crate::cli::ApiKeySetArgs;
use crate::client::Client;
use crate::commands::settings::GlobalSettings;
use crate::error::{Exit, UserError};
use crate::local::config_file::{ConfigFile, mask};
use crate::local::settings::{self, Env};
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;

/// Where a key is saved: the file, and the profile when `--profile` names one.
fn place(config: &ConfigFile, profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!("`{}` [profiles.{p}]", config.path().display()),
        None => format!("`{}`", config.path().display()),
    }
}

/// Reads the key from the argument, or stdin: without echo on a terminal, else the first line.
fn read_key(args: ApiKeySetArgs) -> anyhow::Result<String> {
    let key = match args.key {
        Some(key) => key,
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Telnyx API key (input hidden): ")
                .context("cannot read the API key from the terminal")?
        }
        None => {
            let mut text = String::new();
            std::io::stdin()
                .lock()
                .take(64 * 1024)
                .read_to_string(&mut text)
                .context("cannot read the API key from stdin")?;
            text.lines().next().unwrap_or("").to_owned()
        }
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(UserError::new(Exit::Usage, "the API key is empty")
            .hint("Pass it as an argument or on stdin: `printf %s \"$KEY\" | telnyx-edge auth api-key set`.")
            .into());
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(UserError::new(
            Exit::Usage,
            "the API key has spaces or characters outside printable ASCII",
        )
        .hint("Copy the key again from the Telnyx portal; v2 keys look like `KEY…`.")
        .into());
    }
    Ok(key)
}

/// `auth api-key set`: writes `api_key` to the config file (atomically, mode 0600). No request.
pub(crate) fn set(
    global: &GlobalSettings,
    args: ApiKeySetArgs,
    printer: &Printer,
) -> anyhow::Result<()> {
    let key = read_key(args)?;
    let env = Env::from_process();
    let (_lock, mut config) = config_to_edit(&env)?;
    let profile = global.profile.as_deref();
    config.set_api_key(profile, &key)?;
    config.save()?;
    printer.status(&format!(
        "Saved the API key {} to {}",
        mask(&key),
        place(&config, profile)
    ));
    if env.api_key.is_some() {
        printer.warn("TELNYX_API_KEY is set and takes precedence over the saved key");
    }
    report(
        printer,
        &KeyChange {
            path: config.path().display().to_string(),
            profile,
            key: Some(mask(&key)),
        },
    )
}

/// The config file, locked for a read-modify-write until the lock is dropped.
fn config_to_edit(
    env: &Env,
) -> anyhow::Result<(
    crate::local::atomic::EditLock,
    crate::local::config_file::ConfigFile,
)> {
    let path = crate::local::config_file::default_path(env.config_path.clone())?;
    let lock = crate::local::atomic::EditLock::acquire(&path)
        .with_context(|| format!("cannot lock `{}`", path.display()))?;
    Ok((lock, settings::load_config(env)?))
}

/// `auth api-key clear`: removes `api_key` from the config file. No request.
pub(crate) fn clear(global: &GlobalSettings, printer: &Printer) -> anyhow::Result<()> {
    let env = Env::from_process();
    let (_lock, mut config) = config_to_edit(&env)?;
    let profile = global.profile.as_deref();
    if config.clear_api_key(profile) {
        config.save()?;
        printer.status(&format!(
            "Removed the API key from {}",
            place(&config, profile)
        ));
    } else {
        printer.status(&format!(
            "No API key in {}; nothing to remove",
            place(&config, profile)
        ));
    }
    report(
        printer,
        &KeyChange {
            path: config.path().display().to_string(),
            profile,
            key: None,
        },
    )
}

#[derive(Serialize)]
struct KeyChange<'a> {
    path: String,
    profile: Option<&'a str>,
    /// The saved key, masked; `null` after `clear`.
    key: Option<String>,
}

fn report<T: Serialize>(printer: &Printer, value: &T) -> anyhow::Result<()> {
    match printer.format() {
        OutputFormat::Json => printer.json_document(value)?,
        OutputFormat::Ndjson => printer.json_line(value)?,
        OutputFormat::Table | OutputFormat::Ids => {}
    }
    Ok(())
}

#[derive(Serialize)]
struct Status {
    local: bool,
    base_url: String,
    /// Where the credential comes from; `null` when there is none.
    source: Option<String>,
    /// The credential, masked.
    key: Option<String>,
    /// Whether the service accepted it; `null` when it was not checked.
    valid: Option<bool>,
}

/// `auth status`: where the key comes from, masked, and whether `GET /storage/kvs` accepts it.
pub(crate) async fn status(global: &GlobalSettings, printer: &Printer) -> anyhow::Result<()> {
    if global.local {
        return local_status(global, printer);
    }
    let env = Env::from_process();
    let config = settings::load_config(&env)?;
    crate::commands::backend::warn_if_exposed(&config, printer);
    let remote = settings::remote(&global.choices(), &env, &config)?;
    let Some(credential) = remote.credential else {
        report_status(
            printer,
            &Status {
                local: false,
                base_url: crate::client::redact_url(&remote.base_url),
                source: None,
                key: None,
                valid: None,
            },
        )?;
        return Err(settings::missing_credentials().into());
    };
    let options = crate::commands::backend::client_options(
        global,
        printer,
        global.request_timeout(None),
        remote.base_url.clone(),
        credential.token.clone(),
    );
    // A client that cannot be built (a key no header can carry, an unreadable SSL_CERT_FILE)
    // still gets the table, so the user sees where the key comes from; the error is its own.
    let (checked, local_problem) = match Client::new(options) {
        Ok(client) => (client.list_namespaces(1, 1).await.map(|_| ()), false),
        Err(err) => (Err(err), true),
    };
    let valid = match &checked {
        Ok(()) => Some(true),
        Err(err) if matches!(err.status(), Some(401 | 403)) => Some(false),
        Err(_) => None,
    };
    report_status(
        printer,
        &Status {
            local: false,
            base_url: crate::client::redact_url(&remote.base_url),
            source: Some(credential.source.to_string()),
            key: Some(mask(&credential.token)),
            valid,
        },
    )?;
    match checked {
        Ok(()) => Ok(()),
        Err(err) if local_problem => Err(err.into()),
        Err(err) if valid == Some(false) => Err(anyhow::Error::new(err).context(format!(
            "the API key from {} was not accepted by {}",
            credential.source,
            crate::client::redact_url(&remote.base_url)
        ))),
        // Not reaching the service says nothing about the key.
        Err(err) => Err(anyhow::Error::new(err).context(format!(
            "cannot check the API key from {}: no answer from {} that says whether it is accepted",
            credential.source,
            crate::client::redact_url(&remote.base_url)
        ))),
    }
}

/// `auth status --local`: no key is needed; says where the emulator state is.
fn local_status(global: &GlobalSettings, printer: &Printer) -> anyhow::Result<()> {
    let func_toml = global.func_toml_in_use()?;
    let state = crate::commands::backend::local_state_dir(func_toml.as_deref())?;
    printer.status(&format!(
        "Running locally: no API key is needed (emulator state in `{}`)",
        state.display()
    ));
    report_status(
        printer,
        &Status {
            local: true,
            base_url: String::new(),
            source: None,
            key: None,
            valid: None,
        },
    )
}

fn report_status(printer: &Printer, status: &Status) -> anyhow::Result<()> {
    match printer.format() {
        OutputFormat::Table | OutputFormat::Ids => {
            if status.local {
                return Ok(());
            }
            let accepted = match status.valid {
                Some(true) => "yes",
                Some(false) => "no",
                None => "unknown",
            };
            let text = crate::ui::tables::table(
                &["FIELD", "VALUE"],
                vec![
                    vec!["api".into(), status.base_url.clone()],
                    vec![
                        "key".into(),
                        status.key.clone().unwrap_or_else(|| "none".into()),
                    ],
                    vec![
                        "source".into(),
                        status.source.clone().unwrap_or_else(|| "none".into()),
                    ],
                    vec!["accepted".into(), accepted.into()],
                ],
                &[],
            );
            // The header row adds nothing to a two-column list.
            let body: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
            printer.out(&body)?;
        }
        OutputFormat::Json => printer.json_document(status)?,
        OutputFormat::Ndjson => printer.json_line(status)?,
    }
    Ok(())
}
