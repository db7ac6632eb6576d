//! `storage kv du` and `key list --long`, `--sort`, `--reverse` and `--tree`: what the listing
//! alone says about a namespace, against the emulator.

use regex::Regex;
use serde_json::{Value, json};
use telnyx_edge::emulator::{Config, Storage};

use crate::support::api::Api;
use crate::support::cli::{Kv, outcome};
use crate::support::output::shown;

/// A namespace `shape` holding keys on two levels, with sizes that tell them apart.
fn shaped() -> Kv {
    let kv = Kv::start();
    let id = kv.namespace("shape");
    for (key, size) in [
        ("user/1/profile", 10),
        ("user/1/avatar", 30),
        ("user/2/profile", 10),
        ("config/app", 1536),
        ("readme", 5),
    ] {
        let response = kv
            .api
            .put(&format!("/storage/kvs/{id}/keys/{key}"), vec![b'x'; size]);
        assert!(
            response.status().is_success(),
            "{key}: {}",
            response.status()
        );
    }
    kv
}

/// Stdout as the filters show it, and stderr, of a run that succeeds.
fn shown_ok(kv: &Kv, args: &[&str]) -> (String, String) {
    let (code, stdout, stderr) = outcome(&kv.run(args));
    assert_eq!(code, Some(0), "{args:?}\nstderr: {stderr}");
    (shown(&stdout), stderr)
}

/// Every `updated_at` of a JSON document replaced, so it compares whole.
fn no_times(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            for (name, field) in map.iter_mut() {
                if name == "updated_at" {
                    assert!(field.is_string(), "{field}");
                    *field = json!("T");
                } else {
                    *field = no_times(field.take());
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| *item = no_times(item.take())),
        _ => {}
    }
    value
}

