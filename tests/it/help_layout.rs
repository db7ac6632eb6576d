//! Help that shows a command's own options and examples first: the global options summed up in
//! one line that points to `telnyx-edge help global-options`, which prints them; examples on
//! the command groups too; help text true to the JSON it describes.

use std::path::Path;
use std::process::Command;

use crate::support::cli::{BIN, Kv, bare, outcome};

fn help(args: &[&str]) -> String {
    let home = tempfile::tempdir().expect("tempdir");
    let (code, stdout, stderr) = outcome(&bare(home.path()).args(args).output().expect("runs"));
    assert_eq!((code, stderr.as_str()), (Some(0), ""), "{args:?}");
    stdout
}

const NOTE: &str = "Global options (--local, --json, -o, -q, -v, --yes, …): see `telnyx-edge help global-options`\n";

#[test]
fn help_global_options_prints_them_and_every_help_points_there() {
    let global = help(&["help", "global-options"]);
    insta::assert_snapshot!(global, @"
    The options every command accepts, before or after its name

    Global options:
          --base-url <URL>
              API root including `/v2` [default: config `api_endpoint` + `/v2`, else
              https://api.telnyx.com/v2]
              
              [env: TELNYX_BASE_URL=]

          --profile <NAME>
              Use `[profiles.NAME]` from the config file
              
              [env: TELNYX_PROFILE=]

          --func-toml <PATH>
              The function's func.toml [default: the nearest, searching up from the working directory]

          --local
              Run against the embedded emulator and its on-disk state: no network, no key
              
              [env: TELNYX_EDGE_LOCAL=]

      -o, --output <OUTPUT>
              Output format: `table` for people, `json`, `ndjson` or `ids` for scripts

              Possible values:
              - table:  Aligned columns and plain lines for people
              - json:   One JSON document
              - ndjson: One JSON object per line, streamed
              - ids:    One id or key per line
              
              [default: table]

          --json
              Same as `--output json`

          --jq <EXPR>
              Filter the JSON result with a jq expression (implies `--json`; per line with `-o ndjson`)

      -q, --quiet
              No progress and no status lines on stderr

      -v, --verbose
              Trace HTTP requests on stderr (the API key is always redacted)

          --color <WHEN>
              When to use colour on stderr

              Possible values:
              - auto:   Colour only on a terminal, and not when NO_COLOR is set
              - always
              - never
              
              [default: auto]

          --yes
              Answer yes to confirmations
              
              [env: TELNYX_EDGE_SKIP_CONFIRMATIONS=]

          --timeout <DUR>
              Deadline for each request, body included [default: 30s]; for `wait`, how long to wait
              [default: 5m]

          --retries <N>
              Retries for retryable failures (408, 429, 5xx, 409 not ready, connection errors)
              
              [default: 4]
    ");
    assert_eq!(help(&["global-options"]), global);
    for args in [
        &["--help"][..],
        &["storage", "kv", "put", "--help"],
        &["storage", "kv", "key", "list", "-h"],
    ] {
        let text = help(args);
        assert!(text.ends_with(&format!("\n{NOTE}")), "{args:?}: {text}");
        assert!(!text.contains("\n      --base-url"), "{args:?}: {text}");
    }
}

#[test]
fn command_groups_have_examples_and_long_help_is_not_sent_to_itself() {
    for group in [
        &["storage"][..],
        &["storage", "kv"],
        &["storage", "kv", "key"],
        &["storage", "kv", "bulk"],
        &["auth"],
        &["auth", "api-key"],
    ] {
        let long = help(&[group, &["--help"]].concat());
        let examples = long
            .split_once("\nExamples:\n  # ")
            .map(|(_, rest)| rest)
            .unwrap_or_else(|| panic!("{group:?} --help has no examples: {long}"));
        assert!(
            examples.ends_with(&format!("\n\n{NOTE}")),
            "{group:?}: {long}"
        );
        assert!(!long.contains("see --help"), "{group:?}: {long}");
        let short = help(&[group, &["-h"]].concat());
        assert!(
            short.ends_with(&format!("\nExamples: see --help\n{NOTE}")),
            "{group:?}: {short}"
        );
    }
    insta::assert_snapshot!(help(&["storage", "kv", "key", "--help"]), @r#"
    Keys and values

    Usage: telnyx-edge storage kv key [OPTIONS] <COMMAND>

    Commands:
      list    List keys (every page, streamed; never values) [alias: ls]
      get     Print a key's value: its exact bytes
      put     Set a key's value
      delete  Delete a key (succeeds when it does not exist) [alias: rm]
      edit    Edit a key's value in $VISUAL or $EDITOR and save it if it changed
      patch   Change a JSON value with an RFC 7386 merge patch
      help    Print this message or the help of the given subcommand(s)

    Options:
      -h, --help
              Print help (see a summary with '-h')

      -V, --version
              Print version

    Examples:
      # Keys under a prefix, then one value, its TTL set on write
      telnyx-edge storage kv key list MY_CACHE --prefix user/ -o ids
      telnyx-edge storage kv key put MY_CACHE session/1 token --ttl 30
      telnyx-edge storage kv key get MY_CACHE user/123
      telnyx-edge storage kv key delete MY_CACHE user/123
      # Change a value in an editor, or one field of a JSON value
      telnyx-edge storage kv key edit MY_CACHE config
      telnyx-edge storage kv key patch MY_CACHE user/123 --merge '{"plan": "pro"}'

    Global options (--local, --json, -o, -q, -v, --yes, …): see `telnyx-edge help global-options`
    "#);
}

#[test]
fn the_cursor_help_names_the_field_the_json_has() {
    let kv = Kv::start();
    let ns = kv.namespace("ns");
    for key in ["a", "b"] {
        kv.json(&["storage", "kv", "key", "put", &ns, key, "v"]);
    }
    let page = kv.json(&["storage", "kv", "key", "list", &ns, "--limit", "1"]);
    let cursor = page["cursor"].as_str().expect("a top-level `cursor`");
    let next = kv.json(&[
        "storage", "kv", "key", "list", &ns, "--limit", "1", "--cursor", cursor,
    ]);
    assert_eq!(next["keys"][0]["key"], "b", "{next}");
    let text = help(&["storage", "kv", "key", "list", "--help"]);
    assert!(
        text.contains("--cursor <C>\n          Start after this cursor (the `cursor` that `--json` printed for the previous page)\n"),
        "{text}"
    );
}

/// What the committed bash script offers for the last of `words`.
fn bash_complete(dir: &Path, words: &[&str]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/completions/telnyx-edge.bash");
    let bin_dir = Path::new(BIN)
        .parent()
        .expect("bin dir")
        .display()
        .to_string();
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let output = Command::new("bash")
        .current_dir(dir)
        .env("PATH", format!("{bin_dir}:{}", std::env::var("PATH").unwrap_or_default()))
        .args(["--norc", "-c"])
        .arg(format!(
            "source '{script}'; COMP_WORDS=({}); COMP_CWORD={cword}; _clap_complete_telnyx_edge telnyx-edge '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            quoted.join(" "),
            words[cword],
            words[cword - 1]
        ))
        .output()
        .expect("bash runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn global_options_left_out_of_help_still_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let offered = bash_complete(
        dir.path(),
        &["telnyx-edge", "storage", "kv", "list", "--js"],
    );
    assert_eq!(offered, ["--json"]);
    let offered = bash_complete(
        dir.path(),
        &["telnyx-edge", "storage", "kv", "list", "--ti"],
    );
    assert_eq!(offered, ["--timeout"]);
}
