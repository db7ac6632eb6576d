//! Helpers shared by the integration tests.

use std::path::Path;
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use telnyx_edge::emulator::{Background, Config, Storage};

pub const TOKEN: &str = "KEYtest-token";

/// An emulator in this process plus an HTTP client that talks to it.
pub struct Api {
    emulator: Background,
    client: Client,
}

impl Api {
    /// An in-memory emulator that provisions and deletes instantly.
    pub fn start() -> Self {
        Self::with(Config::in_memory())
    }

    pub fn with(config: Config) -> Self {
        let emulator = Background::start(config).expect("emulator starts");
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client builds");
        Self { emulator, client }
    }

    /// An emulator over the store in `dir`, which other emulators may serve too, with its clock
    /// `offset_ms` from this machine's: how a test sees the same service earlier or later
    /// without waiting for time to pass.
    pub fn on_disk(dir: &Path, offset_ms: i64) -> Self {
        Self::with(Config {
            storage: Storage::Dir(dir.to_path_buf()),
            clock_offset_ms: offset_ms,
            ..Config::in_memory()
        })
    }

    pub fn base_url(&self) -> String {
        self.emulator.base_url()
    }

    /// What the emulator has answered so far (requests, 429s, peak in flight).
    pub fn stats(&self) -> telnyx_edge::emulator::StatsSnapshot {
        self.emulator.stats()
    }

    /// Waits (up to 20 s) until the emulator has answered more than `seen` requests: how a test
    /// knows a command it started has reached its next request.
    pub fn wait_for_requests_beyond(&self, seen: u64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while self.stats().requests <= seen && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(self.stats().requests > seen, "no request came");
    }

    /// A request to `path` (below `/v2`), authenticated.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url()))
            .bearer_auth(TOKEN)
    }

    /// A request with no `Authorization` header.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base_url()))
    }

    pub fn get(&self, path: &str) -> Response {
        self.req(Method::GET, path).send().expect("GET is answered")
    }

    pub fn put(&self, path: &str, body: impl Into<reqwest::blocking::Body>) -> Response {
        self.req(Method::PUT, path)
            .body(body)
            .send()
            .expect("PUT is answered")
    }

    pub fn delete(&self, path: &str) -> Response {
        self.req(Method::DELETE, path)
            .send()
            .expect("DELETE is answered")
    }

    pub fn create_raw(&self, name: &str) -> Response {
        self.req(Method::POST, "/storage/kvs")
            .json(&serde_json::json!({ "name": name }))
            .send()
            .expect("POST is answered")
    }

    /// Creates a namespace and returns its id.
    pub fn create(&self, name: &str) -> String {
        let response = self.create_raw(name);
        assert_eq!(response.status(), 201, "creating `{name}`");
        let body: Value = response.json().expect("JSON body");
        body["data"]["id"]
            .as_str()
            .expect("the namespace has an id")
            .to_owned()
    }
}

/// Asserts that `response` is the Telnyx error shape with exactly these fields and returns its
/// `detail`.
pub fn assert_error(response: Response, status: u16, code: &str, title: &str) -> String {
    assert_eq!(response.status(), status, "status");
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "errors are JSON"
    );
    let body: Value = response.json().expect("JSON error body");
    let errors = body["errors"].as_array().expect("`errors` is an array");
    assert_eq!(errors.len(), 1, "{body}");
    let error = &errors[0];
    assert_eq!(error["code"], code, "{body}");
    assert_eq!(error["title"], title, "{body}");
    error["detail"]
        .as_str()
        .expect("every error has a detail")
        .to_owned()
}

/// The JSON body of a successful response, checking the status first.
pub fn json(response: Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status");
    response.json().expect("JSON body")
}

/// Whether `s` is an RFC 3339 UTC timestamp to the second, as the service writes them.
pub fn is_timestamp(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    s.len() == 20 && s.ends_with('Z') && humantime::parse_rfc3339(s).is_ok()
}

/// Sends one HTTP/1.1 request with `target` exactly as written, for paths an URL library would
/// rewrite (`/keys/%2E` is a dot segment to WHATWG parsers). Returns the status and body.
pub fn raw_request(api: &Api, method: &str, target: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let url = api.base_url();
    let authority = url
        .trim_start_matches("http://")
        .trim_end_matches("/v2")
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&authority).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "{method} /v2{target} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("writes");
    stream.write_all(body).expect("writes");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("reads");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    (status, response[split + 4..].to_vec())
}
