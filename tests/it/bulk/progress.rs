//! Bulk progress as a person sees it, on a pseudo-terminal: a bar with the total, percent and
//! ETA when the run knows how many items to expect, a spinner with the rate while it cannot (a
//! pipe not yet ended), and no internal terms. Frames are drawn as time passes, so each one is checked after
//! its numbers are replaced by `N`, its bar by `[bar]` and its spinner by `S`.

use std::time::Duration;

use serde_json::json;
use telnyx_edge::emulator::{Config, Latency};

use crate::support::api::TOKEN;
use crate::support::cli::{BIN, Kv};

/// Runs `sh -c script` (where `$BIN` is the binary) in a pseudo-terminal, so that stderr is a
/// terminal and stdin is not read from it; returns the exit code and all the terminal showed.
#[cfg(unix)]
fn on_a_terminal(kv: &Kv, script: &str) -> (Option<i32>, String) {
    let runner = r#"
import os, pty, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv("/bin/sh", ["sh", "-c", sys.argv[1]])
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let output = std::process::Command::new("python3")
        .arg("-c")
        .arg(runner)
        .arg(script)
        .current_dir(kv.path())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("BIN", BIN)
        .env("HOME", kv.path())
        .env("TELNYX_CONFIG_PATH", kv.path().join("config.toml"))
        .env("TELNYX_BASE_URL", kv.api.base_url())
        .env("TELNYX_API_KEY", TOKEN)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .output()
        .expect("python3 runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The progress frames of a terminal's text (split at carriage returns and escape sequences),
/// normalised, each once, in the order first drawn.
fn frames(screen: &str) -> Vec<String> {
    let mut frames: Vec<String> = Vec::new();
    for frame in split_frames(screen) {
        let frame = normalised(frame.trim_end());
        let progress = frame.starts_with("[bar]") || frame.starts_with("S ");
        if progress && !frames.contains(&frame) {
            frames.push(frame);
        }
    }
    frames
}

/// The pieces of `screen` between carriage returns, line breaks and escape sequences.
fn split_frames(screen: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    let bytes = screen.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' | b'\n' => {
                pieces.push(&screen[start..i]);
                i += 1;
                start = i;
            }
            0x1b => {
                pieces.push(&screen[start..i]);
                // `ESC [ parameters letter`
                i += 1;
                if bytes.get(i) == Some(&b'[') {
                    i += 1;
                    while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                }
                i += 1;
                start = i.min(bytes.len());
            }
            _ => i += 1,
        }
    }
    pieces.push(&screen[start.min(screen.len())..]);
    pieces
}

/// Numbers (`10,089`) as `N`, the bar's inside as `[bar]`, a spinner frame as `S`, and a
/// duration's units after a number kept (`ETA Nm Ns`).
fn normalised(frame: &str) -> String {
    let mut out = String::new();
    let mut chars = frame.chars().peekable();
    if frame.starts_with('[')
        && let Some(end) = frame.find(']')
    {
        out.push_str("[bar]");
        chars = frame[end + 1..].chars().peekable();
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|c| c.is_ascii_digit() || *c == ',')
            {
                chars.next();
            }
            out.push('N');
        } else if ('\u{2800}'..='\u{28ff}').contains(&c) {
            out.push('S');
        } else {
            out.push(c);
        }
    }
    out
}

fn slow_emulator() -> Kv {
    // Slow enough that a run of a few hundred keys, one at a time, lasts many ticks of the bar.
    Kv::with(Config {
        latency: Some(Latency {
            base: Duration::from_millis(3),
            jitter: Duration::ZERO,
        }),
        ..Config::in_memory()
    })
}

fn write_input(kv: &Kv, keys: usize) {
    let input: String = (0..keys)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:03}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
}

/// The shapes a frame may take with a total: before anything is dealt with (no ETA yet), then
/// with an ETA, the total estimated (`~N`) until the file is read to its end.
fn with_a_total(verb: &str, frame: &str) -> bool {
    let shapes = [
        format!("[bar] N/N {verb} (N%, N/s)"),
        format!("[bar] N/~N {verb} (N%, N/s)"),
    ];
    let eta = |end: &str| {
        ["Ns", "Nm", "Nm Ns"].iter().any(|time| {
            shapes
                .iter()
                .any(|s| format!("{}, ETA {time})", &s[..s.len() - 1]) == end)
        })
    };
    shapes.iter().any(|s| s == frame) || eta(frame)
}

/// A spinner's frame: `S N written (N/s, Ns)`.
fn spinning(verb: &str, frame: &str) -> bool {
    ["Ns", "Nm Ns", "Nm"]
        .iter()
        .any(|time| frame == format!("S N {verb} (N/s, {time})"))
}

