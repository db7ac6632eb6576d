//! Files written in full or not at all: a temporary file beside the target, renamed over it at
//! the end. `--output-file`, `export --output-file`, `func.toml` and the config file all use it.

use std::fs::Permissions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The directory a path is in; `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// A file being written. Nothing appears at `path` until [`AtomicFile::commit`]; dropping it
/// removes the temporary file. The temporary file is created with mode 0600 on Unix.
pub(crate) struct AtomicFile {
    temp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub(crate) fn new(path: &Path) -> io::Result<Self> {
        Ok(Self {
            temp: tempfile::NamedTempFile::new_in(parent_dir(path))?,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn set_permissions(&self, permissions: Permissions) -> io::Result<()> {
        self.temp.as_file().set_permissions(permissions)
    }

    /// Flushes the contents to disk and renames the file into place.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        self.temp.flush()?;
        self.temp.as_file().sync_all()?;
        self.temp.persist(&self.path).map_err(|err| err.error)?;
        Ok(())
    }
}

impl AtomicFile {
    /// Like [`AtomicFile::commit`], but into `other` instead of the path it was made for (in
    /// the same directory, so the rename stays atomic).
    pub(crate) fn commit_to(mut self, other: &Path) -> io::Result<()> {
        self.path = other.to_path_buf();
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
