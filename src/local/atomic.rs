//! Files written in full or not at all: a temporary file beside the target, renamed over it at
//! the end. `--output-file`, `export --output-file`, the failed file, `func.toml` and the config
//! file all use it.
//!
//! What the user had is kept: a symlink (a dotfile manager's) is followed, so the real file is
//! replaced and the link stays a link; an existing file keeps its mode and, as far as the
//! process may, its owner and group; a read-only file is refused rather than replaced.
//! Temporary files are named `.telnyx-edge-*.tmp`, so that a run that was killed can be
//! recognised and its leftovers removed by a later one.

use std::fs::Permissions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Leftover temporary files older than this are removed when a new one is made beside them.
const STALE: Duration = Duration::from_secs(3600);
const PREFIX: &str = ".telnyx-edge-";
const SUFFIX: &str = ".tmp";

/// The directory a path is in; `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file being written. Nothing appears at `path` until [`AtomicFile::commit`]; dropping it
/// removes the temporary file. The temporary file is created with mode 0600 on Unix and takes
/// the mode of the file it replaces.
pub(crate) struct AtomicFile {
    temp: tempfile::NamedTempFile,
    /// Where the rename goes: `path`, or the file a symlink at `path` points to.
    target: PathBuf,
}

impl AtomicFile {
    pub(crate) fn new(path: &Path) -> io::Result<Self> {
        let target = follow_links(path)?;
        let existing = std::fs::metadata(&target).ok();
        if let Some(meta) = &existing
            && read_only(meta)
        {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "`{}` is read-only; make it writable to let it be replaced",
                    target.display()
                ),
            ));
        }
        let dir = parent_dir(&target);
        remove_stale(dir);
        let temp = tempfile::Builder::new()
            .prefix(PREFIX)
            .suffix(SUFFIX)
            .tempfile_in(dir)?;
        if let Some(meta) = &existing {
            keep_owner_and_mode(temp.as_file(), meta)?;
        }
        Ok(Self { temp, target })
    }

    pub(crate) fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        self.temp.as_file().set_permissions(permissions)
    }

    /// Flushes the contents to disk and renames the file into place.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        self.temp.flush()?;
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.target).map_err(|err| err.error)?;
        Ok(())
    }

    /// Like [`AtomicFile::commit`], but into `other` instead of the path it was made for (in
    /// the same directory, so the rename stays atomic).
    pub(crate) fn commit_to(mut self, other: &Path) -> io::Result<()> {
        self.target = other.to_path_buf();
        self.commit()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// An exclusive advisory lock around a read-modify-write of the file at `path`, so that
/// parallel edits (twelve `bind`s at once) take turns instead of losing each other's changes.
/// It locks the file's directory: the file itself is replaced by each edit, so a lock on it
/// would not be seen by the next writer. Released when dropped.
pub(crate) struct EditLock {
    _dir: Option<std::fs::File>,
}

impl EditLock {
    pub(crate) fn acquire(path: &Path) -> io::Result<Self> {
        let target = follow_links(path)?;
        let dir = parent_dir(&target);
        if !dir.is_dir() {
            return Ok(Self { _dir: None });
        }
        #[cfg(unix)]
        {
            let handle = std::fs::File::open(dir)?;
            handle.lock()?;
            Ok(Self { _dir: Some(handle) })
        }
        // Directories cannot be opened as files elsewhere; edits there are not serialised.
        #[cfg(not(unix))]
        Ok(Self { _dir: None })
    }
}

/// The file `path` names once symlinks are followed (also a dangling one: its target is
/// where the file will be created).
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = std::fs::read_link(&current)?;
                current = if link.is_absolute() {
                    link
                } else {
                    parent_dir(&current).join(link)
                };
            }
            _ => return Ok(current),
        }
    }
    Err(io::Error::other(format!(
        "`{}` is a loop of symlinks",
        path.display()
    )))
}

#[cfg(unix)]
fn read_only(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    // By its mode bits, whoever runs this (root could write it anyway).
    meta.is_file() && meta.permissions().mode() & 0o222 == 0
}

#[cfg(not(unix))]
fn read_only(meta: &std::fs::Metadata) -> bool {
    meta.permissions().readonly()
}

/// The replacement gets the replaced file's mode, and its owner and group where the process
/// may give them (root may; anyone may give a group they are in). Failing to give an owner is
/// not an error: the file then belongs to whoever wrote it, as with any editor.
#[cfg(unix)]
fn keep_owner_and_mode(file: &std::fs::File, meta: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let _ = std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid()));
    let _ = std::os::unix::fs::fchown(file, None, Some(meta.gid()));
    file.set_permissions(meta.permissions())
}

#[cfg(not(unix))]
fn keep_owner_and_mode(file: &std::fs::File, meta: &std::fs::Metadata) -> io::Result<()> {
    file.set_permissions(meta.permissions())
}

/// Removes this tool's temporary files in `dir` that a killed run left, once they are old
/// enough not to belong to a run still going.
fn remove_stale(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE);
        // Another user's leftover cannot be removed; that is not ours to report.
        if old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_symlink_is_followed_and_stays_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let real = dir.path().join("real.toml");
        std::fs::write(&real, "old").expect("write");
        let link = dir.path().join("link.toml");
        std::os::unix::fs::symlink("real.toml", &link).expect("symlink");
        let mut file = AtomicFile::new(&link).expect("opens");
        file.write_all(b"new").expect("writes");
        file.commit().expect("commits");
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).expect("real"), "new");
    }

    #[test]
    fn the_mode_is_kept_and_read_only_files_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("out.bin");
        std::fs::write(&path, "old").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(0o640)).expect("chmod");
        let mut file = AtomicFile::new(&path).expect("opens");
        file.write_all(b"new").expect("writes");
        file.commit().expect("commits");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
        std::fs::set_permissions(&path, Permissions::from_mode(0o444)).expect("chmod");
        let refused = AtomicFile::new(&path).err().expect("refused");
        assert_eq!(refused.kind(), io::ErrorKind::PermissionDenied);
        assert!(
            refused
                .to_string()
                .ends_with("is read-only; make it writable to let it be replaced")
        );
        assert_eq!(std::fs::read_to_string(&path).expect("kept"), "new");
    }

    #[test]
    fn temporaries_are_recognisable_and_removed_on_drop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x");
        let file = AtomicFile::new(&path).expect("opens");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            names
                .iter()
                .all(|n| n.starts_with(".telnyx-edge-") && n.ends_with(".tmp"))
        );
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}
