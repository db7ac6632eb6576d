//! The data explorer's guards and entry points over raw HTTP (issue #17); tests/browser/ drives
//! the page itself in Chromium.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};

use reqwest::blocking::{Client, Response};
use reqwest::header;
use serde_json::{Value, json};

use crate::support::api::Api;
use crate::support::cli::scrubbed;

/// A running `serve` or `ui`, with the first line it printed on stdout.
struct Running {
    child: Child,
    first_line: String,
}

impl Running {
    fn start(mut command: std::process::Command) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("reads");
        assert!(line.ends_with('\n'), "printed {line:?}");
        Self {
            child,
            first_line: line.trim_end().to_owned(),
        }
    }

    /// Stops it as Ctrl-C would; the exit code.
    fn interrupt(mut self) -> Option<i32> {
        let status = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.wait().expect("exits").code()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a page's URL names: `http://127.0.0.1:PORT`, the port and the token.
struct Address {
    origin: String,
    port: String,
    token: String,
}

fn address(url: &str) -> Address {
    let (origin, token) = url.split_once("/?token=").expect("a token in the URL");
    assert!(origin.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(token.len(), 64, "{url}");
    Address {
        origin: origin.to_owned(),
        port: origin.rsplit(':').next().expect("port").to_owned(),
        token: token.to_owned(),
    }
}

fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("client")
}

impl Address {
    fn cookie(&self) -> String {
        format!("telnyx_edge_explorer_{}={}", self.port, self.token)
    }

    /// A call that changes data, as the page makes it: the cookie and the explorer's header.
    fn write(&self, method: reqwest::Method, path: &str) -> reqwest::blocking::RequestBuilder {
        client()
            .request(method, format!("{}{path}", self.origin))
            .header(header::COOKIE, self.cookie())
            .header("x-telnyx-edge-explorer", "1")
    }

    /// A request with the token's cookie.
    fn get(&self, path: &str) -> Response {
        client()
            .get(format!("{}{path}", self.origin))
            .header(header::COOKIE, self.cookie())
            .send()
            .expect("answered")
    }
}

fn no_cors(response: &Response) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-allow-credentials",
    ] {
        assert!(
            response.headers().get(name).is_none(),
            "{name} in {:?}",
            response.headers()
        );
    }
}

fn serve() -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = scrubbed(dir.path());
    command.args([
        "--json",
        "storage",
        "kv",
        "serve",
        "--port",
        "0",
        "--in-memory",
        "--provision-delay",
        "0",
    ]);
    (Running::start(command), dir)
}

