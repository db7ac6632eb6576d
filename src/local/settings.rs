//! Where requests go and with which credentials, from flags, the environment and the config
//! file. Precedence: flag > environment > profile > file > default.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Exit, UserError};
use crate::local::config_file::{self, ConfigFile};

/// The service's API root.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.telnyx.com/v2";
/// Per-request timeout when `--timeout` is not given.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a credential came from, for `auth status` and error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// `TELNYX_API_KEY`
    Env,
    /// The config file, at the top level or in a profile.
    Config {
        entry: ConfigEntry,
        path: PathBuf,
        profile: Option<String>,
    },
}

/// Which credential of the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigEntry {
    /// `api_key`
    ApiKey,
    /// `[tokens] access_token` written by the official CLI's `auth login`.
    AccessToken,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let in_profile = |profile: &Option<String>| {
            profile
                .as_ref()
                .map(|p| format!(" [profiles.{p}]"))
                .unwrap_or_default()
        };
        match self {
            Self::Env => f.write_str("the TELNYX_API_KEY environment variable"),
            Self::Config {
                entry,
                path,
                profile,
            } => {
                let what = match entry {
                    ConfigEntry::ApiKey => "api_key",
                    ConfigEntry::AccessToken => "the OAuth token (tokens.access_token)",
                };
                write!(f, "{what} in `{}`{}", path.display(), in_profile(profile))
            }
        }
    }
}

/// A bearer credential and where it came from.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credential {
    pub token: String,
    pub source: Source,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("token", &config_file::mask(&self.token))
            .field("source", &self.source)
            .finish()
    }
}

/// What the environment contributes, read once so that resolution is testable.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    pub api_key: Option<String>,
    pub config_path: Option<PathBuf>,
}

impl Env {
    pub(crate) fn from_process() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            api_key: var(crate::env::API_KEY),
            config_path: var(crate::env::CONFIG_PATH).map(PathBuf::from),
        }
    }
}

/// The resolved target of API commands (not `--local`).
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    pub base_url: String,
    /// `None` when nothing provides one; commands then fail with exit 4.
    pub credential: Option<Credential>,
}

/// What the command line asks for: `--base-url` and `--profile` (or the variables clap reads
/// for them).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Choices<'a> {
    pub(crate) base_url: Option<&'a str>,
    pub(crate) profile: Option<&'a str>,
}

/// Loads the config file named by the environment (or the default path).
pub(crate) fn load_config(env: &Env) -> anyhow::Result<ConfigFile> {
    let path = config_file::default_path(env.config_path.clone())?;
    Ok(ConfigFile::load(&path)?)
}

/// The profile to use, checked against the config file.
pub(crate) fn profile<'a>(
    choices: &Choices<'a>,
    config: &ConfigFile,
) -> Result<Option<&'a str>, UserError> {
    match choices.profile {
        None => Ok(None),
        Some(name) if config.has_profile(name) => Ok(Some(name)),
        Some(name) => {
            let known = config.profile_names();
            let listed = if known.is_empty() {
                "it has no profiles".to_owned()
            } else {
                format!("its profiles are {}", known.join(", "))
            };
            Err(UserError::new(
                Exit::Usage,
                format!(
                    "no profile `{name}` in `{}`: {listed}",
                    config.path().display()
                ),
            )
            .hint("Add a `[profiles.NAME]` table, or save a key there with `telnyx-edge --profile NAME auth api-key set`."))
        }
    }
}

/// Resolves the base URL and credential for the remote API.
pub(crate) fn remote(
    choices: &Choices<'_>,
    env: &Env,
    config: &ConfigFile,
) -> Result<Remote, UserError> {
    let profile = profile(choices, config)?;
    let endpoint = |p: Option<&str>| {
        config
            .api_endpoint(p)
            .map(|e| format!("{}/v2", e.trim_end_matches('/')))
    };
    let base_url = choices
        .base_url
        .map(str::to_owned)
        .or_else(|| profile.and_then(|p| endpoint(Some(p))))
        .or_else(|| endpoint(None))
        .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let path = config.path().to_path_buf();
    let in_file = |entry: ConfigEntry, p: Option<&str>| {
        let token = match entry {
            ConfigEntry::ApiKey => config.api_key(p),
            ConfigEntry::AccessToken => config.access_token(p),
        };
        token.map(|token| Credential {
            token: token.to_owned(),
            source: Source::Config {
                entry,
                path: path.clone(),
                profile: p.map(str::to_owned),
            },
        })
    };
    // A key anywhere beats an OAuth token: the official CLI uses its token only without a key.
    let credential = env
        .api_key
        .clone()
        .map(|token| Credential {
            token,
            source: Source::Env,
        })
        .or_else(|| profile.and_then(|p| in_file(ConfigEntry::ApiKey, Some(p))))
        .or_else(|| in_file(ConfigEntry::ApiKey, None))
        .or_else(|| profile.and_then(|p| in_file(ConfigEntry::AccessToken, Some(p))))
        .or_else(|| in_file(ConfigEntry::AccessToken, None));
    Ok(Remote {
        base_url,
        credential,
    })
}

