//! The namespace endpoints of the emulator: `/storage/kvs` and `/storage/kvs/{id}`.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use telnyx_edge::emulator::{Config, Storage};

use crate::support::api::{Api, assert_error, is_timestamp, json};

const MISSING_ID: &str = "550e8400-e29b-41d4-a716-446655440000";

#[test]
fn create_answers_201_with_a_pending_namespace() {
    let api = Api::start();
    let body = json(api.create_raw("my-cache"), 201);
    let data = &body["data"];
    let id = data["id"].as_str().expect("id");
    assert!(uuid::Uuid::try_parse(id).is_ok(), "{id}");
    assert_eq!(id, id.to_lowercase());
    assert!(is_timestamp(&data["created_at"]), "{data}");
    assert_eq!(data["created_at"], data["updated_at"]);
    assert_eq!(
        body,
        json!({"data": {
            "record_type": "storage_kv", "id": id, "name": "my-cache", "status": "pending",
            "created_at": data["created_at"], "updated_at": data["created_at"],
        }})
    );
}

#[test]
fn create_refuses_invalid_names_with_400() {
    let api = Api::start();
    let long = "a".repeat(256);
    for name in [
        "My-Cache",
        "my_cache",
        "my cache",
        "",
        "café",
        long.as_str(),
    ] {
        let detail = assert_error(api.create_raw(name), 400, "10015", "Bad request");
        assert!(detail.contains("namespace name"), "{name}: {detail}");
    }
    let ok = "a".repeat(255);
    assert_eq!(api.create_raw(&ok).status(), 201);
    let list = json(api.get("/storage/kvs"), 200);
    assert_eq!(
        list["meta"]["total_results"], 1,
        "only the valid name was created"
    );
}

#[test]
fn create_points_at_the_name_and_says_what_is_allowed() {
    let api = Api::start();
    let response = api.create_raw("My_Cache");
    assert_eq!(response.status(), 400);
    let body: Value = response.json().expect("JSON");
    assert_eq!(
        body,
        json!({"errors": [{
            "code": "10015", "title": "Bad request",
            "detail": "namespace name `My_Cache` has characters that are not allowed; use lowercase letters a-z, digits and `-`",
            "source": {"pointer": "/name"},
        }]})
    );
}

#[test]
fn create_refuses_a_taken_name_with_409() {
    let api = Api::start();
    api.create("dup");
    let response = api.create_raw("dup");
    assert_eq!(response.status(), 409);
    let body: Value = response.json().expect("JSON");
    assert_eq!(
        body,
        json!({"errors": [{
            "code": "10012", "title": "Duplicate name",
            "detail": "A KV namespace named `dup` already exists",
            "source": {"pointer": "/name"},
        }]})
    );
}

#[test]
fn create_refuses_bodies_that_are_not_a_name_object() {
    let api = Api::start();
    let post = |content_type: Option<&str>, body: &'static str| {
        let mut request = api.req(Method::POST, "/storage/kvs").body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send().expect("answered")
    };
    let json_type = Some("application/json");
    for (content_type, body, expected) in [
        (json_type, "{\"name\": ", "request body is not valid JSON"),
        (json_type, "", "request body is not valid JSON"),
        (json_type, "{}", "`name` is required"),
        (json_type, "{\"name\": 5}", "`name` must be a string"),
        (json_type, "[\"a\"]", "must be a JSON object"),
        (
            Some("text/plain"),
            "{\"name\": \"a\"}",
            "Content-Type must be application/json, not `text/plain`",
        ),
    ] {
        let detail = assert_error(post(content_type, body), 400, "10015", "Bad request");
        assert!(detail.contains(expected), "{body}: {detail}");
    }
    // Without a Content-Type a JSON body is still understood, and charset parameters are fine.
    assert_eq!(post(None, "{\"name\": \"a\"}").status(), 201);
    assert_eq!(
        post(Some("application/json; charset=utf-8"), "{\"name\": \"b\"}").status(),
        201
    );
    let huge: &'static str =
        Box::leak(format!("{{\"name\": \"{}\"}}", "a".repeat(70_000)).into_boxed_str());
    let detail = assert_error(post(json_type, huge), 400, "10015", "Bad request");
    assert!(detail.contains("too large"), "{detail}");
}

