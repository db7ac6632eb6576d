//! Notices a person needs once, not before every command: "Running locally (emulator state in
//! …)" is said the first time a terminal session uses a state directory, then not again in that
//! session. A session is the terminal's (its session id, shared by every command typed in one
//! shell), and what it has been told is kept in a small file under the user's cache directory
//! (`telnyx-edge/sessions/<id>`), one line per state directory. Files of sessions idle for a
//! week are removed as new ones are written.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a session's file is kept after it was last written.
const KEEP: Duration = Duration::from_secs(7 * 24 * 3600);

/// Whether `subject` (a state directory) is news to this terminal session, recording that it
/// has now been told. Anything that cannot be read or written (no cache directory, no session
/// id) counts as news: a notice shown twice is better than one never shown.
pub(crate) fn first_in_session(subject: &Path) -> bool {
    let Some(dir) = sessions_dir() else {
        return true;
    };
    let Some(session) = session_id() else {
        return true;
    };
    first_in(&dir, &session, subject)
}

fn sessions_dir() -> Option<PathBuf> {
    Some(dirs::cache_dir()?.join("telnyx-edge").join("sessions"))
}

#[cfg(unix)]
fn session_id() -> Option<String> {
    rustix::process::getsid(None)
        .ok()
        .map(|pid| pid.as_raw_nonzero().to_string())
}

#[cfg(not(unix))]
fn session_id() -> Option<String> {
    None
}

/// [`first_in_session`] for the session named `session`, its files under `dir`.
fn first_in(dir: &Path, session: &str, subject: &Path) -> bool {
    let file = dir.join(session);
    let line = subject.to_string_lossy();
    if let Ok(told) = std::fs::read_to_string(&file)
        && told.lines().any(|known| known == line)
    {
        return false;
    }
    if std::fs::create_dir_all(dir).is_ok() {
        forget_idle(dir, &file);
        if let Ok(mut out) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
        {
            let _ = writeln!(out, "{line}");
        }
    }
    true
}

/// Removes the files of sessions not written for [`KEEP`] (session ids are reused over time).
fn forget_idle(dir: &Path, keep: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path = entry.path();
        let idle = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .ok()
            .and_then(|modified| now.duration_since(modified).ok())
            .is_some_and(|idle| idle > KEEP);
        if idle && path != keep {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_told_about_each_state_directory_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sessions = dir.path().join("sessions");
        let (a, b) = (Path::new("/p/a/state"), Path::new("/p/b/state"));
        assert!(first_in(&sessions, "100", a));
        assert!(!first_in(&sessions, "100", a));
        assert!(first_in(&sessions, "100", b));
        assert!(!first_in(&sessions, "100", b));
        // Another terminal is told again.
        assert!(first_in(&sessions, "200", a));
        assert_eq!(
            std::fs::read_to_string(sessions.join("100")).expect("read"),
            "/p/a/state\n/p/b/state\n"
        );
    }

    #[test]
    fn a_session_file_that_cannot_be_written_means_telling_every_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A file where the directory should be.
        let blocked = dir.path().join("sessions");
        std::fs::write(&blocked, "").expect("write");
        assert!(first_in(&blocked, "100", Path::new("/p/state")));
        assert!(first_in(&blocked, "100", Path::new("/p/state")));
    }
}
