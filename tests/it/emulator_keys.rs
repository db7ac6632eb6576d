//! The key endpoints of the emulator: `/storage/kvs/{id}/keys[/{key}]`.

use reqwest::Method;
use serde_json::{Value, json};
use telnyx_edge::emulator::Config;

use crate::support::api::{Api, assert_error, is_timestamp, json, raw_request};

/// A ready namespace and the path prefix of its keys.
fn namespace(api: &Api) -> String {
    let id = api.create("keys");
    format!("/storage/kvs/{id}/keys")
}

fn content_type(response: &reqwest::blocking::Response) -> Option<String> {
    response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ASCII").to_owned())
}

#[test]
fn put_answers_201_then_200_with_an_empty_body() {
    let api = Api::start();
    let keys = namespace(&api);
    let created = api.put(&format!("{keys}/greeting"), "hello");
    assert_eq!(created.status(), 201);
    assert_eq!(created.bytes().expect("body").len(), 0);
    let replaced = api.put(&format!("{keys}/greeting"), "hello again");
    assert_eq!(replaced.status(), 200);
    assert_eq!(replaced.bytes().expect("body").len(), 0);
    let value = api.get(&format!("{keys}/greeting"));
    assert_eq!(value.status(), 200);
    assert_eq!(value.bytes().expect("body").as_ref(), b"hello again");
}

#[test]
fn values_round_trip_byte_for_byte() {
    let api = Api::start();
    let keys = namespace(&api);
    let every_byte: Vec<u8> = (0..=255).collect();
    let utf8 = "κλειδί ✓ 🗝️\r\n\0".as_bytes().to_vec();
    let exactly_one_mib = vec![0xA5; 1024 * 1024];
    for (key, value) in [
        ("bytes", every_byte),
        ("utf8", utf8),
        ("empty", Vec::new()),
        ("big", exactly_one_mib),
    ] {
        assert_eq!(
            api.put(&format!("{keys}/{key}"), value.clone()).status(),
            201,
            "{key}"
        );
        let response = api.get(&format!("{keys}/{key}"));
        assert_eq!(response.status(), 200);
        assert_eq!(
            content_type(&response).as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(response.bytes().expect("body").to_vec(), value, "{key}");
    }
}

#[test]
fn the_content_type_is_stored_and_echoed() {
    let api = Api::start();
    let keys = namespace(&api);
    let put = api
        .req(Method::PUT, &format!("{keys}/doc"))
        .header("content-type", "application/json; charset=utf-8")
        .body("{}")
        .send()
        .expect("answered");
    assert_eq!(put.status(), 201);
    let response = api.get(&format!("{keys}/doc"));
    assert_eq!(
        content_type(&response).as_deref(),
        Some("application/json; charset=utf-8")
    );
    // Replacing the value without a Content-Type resets it to the default.
    api.put(&format!("{keys}/doc"), "raw");
    assert_eq!(
        content_type(&api.get(&format!("{keys}/doc"))).as_deref(),
        Some("application/octet-stream")
    );
}

#[test]
fn values_over_one_mib_get_413_whether_declared_or_streamed() {
    let api = Api::start();
    let keys = namespace(&api);
    let too_big = vec![b'x'; 1024 * 1024 + 1];
    let detail = assert_error(
        api.put(&format!("{keys}/big"), too_big.clone()),
        413,
        "10015",
        "Payload too large",
    );
    assert_eq!(
        detail,
        "Value exceeds the maximum size of 1 MiB (1048576 bytes)"
    );
    // Chunked: no Content-Length, so the size is found while streaming. The emulator answers
    // before the upload ends and closes; on a loaded machine the client may see that close
    // (a reset) before the answer, so a few tries must see the 413 and none anything else.
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let body = reqwest::blocking::Body::new(std::io::Cursor::new(too_big.clone()));
        match api
            .req(Method::PUT, &format!("{keys}/big"))
            .body(body)
            .send()
        {
            Ok(response) => {
                statuses.push(response.status().as_u16());
                break;
            }
            Err(err) => assert!(err.is_request() || err.is_body(), "{err}"),
        }
    }
    assert_eq!(statuses, [413]);
    assert_error(
        api.get(&format!("{keys}/big")),
        404,
        "10005",
        "Resource not found",
    );
}

