//! `--jq EXPR` on JSON results (every page of a listing at once, NDJSON line by line) and
//! `key get --field PATH`, against the emulator.

use serde_json::json;

use crate::support::cli::{Kv, outcome};

/// A namespace holding `count` keys `k0000`, `k0001`, … with the value `v`.
fn filled(kv: &Kv, name: &str, count: usize) -> String {
    let id = kv.namespace(name);
    let input: String = (0..count)
        .map(|i| format!("{}\n", json!({"key": format!("k{i:04}"), "value": "v"})))
        .collect();
    std::fs::write(kv.path().join("in.ndjson"), input).expect("write");
    kv.ok(&["-q", "storage", "kv", "bulk", "put", &id, "in.ndjson"]);
    id
}

fn stdout(kv: &Kv, args: &[&str]) -> String {
    String::from_utf8(kv.ok(args)).expect("UTF-8")
}

#[test]
fn the_expression_sees_every_page_of_a_key_listing() {
    let kv = Kv::start();
    // 1,000 keys a page: three pages.
    let id = filled(&kv, "paged", 2500);
    let before = kv.api.stats().requests;
    assert_eq!(
        stdout(
            &kv,
            &["storage", "kv", "key", "list", &id, "--jq", "length"]
        ),
        "2500\n"
    );
    assert_eq!(kv.api.stats().requests - before, 3, "one request a page");
    assert_eq!(
        stdout(
            &kv,
            &[
                "storage",
                "kv",
                "key",
                "list",
                &id,
                "--jq",
                "(.[999], .[1000], .[-1]) | {key, size_bytes}"
            ]
        ),
        "{\"key\":\"k0999\",\"size_bytes\":1}\n{\"key\":\"k1000\",\"size_bytes\":1}\n{\"key\":\"k2499\",\"size_bytes\":1}\n"
    );
    // Strings are printed as their text, one a line.
    let keys = stdout(
        &kv,
        &["storage", "kv", "key", "list", &id, "--jq", ".[].key"],
    );
    let expected: String = (0..2500).map(|i| format!("k{i:04}\n")).collect();
    assert_eq!(keys, expected);
}

#[test]
fn ndjson_lines_are_filtered_one_by_one() {
    let kv = Kv::start();
    let id = filled(&kv, "lines", 1500);
    let args = [
        "storage",
        "kv",
        "key",
        "list",
        &id,
        "-o",
        "ndjson",
        "--jq",
        r#"select(.key | endswith("99")) | .key"#,
    ];
    let expected: String = (0..1500)
        .filter(|i| i % 100 == 99)
        .map(|i| format!("k{i:04}\n"))
        .collect();
    assert_eq!(stdout(&kv, &args), expected);
    // `length` of one key object, not of the whole listing.
    let lengths = stdout(
        &kv,
        &[
            "storage", "kv", "key", "list", &id, "-o", "ndjson", "--jq", "length",
        ],
    );
    assert_eq!(lengths, "3\n".repeat(1500));
    // The values `export` streams, too.
    let exported = stdout(
        &kv,
        &[
            "-q",
            "storage",
            "kv",
            "export",
            &id,
            "--jq",
            r#".key + "=" + .value"#,
        ],
    );
    let expected: String = (0..1500).map(|i| format!("k{i:04}=v\n")).collect();
    assert_eq!(exported, expected);
}

#[test]
fn namespace_listings_details_and_auth_status_go_through_it() {
    let kv = Kv::start();
    for name in ["alpha", "bravo", "charlie"] {
        kv.namespace(name);
    }
    // One namespace a page: the expression still sees all three.
    assert_eq!(
        stdout(
            &kv,
            &[
                "storage",
                "kv",
                "list",
                "--page-size",
                "1",
                "--jq",
                "map(.name) | sort | join(\",\")"
            ]
        ),
        "alpha,bravo,charlie\n"
    );
    assert_eq!(
        stdout(
            &kv,
            &["storage", "kv", "get", "bravo", "--jq", "[.name, .status]"]
        ),
        "[\"bravo\",\"provision_ok\"]\n"
    );
    // `--jq` implies `--json` whatever `-o` says, but for ndjson.
    assert_eq!(
        stdout(
            &kv,
            &[
                "-o", "table", "storage", "kv", "get", "bravo", "--jq", ".name"
            ]
        ),
        "bravo\n"
    );
    assert_eq!(stdout(&kv, &["auth", "status", "--jq", ".valid"]), "true\n");
}

#[test]
fn a_bad_expression_is_a_usage_error_with_its_column_before_any_request() {
    let kv = Kv::start();
    let id = kv.namespace("untouched");
    let before = kv.api.stats().requests;
    let output = kv.run(&["storage", "kv", "key", "list", &id, "--jq", ".[] | .key |"]);
    let (code, out, err) = outcome(&output);
    assert_eq!(code, Some(2));
    assert_eq!(out, "");
    assert_eq!(
        err,
        "{\"error\":{\"message\":\"invalid value '.[] | .key |' for '--jq <EXPR>': expected term, found the end at column 13\",\"code\":\"usage\",\"exit_code\":2,\"hint\":\"For more information, try `--help`.\",\"request_id\":null}}\n"
    );
    let output = kv.run(&["storage", "kv", "list", "--jq", "map(nosuch)"]);
    let (code, _, err) = outcome(&output);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("'--jq <EXPR>': undefined filter `nosuch` at column 5"),
        "{err}"
    );
    assert_eq!(kv.api.stats().requests, before, "no request was sent");
}

