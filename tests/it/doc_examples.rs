//! The examples of README.md and docs/*.md, run.
//!
//! - Every ```console session (`$ command` and the output the page shows) is run in order, per
//!   page, in a fresh workspace against a fresh emulator, and what it prints (stdout and stderr
//!   together, as a terminal shows them) must be what the page shows, with ids, times and the
//!   workspace path filtered, and with the exit code the page gives (`# exits N`), else 0. A
//!   block after `<!-- doc-test: skip: REASON -->` is not run (a server left running, a proxy).
//! - Every other `telnyx-edge …` line of a code block is run against the local emulator and
//!   must be accepted: no usage error (exit 2) and no crash. (Those examples depend on each
//!   other's data, so other failures such as "not found" are allowed.)
//! - The README's install lines run verbatim in a fresh home.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One `telnyx-edge …` command line found in a fenced code block.
struct Example {
    file: String,
    line: usize,
    words: Vec<String>,
}

fn documents() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        // The generated reference shows usage patterns, not examples.
        .filter(|p| !p.ends_with("reference.md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn examples(path: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(path).expect("read");
    let file = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut found = Vec::new();
    let mut in_block = false;
    let mut pending = String::new();
    let mut start = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        if pending.is_empty() {
            start = index + 1;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let command = std::mem::take(&mut pending);
        // Comments, pipes, redirections and `&&` chains: keep each `telnyx-edge …` segment.
        let command = command.split(" #").next().unwrap_or("");
        for segment in unquoted_segments(command) {
            let segment = segment
                .split(" > ")
                .next()
                .unwrap_or("")
                .split(" >> ")
                .next()
                .unwrap_or("")
                .trim();
            if !segment.starts_with("telnyx-edge ") {
                continue;
            }
            let Some(words) = shlex::split(segment) else {
                panic!("{file}:{start}: cannot split `{segment}`");
            };
            found.push(Example {
                file: file.clone(),
                line: start,
                words: words.into_iter().skip(1).collect(),
            });
        }
    }
    found
}

/// The parts of a shell command line between `|` and `&&` that are not quoted (a jq
/// expression such as `--jq '.[] | .key'` keeps its pipe).
fn unquoted_segments(command: &str) -> Vec<String> {
    let (mut segments, mut current, mut quote) = (Vec::new(), String::new(), None);
    let mut chars = command.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '|') => {
                segments.push(std::mem::take(&mut current));
                continue;
            }
            (None, '&') if chars.peek() == Some(&'&') => {
                chars.next();
                segments.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    segments.push(current);
    segments
}

/// A project like the docs assume: a func.toml binding MY_CACHE, the files they upload, and
/// namespaces.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("func.toml"),
        "[edge_compute]\nfunc_name = \"my-function\"\n",
    )
    .expect("write");
    std::fs::write(dir.path().join("logo.png"), [0x89, b'P', b'N', b'G']).expect("write");
    std::fs::create_dir_all(dir.path().join("config")).expect("mkdir");
    std::fs::write(dir.path().join("config/flags.json"), "{\"beta\": true}").expect("write");
    std::fs::write(
        dir.path().join("data.ndjson"),
        "{\"key\": \"user/1\", \"value\": \"hello\"}\n",
    )
    .expect("write");
    std::fs::create_dir_all(dir.path().join("public")).expect("mkdir");
    std::fs::write(dir.path().join("public/index.html"), "<h1>hi</h1>").expect("write");
    for args in [
        vec!["storage", "kv", "create", "--name", "my-cache", "--bind"],
        vec!["storage", "kv", "create", "--name", "sessions"],
        vec!["storage", "kv", "create", "--name", "other-cache"],
    ] {
        let status = command(dir.path()).args(&args).status().expect("runs");
        assert!(status.success(), "setting up with {args:?}");
    }
    dir
}