#[test]
fn keys_at_the_edges_of_the_allowed_set_are_one_path_segment() {
    let api = Api::start();
    let keys = namespace(&api);
    let long = "k".repeat(256);
    // (key, how a client writes it in the URL)
    let cases = [
        ("user/123", "user%2F123".to_owned()),
        ("a=b", "a%3Db".to_owned()),
        ("a/../b", "a%2F%2E%2E%2Fb".to_owned()),
        ("dots.and-dashes_x", "dots.and-dashes_x".to_owned()),
        (long.as_str(), long.clone()),
    ];
    for (key, encoded) in &cases {
        let put = api.put(&format!("{keys}/{encoded}"), key.as_bytes().to_vec());
        assert_eq!(put.status(), 201, "{key}");
    }
    for (key, encoded) in &cases {
        let response = api.get(&format!("{keys}/{encoded}"));
        assert_eq!(response.status(), 200, "{key}");
        assert_eq!(response.bytes().expect("body").as_ref(), key.as_bytes());
    }
    // `.` and `..` are dot segments to URL libraries (even as `%2E`), so they go out verbatim.
    for (key, target) in [(".", "%2E"), ("..", "%2E%2E"), ("...", "...")] {
        let path = format!("{keys}/{target}");
        assert_eq!(
            raw_request(&api, "PUT", &path, key.as_bytes()).0,
            201,
            "{key}"
        );
        assert_eq!(
            raw_request(&api, "GET", &path, b""),
            (200, key.as_bytes().to_vec())
        );
    }
    assert_eq!(raw_request(&api, "GET", &format!("{keys}/."), b"").0, 200);
    // A literal `/` after `/keys/` is the same key as `%2F`.
    let literal = api.get(&format!("{keys}/user/123"));
    assert_eq!(literal.bytes().expect("body").as_ref(), b"user/123");
    let listed = json(api.get(&keys), 200);
    let mut expected: Vec<&str> = cases.iter().map(|(key, _)| *key).collect();
    expected.extend([".", "..", "..."]);
    expected.sort();
    let names: Vec<&str> = listed["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["key"].as_str().expect("key"))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn invalid_keys_get_400_before_anything_else() {
    let api = Api::start();
    let keys = namespace(&api);
    let too_long = "k".repeat(257);
    for encoded in [
        "a%3Ab",
        "a%20b",
        "%CE%BA",
        "_reserved",
        too_long.as_str(),
        "%FF",
    ] {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let response = api
                .req(method.clone(), &format!("{keys}/{encoded}"))
                .body("v")
                .send()
                .expect("answered");
            assert_error(response, 400, "10015", "Bad request");
        }
    }
    let detail = assert_error(
        api.get(&format!("{keys}/_reserved")),
        400,
        "10015",
        "Bad request",
    );
    assert_eq!(
        detail,
        "key `_reserved` starts with `_`; names starting with `_` are reserved"
    );
}

#[test]
fn missing_keys_get_404_and_deleting_them_succeeds() {
    let api = Api::start();
    let keys = namespace(&api);
    let detail = assert_error(
        api.get(&format!("{keys}/nope")),
        404,
        "10005",
        "Resource not found",
    );
    assert_eq!(detail, "Key not found");
    let deleted = api.delete(&format!("{keys}/nope"));
    assert_eq!(deleted.status(), 200);
    assert_eq!(deleted.bytes().expect("body").len(), 0);
    api.put(&format!("{keys}/there"), "v");
    assert_eq!(api.delete(&format!("{keys}/there")).status(), 200);
    assert_error(
        api.get(&format!("{keys}/there")),
        404,
        "10005",
        "Resource not found",
    );
}

#[test]
fn key_operations_on_an_unknown_namespace_get_404() {
    let api = Api::start();
    let keys = "/storage/kvs/550e8400-e29b-41d4-a716-446655440000/keys";
    for response in [
        api.get(&format!("{keys}/k")),
        api.put(&format!("{keys}/k"), "v"),
        api.delete(&format!("{keys}/k")),
        api.get(keys),
    ] {
        let detail = assert_error(response, 404, "10005", "Resource not found");
        assert_eq!(detail, "KV namespace not found");
    }
    assert_error(
        api.get("/storage/kvs/nope/keys"),
        400,
        "10015",
        "Bad request",
    );
}

#[test]
fn invalid_ttls_get_422_and_write_nothing() {
    let api = Api::start();
    let keys = namespace(&api);
    for query in [
        "ttl_secs=0",
        "ttl_secs=-5",
        "ttl_secs=1.5",
        "ttl_secs=abc",
        "ttl_secs=",
        "ttl_secs=9223372037",
        "ttl=60",
    ] {
        let detail = assert_error(
            api.put(&format!("{keys}/k?{query}"), "v"),
            422,
            "10015",
            "Unprocessable entity",
        );
        assert!(detail.contains("ttl"), "{query}: {detail}");
    }
    assert_error(
        api.get(&format!("{keys}/k")),
        404,
        "10005",
        "Resource not found",
    );
    assert_eq!(
        api.put(&format!("{keys}/k?ttl_secs=9223372036"), "v")
            .status(),
        201
    );
}

#[test]
fn expired_keys_are_absent_and_a_put_without_ttl_makes_a_key_persistent() {
    let store = tempfile::tempdir().expect("tempdir");
    let api = Api::on_disk(store.path(), 0);
    let keys = namespace(&api);
    assert_eq!(
        api.put(&format!("{keys}/short?ttl_secs=1"), "v").status(),
        201
    );
    assert_eq!(
        api.put(&format!("{keys}/kept?ttl_secs=1"), "v").status(),
        201
    );
    assert_eq!(api.put(&format!("{keys}/kept"), "v2").status(), 200);
    assert_eq!(api.get(&format!("{keys}/short")).status(), 200);
    // The same service 1.1 s later, by its clock.
    let api = Api::on_disk(store.path(), 1100);
    assert_error(
        api.get(&format!("{keys}/short")),
        404,
        "10005",
        "Resource not found",
    );
    assert_eq!(api.get(&format!("{keys}/kept")).status(), 200);
    let listed = json(api.get(&keys), 200);
    assert_eq!(listed["data"].as_array().expect("array").len(), 1);
    assert_eq!(listed["data"][0]["key"], "kept");
    // Writing an expired key creates it anew.
    assert_eq!(api.put(&format!("{keys}/short"), "again").status(), 201);
}

