#!/usr/bin/env node
// Runs the telnyx-edge binary of this platform's package, which npm installed as one of the
// optional dependencies (the layout of esbuild and biome: nothing is downloaded after install).
// TELNYX_EDGE_BINARY names another binary instead, for a platform without a package.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const tty = require("node:tty");

const SCOPE = "@telnyx-edge-cli";

// process.platform-process.arch -> the package that carries the binary. Kept equal to
// scripts/release.sh --list-targets by the test suite.
const PACKAGES = {
  "darwin-arm64": `${SCOPE}/telnyx-edge-darwin-arm64`,
  "darwin-x64": `${SCOPE}/telnyx-edge-darwin-x64`,
  "linux-arm64": `${SCOPE}/telnyx-edge-linux-arm64`,
  "linux-x64": `${SCOPE}/telnyx-edge-linux-x64`,
  "win32-x64": `${SCOPE}/telnyx-edge-win32-x64`,
};

// How many of these scripts, each started through TELNYX_EDGE_BINARY, run one inside the
// other. A TELNYX_EDGE_BINARY that leads back here (through a link or a script of the user's)
// would otherwise start itself over and over; the binary's own children (an editor that runs
// telnyx-edge) add one level each, far from the limit.
const DEPTH = "TELNYX_EDGE_NPM_WRAPPER_DEPTH";
const MAX_DEPTH = 8;
const depth = Number.parseInt(process.env[DEPTH] || "0", 10) || 0;

// The wrapper's own failures use the shell's codes for a command that cannot be found (127)
// or run (126), so that they never read as one of telnyx-edge's exit codes.
function fail(code, message, hint) {
  process.stderr.write(`Error: ${message}\n${hint ? `  hint: ${hint}\n` : ""}`);
  process.exit(code);
}

function sameFile(a, b) {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

// Where spawn will find a command: a name without a slash is looked up on PATH.
function located(command) {
  if (command.includes("/") || command.includes(path.sep)) return command;
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && fs.existsSync(candidate)) return candidate;
  }
  return command;
}

function chosenBinary(binary) {
  if (depth >= MAX_DEPTH || sameFile(located(binary), __filename)) {
    fail(127, `TELNYX_EDGE_BINARY (${binary}) leads back to this npm script`, "set it to the telnyx-edge binary itself");
  }
  return binary;
}

function binaryPath() {
  if (process.env.TELNYX_EDGE_BINARY) {
    return chosenBinary(process.env.TELNYX_EDGE_BINARY);
  }
  const platform = `${process.platform}-${process.arch}`;
  const pkg = PACKAGES[platform];
  if (!pkg) {
    fail(
      127,
      `telnyx-edge has no npm build for ${platform} (there are: ${Object.keys(PACKAGES).join(", ")})`,
      "install it with `cargo install --locked telnyx-edge`, or set TELNYX_EDGE_BINARY to a telnyx-edge binary",
    );
  }
  const exe = process.platform === "win32" ? "telnyx-edge.exe" : "telnyx-edge";
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", exe);
  } catch {
    fail(
      127,
      `the package ${pkg}, which holds the binary for ${platform}, is not installed`,
      "it is an optional dependency: reinstall without `--omit=optional` / `--no-optional`",
    );
  }
}

const binary = binaryPath();
const env = process.env.TELNYX_EDGE_BINARY ? { ...process.env, [DEPTH]: String(depth + 1) } : process.env;
const child = spawn(binary, process.argv.slice(2), { stdio: "inherit", windowsHide: true, env });

// Ctrl-C on a terminal reaches the binary directly, as it reaches this process: passing it on
// as well would be a second Ctrl-C, which ends a run at once instead of cleanly. So when this
// process is in the terminal's foreground group, only a second SIGINT is passed on; otherwise
// (a test harness, a process manager, a background job) every SIGINT is. Other signals that
// would end this process are passed on, and SIGUSR1 no longer starts Node's debugger.
// (tty.isatty, not process.stdin.isTTY: making those streams would set the descriptors the
// binary shares to non-blocking, and its reads and writes on a slow pipe would fail.)
function inForeground() {
  try {
    // /proc/self/stat: field 5 is the process group, 8 the terminal's foreground group.
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
    return fields[2] === fields[5];
  } catch {
    return tty.isatty(0) || tty.isatty(1) || tty.isatty(2);
  }
}
let interrupts = 0;
process.on("SIGINT", () => {
  interrupts += 1;
  if (interrupts > 1 || !inForeground()) child.kill("SIGINT");
});
const passedOn = process.platform === "win32"
  ? ["SIGTERM", "SIGHUP"]
  : ["SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"];
for (const signal of passedOn) {
  process.on(signal, () => child.kill(signal));
}

child.on("error", (error) => {
  const code = error.code === "ENOENT" ? 127 : 126;
  fail(code, `cannot run ${binary}: ${error.message}`);
});
child.on("exit", (code, signal) => {
  if (!signal) {
    process.exit(code ?? 1);
  }
  // End the same way, so a parent sees the signal, not a code. Node ignores SIGPIPE and takes
  // SIGUSR1 to start its debugger, so for those (and should the signal not end this process)
  // the shell's 128 + N is the exit code.
  const number = os.constants.signals[signal] ?? 0;
  if (signal !== "SIGPIPE" && signal !== "SIGUSR1") {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  setImmediate(() => process.exit(128 + number));
});