#[test]
fn serve_offers_the_explorer_at_its_root_behind_a_token_cookie() {
    let (served, _dir) = serve();
    let listening: Value = serde_json::from_str(&served.first_line).expect("JSON");
    let url = listening["explorer_url"].as_str().expect("explorer_url");
    let at = address(url);
    assert_eq!(
        listening["base_url"].as_str(),
        Some(format!("{}/v2", at.origin).as_str())
    );

    // The token is traded for a cookie, and the address bar loses it.
    let traded = client().get(url).send().expect("answered");
    assert_eq!(traded.status(), 303);
    assert_eq!(traded.headers()[header::LOCATION], "/");
    let cookie = traded.headers()[header::SET_COOKIE].to_str().expect("text");
    assert_eq!(
        cookie,
        format!("{}; HttpOnly; SameSite=Strict; Path=/", at.cookie())
    );
    assert_eq!(traded.headers()[header::REFERRER_POLICY], "no-referrer");

    let page = at.get("/");
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let csp = page.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("text")
        .to_owned();
    assert!(
        csp.contains("default-src 'none'; script-src 'self'"),
        "{csp}"
    );
    let html = page.text().expect("body");
    assert!(html.contains(r#"<script type="module" src="/js/main.js"></script>"#));
    for (asset, content_type) in [
        ("/js/main.js", "text/javascript; charset=utf-8"),
        ("/js/value.js", "text/javascript; charset=utf-8"),
        ("/explorer.css", "text/css; charset=utf-8"),
        ("/explorer.svg", "image/svg+xml"),
    ] {
        let response = at.get(asset);
        assert_eq!(response.status(), 200, "{asset}");
        assert_eq!(response.headers()[header::CONTENT_TYPE], content_type);
    }
    assert_eq!(at.get("/js/explorer.css").status(), 404);
    assert_eq!(at.get("/js/nothing.js").status(), 404);

    // No token, or another one: 401, for the page and for its calls.
    let anonymous = client()
        .get(format!("{}/", at.origin))
        .send()
        .expect("answered");
    assert_eq!(anonymous.status(), 401);
    let wrong = client()
        .get(format!("{}/?token={}", at.origin, "0".repeat(64)))
        .send()
        .expect("answered");
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let call = client()
        .get(format!("{}/explorer/api/namespaces", at.origin))
        .send()
        .expect("answered");
    assert_eq!(call.status(), 401);

    // A foreign Host (DNS rebinding) is refused even with the cookie.
    let rebound = client()
        .get(format!("{}/explorer/api/namespaces", at.origin))
        .header(header::HOST, format!("evil.example:{}", at.port))
        .header(header::COOKIE, at.cookie())
        .send()
        .expect("answered");
    assert_eq!(rebound.status(), 403);

    // Other origins: no preflight, no CORS headers, and their requests are refused.
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/explorer/api/namespaces", at.origin),
        )
        .header(header::ORIGIN, "http://evil.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-telnyx-edge-explorer")
        .send()
        .expect("answered");
    assert_eq!(preflight.status(), 403);
    no_cors(&preflight);
    let foreign = client()
        .get(format!("{}/explorer/api/namespaces", at.origin))
        .header(header::ORIGIN, "http://evil.example")
        .header(header::COOKIE, at.cookie())
        .send()
        .expect("answered");
    assert_eq!(foreign.status(), 403);
    no_cors(&foreign);

    // A change needs the explorer's header, which a cross-site form cannot send.
    let create = |with_header: bool| {
        let mut request = client()
            .post(format!("{}/explorer/api/namespaces", at.origin))
            .header(header::COOKIE, at.cookie())
            .json(&serde_json::json!({"name": "from-explorer"}));
        if with_header {
            request = request.header("x-telnyx-edge-explorer", "1");
        }
        request.send().expect("answered")
    };
    assert_eq!(create(false).status(), 403);
    let created = create(true);
    assert_eq!(created.status(), 201);
    let ns: Value = created.json().expect("JSON");
    let id = ns["id"].as_str().expect("id").to_owned();
    let listed: Value = at.get("/explorer/api/namespaces").json().expect("JSON");
    assert_eq!(listed[0]["name"], "from-explorer");

    // A stored HTML value is served as a sandboxed attachment, never as a page.
    let put = at
        .write(
            reqwest::Method::PUT,
            &format!("/explorer/api/namespaces/{id}/value?key=page.html"),
        )
        .header(header::CONTENT_TYPE, "text/html")
        .body("<script>alert(1)</script>")
        .send()
        .expect("answered");
    assert_eq!(put.status(), 200);
    let value = at.get(&format!(
        "/explorer/api/namespaces/{id}/value?key=page.html"
    ));
    assert_eq!(value.status(), 200);
    assert_eq!(
        value.headers()[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(value.headers()["x-value-content-type"], "text/html");
    assert_eq!(
        value.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"page.html\""
    );
    assert_eq!(value.headers()[header::CONTENT_SECURITY_POLICY], "sandbox");
    assert_eq!(value.text().expect("body"), "<script>alert(1)</script>");
    let keys: Value = at
        .get(&format!("/explorer/api/namespaces/{id}/keys?limit=10"))
        .json()
        .expect("JSON");
    assert_eq!(keys["keys"][0]["key"], "page.html");
    assert_eq!(keys["keys"][0]["size_bytes"], 25);
    assert_eq!(keys["cursor"], Value::Null);
    let bad = at.get(&format!(
        "/explorer/api/namespaces/{id}/value?key=_reserved"
    ));
    assert_eq!(bad.status(), 400);

    // The API is where it was, and answers as before.
    let api = client()
        .get(format!("{}/v2/storage/kvs", at.origin))
        .bearer_auth("KEYany")
        .send()
        .expect("answered");
    assert_eq!(api.status(), 200);
    assert_eq!(served.interrupt(), Some(0));
}

#[test]
fn ui_serves_the_explorer_for_the_service_and_keeps_the_api_key_to_itself() {
    const SECRET: &str = "KEYsecret-never-in-the-browser-0123456789";
    let api = Api::with(telnyx_edge::emulator::Config {
        api_key: Some(SECRET.into()),
        ..telnyx_edge::emulator::Config::in_memory()
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = scrubbed(dir.path());
    command
        .env("TELNYX_BASE_URL", api.base_url())
        .env("TELNYX_API_KEY", SECRET)
        // A display is there, but `--no-open` is asked for.
        .env("DISPLAY", ":99")
        .env("BROWSER", "/bin/false")
        .args(["storage", "kv", "ui", "--no-open"]);
    let running = Running::start(command);
    let at = address(&running.first_line);
    let mut seen = String::new();
    for path in ["/", "/js/main.js", "/explorer.css", "/explorer/api/info"] {
        let response = at.get(path);
        assert_eq!(response.status(), 200, "{path}");
        seen.push_str(&format!("{:?}", response.headers()));
        seen.push_str(&response.text().expect("body"));
    }
    // Against the service, it starts read-only: a write is refused until the switch is on.
    let refused = at
        .write(reqwest::Method::POST, "/explorer/api/namespaces")
        .json(&serde_json::json!({"name": "via-ui"}))
        .send()
        .expect("answered");
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().expect("JSON");
    assert_eq!(
        body["error"],
        "the explorer is read-only: turn on \"Allow changes\" to write"
    );
    let info: Value =
        serde_json::from_str(&at.get("/explorer/api/info").text().expect("body")).expect("JSON");
    assert_eq!(
        (&info["writable"], &info["switch"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(
        (&info["expiry"], &info["log"]),
        (&json!(false), &json!(false))
    );
    let switched = at
        .write(reqwest::Method::PUT, "/explorer/api/writes")
        .json(&serde_json::json!({"writable": true}))
        .send()
        .expect("answered");
    assert_eq!(switched.text().expect("body"), r#"{"writable":true}"#);
    // The page's calls work: this process adds the credentials the service asks for.
    let created = at
        .write(reqwest::Method::POST, "/explorer/api/namespaces")
        .json(&serde_json::json!({"name": "via-ui"}))
        .send()
        .expect("answered");
    assert_eq!(created.status(), 201);
    seen.push_str(&created.text().expect("body"));
    let listed = at.get("/explorer/api/namespaces");
    assert_eq!(listed.status(), 200);
    let listed = listed.text().expect("body");
    assert!(listed.contains("via-ui"), "{listed}");
    seen.push_str(&listed);
    assert!(!seen.contains(SECRET), "the API key reached the browser");
    assert!(
        !seen.contains("secret-never"),
        "part of the API key reached the browser"
    );
    let info: Value =
        serde_json::from_str(&at.get("/explorer/api/info").text().expect("body")).expect("JSON");
    assert_eq!(info["target"], api.base_url());
    assert_eq!(running.interrupt(), Some(0));
}

#[test]
fn ui_with_local_shows_local_state_and_says_so_in_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("func.toml"), "[edge_compute]\n").expect("write");
    let mut command = scrubbed(dir.path());
    command.args(["--local", "--json", "storage", "kv", "ui", "--no-open"]);
    let running = Running::start(command);
    let serving: Value = serde_json::from_str(&running.first_line).expect("JSON");
    assert_eq!(serving["target"], "local state (--local)");
    let at = address(serving["url"].as_str().expect("url"));
    // Local state: writes on without a switch, expiries from the store, no request log.
    let info: Value = at.get("/explorer/api/info").json().expect("JSON");
    assert_eq!(
        info,
        json!({"target": "local state (--local)", "writable": true, "switch": false,
               "expiry": true, "log": false})
    );
    assert_eq!(at.get("/explorer/api/requests").status(), 404);
    let created = at
        .write(reqwest::Method::POST, "/explorer/api/namespaces")
        .json(&serde_json::json!({"name": "local-one"}))
        .send()
        .expect("answered");
    assert_eq!(created.status(), 201);
    assert_eq!(running.interrupt(), Some(0));
    let listed = scrubbed(dir.path())
        .args(["--local", "-o", "ids", "storage", "kv", "list"])
        .output()
        .expect("runs");
    assert_eq!(listed.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 1);
}

#[test]
fn a_tossed_cookie_cannot_lock_the_user_out_and_refusals_are_json() {
    let (served, _dir) = serve();
    let listening: Value = serde_json::from_str(&served.first_line).expect("JSON");
    let at = address(listening["explorer_url"].as_str().expect("url"));
    // Another page on 127.0.0.1 set a cookie of the same name, sent first.
    let name = format!("telnyx_edge_explorer_{}", at.port);
    let tossed = client()
        .get(format!("{}/explorer/api/namespaces", at.origin))
        .header(header::COOKIE, format!("{name}=x; {}", at.cookie()))
        .send()
        .expect("answered");
    assert_eq!(tossed.status(), 200);
    // An IPv4-mapped loopback Host is loopback.
    let mapped = client()
        .get(format!("{}/explorer/api/namespaces", at.origin))
        .header(header::HOST, format!("[::ffff:127.0.0.1]:{}", at.port))
        .header(header::COOKIE, at.cookie())
        .send()
        .expect("answered");
    assert_eq!(mapped.status(), 200);
    // axum's own refusals (a body that is not JSON) come as `{"error"}` like the rest.
    let refused = at
        .write(reqwest::Method::POST, "/explorer/api/namespaces")
        .header(header::CONTENT_TYPE, "text/plain")
        .body("name=x")
        .send()
        .expect("answered");
    assert_eq!(refused.status(), 415);
    let body: Value = refused.json().expect("JSON");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    let bad_ttl = at
        .write(
            reqwest::Method::PUT,
            &format!(
                "/explorer/api/namespaces/{}/value?key=k&ttl_secs=-1",
                uuid::Uuid::new_v4()
            ),
        )
        .body("v")
        .send()
        .expect("answered");
    assert_eq!(bad_ttl.status(), 400);
    let body: Value = bad_ttl.json().expect("JSON");
    assert!(body["error"].is_string(), "{body}");
}

#[test]
fn serve_on_another_loopback_address_prints_that_address() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = scrubbed(dir.path());
    command.args([
        "--json",
        "storage",
        "kv",
        "serve",
        "--port",
        "0",
        "--in-memory",
        "--host",
        "127.0.0.2",
    ]);
    let served = Running::start(command);
    let listening: Value = serde_json::from_str(&served.first_line).expect("JSON");
    let url = listening["explorer_url"].as_str().expect("url");
    assert!(url.starts_with("http://127.0.0.2:"), "{url}");
    let traded = client().get(url).send().expect("answered");
    assert_eq!(traded.status(), 303);
}

#[test]
fn ui_gives_the_browser_a_private_file_not_the_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("browser-args");
    let browser = dir.path().join("browser.sh");
    std::fs::write(
        &browser,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n",
            record.display()
        ),
    )
    .expect("write");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let mut command = scrubbed(dir.path());
    command
        .env("DISPLAY", ":99")
        .env("BROWSER", &browser)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["--local", "storage", "kv", "ui"]);
    let running = Running::start(command);
    let at = address(&running.first_line);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !record.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let args = std::fs::read_to_string(&record).expect("the browser was started");
    assert!(
        !args.contains(&at.token),
        "the token is on a command line: {args}"
    );
    let page = std::path::PathBuf::from(args.trim().trim_start_matches("file://"));
    let html = std::fs::read_to_string(&page).expect("the redirect file");
    assert!(html.contains(&running.first_line), "{html}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&page).expect("meta").permissions().mode();
        assert_eq!(mode & 0o077, 0, "only its owner can read it: {mode:o}");
    }
    assert_eq!(running.interrupt(), Some(0));
    assert!(!page.exists(), "the file goes when `ui` stops");
}

#[test]
fn edits_write_only_over_what_was_read_and_the_log_shows_requests() {
    let (served, _dir) = serve();
    let listening: Value = serde_json::from_str(&served.first_line).expect("JSON");
    let at = address(listening["explorer_url"].as_str().expect("url"));
    let base = listening["base_url"].as_str().expect("base");
    let ns: Value = client()
        .post(format!("{base}/storage/kvs"))
        .bearer_auth("x")
        .json(&json!({"name": "edits"}))
        .send()
        .expect("answered")
        .json()
        .expect("JSON");
    let id = ns["data"]["id"].as_str().expect("id").to_owned();
    let value = format!("/explorer/api/namespaces/{id}/value?key=conf");
    let put = |expect: &str, body: &'static str| {
        at.write(reqwest::Method::PUT, &format!("{value}&expect={expect}"))
            .header(header::CONTENT_TYPE, "text/plain")
            .body(body)
            .send()
            .expect("answered")
    };
    // "absent": only if the key does not exist yet.
    assert_eq!(put("absent", "one").status(), 200);
    let second = put("absent", "two");
    assert_eq!(second.status(), 409);
    let body: Value = second.json().expect("JSON");
    assert_eq!(body["error"], "conf already exists; nothing was written");
    // A digest from the value as read: only if it is still that value.
    let read = at.get(&value);
    let digest = read.headers()["x-value-digest"]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(digest.len(), 64);
    assert_eq!(read.text().expect("body"), "one");
    client()
        .put(format!("{base}/storage/kvs/{id}/keys/conf"))
        .bearer_auth("x")
        .header(header::CONTENT_TYPE, "text/plain")
        .body("changed elsewhere")
        .send()
        .expect("answered");
    let stale = put(&digest, "mine");
    assert_eq!(stale.status(), 409);
    let body: Value = stale.json().expect("JSON");
    assert_eq!(
        body["error"],
        "conf has changed since you opened it; nothing was written"
    );
    assert_eq!(at.get(&value).text().expect("body"), "changed elsewhere");
    let fresh = at.get(&value).headers()["x-value-digest"]
        .to_str()
        .expect("text")
        .to_owned();
    assert_eq!(put(&fresh, "mine").status(), 200);
    assert_eq!(at.get(&value).text().expect("body"), "mine");

    // Listings carry expiries from the emulator.
    at.write(
        reqwest::Method::PUT,
        &format!("/explorer/api/namespaces/{id}/value?key=s&ttl_secs=3600"),
    )
    .body("x")
    .send()
    .expect("answered");
    let listed: Value = at
        .get(&format!("/explorer/api/namespaces/{id}/keys"))
        .json()
        .expect("JSON");
    assert_eq!(listed["expiry"], true);
    assert!(listed["keys"][0]["expires_ms"].is_null(), "{listed}");
    let expires = listed["keys"][1]["expires_ms"].as_i64().expect("expiry");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    assert!(
        (now + 3_590_000..=now + 3_600_000).contains(&expires),
        "{expires}"
    );

    // Export and delete a selection.
    let exported = at
        .write(
            reqwest::Method::POST,
            &format!("/explorer/api/namespaces/{id}/export"),
        )
        .json(&json!({"keys": ["conf", "gone", "s"]}))
        .send()
        .expect("answered");
    assert_eq!(
        exported.headers()[header::CONTENT_TYPE],
        "application/x-ndjson"
    );
    assert_eq!(
        exported.text().expect("body"),
        concat!(
            r#"{"key":"conf","value":"mine","base64":false,"content_type":"text/plain"}"#,
            "\n",
            r#"{"key":"s","value":"x","base64":false,"content_type":"application/octet-stream"}"#,
            "\n"
        )
    );
    let deleted = at
        .write(
            reqwest::Method::POST,
            &format!("/explorer/api/namespaces/{id}/delete-keys"),
        )
        .json(&json!({"keys": ["conf", "s"]}))
        .send()
        .expect("answered");
    assert_eq!(
        deleted.text().expect("body"),
        r#"{"deleted":2,"failed":[]}"#
    );

    // serve has no write switch: the page cannot turn writes off.
    let switched = at
        .write(reqwest::Method::PUT, "/explorer/api/writes")
        .json(&json!({"writable": false}))
        .send()
        .expect("answered");
    assert_eq!(switched.status(), 403);
    let body: Value = switched.json().expect("JSON");
    assert_eq!(
        body["error"],
        "writes have no switch here: this explorer always allows them"
    );
    let info: Value = at.get("/explorer/api/info").json().expect("JSON");
    assert_eq!(info["writable"], true);

    // A save over a key whose namespace was deleted meanwhile blames the namespace.
    let digest = "0".repeat(64);
    let other: Value = client()
        .post(format!("{base}/storage/kvs"))
        .bearer_auth("x")
        .json(&json!({"name": "gone"}))
        .send()
        .expect("answered")
        .json()
        .expect("JSON");
    let other = other["data"]["id"].as_str().expect("id").to_owned();
    client()
        .delete(format!("{base}/storage/kvs/{other}"))
        .bearer_auth("x")
        .send()
        .expect("answered");
    // `deleting` for a moment, then gone.
    for _ in 0..100 {
        let status = client()
            .get(format!("{base}/storage/kvs/{other}"))
            .bearer_auth("x")
            .send()
            .expect("answered")
            .status();
        if status == 404 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let late = at
        .write(
            reqwest::Method::PUT,
            &format!("/explorer/api/namespaces/{other}/value?key=conf&expect={digest}"),
        )
        .body("mine")
        .send()
        .expect("answered");
    let status = late.status();
    let body: Value = late.json().expect("JSON");
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"], "KV namespace not found (HTTP 404)");

    // The log: the API's requests, the explorer's own marked; its polling is not logged.
    let log: Value = at
        .get("/explorer/api/requests?after=0")
        .json()
        .expect("JSON");
    let requests = log["requests"].as_array().expect("requests");
    let outside = requests
        .iter()
        .find(|r| r["method"] == "PUT" && r["explorer"] == false)
        .expect("the outside PUT is logged");
    assert_eq!(outside["path"], format!("/v2/storage/kvs/{id}/keys/conf"));
    assert_eq!(outside["status"], 200);
    assert!(
        requests
            .iter()
            .any(|r| r["explorer"] == true && r["method"] == "DELETE")
    );
    assert!(
        requests
            .iter()
            .all(|r| !r["path"].as_str().expect("path").contains("/explorer/"))
    );
    let last = requests.last().expect("some")["seq"].as_u64().expect("seq");
    let after: Value = at
        .get(&format!("/explorer/api/requests?after={last}"))
        .json()
        .expect("JSON");
    assert_eq!(after, json!({"requests": []}));
    assert_eq!(served.interrupt(), Some(0));
}
