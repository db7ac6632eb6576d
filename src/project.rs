//! Where a project lives on disk: the nearest `func.toml` and the local state directory.

use std::path::{Path, PathBuf};

/// The function's configuration file.
pub const FUNC_TOML: &str = "func.toml";

/// The nearest `func.toml` in `start` or one of its ancestors.
pub fn nearest_func_toml(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FUNC_TOML))
        .find(|candidate| candidate.is_file())
}

/// The `func.toml` commands use: the one `--func-toml` names (which may not exist yet), else
/// the nearest.
pub fn func_toml_path(explicit: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => nearest_func_toml(cwd),
    }
}

/// How messages show a path: relative to the working directory when it is inside it.
pub fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf));
    match relative {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// The local mirrors of a `func.toml`'s bindings: each binding's namespace, with the same id,
/// named after the binding (`MY_CACHE` → `my-cache`). Ids that are not UUIDs are skipped and
/// named in the returned warnings.
pub fn mirrors(bindings: &[(String, String)]) -> (Vec<crate::emulator::Mirror>, Vec<String>) {
    let mut mirrors = Vec::new();
    let mut warnings = Vec::new();
    for (binding, id) in bindings {
        match uuid::Uuid::try_parse(id) {
            Ok(uuid) if id.len() == 36 => mirrors.push(crate::emulator::Mirror {
                id: uuid.hyphenated().to_string(),
                name: crate::func_toml::name_for(binding),
            }),
            _ => warnings.push(format!(
                "binding `{binding}` has id `{}`, which is not a namespace UUID; it is not mirrored locally",
                id.escape_debug()
            )),
        }
    }
    (mirrors, warnings)
}

/// `.telnyx-edge/state/` next to the nearest `func.toml`, else in `cwd`: where `--local` and
/// `storage kv serve` keep the emulator's data.
pub fn default_state_dir(cwd: &Path) -> PathBuf {
    match nearest_func_toml(cwd) {
        Some(file) => state_dir_beside(&file),
        None => cwd.join(".telnyx-edge").join("state"),
    }
}

/// `.telnyx-edge/state/` in the directory of `func_toml`.
pub fn state_dir_beside(func_toml: &Path) -> PathBuf {
    crate::atomic::parent_dir(func_toml)
        .join(".telnyx-edge")
        .join("state")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_sits_next_to_the_nearest_func_toml() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nested = dir.path().join("src/handlers");
        std::fs::create_dir_all(&nested).expect("mkdir");
        assert_eq!(
            default_state_dir(&nested),
            nested.join(".telnyx-edge/state")
        );
        std::fs::write(dir.path().join(FUNC_TOML), "").expect("write");
        assert_eq!(
            default_state_dir(&nested),
            dir.path().join(".telnyx-edge/state")
        );
    }
}