#[test]
fn get_answers_the_namespace_and_its_status() {
    let api = Api::start();
    let id = api.create("orders");
    let body = json(api.get(&format!("/storage/kvs/{id}")), 200);
    let data = &body["data"];
    assert_eq!(data["id"], id.as_str());
    assert_eq!(data["name"], "orders");
    assert_eq!(data["record_type"], "storage_kv");
    assert_eq!(data["status"], "provision_ok");
    assert!(is_timestamp(&data["updated_at"]));
    // Ids are case-insensitive UUIDs.
    let upper = json(api.get(&format!("/storage/kvs/{}", id.to_uppercase())), 200);
    assert_eq!(upper["data"]["id"], id.as_str());
}

#[test]
fn get_answers_400_for_a_non_uuid_and_404_for_an_unknown_id() {
    let api = Api::start();
    let detail = assert_error(
        api.get("/storage/kvs/not-a-uuid"),
        400,
        "10015",
        "Bad request",
    );
    assert!(detail.contains("is not a KV namespace id"), "{detail}");
    let response = api.get(&format!("/storage/kvs/{MISSING_ID}"));
    assert_eq!(response.status(), 404);
    let body: Value = response.json().expect("JSON");
    assert_eq!(
        body,
        json!({"errors": [{
            "code": "10005", "title": "Resource not found",
            "detail": "KV namespace not found", "source": {"parameter": "id"},
        }]})
    );
}

#[test]
fn list_is_empty_with_meta_when_there_is_nothing() {
    let api = Api::start();
    assert_eq!(
        json(api.get("/storage/kvs"), 200),
        json!({"data": [], "meta": {"page_number": 1, "page_size": 20, "total_pages": 0, "total_results": 0}})
    );
}

fn names(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data is an array")
        .iter()
        .map(|ns| ns["name"].as_str().expect("name").to_owned())
        .collect()
}

