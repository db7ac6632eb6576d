//! Running the real `telnyx-edge` binary with a scrubbed environment.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;
use telnyx_edge::emulator::Config;

use crate::support::api::{Api, TOKEN};

pub const BIN: &str = env!("CARGO_BIN_EXE_telnyx-edge");

/// The binary with nothing from the developer's environment (no proxy variables, no key, no
/// config): `home` as HOME and working directory, the config file under it, no colour. The one
/// command builder every test starts from; [`bare`] wraps it for assert_cmd.
pub fn scrubbed(home: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(BIN);
    command
        .env_clear()
        .current_dir(home)
        .env("HOME", home)
        .env("TELNYX_CONFIG_PATH", home.join(".telnyx-edge/config.toml"))
        .env("NO_COLOR", "1");
    command
}

/// [`scrubbed`], as an assert_cmd command.
pub fn bare(home: &Path) -> Command {
    Command::from_std(scrubbed(home))
}

/// The binary pointed at a fault server, with a key.
pub fn against(server: &crate::support::fault::FaultServer, home: &Path) -> Command {
    let mut command = bare(home);
    command
        .env("TELNYX_BASE_URL", &server.base_url)
        .env("TELNYX_API_KEY", TOKEN);
    command
}

/// A user with an emulator to talk to.
pub struct Kv {
    pub api: Api,
    pub home: tempfile::TempDir,
}

impl Kv {
    pub fn start() -> Self {
        Self::with(Config::in_memory())
    }

    pub fn with(config: Config) -> Self {
        Self::from_api(Api::with(config))
    }

    /// A user of the emulator behind `api`.
    pub fn from_api(api: Api) -> Self {
        Self {
            api,
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.home.path().to_path_buf()
    }

    /// [`Kv::cmd`] as a plain `std::process::Command`, for tests that drive the child.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut command = scrubbed(self.home.path());
        command
            .env("TELNYX_BASE_URL", self.api.base_url())
            .env("TELNYX_API_KEY", TOKEN);
        command
    }

    /// The binary pointed at the emulator with a key in the environment.
    pub fn cmd(&self) -> Command {
        let mut command = bare(self.home.path());
        command
            .env("TELNYX_BASE_URL", self.api.base_url())
            .env("TELNYX_API_KEY", TOKEN);
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("runs")
    }

    /// Runs in `dir` instead of the home directory.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Output {
        self.cmd()
            .current_dir(dir)
            .args(args)
            .output()
            .expect("runs")
    }

    /// Runs and checks the exit code; returns stdout.
    pub fn ok(&self, args: &[&str]) -> Vec<u8> {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    /// Runs with `--json` and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend(args);
        serde_json::from_slice(&self.ok(&all)).expect("stdout is JSON")
    }

    /// Creates a ready namespace through the CLI and returns its id.
    pub fn namespace(&self, name: &str) -> String {
        let ns = self.json(&["storage", "kv", "create", "--name", name]);
        ns["id"].as_str().expect("id").to_owned()
    }
}

/// Exit code, stdout and stderr of a run.
pub fn outcome(output: &Output) -> (Option<i32>, String, String) {
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Sends SIGINT to a running command (spawned with stderr piped), as Ctrl-C would; returns its
/// exit code and stderr.
#[cfg(unix)]
pub fn interrupt(mut child: std::process::Child) -> (Option<i32>, String) {
    send_signal(&child, "INT");
    let stderr = stderr_of(&mut child);
    (child.wait().expect("exits").code(), stderr)
}

/// Sends the signal `name` (`INT`, `TERM`) to a running command.
#[cfg(unix)]
pub fn send_signal(child: &std::process::Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// All a command (spawned with stderr piped) writes on stderr, once it closes it.
pub fn stderr_of(child: &mut std::process::Child) -> String {
    use std::io::Read as _;
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("reads");
    stderr
}

/// Reads `from` (a child's stderr) until what it has read ends with `wanted`, or until it closes;
/// returns what it read. How a test waits for a command to reach a step, instead of sleeping.
pub fn read_until(from: &mut impl std::io::Read, wanted: &str) -> String {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !seen.ends_with(wanted.as_bytes()) && from.read(&mut byte).expect("reads") == 1 {
        seen.push(byte[0]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}