#[test]
fn du_adds_up_each_level_and_lists_the_largest_keys() {
    let kv = shaped();
    let (stdout, stderr) = shown_ok(&kv, &["storage", "kv", "du", "shape"]);
    insta::assert_snapshot!(stdout, @"
    PREFIX   KEYS  BYTES
    config/     1  1,536
    user/       3     50
    (all)       5  1,591

    LARGEST         BYTES  UPDATED_AT
    config/app      1,536  2000-01-01T00:00:00Z
    user/1/avatar      30  2000-01-01T00:00:00Z
    user/1/profile     10  2000-01-01T00:00:00Z
    user/2/profile     10  2000-01-01T00:00:00Z
    readme              5  2000-01-01T00:00:00Z
    ");
    assert_eq!(stderr, "");

    let (stdout, _) = shown_ok(
        &kv,
        &["storage", "kv", "du", "shape", "--depth", "2", "--top", "2"],
    );
    insta::assert_snapshot!(stdout, @"
    PREFIX   KEYS  BYTES
    config/     1  1,536
    user/       3     50
    user/1/     2     40
    user/2/     1     10
    (all)       5  1,591

    LARGEST        BYTES  UPDATED_AT
    config/app     1,536  2000-01-01T00:00:00Z
    user/1/avatar     30  2000-01-01T00:00:00Z
    ");
}

#[test]
fn du_counts_levels_after_the_prefix() {
    let kv = shaped();
    let (stdout, stderr) = shown_ok(
        &kv,
        &[
            "storage", "kv", "du", "shape", "--prefix", "user/", "--top", "1",
        ],
    );
    insta::assert_snapshot!(stdout, @"
    PREFIX       KEYS  BYTES
    user/1/         2     40
    user/2/         1     10
    user/ (all)     3     50

    LARGEST        BYTES  UPDATED_AT
    user/1/avatar     30  2000-01-01T00:00:00Z
    ");
    assert_eq!(stderr, "");
}

#[test]
fn du_as_json_and_ndjson() {
    let kv = shaped();
    let document = kv.json(&["storage", "kv", "du", "shape", "--top", "2"]);
    assert_eq!(
        no_times(document),
        json!({
            "namespace": "shape",
            "prefix": "",
            "keys": 5,
            "bytes": 1591,
            "prefixes": [
                {"prefix": "config/", "depth": 1, "keys": 1, "bytes": 1536},
                {"prefix": "user/", "depth": 1, "keys": 3, "bytes": 50},
            ],
            "largest": [
                {"key": "config/app", "size_bytes": 1536, "updated_at": "T"},
                {"key": "user/1/avatar", "size_bytes": 30, "updated_at": "T"},
            ],
        })
    );

    let (stdout, stderr) = shown_ok(
        &kv,
        &["storage", "kv", "du", "shape", "--top", "1", "-o", "ndjson"],
    );
    insta::assert_snapshot!(stdout, @r#"
    {"type":"prefix","prefix":"config/","depth":1,"keys":1,"bytes":1536}
    {"type":"prefix","prefix":"user/","depth":1,"keys":3,"bytes":50}
    {"type":"key","key":"config/app","size_bytes":1536,"updated_at":"2000-01-01T00:00:00Z"}
    {"type":"total","keys":5,"bytes":1591}
    "#);
    assert_eq!(stderr, "");
}

#[test]
fn du_of_an_empty_namespace_is_all_zero() {
    let kv = Kv::start();
    kv.namespace("empty");
    let (stdout, stderr) = shown_ok(&kv, &["storage", "kv", "du", "empty"]);
    insta::assert_snapshot!(stdout, @"
    PREFIX  KEYS  BYTES
    (all)      0      0
    ");
    assert_eq!(stderr, "");
    let document = kv.json(&["storage", "kv", "du", "empty"]);
    assert_eq!(
        document,
        json!({"namespace": "empty", "prefix": "", "keys": 0, "bytes": 0,
               "prefixes": [], "largest": []})
    );
    let sorted = kv.run(&[
        "storage", "kv", "key", "list", "empty", "--sort", "size", "-l",
    ]);
    let (code, stdout, stderr) = outcome(&sorted);
    assert_eq!((code, stdout.as_str()), (Some(0), ""));
    insta::assert_snapshot!(stderr, @"No keys in namespace `empty`");
}

#[test]
fn long_listing_shows_sizes_for_people() {
    let kv = shaped();
    let (stdout, stderr) = shown_ok(&kv, &["storage", "kv", "key", "list", "shape", "-l"]);
    insta::assert_snapshot!(stdout, @"
    KEY                SIZE  BYTES  UPDATED_AT
    config/app      1.5 KiB   1536  2000-01-01T00:00:00Z
    readme              5 B      5  2000-01-01T00:00:00Z
    user/1/avatar      30 B     30  2000-01-01T00:00:00Z
    user/1/profile     10 B     10  2000-01-01T00:00:00Z
    user/2/profile     10 B     10  2000-01-01T00:00:00Z
    ");
    assert_eq!(stderr, "");
}

#[test]
fn sorting_by_size_and_key_and_reversed() {
    let kv = shaped();
    let list = ["storage", "kv", "key", "list", "shape"];
    let run = |extra: &[&str]| shown_ok(&kv, &[&list[..], extra].concat()).0;
    insta::assert_snapshot!(run(&["--long", "--sort", "size"]), @"
    KEY                SIZE  BYTES  UPDATED_AT
    config/app      1.5 KiB   1536  2000-01-01T00:00:00Z
    user/1/avatar      30 B     30  2000-01-01T00:00:00Z
    user/1/profile     10 B     10  2000-01-01T00:00:00Z
    user/2/profile     10 B     10  2000-01-01T00:00:00Z
    readme              5 B      5  2000-01-01T00:00:00Z
    ");
    insta::assert_snapshot!(run(&["--sort", "size", "--reverse", "-o", "ids"]), @"
    readme
    user/2/profile
    user/1/profile
    user/1/avatar
    config/app
    ");
    insta::assert_snapshot!(run(&["--reverse", "-o", "ids"]), @"
    user/2/profile
    user/1/profile
    user/1/avatar
    readme
    config/app
    ");
    insta::assert_snapshot!(run(&["--sort", "key", "--prefix", "user/", "-o", "ids"]), @"
    user/1/avatar
    user/1/profile
    user/2/profile
    ");

    let sorted = kv.json(&[&list[..], &["--sort", "size"]].concat());
    assert_eq!(
        no_times(sorted),
        json!([
            {"key": "config/app", "size_bytes": 1536, "updated_at": "T"},
            {"key": "user/1/avatar", "size_bytes": 30, "updated_at": "T"},
            {"key": "user/1/profile", "size_bytes": 10, "updated_at": "T"},
            {"key": "user/2/profile", "size_bytes": 10, "updated_at": "T"},
            {"key": "readme", "size_bytes": 5, "updated_at": "T"},
        ])
    );
}

#[test]
fn sorting_by_update_time_puts_the_newest_first() {
    let store = tempfile::tempdir().expect("tempdir");
    let earlier = Api::on_disk(store.path(), -120_000);
    let id = earlier.create("times");
    for key in ["b", "c"] {
        let response = earlier.put(&format!("/storage/kvs/{id}/keys/{key}"), "v");
        assert!(response.status().is_success());
    }
    let kv = Kv::with(Config {
        storage: Storage::Dir(store.path().to_path_buf()),
        ..Config::in_memory()
    });
    let response = kv.api.put(&format!("/storage/kvs/{id}/keys/a"), "v");
    assert!(response.status().is_success());
    let list = [
        "storage", "kv", "key", "list", &id, "-o", "ids", "--sort", "updated",
    ];
    assert_eq!(kv.ok(&list), b"a\nb\nc\n");
    assert_eq!(kv.ok(&[&list[..], &["--reverse"]].concat()), b"c\nb\na\n");
}

#[test]
fn tree_groups_keys_by_level() {
    let kv = shaped();
    let (stdout, stderr) = shown_ok(&kv, &["storage", "kv", "key", "list", "shape", "--tree"]);
    insta::assert_snapshot!(stdout, @"
    LEVEL      KEYS  BYTES
    .             5  1,591
      config/     1  1,536
      user/       3     50
        1/        2     40
        2/        1     10
    ");
    assert_eq!(stderr, "");
    let document = kv.json(&["storage", "kv", "key", "list", "shape", "--tree"]);
    assert_eq!(
        document["prefixes"],
        json!([
            {"prefix": "config/", "depth": 1, "keys": 1, "bytes": 1536},
            {"prefix": "user/", "depth": 1, "keys": 3, "bytes": 50},
            {"prefix": "user/1/", "depth": 2, "keys": 2, "bytes": 40},
            {"prefix": "user/2/", "depth": 2, "keys": 1, "bytes": 10},
        ])
    );
    assert_eq!(
        (document["keys"].clone(), document["bytes"].clone()),
        (json!(5), json!(1591))
    );
}

#[test]
fn bad_flag_values_are_usage_errors_before_any_request() {
    let kv = Kv::start();
    kv.namespace("quiet");
    let before = kv.api.stats().requests;
    for (args, expected) in [
        (
            &["storage", "kv", "du", "quiet", "--depth", "0"][..],
            "invalid value '0' for '--depth <N>'",
        ),
        (
            &["storage", "kv", "du", "quiet", "--top", "1001"],
            "invalid value '1001' for '--top <N>'",
        ),
        (
            &["storage", "kv", "key", "list", "quiet", "--sort", "age"],
            "invalid value 'age' for '--sort <BY>'",
        ),
        (
            &[
                "storage", "kv", "key", "list", "quiet", "--sort", "size", "--limit", "5",
            ],
            "the argument '--sort <BY>' cannot be used with '--limit <N>'",
        ),
        (
            &["storage", "kv", "key", "list", "quiet", "--tree", "--long"],
            "the argument '--tree' cannot be used with '--long'",
        ),
    ] {
        let (code, stdout, stderr) = outcome(&kv.run(args));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "");
        assert!(
            stderr.starts_with(&format!("error: {expected}")),
            "{args:?}: {stderr}"
        );
    }
    let (_, _, stderr) = outcome(&kv.run(&["storage", "kv", "du", "quiet", "--depth", "17"]));
    insta::assert_snapshot!(stderr, @"
    error: invalid value '17' for '--depth <N>': 17 is not in 1..=16

    For more information, try '--help'.
    ");
    assert_eq!(kv.api.stats().requests, before, "no request was sent");
}

#[test]
fn completion_offers_the_sort_orders_and_du_flags() {
    let home = tempfile::tempdir().expect("home");
    let complete = |words: &[&str]| {
        let output = crate::support::cli::scrubbed(home.path())
            .env("_TELNYX_EDGE_COMPLETE", "fish")
            .arg("--")
            .args(words)
            .output()
            .expect("runs");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "");
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let sorts = complete(&[
        "telnyx-edge",
        "storage",
        "kv",
        "key",
        "list",
        "NS",
        "--sort",
        "",
    ]);
    assert_eq!(
        sorts,
        "key\tKey names, bytewise\nsize\tLargest first\nupdated\tNewest first\n"
    );
    let flags = complete(&["telnyx-edge", "storage", "kv", "du", "NS", "--"]);
    let own: Vec<&str> = flags.lines().take(3).collect();
    assert_eq!(
        own,
        [
            "--prefix\tOnly keys that start with this; levels are counted after it",
            "--depth\tLevels of `/` to show, 1 to 16",
            "--top\tHow many of the largest keys to show, 0 to 1000",
        ]
    );
}

#[test]
fn long_listing_of_local_state_adds_time_left_and_content_type() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        let output = crate::support::cli::scrubbed(dir.path())
            .arg("--local")
            .args(args)
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(code, Some(0), "{args:?}\nstderr: {stderr}");
        shown(&stdout)
    };
    run(&["-q", "storage", "kv", "create", "--name", "shape"]);
    run(&[
        "storage",
        "kv",
        "put",
        "shape",
        "doc",
        "{}",
        "--content-type",
        "application/json",
    ]);
    run(&[
        "storage", "kv", "put", "shape", "session", "abcdef", "--ttl", "1h",
    ]);
    // The time left: an hour less the moments since the put, in whole seconds.
    let left = |ttl: &str| -> u64 {
        let ttl = humantime::parse_duration(&ttl.replace(' ', "")).expect("a duration");
        ttl.as_secs()
    };
    for extra in [&[][..], &["--sort", "size"]] {
        let table = run(&[&["storage", "kv", "key", "list", "shape", "-l"][..], extra].concat());
        let rows: Vec<Vec<&str>> = table
            .lines()
            .map(|line| line.split_whitespace().collect())
            .collect();
        assert_eq!(
            rows[0],
            ["KEY", "SIZE", "BYTES", "UPDATED_AT", "TTL", "CONTENT_TYPE"],
            "{table}"
        );
        // A size for people is two words (`6 B`), so TTL is the sixth word on.
        let row = |key: &str| rows.iter().find(|row| row[0] == key).expect(key).clone();
        assert_eq!(row("doc")[5..], ["-", "application/json"], "{table}");
        let session = row("session");
        assert_eq!(session[6..], ["application/octet-stream"], "{table}");
        let ttl = session[5..session.len() - 1].join(" ");
        assert!((3500..=3600).contains(&left(&ttl)), "{table}");
    }
    // As JSON, the same two as fields: `ttl_secs` (null without an expiry) and
    // `content_type`, beside the API's key object, on every output and in both orders.
    let ttl = Regex::new(r#""ttl_secs":\s*(\d+)"#).expect("a pattern");
    for extra in [
        &["--json"][..],
        &["-o", "ndjson", "--sort", "size"],
        &["--json", "--limit", "1"],
    ] {
        let json = run(&[&["storage", "kv", "key", "list", "shape", "-l"][..], extra].concat());
        let secs: u64 = ttl.captures(&json).map_or(0, |c| c[1].parse().unwrap_or(0));
        let json = ttl.replace(&json, r#""ttl_secs":[SECS]"#);
        match extra[0] {
            "--json" if extra.len() == 1 => {
                assert!((3500..=3600).contains(&secs), "{json}");
                insta::assert_snapshot!(json, @r#"
                [
                  {"key":"doc","size_bytes":2,"updated_at":"2000-01-01T00:00:00Z","ttl_secs":null,"content_type":"application/json"},
                  {"key":"session","size_bytes":6,"updated_at":"2000-01-01T00:00:00Z","ttl_secs":[SECS],"content_type":"application/octet-stream"}
                ]
                "#);
            }
            "-o" => {
                assert!((3500..=3600).contains(&secs), "{json}");
                insta::assert_snapshot!(json, @r#"
                {"key":"session","size_bytes":6,"updated_at":"2000-01-01T00:00:00Z","ttl_secs":[SECS],"content_type":"application/octet-stream"}
                {"key":"doc","size_bytes":2,"updated_at":"2000-01-01T00:00:00Z","ttl_secs":null,"content_type":"application/json"}
                "#);
            }
            _ => insta::assert_snapshot!(json, @r#"
            {
              "keys": [
                {
                  "key": "doc",
                  "size_bytes": 2,
                  "updated_at": "2000-01-01T00:00:00Z",
                  "ttl_secs": null,
                  "content_type": "application/json"
                }
              ],
              "cursor": "ZG9j"
            }
            "#),
        }
    }
    // The service's listing carries neither: those columns and fields are not shown there (see
    // `long_listing_shows_sizes_for_people`).
}
