//! What the emulator does around every operation: auth, rate limits, unknown paths and methods,
//! request ids.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use telnyx_edge::emulator::Config;

use crate::support::api::{Api, TOKEN, assert_error, json};

const UNAUTHORIZED_DETAIL: &str =
    "The API key is missing or invalid; send `Authorization: Bearer <API key>`";

#[test]
fn requests_without_a_bearer_token_get_401() {
    let api = Api::start();
    let missing = api
        .anonymous(Method::GET, "/storage/kvs")
        .send()
        .expect("answered");
    let detail = assert_error(missing, 401, "10009", "Authentication failed");
    assert_eq!(detail, UNAUTHORIZED_DETAIL);
    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "KEYabc"] {
        let response = api
            .anonymous(Method::POST, "/storage/kvs")
            .header("authorization", header)
            .json(&json!({"name": "x"}))
            .send()
            .expect("answered");
        assert_error(response, 401, "10009", "Authentication failed");
    }
    // Nothing was created by the refused requests.
    assert_eq!(
        json(api.get("/storage/kvs"), 200)["meta"]["total_results"],
        0
    );
    // Any token is accepted when no key is configured; the scheme is case-insensitive.
    let lower = api
        .anonymous(Method::GET, "/storage/kvs")
        .header("authorization", "bearer anything")
        .send()
        .expect("answered");
    assert_eq!(lower.status(), 200);
}

#[test]
fn every_operation_requires_the_token() {
    let api = Api::start();
    let id = api.create("guarded");
    api.put(&format!("/storage/kvs/{id}/keys/k"), "v");
    for (method, path) in [
        (Method::GET, "/storage/kvs".to_owned()),
        (Method::POST, "/storage/kvs".to_owned()),
        (Method::GET, format!("/storage/kvs/{id}")),
        (Method::DELETE, format!("/storage/kvs/{id}")),
        (Method::GET, format!("/storage/kvs/{id}/keys")),
        (Method::GET, format!("/storage/kvs/{id}/keys/k")),
        (Method::PUT, format!("/storage/kvs/{id}/keys/k")),
        (Method::DELETE, format!("/storage/kvs/{id}/keys/k")),
    ] {
        let response = api
            .anonymous(method.clone(), &path)
            .header("content-type", "application/json")
            .body("{\"name\": \"x\"}")
            .send()
            .expect("answered");
        let detail = assert_error(response, 401, "10009", "Authentication failed");
        assert_eq!(detail, UNAUTHORIZED_DETAIL, "{method} {path}");
    }
    // Nothing changed.
    let value = api.get(&format!("/storage/kvs/{id}/keys/k"));
    assert_eq!(value.bytes().expect("body").as_ref(), b"v");
    assert_eq!(
        json(api.get("/storage/kvs"), 200)["meta"]["total_results"],
        1
    );
}

#[test]
fn a_configured_key_is_the_only_one_accepted_and_is_never_echoed() {
    let api = Api::with(Config {
        api_key: Some(TOKEN.into()),
        ..Config::in_memory()
    });
    assert_eq!(api.get("/storage/kvs").status(), 200);
    let wrong = api
        .anonymous(Method::GET, "/storage/kvs")
        .bearer_auth("KEYwrong-secret")
        .send()
        .expect("answered");
    assert_eq!(wrong.status(), 401);
    let text = wrong.text().expect("body");
    assert!(!text.contains("KEYwrong-secret"), "{text}");
    let body: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(
        body,
        json!({"errors": [{"code": "10009", "title": "Authentication failed", "detail": UNAUTHORIZED_DETAIL}]})
    );
}

#[test]
fn the_rate_limit_answers_429_with_headers() {
    let api = Api::with(Config {
        rate_limit: Some(3),
        ..Config::in_memory()
    });
    // Requests are counted per one-second window; start right after a window opens so that all
    // four requests below fall into the same one.
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..4 {
        let response = api.get("/storage/kvs");
        let headers = response.headers();
        assert_eq!(headers["x-ratelimit-limit"], "3");
        statuses.push(response.status().as_u16());
        if response.status() == 429 {
            limited = Some(response);
            break;
        }
    }
    let limited = limited.expect("the fourth request in one second is limited");
    assert_eq!(statuses, [200, 200, 200, 429]);
    let headers = limited.headers().clone();
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(headers["x-ratelimit-reset"], "1");
    assert_eq!(headers["retry-after"], "1");
    assert_error(limited, 429, "10011", "Too many requests");
    std::thread::sleep(Duration::from_millis(1100));
    let after = api.get("/storage/kvs");
    assert_eq!(after.status(), 200);
    assert_eq!(after.headers()["x-ratelimit-remaining"], "2");
}

#[test]
fn unknown_paths_get_404_and_unknown_methods_405_in_the_error_shape() {
    let api = Api::start();
    for path in ["/nope", "/storage", "/storage/kvs/x/y/z/keys"] {
        let detail = assert_error(api.get(path), 404, "10005", "Resource not found");
        assert!(detail.contains("No such API path"), "{path}: {detail}");
    }
    let outside = api
        .anonymous(Method::GET, "")
        .bearer_auth(TOKEN)
        .send()
        .expect("answered");
    assert_eq!(outside.status(), 404);
    let id = api.create("methods");
    for (method, path, allow) in [
        (
            Method::PATCH,
            format!("/storage/kvs/{id}"),
            "GET,HEAD,DELETE",
        ),
        (Method::DELETE, "/storage/kvs".to_owned(), "GET,HEAD,POST"),
        (
            Method::POST,
            format!("/storage/kvs/{id}/keys/k"),
            "GET,HEAD,PUT,DELETE",
        ),
    ] {
        let response = api.req(method.clone(), &path).send().expect("answered");
        let got = response.headers()["allow"]
            .to_str()
            .expect("ASCII")
            .to_owned();
        assert_eq!(got, allow, "{method} {path}");
        assert_error(response, 405, "10015", "Method not allowed");
    }
}

#[test]
fn every_response_carries_a_request_id() {
    let api = Api::start();
    let ok = api.get("/storage/kvs");
    let error = api.get("/storage/kvs/bad");
    let first = ok.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    let second = error.headers()["x-request-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(uuid::Uuid::try_parse(&first).is_ok());
    assert_ne!(first, second);
}

#[test]
fn accept_headers_of_the_official_sdks_do_not_change_answers() {
    let api = Api::start();
    let id = api.create("sdk");
    let keys = format!("/storage/kvs/{id}/keys");
    let put = api
        .req(Method::PUT, &format!("{keys}/user%2F1"))
        .header("accept", "*/*")
        .header("content-type", "application/octet-stream")
        .body("v")
        .send()
        .expect("answered");
    assert_eq!(put.status(), 201);
    let get = api
        .req(Method::GET, &format!("{keys}/user%2F1"))
        .header("accept", "application/octet-stream")
        .send()
        .expect("answered");
    assert_eq!(get.bytes().expect("body").as_ref(), b"v");
    let list = api
        .req(Method::GET, "/storage/kvs?page%5Bnumber%5D=1")
        .header("accept", "application/json")
        .send()
        .expect("answered");
    assert_eq!(json(list, 200)["data"][0]["id"], id.as_str());
}
