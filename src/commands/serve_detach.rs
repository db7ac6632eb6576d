//! `serve --detach`, `serve --status` and `serve --stop`: the emulator as a background server,
//! found again through a record in its state directory.
//!
//! Endpoints: none called; the readiness check waits for the record the server writes once it
//! listens.
//!
//! Every `serve` with a state directory writes `serve.json` there (pid, port, base URL) once it
//! listens and removes it when it stops, so a second server on the same state is refused
//! (exit 5) whether the first runs in the foreground or in the background. The server also
//! holds a lock on `serve.running` for as long as it runs, which the kernel lets go of however
//! the process ends: a record whose lock is free (the server was killed with SIGKILL, the
//! machine restarted) is stale, and is removed and said so, even when its pid now belongs to
//! another process, which is never signalled.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::error::{Exit, UserError};
use crate::local::atomic::AtomicFile;
use crate::ui::OutputFormat;
use crate::ui::printer::Printer;

/// The record of the server that runs on a state directory.
pub(crate) const RECORD: &str = "serve.json";
/// Where a detached server's stderr (its request log) goes.
pub(crate) const LOG: &str = "serve.log";
/// Where a detached server's stdout (the exports, or the `--json` line) goes.
pub(crate) const OUT: &str = "serve.out";
/// Locked while a `--detach` starts its server.
const STARTING: &str = "serve.lock";
/// Locked by a server for as long as it runs (see the module notes).
const RUNNING: &str = "serve.running";
/// How long `--detach` waits for the server to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `--stop` waits for the server to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(20);
/// Lines of the log shown when a detached server does not start.
const LOG_TAIL: usize = 20;

/// What `serve.json` holds, and what `serve --status --json` prints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Record {
    pub pid: u32,
    pub port: u16,
    pub base_url: String,
    pub state_dir: String,
}

/// The record written while a server listens; removed when dropped, if it is still ours, and
/// the lock that says the server runs, let go of after that.
pub(crate) struct Written {
    path: PathBuf,
    _running: File,
}

impl Drop for Written {
    fn drop(&mut self) {
        if read_record(&self.path).is_some_and(|record| record.pid == std::process::id()) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A state directory claimed by this process for its server: no other server can start on it
/// while the claim (and then the record written from it) lives.
pub(crate) struct Claim {
    dir: PathBuf,
    running: File,
}

/// Claims `dir` for this process's server, unless another server runs on it or is starting
/// (exit 5): before anything is printed, so that a server that loses a race to start prints
/// no address it will not serve. The check and the claim take turns under a lock on the state
/// directory.
pub(crate) fn claim(dir: &Path, printer: &Printer) -> anyhow::Result<Claim> {
    let path = dir.join(RECORD);
    let _lock = crate::local::atomic::EditLock::acquire(&path)
        .with_context(|| format!("cannot lock `{}`", dir.display()))?;
    refuse_running(dir, printer)?;
    let running = hold_running(dir)?;
    Ok(Claim {
        dir: dir.to_path_buf(),
        running,
    })
}

impl Claim {
    /// Writes the record of this process, listening on `port` at `base_url`: last, once what
    /// it prints is printed, so that whoever waits for the record finds it.
    pub(crate) fn write(self, port: u16, base_url: &str) -> anyhow::Result<Written> {
        let path = self.dir.join(RECORD);
        let record = Record {
            pid: std::process::id(),
            port,
            base_url: base_url.to_owned(),
            state_dir: absolute(&self.dir),
        };
        let mut file =
            AtomicFile::new(&path).with_context(|| format!("cannot write `{}`", path.display()))?;
        let mut json = serde_json::to_vec(&record)?;
        json.push(b'\n');
        file.write_all(&json)?;
        file.commit()
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        Ok(Written {
            path,
            _running: self.running,
        })
    }
}

/// Takes the lock that says a server runs on `dir`, for as long as the file is open.
fn hold_running(dir: &Path) -> anyhow::Result<File> {
    // Held, yet no record said so: a server between taking it and writing its record.
    lock_or_conflict(&dir.join(RUNNING), || {
        UserError::new(
            Exit::Conflict,
            format!("a KV emulator is starting on `{}`", absolute(dir)),
        )
        .hint("Use it once it listens (`serve --status` prints its address).")
    })
}

/// Whether the server of `record` still runs on `dir`: its lock is held. Where the lock
/// cannot be looked at (a state directory that cannot be read), whether its pid exists.
fn serving(dir: &Path, record: &Record) -> bool {
    let path = dir.join(RUNNING);
    match std::fs::File::open(&path) {
        Ok(file) => match file.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => alive(record.pid),
        },
        // A server takes the lock before it writes its record.
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => alive(record.pid),
    }
}

fn absolute(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .display()
        .to_string()
}

fn read_record(path: &Path) -> Option<Record> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // Someone else's process: it exists.
        Err(err) => err == rustix::io::Errno::PERM,
    }
}

