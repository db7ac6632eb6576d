//! Help that teaches: `-h` fits a screen with the command's own options, `--help` adds the
//! global options and examples, and the man pages carry the sections a reader looks for.

use crate::support::cli::{bare, outcome};
use crate::support::output::shown;

fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = bare(dir.path()).args(args).output().expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{args:?}: {stderr}");
    stdout
}

#[test]
fn short_and_long_help_of_three_commands() {
    for (name, command) in [
        ("put", &["storage", "kv", "put"][..]),
        ("bulk_put", &["storage", "kv", "bulk", "put"][..]),
        ("serve", &["storage", "kv", "serve"][..]),
    ] {
        let short = help(&[command, &["-h"]].concat());
        assert!(
            short.lines().count() <= 40,
            "`{name} -h` fits one screen:\n{short}"
        );
        insta::assert_snapshot!(format!("{name}_short"), short);
        insta::assert_snapshot!(
            format!("{name}_long"),
            help(&[command, &["--help"]].concat())
        );
    }
}

#[test]
fn man_pages_have_the_sections_a_reader_looks_for() {
    let page = help(&["man", "storage", "kv", "bulk", "put"]);
    let sections: Vec<&str> = page
        .lines()
        .filter_map(|line| line.strip_prefix(".SH "))
        .collect();
    assert_eq!(
        sections,
        [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "OPTIONS",
            "\"GLOBAL OPTIONS\"",
            "EXAMPLES",
            "NOTES",
            "\"EXIT STATUS\"",
            "ENVIRONMENT",
            "FILES",
            "\"SEE ALSO\"",
            "VERSION"
        ]
    );
    assert!(
        page.contains("storage kv bulk put MY_CACHE \\-\\-dir ./public"),
        "{page}"
    );
    assert!(
        page.contains("TELNYX_EDGE_STATE_DIR"),
        "every variable the tool reads"
    );
    assert!(page.contains("\n\\fB130\\fR\n"), "every exit code");
    assert!(
        page.contains("telnyx\\-edge\\-storage\\-kv\\-bulk"),
        "SEE ALSO names the parent"
    );
    // The top page is `telnyx-edge man` with no command.
    assert!(help(&["man"]).starts_with(".ie \\n(.g .ds Aq \\(aq"));
}

#[test]
fn a_man_page_that_does_not_exist_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = bare(dir.path())
        .args(["man", "storage", "kv", "nope"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(2));
    assert_eq!(stdout, "");
    insta::assert_snapshot!(shown(&stderr), @"
    error: no man page for `storage kv nope`
    hint: Pages exist for: auth, auth api-key, auth api-key clear, auth api-key set, auth status, completions, man, storage, storage kv, storage kv bind, storage kv bulk, storage kv bulk delete, storage kv bulk get, storage kv bulk put, storage kv copy, storage kv create, storage kv delete, storage kv diff, storage kv du, storage kv export, storage kv get, storage kv import, storage kv key, storage kv key delete, storage kv key edit, storage kv key get, storage kv key list, storage kv key patch, storage kv key put, storage kv list, storage kv pull, storage kv push, storage kv put, storage kv serve, storage kv ui, storage kv unbind, storage kv wait.
    ");
}

#[test]
fn man_dir_writes_every_page_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("share/man/man1");
    let output = bare(dir.path())
        .args(["--json", "man", "--dir"])
        .arg(&target)
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    let pages = doc["pages"].as_array().expect("pages");
    let written = std::fs::read_dir(&target).expect("created").count();
    assert_eq!(pages.len(), written);
    assert!(written > 25, "{written}");
    assert_eq!(
        stderr,
        format!("Wrote {written} man pages into `{}`\n", target.display())
    );
}
