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

/// `.telnyx-edge/state/` next to the nearest `func.toml`, else in `cwd`: where `--local` and
/// `storage kv serve` keep the emulator's data.
pub fn default_state_dir(cwd: &Path) -> PathBuf {
    let root = nearest_func_toml(cwd)
        .and_then(|file| file.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| cwd.to_path_buf());
    root.join(".telnyx-edge").join("state")
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