/// The error for API commands run without any credential.
pub(crate) fn missing_credentials() -> UserError {
    UserError::new(Exit::Auth, "no Telnyx API key").hint(
        "Set TELNYX_API_KEY, save one with `telnyx-edge auth api-key set`, or use `--local` for the local emulator.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--base-url` and `--profile` as pairs of words, as on a command line.
    fn global<'a>(args: &[&'a str]) -> Choices<'a> {
        let mut choices = Choices::default();
        for pair in args.chunks(2) {
            match pair {
                ["--profile", name] => choices.profile = Some(name),
                ["--base-url", url] => choices.base_url = Some(url),
                other => panic!("not a choice: {other:?}"),
            }
        }
        choices
    }

    use crate::local::config_file::written as config;

    const FILE: &str = "api_key = \"KEYfile\"\napi_endpoint = \"https://file.example/\"\n[tokens]\naccess_token = \"oauth\"\n[profiles.p]\napi_key = \"KEYprofile\"\napi_endpoint = \"https://profile.example\"\n[profiles.tokenless]\n";

    #[test]
    fn flag_beats_profile_beats_file_beats_default() {
        let (_d, file) = config(FILE);
        let env = Env::default();
        let r = remote(&global(&[]), &env, &file).expect("resolves");
        assert_eq!(r.base_url, "https://file.example/v2");
        let r = remote(&global(&["--profile", "p"]), &env, &file).expect("resolves");
        assert_eq!(r.base_url, "https://profile.example/v2");
        let r = remote(
            &global(&["--profile", "p", "--base-url", "http://flag/v2"]),
            &env,
            &file,
        )
        .expect("resolves");
        assert_eq!(r.base_url, "http://flag/v2");
        let (_d, empty) = config("");
        let r = remote(&global(&[]), &env, &empty).expect("resolves");
        assert_eq!(r.base_url, DEFAULT_BASE_URL);
        assert_eq!(r.credential, None);
    }

    #[test]
    fn env_key_beats_profile_key_beats_file_key_beats_tokens() {
        let (_d, file) = config(FILE);
        let token = |args: &[&str], env: &Env| {
            remote(&global(args), env, &file)
                .expect("resolves")
                .credential
                .expect("a credential")
                .token
        };
        let with_env = Env {
            api_key: Some("KEYenv".into()),
            config_path: None,
        };
        assert_eq!(token(&["--profile", "p"], &with_env), "KEYenv");
        assert_eq!(token(&["--profile", "p"], &Env::default()), "KEYprofile");
        assert_eq!(
            token(&["--profile", "tokenless"], &Env::default()),
            "KEYfile"
        );
        assert_eq!(token(&[], &Env::default()), "KEYfile");
        let (_d, tokens_only) = config("[tokens]\naccess_token = \"oauth\"\n");
        let credential = remote(&global(&[]), &Env::default(), &tokens_only)
            .expect("resolves")
            .credential
            .expect("the token");
        assert_eq!(credential.token, "oauth");
        assert!(matches!(
            credential.source,
            Source::Config {
                entry: ConfigEntry::AccessToken,
                ..
            }
        ));
    }

    #[test]
    fn an_unknown_profile_is_a_usage_error_naming_the_known_ones() {
        let (_d, file) = config(FILE);
        let err = remote(&global(&["--profile", "nope"]), &Env::default(), &file)
            .expect_err("unknown profile");
        assert_eq!(err.exit, Exit::Usage);
        assert!(
            err.message.ends_with("its profiles are p, tokenless"),
            "{}",
            err.message
        );
    }

    #[test]
    fn credentials_never_show_in_debug_output() {
        let credential = Credential {
            token: "KEYsupersecret123456".into(),
            source: Source::Env,
        };
        assert!(!format!("{credential:?}").contains("supersecret"));
    }
}