#[test]
fn list_pages_in_created_then_id_order() {
    let api = Api::start();
    for i in 0..5 {
        api.create(&format!("ns-{i}"));
    }
    let all = json(api.get("/storage/kvs?page[size]=250"), 200);
    let mut expected: Vec<(String, String, String)> = all["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|ns| {
            (
                ns["created_at"].as_str().expect("created_at").to_owned(),
                ns["id"].as_str().expect("id").to_owned(),
                ns["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    expected.sort();
    let order: Vec<String> = expected.into_iter().map(|(_, _, name)| name).collect();
    assert_eq!(names(&all), order);

    let mut seen = Vec::new();
    for page in 1..=3 {
        // Brackets literal or percent-encoded mean the same.
        let path = if page % 2 == 0 {
            format!("/storage/kvs?page%5Bnumber%5D={page}&page%5Bsize%5D=2")
        } else {
            format!("/storage/kvs?page[number]={page}&page[size]=2")
        };
        let body = json(api.get(&path), 200);
        assert_eq!(
            body["meta"],
            json!({"page_number": page, "page_size": 2, "total_pages": 3, "total_results": 5})
        );
        seen.extend(names(&body));
    }
    assert_eq!(seen, order);
    let past_end = json(api.get("/storage/kvs?page[number]=4&page[size]=2"), 200);
    assert_eq!(
        past_end,
        json!({"data": [], "meta": {"page_number": 4, "page_size": 2, "total_pages": 3, "total_results": 5}})
    );
    let far = json(
        api.get("/storage/kvs?page[number]=99999999999999999999"),
        200,
    );
    assert_eq!(far["data"], json!([]));
}

#[test]
fn list_clamps_large_page_sizes_to_250() {
    let api = Api::start();
    let body = json(api.get("/storage/kvs?page[size]=1000"), 200);
    assert_eq!(body["meta"]["page_size"], 250);
}

#[test]
fn list_refuses_page_values_below_one_or_not_integers() {
    let api = Api::start();
    for query in [
        "page[number]=0",
        "page[number]=-1",
        "page[number]=abc",
        "page[number]=1.5",
        "page[size]=0",
        "page[size]=-20",
        "page%5Bsize%5D=",
    ] {
        let detail = assert_error(
            api.get(&format!("/storage/kvs?{query}")),
            400,
            "10015",
            "Bad request",
        );
        assert!(
            detail.contains("must be a whole number of at least 1"),
            "{query}: {detail}"
        );
    }
}

#[test]
fn delete_answers_deleting_then_the_namespace_is_gone() {
    let store = tempfile::tempdir().expect("tempdir");
    let api = Api::with(Config {
        delete_delay: Duration::from_millis(400),
        storage: Storage::Dir(store.path().to_path_buf()),
        ..Config::in_memory()
    });
    let id = api.create("doomed");
    let body = json(api.delete(&format!("/storage/kvs/{id}")), 200);
    assert_eq!(body["data"]["status"], "deleting");
    assert_eq!(body["data"]["name"], "doomed");
    assert!(is_timestamp(&body["data"]["updated_at"]));
    let during = json(api.get(&format!("/storage/kvs/{id}")), 200);
    assert_eq!(during["data"]["status"], "deleting");
    let detail = assert_error(
        api.delete(&format!("/storage/kvs/{id}")),
        409,
        "10015",
        "Conflict",
    );
    assert_eq!(
        detail,
        "KV namespace is already being deleted (status: deleting)"
    );
    // The name stays taken while the namespace is being deleted.
    assert_error(api.create_raw("doomed"), 409, "10012", "Duplicate name");

    // The same service 0.5 s later, by its clock.
    let api = Api::on_disk(store.path(), 500);
    assert_error(
        api.get(&format!("/storage/kvs/{id}")),
        404,
        "10005",
        "Resource not found",
    );
    assert_error(
        api.delete(&format!("/storage/kvs/{id}")),
        404,
        "10005",
        "Resource not found",
    );
    assert_eq!(
        json(api.get("/storage/kvs"), 200)["meta"]["total_results"],
        0
    );
    let reused = api.create("doomed");
    assert_ne!(reused, id);
}

#[test]
fn delete_answers_400_and_404_like_get() {
    let api = Api::start();
    assert_error(api.delete("/storage/kvs/xyz"), 400, "10015", "Bad request");
    assert_error(
        api.delete(&format!("/storage/kvs/{MISSING_ID}")),
        404,
        "10005",
        "Resource not found",
    );
}

#[test]
fn a_new_namespace_is_pending_until_the_provision_delay_passes() {
    let store = tempfile::tempdir().expect("tempdir");
    let api = Api::with(Config {
        provision_delay: Duration::from_millis(400),
        storage: Storage::Dir(store.path().to_path_buf()),
        ..Config::in_memory()
    });
    let id = api.create("slow");
    let ns = format!("/storage/kvs/{id}");
    assert_eq!(json(api.get(&ns), 200)["data"]["status"], "pending");
    let keys = format!("{ns}/keys/k");
    let detail = assert_error(api.put(&keys, "v"), 409, "10015", "Conflict");
    assert_eq!(detail, "Namespace is not ready (status: pending)");
    assert_error(api.get(&keys), 409, "10015", "Conflict");
    assert_error(api.delete(&keys), 409, "10015", "Conflict");
    assert_error(api.get(&format!("{ns}/keys")), 409, "10015", "Conflict");

    // The same service 0.5 s later, by its clock.
    let api = Api::on_disk(store.path(), 500);
    assert_eq!(json(api.get(&ns), 200)["data"]["status"], "provision_ok");
    assert_eq!(api.put(&keys, "v").status(), 201);
}

#[test]
fn chosen_names_fail_provisioning() {
    let api = Api::with(Config {
        fail_provision: vec!["broken".into()],
        ..Config::in_memory()
    });
    let broken = api.create("broken");
    let fine = api.create("fine");
    assert_eq!(
        json(api.get(&format!("/storage/kvs/{broken}")), 200)["data"]["status"],
        "provision_failed"
    );
    assert_eq!(
        json(api.get(&format!("/storage/kvs/{fine}")), 200)["data"]["status"],
        "provision_ok"
    );
    let detail = assert_error(
        api.put(&format!("/storage/kvs/{broken}/keys/k"), "v"),
        409,
        "10015",
        "Conflict",
    );
    assert_eq!(detail, "Namespace is not ready (status: provision_failed)");
    // A failed namespace can still be deleted.
    assert_eq!(api.delete(&format!("/storage/kvs/{broken}")).status(), 200);
}

#[test]
fn key_operations_on_a_deleting_namespace_conflict() {
    let api = Api::with(Config {
        delete_delay: Duration::from_secs(30),
        ..Config::in_memory()
    });
    let id = api.create("going");
    assert_eq!(
        api.put(&format!("/storage/kvs/{id}/keys/k"), "v").status(),
        201
    );
    assert_eq!(api.delete(&format!("/storage/kvs/{id}")).status(), 200);
    let detail = assert_error(
        api.get(&format!("/storage/kvs/{id}/keys/k")),
        409,
        "10015",
        "Conflict",
    );
    assert_eq!(detail, "Namespace is not ready (status: deleting)");
}