/// The server that runs on `dir`, if any. A record whose process is gone (or that cannot be
/// read) is removed, with a note on stderr.
pub(crate) fn running(dir: &Path, printer: &Printer) -> Option<Record> {
    let path = dir.join(RECORD);
    if !path.exists() {
        return None;
    }
    match read_record(&path) {
        Some(record) if serving(dir, &record) => Some(record),
        stale => {
            let _ = std::fs::remove_file(&path);
            let whose = stale.map_or_else(String::new, |record| format!(" (pid {})", record.pid));
            printer.status(&format!(
                "Removed the stale record `{}`{whose}: that server is gone",
                path.display()
            ));
            None
        }
    }
}

/// Refuses to start a second server on `dir` (exit 5).
pub(crate) fn refuse_running(dir: &Path, printer: &Printer) -> anyhow::Result<()> {
    match running(dir, printer) {
        Some(record) => Err(UserError::new(
            Exit::Conflict,
            format!(
                "a KV emulator already runs on `{}`: pid {}, port {}",
                record.state_dir, record.pid, record.port
            ),
        )
        .hint("Use it (`serve --status` prints its address), or stop it with `serve --stop`.")
        .into()),
        None => Ok(()),
    }
}

fn none_running(dir: &Path) -> UserError {
    UserError::new(
        Exit::NotFound,
        format!("no KV emulator runs on `{}`", absolute(dir)),
    )
    .hint("Start one with `serve --detach`.")
}

/// `serve --status`: the running server's pid, port, base URL and state directory; exit 3 when
/// none runs.
pub(crate) fn status(dir: &Path, printer: Printer) -> anyhow::Result<()> {
    let record = running(dir, &printer).ok_or_else(|| none_running(dir))?;
    match printer.format() {
        OutputFormat::Json | OutputFormat::Ndjson => printer.json_line(&record)?,
        OutputFormat::Ids => printer.out(&format!("{}\n", record.pid))?,
        OutputFormat::Table => printer.out(&format!(
            "PID        {}\nPORT       {}\nBASE URL   {}\nSTATE DIR  {}\n",
            record.pid, record.port, record.base_url, record.state_dir
        ))?,
    }
    Ok(())
}

/// What `serve --stop --json` prints.
#[derive(Debug, Serialize)]
struct StopResult {
    stopped: bool,
    pid: Option<u32>,
}