#[cfg(unix)]
#[test]
fn a_file_input_draws_a_bar_with_its_total_percent_and_eta() {
    let kv = slow_emulator();
    let id = kv.namespace("progress-file");
    write_input(&kv, 300);
    let script = format!("\"$BIN\" storage kv bulk put {id} in.ndjson --concurrency 1");
    let (code, screen) = on_a_terminal(&kv, &script);
    assert_eq!(code, Some(0), "{screen}");
    let frames = frames(&screen);
    // Before the first line is read, the total is not known yet: a spinner.
    let bars: Vec<&String> = frames.iter().filter(|f| f.starts_with("[bar]")).collect();
    assert!(!bars.is_empty(), "a bar was drawn: {screen}");
    for frame in &frames {
        assert!(
            with_a_total("written", frame) || spinning("written", frame),
            "{frame:?}\n{screen}"
        );
    }
    // Once the file is read to its end, the total is exact.
    assert!(screen.contains("/300 written ("), "{screen}");
    assert!(!screen.contains("window"), "{screen}");
    assert!(
        screen.contains("Wrote 300 keys in "),
        "the summary ends the run: {screen}"
    );
}

#[cfg(unix)]
#[test]
fn a_pipe_draws_a_spinner_until_it_ends_and_never_an_estimate() {
    let kv = slow_emulator();
    let id = kv.namespace("progress-pipe");
    write_input(&kv, 300);
    // The pipe stays open until the last key is written, so the run never learns its total
    // before the end.
    let script = format!(
        "{{ cat in.ndjson; until \"$BIN\" storage kv get {id} k299 >/dev/null 2>&1; do :; done; }} \
         | \"$BIN\" storage kv bulk put {id} - --concurrency 1"
    );
    let (code, screen) = on_a_terminal(&kv, &script);
    assert_eq!(code, Some(0), "{screen}");
    let counted = split_frames(&screen).into_iter().any(|frame| {
        let mut words = frame.split_whitespace();
        let spinner = words
            .next()
            .is_some_and(|w| w.starts_with(['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']));
        spinner && words.next().is_some_and(|count| count != "0")
    });
    assert!(counted, "a spinner counted the keys written: {screen}");
    let frames = frames(&screen);
    for frame in &frames {
        // A pipe has no size to estimate from; once it has ended, what it held is the total.
        let exact = with_a_total("written", frame) && !frame.contains('~');
        assert!(exact || spinning("written", frame), "{frame:?}\n{screen}");
    }
}

#[cfg(unix)]
#[test]
fn deleting_and_exporting_listed_keys_draw_a_bar_with_the_listings_count() {
    let kv = slow_emulator();
    let id = kv.namespace("progress-keys");
    for i in 0..150 {
        kv.api
            .put(&format!("/storage/kvs/{id}/keys/k{i:03}"), "v")
            .error_for_status()
            .expect("stored");
    }
    let export =
        format!("\"$BIN\" storage kv export {id} --output-file out.ndjson --concurrency 1");
    let (code, screen) = on_a_terminal(&kv, &export);
    assert_eq!(code, Some(0), "{screen}");
    for frame in frames(&screen) {
        // A spinner until the count made beside the run is in, then a bar.
        assert!(
            with_a_total("read", &frame) || spinning("read", &frame),
            "{frame:?}\n{screen}"
        );
    }
    assert!(screen.contains("/150 read ("), "{screen}");
    let delete = format!("\"$BIN\" --yes storage kv bulk delete {id} --all --concurrency 1");
    let (code, screen) = on_a_terminal(&kv, &delete);
    assert_eq!(code, Some(0), "{screen}");
    let frames = frames(&screen);
    assert!(!frames.is_empty(), "{screen}");
    for frame in &frames {
        // Counted before the confirmation: a bar from the start.
        assert!(with_a_total("deleted", frame), "{frame:?}\n{screen}");
    }
    assert!(screen.contains("/150 deleted ("), "{screen}");
}

#[test]
fn frames_are_split_and_normalised() {
    let screen = "\u{1b}[2K\r⠋ 0 written (0/s, 0s)\r\u{1b}[2K[=>                  ] 27/~20,000 written (0%, 266/s, ETA 1m 16s)  \rWrote 3 keys\n";
    assert_eq!(
        frames(screen),
        [
            "S N written (N/s, Ns)",
            "[bar] N/~N written (N%, N/s, ETA Nm Ns)"
        ]
    );
    assert!(with_a_total(
        "written",
        "[bar] N/~N written (N%, N/s, ETA Nm Ns)"
    ));
    assert!(with_a_total("read", "[bar] N/N read (N%, N/s)"));
    assert!(!with_a_total("read", "[bar] N/N read (N%, N/s, window N)"));
    assert!(spinning("written", "S N written (N/s, Ns)"));
}
