//! The config file shared with the official CLI: `~/.telnyx-edge/config.toml`, moved by
//! `TELNYX_CONFIG_PATH`.
//!
//! Read: `api_key`, `api_endpoint` (without `/v2`), `[tokens] access_token` and the same keys
//! under `[profiles.NAME]`. Written: only the `api_key` being set or cleared; everything else in
//! the file (other settings, comments, formatting) is kept as it was. Writes are atomic and the
//! file is private to the user (mode 0600).

use std::io::Write as _;

use std::path::{Path, PathBuf};

use crate::local::atomic::AtomicFile;
use crate::local::toml_file::{self, TomlLoadError};

use toml_edit::{DocumentMut, Item, Table, TableLike};

#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// Where and what, never the line's text: it may hold the key.
    #[error(transparent)]
    Load(#[from] TomlLoadError),
    #[error("cannot write the config file `{}`", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no home directory to keep the config file in; set TELNYX_CONFIG_PATH")]
    NoHome,
    #[error("cannot save the key in the config file `{}`: `{key}` there is not a table", path.display())]
    NotATable { path: PathBuf, key: String },
}

/// Where the config file is: `TELNYX_CONFIG_PATH`, else `~/.telnyx-edge/config.toml`.
pub(crate) fn default_path(env_path: Option<PathBuf>) -> Result<PathBuf, ConfigError> {
    match env_path {
        Some(path) => Ok(path),
        None => dirs::home_dir()
            .map(|home| home.join(".telnyx-edge").join("config.toml"))
            .ok_or(ConfigError::NoHome),
    }
}

/// The parsed config file, or an empty one when it does not exist yet.
#[derive(Debug, Clone)]
pub(crate) struct ConfigFile {
    path: PathBuf,
    doc: DocumentMut,
    /// Group or others may read it (Unix mode bits `0o077`).
    shared: bool,
}

