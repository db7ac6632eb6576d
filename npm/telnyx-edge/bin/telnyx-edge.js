#!/usr/bin/env node
// Runs the telnyx-edge binary of this platform's package, which npm installed as one of the
// optional dependencies (the layout of esbuild and biome: nothing is downloaded after install).
// TELNYX_EDGE_BINARY names another binary instead, for a platform without a package.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

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

// Set for the binary named by TELNYX_EDGE_BINARY: if that turns out to be this script again
// (directly, or through a link or a script of the user's), it stops instead of starting itself
// over and over.
const STARTED_BY_WRAPPER = "TELNYX_EDGE_NPM_WRAPPER";

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
  if (process.env[STARTED_BY_WRAPPER] || sameFile(located(binary), __filename)) {
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
const env = process.env.TELNYX_EDGE_BINARY ? { ...process.env, [STARTED_BY_WRAPPER]: "1" } : process.env;
const child = spawn(binary, process.argv.slice(2), { stdio: "inherit", windowsHide: true, env });

// Ctrl-C on a terminal reaches the binary directly, as it reaches this process: passing it on
// as well would be a second Ctrl-C, which ends a run at once instead of cleanly. So with a
// terminal, only a second SIGINT is passed on; without one (a test harness, a process manager)
// every SIGINT is. SIGTERM and SIGHUP sent to this process are passed on.
const terminal = process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY;
let interrupts = 0;
process.on("SIGINT", () => {
  interrupts += 1;
  if (!terminal || interrupts > 1) child.kill("SIGINT");
});
for (const signal of ["SIGTERM", "SIGHUP"]) {
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
