//! Where a project lives on disk: the nearest `func.toml` and the local state directory.

use std::path::{Path, PathBuf};

/// The function's configuration file.
pub(crate) const FUNC_TOML: &str = "func.toml";

/// The nearest `func.toml` in `start` or one of its ancestors.
pub(crate) fn nearest_func_toml(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(FUNC_TOML))
        .find(|candidate| candidate.is_file())
}

/// The `func.toml` commands use: the one `--func-toml` names (which may not exist yet), else
/// the nearest.
pub(crate) fn func_toml_path(explicit: Option<&Path>, cwd: &Path) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => nearest_func_toml(cwd),
    }
}

/// How messages show a path: relative to the working directory when it is inside it.
pub(crate) fn display_path(path: &Path) -> String {
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf));
    match relative {
        Some(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// `.telnyx-edge/state/` next to the nearest `func.toml`, else in `cwd`: where `--local` and
/// `storage kv serve` keep the emulator's data.
fn default_state_dir(cwd: &Path) -> PathBuf {
    match nearest_func_toml(cwd) {
        Some(file) => state_dir_beside(&file),
        None => cwd.join(".telnyx-edge").join("state"),
    }
}

/// Where `--local` and `storage kv serve` keep the emulator's data: `explicit` (`--state-dir`,
/// `TELNYX_EDGE_STATE_DIR`), else next to the `func.toml` in use, else the default for `cwd`.
pub(crate) fn state_dir(explicit: Option<&Path>, func_toml: Option<&Path>, cwd: &Path) -> PathBuf {
    if let Some(dir) = explicit {
        return dir.to_path_buf();
    }
    match func_toml.filter(|path| path.is_file()) {
        Some(path) => state_dir_beside(path),
        None => default_state_dir(cwd),
    }
}

/// `.telnyx-edge/state/` in the directory of `func_toml`.
fn state_dir_beside(func_toml: &Path) -> PathBuf {
    crate::local::atomic::parent_dir(func_toml)
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