impl ConfigFile {
    pub(crate) fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = toml_file::load(path, "the config file ")?;
        Ok(Self {
            path: path.to_owned(),
            doc: file.doc,
            shared: readable_by_others(path),
        })
    }

    /// Whether the file holds a credential that someone other than its owner can read, as ssh
    /// warns about a private key.
    pub(crate) fn exposed(&self) -> bool {
        let holds = |profile: Option<&str>| {
            self.api_key(profile).is_some() || self.access_token(profile).is_some()
        };
        self.shared
            && (holds(None)
                || self
                    .profile_names()
                    .iter()
                    .any(|name| holds(Some(name.as_str()))))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The table a profile's settings live in: the top level, or `[profiles.NAME]`.
    /// Profiles may be written as tables (`[profiles.ci]`) or inline (`profiles = { ci = {…} }`);
    /// both are read and written.
    fn section(&self, profile: Option<&str>) -> Option<&dyn TableLike> {
        match profile {
            None => Some(self.doc.as_table()),
            Some(name) => self
                .doc
                .get("profiles")?
                .as_table_like()?
                .get(name)?
                .as_table_like(),
        }
    }

    fn string(&self, profile: Option<&str>, path: &[&str]) -> Option<&str> {
        let mut item: &Item = self.section(profile)?.get(path[0])?;
        for key in &path[1..] {
            item = item.as_table_like()?.get(key)?;
        }
        item.as_str().filter(|s| !s.is_empty())
    }

    pub(crate) fn api_key(&self, profile: Option<&str>) -> Option<&str> {
        self.string(profile, &["api_key"])
    }

    pub(crate) fn api_endpoint(&self, profile: Option<&str>) -> Option<&str> {
        self.string(profile, &["api_endpoint"])
    }

    /// The OAuth token the official CLI's `auth login` stores.
    pub(crate) fn access_token(&self, profile: Option<&str>) -> Option<&str> {
        self.string(profile, &["tokens", "access_token"])
    }

    pub(crate) fn has_profile(&self, name: &str) -> bool {
        self.section(Some(name)).is_some()
    }

    /// The names of the `[profiles.*]` tables, for error messages.
    pub(crate) fn profile_names(&self) -> Vec<String> {
        self.doc
            .get("profiles")
            .and_then(Item::as_table_like)
            .map(|t| {
                t.iter()
                    .filter(|(_, item)| item.is_table_like())
                    .map(|(name, _)| name.to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets `api_key` at the top level or in `[profiles.NAME]`, creating the table if needed.
    /// A `profiles` (or `profiles.NAME`) that is a value rather than a table is refused: replacing
    /// it would lose what it holds.
    pub(crate) fn set_api_key(
        &mut self,
        profile: Option<&str>,
        key: &str,
    ) -> Result<(), ConfigError> {
        let not_a_table = |key: String| ConfigError::NotATable {
            path: self.path.clone(),
            key,
        };
        let profiles_inline = self.doc.get("profiles").is_some_and(Item::is_inline_table);
        let table: &mut dyn TableLike = match profile {
            None => self.doc.as_table_mut(),
            Some(name) => {
                let profiles = self
                    .doc
                    .entry("profiles")
                    .or_insert_with(|| {
                        let mut t = Table::new();
                        t.set_implicit(true);
                        Item::Table(t)
                    })
                    .as_table_like_mut()
                    .ok_or_else(|| not_a_table("profiles".into()))?;
                // A new profile is written the way the others are.
                let inline = profiles_inline
                    || (!profiles.is_empty()
                        && profiles.iter().all(|(_, item)| item.is_inline_table()));
                profiles
                    .entry(name)
                    .or_insert_with(|| {
                        if inline {
                            Item::Value(
                                toml_edit::Value::InlineTable(toml_edit::InlineTable::new()),
                            )
                        } else {
                            Item::Table(Table::new())
                        }
                    })
                    .as_table_like_mut()
                    .ok_or_else(|| not_a_table(format!("profiles.{name}")))?
            }
        };
        table.insert("api_key", toml_edit::value(key));
        Ok(())
    }

    /// Removes `api_key`; returns whether there was one.
    pub(crate) fn clear_api_key(&mut self, profile: Option<&str>) -> bool {
        let table = match profile {
            None => Some(self.doc.as_table_mut() as &mut dyn TableLike),
            Some(name) => self
                .doc
                .get_mut("profiles")
                .and_then(Item::as_table_like_mut)
                .and_then(|p| p.get_mut(name))
                .and_then(Item::as_table_like_mut),
        };
        table.and_then(|t| t.remove("api_key")).is_some()
    }

    /// Writes the file atomically (a temporary file in the same directory, then a rename), with
    /// mode 0600; the directory is created with mode 0700 when missing.
    pub(crate) fn save(&self) -> Result<(), ConfigError> {
        let write_error = |source| ConfigError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = crate::local::atomic::parent_dir(&self.path);
        if !dir.exists() {
            create_private_dir(dir).map_err(write_error)?;
        }
        // The temporary file is created 0600, so the key is never readable by others, even
        // before the rename.
        let mut file = AtomicFile::new(&self.path).map_err(write_error)?;
        // Private whatever the file was before: it holds the key.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(write_error)?;
        }
        file.write_all(self.doc.to_string().as_bytes())
            .and_then(|()| file.commit())
            .map_err(write_error)
    }
}

#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o077 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// Shows enough of a secret to recognise it and nothing that would let anyone use it:
/// `KEY0…cd12` (first 4 and last 4 characters of keys longer than 12, else `****`).
pub(crate) fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 12 {
        return "****".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A config file with `text`, written in a temporary directory (kept while the first value
/// lives) and loaded.
#[cfg(test)]
pub(crate) fn written(text: &str) -> (tempfile::TempDir, ConfigFile) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).expect("write");
    let config = ConfigFile::load(&path).expect("loads");
    (dir, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# written by the official CLI\napi_endpoint = \"https://api.telnyx.com\"\n\n[tokens]\naccess_token = \"oauth-token\" # from auth login\n\n[profiles.staging]\napi_key = \"KEYstaging\"\napi_endpoint = \"https://staging.example\"\n";

    use super::written as load;

    #[test]
    fn reads_keys_tokens_and_profiles() {
        let (_dir, config) = load(SAMPLE);
        assert_eq!(config.api_key(None), None);
        assert_eq!(config.access_token(None), Some("oauth-token"));
        assert_eq!(config.api_endpoint(None), Some("https://api.telnyx.com"));
        assert_eq!(config.api_key(Some("staging")), Some("KEYstaging"));
        assert_eq!(
            config.api_endpoint(Some("staging")),
            Some("https://staging.example")
        );
        assert!(config.has_profile("staging"));
        assert!(!config.has_profile("prod"));
        assert_eq!(config.profile_names(), ["staging"]);
    }

    #[test]
    fn setting_a_key_keeps_everything_else_byte_for_byte() {
        let (dir, mut config) = load(SAMPLE);
        config.set_api_key(None, "KEYnew").expect("sets");
        config.save().expect("saves");
        let text = std::fs::read_to_string(dir.path().join("config.toml")).expect("read");
        assert_eq!(
            text,
            SAMPLE.replacen(
                "api_endpoint = \"https://api.telnyx.com\"\n",
                "api_endpoint = \"https://api.telnyx.com\"\napi_key = \"KEYnew\"\n",
                1,
            )
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("config.toml"))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut config = ConfigFile::load(&dir.path().join("config.toml")).expect("loads");
        assert!(config.clear_api_key(None));
        assert!(!config.clear_api_key(None));
        config.save().expect("saves");
        let text = std::fs::read_to_string(dir.path().join("config.toml")).expect("read");
        assert_eq!(text, SAMPLE);
    }

    #[test]
    fn a_missing_file_is_empty_and_is_created_private() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new/dir/config.toml");
        let mut config = ConfigFile::load(&path).expect("loads");
        assert_eq!(config.api_key(None), None);
        config.set_api_key(Some("ci"), "KEYci").expect("sets");
        config.save().expect("saves");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "[profiles.ci]\napi_key = \"KEYci\"\n"
        );
    }

    #[test]
    fn masks_secrets() {
        assert_eq!(mask("KEY0123456789abcdef"), "KEY0…cdef");
        assert_eq!(mask("short"), "****");
    }

    #[test]
    fn a_profiles_value_that_is_not_a_table_is_refused_not_lost() {
        let (_dir, mut config) = load("profiles = \"oops\"\n");
        let path = config.path().to_owned();
        let err = config
            .set_api_key(Some("ci"), "KEYci")
            .expect_err("not a table");
        assert_eq!(
            err.to_string(),
            format!(
                "cannot save the key in the config file `{}`: `profiles` there is not a table",
                path.display()
            )
        );
        assert_eq!(config.api_key(Some("ci")), None);
    }

    #[test]
    fn inline_profiles_are_read_and_written_and_other_shapes_refused() {
        let (_dir, mut config) = load("profiles = { ci = { api_key = \"KEYold\" } }\n");
        let path = config.path().to_owned();
        assert_eq!(config.api_key(Some("ci")), Some("KEYold"));
        assert_eq!(config.profile_names(), ["ci"]);
        config.set_api_key(Some("ci"), "KEYnew").expect("sets");
        config.set_api_key(Some("qa"), "KEYqa").expect("sets");
        config.save().expect("saves");
        let saved = std::fs::read_to_string(&path).expect("read");
        assert!(
            saved.starts_with("profiles = { ci = { api_key = \"KEYnew\" }"),
            "{saved}"
        );
        assert_eq!(saved.lines().count(), 1, "still one inline table: {saved}");
        let reread = ConfigFile::load(&path).expect("loads");
        assert_eq!(reread.api_key(Some("qa")), Some("KEYqa"));
        std::fs::write(&path, "[profiles]\nci = \"x\"\n").expect("write");
        let mut config = ConfigFile::load(&path).expect("loads");
        assert!(
            config.set_api_key(Some("ci"), "KEY").is_err(),
            "never a false Saved"
        );
        assert!(config.profile_names().is_empty());
    }
}