#[test]
fn ttl_without_ttl_support_gets_409() {
    let api = Api::with(Config {
        ttl_support: false,
        ..Config::in_memory()
    });
    let keys = namespace(&api);
    let detail = assert_error(
        api.put(&format!("{keys}/k?ttl_secs=60"), "v"),
        409,
        "10015",
        "Conflict",
    );
    assert!(detail.contains("does not support TTL"), "{detail}");
    assert_eq!(api.put(&format!("{keys}/k"), "v").status(), 201);
    let missing = "/storage/kvs/550e8400-e29b-41d4-a716-446655440000/keys/k?ttl_secs=60";
    assert_error(api.put(missing, "v"), 404, "10005", "Resource not found");
}

#[test]
fn the_key_list_has_the_service_shape() {
    let api = Api::start();
    let keys = namespace(&api);
    api.put(&format!("{keys}/user%2F123"), "twenty-one bytes long");
    let body = json(api.get(&keys), 200);
    let updated_at = body["data"][0]["updated_at"].clone();
    assert!(is_timestamp(&updated_at));
    assert_eq!(
        body,
        json!({
            "record_type": "storage_kv_key",
            "data": [{"key": "user/123", "size_bytes": 21, "updated_at": updated_at}],
            "meta": {"has_more": false},
        })
    );
}

fn list_all(api: &Api, keys: &str, query: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("{keys}?{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let body = json(api.get(&path), 200);
        pages += 1;
        for key in body["data"].as_array().expect("array") {
            names.push(key["key"].as_str().expect("key").to_owned());
        }
        if body["meta"]["has_more"] == Value::Bool(false) {
            assert!(
                body["meta"].get("cursor").is_none(),
                "no cursor on the last page"
            );
            return (names, pages);
        }
        cursor = Some(body["meta"]["cursor"].as_str().expect("cursor").to_owned());
    }
}

#[test]
fn key_lists_page_with_cursors_and_filter_by_prefix() {
    let api = Api::start();
    let keys = namespace(&api);
    let mut expected = Vec::new();
    for group in ["a", "b", "b/x", "c"] {
        for i in 0..5 {
            let key = format!("{group}/{i}");
            api.put(&format!("{keys}/{key}"), "v");
            expected.push(key);
        }
    }
    expected.sort();
    let (names, pages) = list_all(&api, &keys, "limit=3");
    assert_eq!(names, expected);
    assert_eq!(pages, 7);
    let (names, _) = list_all(&api, &keys, "prefix=b%2F&limit=2");
    let with_b: Vec<String> = expected
        .iter()
        .filter(|k| k.starts_with("b/"))
        .cloned()
        .collect();
    assert_eq!(names, with_b);
    assert_eq!(names.len(), 10);
    let (names, _) = list_all(&api, &keys, "prefix=b/x");
    assert_eq!(names.len(), 5);
    let (names, _) = list_all(&api, &keys, "prefix=zzz");
    assert!(names.is_empty());
}

#[test]
fn key_lists_default_to_and_clamp_at_1000() {
    let api = Api::start();
    let keys = namespace(&api);
    for i in 0..1001 {
        assert_eq!(api.put(&format!("{keys}/k{i:04}"), "v").status(), 201);
    }
    for query in ["", "?limit=5000"] {
        let body = json(api.get(&format!("{keys}{query}")), 200);
        assert_eq!(
            body["data"].as_array().expect("array").len(),
            1000,
            "{query}"
        );
        assert_eq!(body["meta"]["has_more"], true);
        let cursor = body["meta"]["cursor"].as_str().expect("cursor");
        let rest = json(api.get(&format!("{keys}?cursor={cursor}")), 200);
        assert_eq!(
            rest["data"],
            json!([{"key": "k1000", "size_bytes": 1, "updated_at": rest["data"][0]["updated_at"]}])
        );
        assert_eq!(rest["meta"], json!({"has_more": false}));
    }
}

#[test]
fn key_lists_refuse_bad_limits_and_unreadable_cursors() {
    let api = Api::start();
    let keys = namespace(&api);
    for query in ["limit=0", "limit=-1", "limit=abc", "limit=2.5", "limit="] {
        let detail = assert_error(
            api.get(&format!("{keys}?{query}")),
            400,
            "10015",
            "Bad request",
        );
        assert!(detail.contains("`limit`"), "{detail}");
    }
    for cursor in ["%21%21%21", "not-base64!", "X19yZXNlcnZlZA"] {
        let detail = assert_error(
            api.get(&format!("{keys}?cursor={cursor}")),
            400,
            "10015",
            "Bad request",
        );
        assert!(detail.contains("`cursor`"), "{detail}");
    }
}