fn command(dir: &Path) -> Command {
    let mut command = crate::support::cli::scrubbed(dir);
    command
        .env("TELNYX_EDGE_LOCAL", "1")
        .env("TELNYX_EDGE_SKIP_CONFIRMATIONS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs an example; a server keeps running, so it passes once it is still up after a moment.
fn run(dir: &Path, example: &Example) -> Result<(), String> {
    let mut words = example.words.clone();
    // `serve` and `ui` run until stopped.
    let serves = words.iter().any(|w| w == "serve" || w == "ui");
    if serves && !words.iter().any(|w| w == "--port") {
        words.extend(["--port".into(), "0".into()]);
    }
    let needs_key =
        words.windows(2).any(|w| w[0] == "api-key" && w[1] == "set") && words.len() <= 3;
    // `pull` and `push` always use both the service and local state (an exported
    // `TELNYX_EDGE_LOCAL` does not change that); run without it, as the service's side needs
    // credentials, they stop at exit 4 after parsing.
    let both_sides = words.iter().any(|w| w == "pull" || w == "push");
    let mut child = command(dir);
    if both_sides {
        child.env_remove("TELNYX_EDGE_LOCAL");
    }
    let mut child = child
        .stdin(if needs_key {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .args(&words)
        .spawn()
        .map_err(|err| err.to_string())?;
    if needs_key {
        use std::io::Write as _;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"KEYexample0123456789\n");
        }
    }
    let deadline = Instant::now() + Duration::from_secs(if serves { 2 } else { 60 });
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            let output = child.wait_with_output().map_err(|e| e.to_string())?;
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            return match status.code() {
                Some(2) | Some(101) | None => Err(format!("exit {:?}: {stderr}", status.code())),
                _ if stderr.contains("panicked") => Err(stderr),
                _ => Ok(()),
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return if serves {
                Ok(())
            } else {
                Err("did not finish".into())
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn every_documented_command_line_is_accepted() {
    let mut failures = Vec::new();
    let mut count = 0;
    for document in documents() {
        let examples = examples(&document);
        if examples.is_empty() {
            continue;
        }
        let dir = workspace();
        for example in &examples {
            count += 1;
            if let Err(why) = run(dir.path(), example) {
                failures.push(format!(
                    "{}:{}: telnyx-edge {}\n  {why}",
                    example.file,
                    example.line,
                    example.words.join(" ")
                ));
            }
        }
    }
    assert!(
        count >= 15,
        "only {count} examples found; is the extraction broken?"
    );
    assert!(
        failures.is_empty(),
        "documented examples that fail:\n{}",
        failures.join("\n")
    );
}

/// The README's install lines for completion and man pages, run verbatim by `sh` in a fresh
/// home: each must work with none of its folders there yet.
#[test]
fn the_readme_install_lines_work_in_a_fresh_home() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let section = readme
        .split("## Completions and man pages")
        .nth(1)
        .expect("the README has a completions section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block");
    let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines,
        [
            "telnyx-edge completions bash --install",
            "telnyx-edge completions zsh --install",
            "telnyx-edge completions fish --install",
            "telnyx-edge man --dir ~/.local/share/man/man1",
        ],
        "one line per shell, and one for the man pages"
    );
    let home = tempfile::tempdir().expect("tempdir");
    let bin_dir = Path::new(crate::support::cli::BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    for line in &lines {
        let output = Command::new("sh")
            .arg("-c")
            .arg(line)
            .env_clear()
            .env("HOME", home.path())
            .env("PATH", format!("{bin_dir}:/usr/bin:/bin"))
            .current_dir(home.path())
            .output()
            .expect("sh runs");
        assert_eq!(
            output.status.code(),
            Some(0),
            "`{line}`: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let committed =
        |name: &str| std::fs::read(root.join("completions").join(name)).expect("committed");
    let installed = |path: &str| {
        std::fs::read(home.path().join(path)).unwrap_or_else(|_| panic!("{path} was written"))
    };
    assert_eq!(
        installed(".local/share/bash-completion/completions/telnyx-edge"),
        committed("telnyx-edge.bash")
    );
    assert_eq!(installed(".zfunc/_telnyx-edge"), committed("_telnyx-edge"));
    assert_eq!(
        installed(".config/fish/completions/telnyx-edge.fish"),
        committed("telnyx-edge.fish")
    );
    let man = home.path().join(".local/share/man/man1");
    let mut pages: Vec<String> = std::fs::read_dir(&man)
        .expect("the man folder was created")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    let mut expected: Vec<String> = std::fs::read_dir(root.join("docs/man"))
        .expect("docs/man")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    expected.sort();
    assert_eq!(pages, expected, "every page, as committed");
    assert_eq!(
        std::fs::read(man.join("telnyx-edge-storage-kv-put.1")).expect("page"),
        std::fs::read(root.join("docs/man/telnyx-edge-storage-kv-put.1")).expect("committed")
    );
}

/// One `$ command` of a ```console block, with the output the page shows after it.
pub(crate) struct Session {
    pub file: String,
    pub line: usize,
    pub command: String,
    pub expected: Vec<String>,
    /// `# exits N` at the end of the command line: the code the page says it ends with.
    pub exit: i32,
}

/// The ```console blocks of a page, in order; a block right after
/// `<!-- doc-test: skip REASON -->` is left out (a server left running, the real service).
pub(crate) fn sessions(path: &Path) -> Vec<Session> {
    let text = std::fs::read_to_string(path).expect("read");
    let file = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut found: Vec<Session> = Vec::new();
    let mut in_block = false;
    let mut skip = false;
    let mut previous = "";
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        if !in_block {
            if raw.trim() == "```console" {
                in_block = true;
                skip = previous.trim_start().starts_with("<!-- doc-test: skip");
            }
            previous = raw;
            continue;
        }
        if raw.trim_start().starts_with("```") {
            in_block = false;
            previous = raw;
            continue;
        }
        if skip {
            continue;
        }
        if let Some((line, mut command)) = pending.take() {
            // A continued command line.
            command.push_str(raw.trim());
            match command.strip_suffix('\\') {
                Some(head) => pending = Some((line, format!("{head} "))),
                None => found.push(session(&file, line, &command)),
            }
            continue;
        }
        match raw.strip_prefix("$ ") {
            Some(command) => match command.strip_suffix('\\') {
                Some(head) => pending = Some((index + 1, format!("{head} "))),
                None => found.push(session(&file, index + 1, command)),
            },
            None => match found.last_mut() {
                Some(last) => last.expected.push(raw.to_owned()),
                None => panic!("{file}:{}: output before any command", index + 1),
            },
        }
    }
    found
}

fn session(file: &str, line: usize, command: &str) -> Session {
    let (command, exit) = match command.rsplit_once("# exits ") {
        Some((command, code)) => (command, code.trim().parse().expect("an exit code")),
        None => (command, 0),
    };
    Session {
        file: file.to_owned(),
        line,
        command: command
            .split(" # ")
            .next()
            .unwrap_or(command)
            .trim()
            .to_owned(),
        expected: Vec::new(),
        exit,
    }
}

/// Output as a page shows it: ids, times, timestamps and the workspace path replaced by what
/// a reader recognises.
pub(crate) fn normalized(text: &str, workspace: &Path) -> Vec<String> {
    let workspace = workspace.display().to_string();
    text.replace(&workspace, "/home/me/my-function")
        .lines()
        .map(|line| {
            let mut out = String::new();
            for word in line.split_inclusive(|c: char| " (),`\"".contains(c)) {
                let (core, tail) =
                    word.split_at(word.trim_end_matches(|c: char| " (),`\"".contains(c)).len());
                out.push_str(&replace_token(core));
                out.push_str(tail);
            }
            out.trim_end().to_owned()
        })
        .collect()
}

fn replace_token(token: &str) -> String {
    let is_uuid = token.len() == 36
        && token.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_uuid {
        return "[id]".into();
    }
    // A time may end a clause: "in 0.0s: 2 added".
    let (bare, colon) = match token.strip_suffix(':') {
        Some(bare) => (bare, ":"),
        None => (token, ""),
    };
    let is_time = ["ms", "s"].iter().any(|unit| {
        bare.strip_suffix(unit)
            .is_some_and(|n| !n.is_empty() && n.parse::<f64>().is_ok())
    });
    if is_time {
        return format!("[time]{colon}");
    }
    let is_timestamp = token.len() == 20 && token.ends_with('Z') && token.as_bytes()[10] == b'T';
    if is_timestamp {
        return "[timestamp]".into();
    }
    token.to_owned()
}

/// Whether `actual` is what the page shows: line for line, `…` in the page matching anything.
pub(crate) fn matches(expected: &str, actual: &str) -> bool {
    let parts: Vec<&str> = expected.split('…').collect();
    if parts.len() == 1 {
        return expected == actual;
    }
    let mut rest = actual;
    for (index, part) in parts.iter().enumerate() {
        if index == 0 {
            let Some(after) = rest.strip_prefix(part) else {
                return false;
            };
            rest = after;
        } else if index == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Every ```console session of README.md and docs/, run in order per page in a fresh
/// workspace against a fresh emulator (playing the service; `--local` commands use the
/// workspace's own state), comparing what each command prints (stdout and stderr, as a
/// terminal shows them) with what the page shows.
#[test]
fn every_console_session_prints_what_its_page_shows() {
    let bin_dir = Path::new(crate::support::cli::BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let mut failures = Vec::new();
    let mut count = 0;
    for document in documents() {
        let sessions = sessions(&document);
        if sessions.is_empty() {
            continue;
        }
        let api = crate::support::api::Api::with(telnyx_edge::emulator::Config::in_memory());
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("func.toml"),
            "[edge_compute]\nfunc_name = \"my-function\"\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("logo.png"), [0x89, b'P', b'N', b'G']).expect("write");
        for session in &sessions {
            count += 1;
            let output = Command::new("sh")
                .arg("-c")
                .arg(format!("{} 2>&1", session.command))
                .current_dir(dir.path())
                .env_clear()
                .env("HOME", dir.path())
                .env("PATH", format!("{bin_dir}:/usr/bin:/bin"))
                .env(
                    "TELNYX_CONFIG_PATH",
                    dir.path().join(".telnyx-edge/config.toml"),
                )
                .env("TELNYX_BASE_URL", api.base_url())
                .env("TELNYX_API_KEY", crate::support::api::TOKEN)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .output()
                .expect("sh runs");
            let actual = normalized(&String::from_utf8_lossy(&output.stdout), dir.path());
            let expected = normalized(&session.expected.join("\n"), Path::new("/nowhere"));
            let same = actual.len() == expected.len()
                && expected.iter().zip(&actual).all(|(e, a)| matches(e, a));
            if output.status.code() != Some(session.exit) || !same {
                failures.push(format!(
                    "{}:{}: $ {}\n  exit {:?} (the page says {})\n  the page shows:\n    {}\n  it printed:\n    {}",
                    session.file,
                    session.line,
                    session.command,
                    output.status.code(),
                    session.exit,
                    expected.join("\n    "),
                    actual.join("\n    ")
                ));
            }
        }
    }
    assert!(count >= 15, "only {count} console sessions found");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