/// `serve --stop`: SIGTERM to the running server, then waits until it has exited. Nothing
/// running is not an error (exit 0, `stopped: false`), so a teardown can always call it.
pub(crate) fn stop(dir: &Path, printer: Printer) -> anyhow::Result<()> {
    let Some(record) = running(dir, &printer) else {
        printer.status(&format!("No KV emulator runs on `{}`", absolute(dir)));
        return stop_result(&printer, false, None);
    };
    let pid = i32::try_from(record.pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
        .context("the record holds no valid pid")?;
    rustix::process::kill_process(pid, rustix::process::Signal::TERM)
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot stop pid {}", record.pid))?;
    let path = dir.join(RECORD);
    let deadline = Instant::now() + STOP_TIMEOUT;
    // The server removes its record as it exits, and lets go of its lock as it ends.
    while read_record(&path).is_some_and(|r| r.pid == record.pid) && serving(dir, &record) {
        if Instant::now() > deadline {
            return Err(UserError::new(
                Exit::Failure,
                format!("pid {} did not stop within 30s of SIGTERM", record.pid),
            )
            .into());
        }
        std::thread::sleep(POLL);
    }
    if read_record(&path).is_some_and(|r| r.pid == record.pid) {
        let _ = std::fs::remove_file(&path);
    }
    printer.status(&format!(
        "Stopped the KV emulator (pid {}, port {})",
        record.pid, record.port
    ));
    stop_result(&printer, true, Some(record.pid))
}

fn stop_result(printer: &Printer, stopped: bool, pid: Option<u32>) -> anyhow::Result<()> {
    if matches!(printer.format(), OutputFormat::Json | OutputFormat::Ndjson) {
        printer.json_line(&StopResult { stopped, pid })?;
    }
    Ok(())
}

/// `serve --detach`: runs this same command line without `--detach` in a session of its own
/// (so it outlives the terminal), its stdout in `serve.out` and its stderr in `serve.log`
/// under the state directory, and returns once it listens, printing what it printed.
pub(crate) fn detach(dir: &Path, printer: Printer) -> anyhow::Result<()> {
    crate::commands::backend::prepare_state_dir(dir)?;
    let _starting = starting_lock(dir)?;
    refuse_running(dir, &printer)?;
    let (out_path, log_path) = (dir.join(OUT), dir.join(LOG));
    let create = |path: &Path| {
        File::create(path).with_context(|| format!("cannot create `{}`", path.display()))
    };
    let args: Vec<OsString> = std::env::args_os()
        .skip(1)
        .filter(|arg| arg != "--detach")
        .collect();
    let exe = std::env::current_exe().context("cannot find this program to start it again")?;
    let mut command = Command::new(exe);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(create(&out_path)?)
        .stderr(create(&log_path)?);
    // With no terminal, closing the one it was started from does not stop the server.
    crate::signals::in_own_session(&mut command);
    let mut child = command.spawn().context("cannot start the server")?;
    let record = wait_ready(dir, &mut child, &log_path)?;
    let printed = std::fs::read(&out_path)
        .with_context(|| format!("cannot read `{}`", out_path.display()))?;
    printer.out_bytes(&printed)?;
    printer.status(&format!(
        "The KV emulator runs in the background: pid {}, {} (log in `{}`); stop it with `serve --stop`",
        record.pid,
        record.base_url,
        log_path.display()
    ));
    Ok(())
}

/// Held while a `--detach` starts its server, so that two at once do not share `serve.out` and
/// `serve.log`: the second is refused (exit 5).
fn starting_lock(dir: &Path) -> anyhow::Result<File> {
    lock_or_conflict(&dir.join(STARTING), || {
        UserError::new(
            Exit::Conflict,
            format!(
                "another `serve --detach` is starting a KV emulator on `{}`",
                absolute(dir)
            ),
        )
        .hint("Wait for it, then use `serve --status`.")
    })
}

/// Opens `path` (creating it) and locks it for as long as the file is open; `busy` is the
/// error when another process holds it.
fn lock_or_conflict(path: &Path, busy: impl FnOnce() -> UserError) -> anyhow::Result<File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open `{}`", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(busy().into()),
        Err(std::fs::TryLockError::Error(err)) => {
            Err(anyhow::Error::new(err).context(format!("cannot lock `{}`", path.display())))
        }
    }
}

/// Waits until the child has written its record, and fails with the log's tail when it exits
/// first or takes longer than [`READY_TIMEOUT`].
fn wait_ready(dir: &Path, child: &mut std::process::Child, log: &Path) -> anyhow::Result<Record> {
    let path = dir.join(RECORD);
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(record) = read_record(&path).filter(|r| r.pid == child.id()) {
            return Ok(record);
        }
        let (exit, problem) = match child.try_wait()? {
            // Another server started at the same time won the state directory.
            Some(status) if status.code() == Some(Exit::Conflict as i32) => (
                Exit::Conflict,
                format!("the server exited before it listened ({status})"),
            ),
            Some(status) => (
                Exit::Failure,
                format!("the server exited before it listened ({status})"),
            ),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                (
                    Exit::Failure,
                    "the server did not listen within 30s".to_owned(),
                )
            }
            None => {
                std::thread::sleep(POLL);
                continue;
            }
        };
        return Err(UserError::new(exit, problem)
            .hint(format!(
                "Its log (`{}`) ends:\n{}",
                log.display(),
                tail(log)
            ))
            .into());
    }
}

fn tail(log: &Path) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(LOG_TAIL)..].join("\n")
}