#[test]
fn a_failing_expression_exits_1_with_jqs_message() {
    let kv = Kv::start();
    kv.namespace("demo");
    let output = kv.run(&["storage", "kv", "get", "demo", "--jq", ".name.first"]);
    let (code, out, err) = outcome(&output);
    assert_eq!(code, Some(1));
    assert_eq!(out, "");
    assert_eq!(
        err,
        "{\"error\":{\"message\":\"the jq expression failed: cannot index \\\"demo\\\" with \\\"first\\\"\",\"code\":\"failure\",\"exit_code\":1,\"hint\":\"The command itself ran, and any change it made stands; only the `--jq` filter of its output failed.\",\"request_id\":null}}\n"
    );
    // After a write, the hint is what tells a script not to write again.
    let output = kv.run(&[
        "storage",
        "kv",
        "put",
        "demo",
        "k",
        "v",
        "--jq",
        ".key.first",
    ]);
    let (code, out, err) = outcome(&output);
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        "Created key `k` in namespace `demo` (1 byte)\n{\"error\":{\"message\":\"the jq expression failed: cannot index \\\"k\\\" with \\\"first\\\"\",\"code\":\"failure\",\"exit_code\":1,\"hint\":\"The command itself ran, and any change it made stands; only the `--jq` filter of its output failed.\",\"request_id\":null}}\n"
    );
    assert_eq!(kv.ok(&["storage", "kv", "get", "demo", "k"]), b"v");
}

const PROFILE: &str = r#"{"user":{"name":"ann","emails":["a@x","b@x"],"age":41},"tags":["x","y"]}"#;

#[test]
fn field_picks_a_dotted_path_or_a_jq_expression() {
    let kv = Kv::start();
    let id = kv.namespace("fields");
    kv.ok(&["storage", "kv", "put", &id, "profile", PROFILE]);
    let get = |field: &str, extra: &[&str]| {
        let mut args = vec![
            "storage", "kv", "key", "get", &id, "profile", "--field", field,
        ];
        args.extend(extra);
        stdout(&kv, &args)
    };
    assert_eq!(get("user.name", &[]), "ann\n");
    assert_eq!(get("user.emails.1", &[]), "b@x\n");
    assert_eq!(get("user.age", &[]), "41\n");
    // Objects as compact JSON, in the value's own order.
    assert_eq!(
        get("user", &[]),
        "{\"name\":\"ann\",\"emails\":[\"a@x\",\"b@x\"],\"age\":41}\n"
    );
    assert_eq!(get(".tags[]", &[]), "x\ny\n");
    assert_eq!(get(".user.emails | length", &[]), "2\n");
    assert_eq!(get(".nothing", &[]), "null\n");
    assert_eq!(
        get("user.emails", &["--json"]),
        "[\n  \"a@x\",\n  \"b@x\"\n]\n"
    );
    assert_eq!(
        get("user", &["--jq", "keys_unsorted"]),
        "[\"name\",\"emails\",\"age\"]\n"
    );
    // The `get NAMESPACE KEY` shorthand takes it too.
    assert_eq!(
        stdout(
            &kv,
            &["storage", "kv", "get", &id, "profile", "--field", "tags.0"]
        ),
        "x\n"
    );
}

#[test]
fn field_errors_say_what_is_missing() {
    let kv = Kv::start();
    let id = kv.namespace("fields");
    kv.ok(&["storage", "kv", "put", &id, "profile", PROFILE]);
    kv.ok(&["storage", "kv", "put", &id, "plain", "not json"]);
    let run = |key: &str, field: &str| {
        outcome(&kv.run(&["storage", "kv", "key", "get", &id, key, "--field", field]))
    };

    let (code, out, err) = run("profile", "user.emails.5");
    assert_eq!((code, out.as_str()), (Some(3), ""));
    assert_eq!(
        err,
        "error: the value of `profile` has no field `user.emails.5`\n"
    );

    let (code, out, err) = run("plain", "user");
    assert_eq!((code, out.as_str()), (Some(1), ""));
    assert_eq!(
        err,
        "error: the value of `plain` is not JSON, so it has no fields: expected ident at line 1 column 2\nhint: Leave out `--field` to print the value as it is stored.\n"
    );

    let before = kv.api.stats().requests;
    let (code, out, err) = run("profile", "user..name");
    assert_eq!((code, out.as_str()), (Some(2), ""));
    assert!(err.contains("`user..name` is not a dotted path"), "{err}");
    let (code, _, err) = run("profile", ".user[");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("'--field <PATH>': expected closing bracket at column 7"),
        "{err}"
    );
    assert_eq!(kv.api.stats().requests, before, "no request was sent");

    // A missing key is still not found, with or without a field.
    let (code, _, _) = run("absent", "user");
    assert_eq!(code, Some(3));
}

#[test]
fn diff_results_go_through_it_and_keep_their_exit_code() {
    let kv = Kv::start();
    let a = kv.namespace("left");
    let b = kv.namespace("right");
    kv.ok(&["storage", "kv", "put", &a, "only-a", "1"]);
    kv.ok(&["storage", "kv", "put", &a, "both", "1"]);
    kv.ok(&["storage", "kv", "put", &b, "both", "2"]);
    let output = kv.run(&[
        "-q",
        "storage",
        "kv",
        "diff",
        "left",
        "right",
        "--jq",
        ".differences[] | \"\\(.change) \\(.key)\"",
    ]);
    let (code, out, err) = outcome(&output);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(out, "changed both\nremoved only-a\n");
}
