//! The HTTP layer as a user behind a proxy, a company CA or a broken server meets it: proxies
//! from the environment, trust from `SSL_CERT_FILE`/`SSL_CERT_DIR`, stalled and endless bodies,
//! the waits a server asks for, and honest failure messages.

use std::net::SocketAddr;

use serde_json::Value;

use crate::support::cli::{Kv, against, outcome};
use crate::support::fault::{Fault, FaultServer};
use crate::support::net::{Proxy, Seen, TestCa, TlsFront};
use crate::support::output::shown;

const NS: &str = "550e8400-e29b-41d4-a716-446655440000";

fn emulator_addr(kv: &Kv) -> SocketAddr {
    kv.api
        .base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v2")
        .parse()
        .expect("the emulator listens on an address")
}

#[test]
fn http_requests_go_through_the_proxy_the_environment_names() {
    let kv = Kv::start();
    let id = kv.namespace("proxied");
    let base = kv.api.base_url();
    let proxy = Proxy::start();
    let output = kv
        .cmd()
        .env("HTTP_PROXY", &proxy.url)
        .args(["-v", "storage", "kv", "put", &id, "k", "through"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    > PUT http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k (via proxy http://127.0.0.1:[PORT])
    > authorization: Bearer [redacted]
    < HTTP/1.1 201 Created in [MS] (request id 00000000-0000-0000-0000-000000000000)
    Created key `k` in namespace `00000000-0000-0000-0000-000000000000` (7 bytes)
    ");
    assert_eq!(
        proxy.seen(),
        [Seen {
            request: format!("PUT {base}/storage/kvs/{id}/keys/k HTTP/1.1"),
            proxy_authorization: None,
        }]
    );
    // Lower case and ALL_PROXY are read too.
    for variable in ["http_proxy", "ALL_PROXY", "all_proxy"] {
        let output = kv
            .cmd()
            .env(variable, &proxy.url)
            .args(["storage", "kv", "get", &id, "k"])
            .output()
            .expect("runs");
        assert_eq!(output.stdout, b"through", "{variable}");
    }
    assert_eq!(proxy.seen().len(), 4);
    assert!(
        proxy
            .seen()
            .iter()
            .skip(1)
            .all(|seen| seen.request.starts_with(&format!("GET {base}/"))),
        "{:?}",
        proxy.seen()
    );
}

#[test]
fn no_proxy_bypasses_the_proxy_and_local_mode_never_uses_one() {
    let kv = Kv::start();
    let id = kv.namespace("direct");
    kv.ok(&["storage", "kv", "put", &id, "k", "direct"]);
    let proxy = Proxy::start();
    for no_proxy in [
        ("NO_PROXY", "127.0.0.1"),
        ("no_proxy", "localhost,127.0.0.0/8"),
    ] {
        let output = kv
            .cmd()
            .env("HTTP_PROXY", &proxy.url)
            .env(no_proxy.0, no_proxy.1)
            .args(["-v", "storage", "kv", "get", &id, "k"])
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!((code, stdout.as_str()), (Some(0), "direct"), "{stderr}");
        assert!(!stderr.contains("via proxy"), "{stderr}");
    }
    let output = kv
        .cmd()
        .env("HTTP_PROXY", &proxy.url)
        .env("ALL_PROXY", &proxy.url)
        .args(["--local", "storage", "kv", "list"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(proxy.seen(), [], "nothing went through the proxy");
}

#[test]
fn proxy_credentials_are_sent_to_the_proxy_and_never_shown() {
    let kv = Kv::start();
    let id = kv.namespace("auth-proxy");
    let proxy = Proxy::start();
    let with_credentials = proxy.url.replace("http://", "http://user:s3cret@");
    let output = kv
        .cmd()
        .env("HTTP_PROXY", &with_credentials)
        .args(["-v", "storage", "kv", "put", &id, "k", "v"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    > PUT http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k (via proxy http://[redacted]@127.0.0.1:[PORT])
    > authorization: Bearer [redacted]
    < HTTP/1.1 201 Created in [MS] (request id 00000000-0000-0000-0000-000000000000)
    Created key `k` in namespace `00000000-0000-0000-0000-000000000000` (1 byte)
    ");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(
        proxy.seen()[0].proxy_authorization.as_deref(),
        Some("Basic dXNlcjpzM2NyZXQ="),
        "user:s3cret"
    );
}

/// An emulator behind TLS with a CA of the test's own, and the CA's PEM file.
struct Tls {
    kv: Kv,
    id: String,
    front: TlsFront,
    base: String,
    ca_file: std::path::PathBuf,
}

impl Tls {
    fn start() -> Self {
        let kv = Kv::start();
        let id = kv.namespace("tls");
        kv.ok(&["storage", "kv", "put", &id, "k", "over tls"]);
        let ca = TestCa::new();
        let front = TlsFront::start(&ca, emulator_addr(&kv));
        let ca_file = kv.path().join("company-ca.pem");
        std::fs::write(&ca_file, &ca.ca_pem).expect("write the CA");
        let base = format!("https://localhost:{}/v2", front.port);
        Self {
            kv,
            id,
            front,
            base,
            ca_file,
        }
    }

    fn get(&self, env: &[(&str, &str)]) -> std::process::Output {
        let mut command = self.kv.cmd();
        command.env("TELNYX_BASE_URL", &self.base);
        for (name, value) in env {
            command.env(name, value);
        }
        command
            .args(["storage", "kv", "get", &self.id, "k"])
            .output()
            .expect("runs")
    }
}

#[test]
fn a_ca_named_by_ssl_cert_file_or_dir_is_trusted() {
    let tls = Tls::start();
    let ca_file = tls.ca_file.to_str().expect("UTF-8 path");
    let output = tls.get(&[("SSL_CERT_FILE", ca_file)]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), "over tls"), "{stderr}");
    // HTTP/2, negotiated by ALPN.
    let mut verbose = tls.kv.cmd();
    let output = verbose
        .env("TELNYX_BASE_URL", &tls.base)
        .env("SSL_CERT_FILE", ca_file)
        .args(["-v", "storage", "kv", "get", &tls.id, "k"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    > GET https://localhost:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k
    > authorization: Bearer [redacted]
    < HTTP/2.0 200 OK in [MS] (request id 00000000-0000-0000-0000-000000000000)
    ");
    let dir = tls.kv.path().join("certs");
    std::fs::create_dir(&dir).expect("mkdir");
    std::fs::copy(&tls.ca_file, dir.join("company-ca.pem")).expect("copy");
    let output = tls.get(&[("SSL_CERT_DIR", dir.to_str().expect("UTF-8 path"))]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), "over tls"), "{stderr}");
}

#[test]
fn https_goes_through_a_connect_proxy() {
    let tls = Tls::start();
    let proxy = Proxy::start();
    let ca_file = tls.ca_file.to_str().expect("UTF-8 path");
    let output = tls.get(&[("SSL_CERT_FILE", ca_file), ("HTTPS_PROXY", &proxy.url)]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), "over tls"), "{stderr}");
    assert_eq!(
        proxy.seen(),
        [Seen {
            request: format!("CONNECT localhost:{} HTTP/1.1", tls.front.port),
            proxy_authorization: None,
        }]
    );
    // HTTP_PROXY is for http:// only.
    let output = tls.get(&[("SSL_CERT_FILE", ca_file), ("HTTP_PROXY", &proxy.url)]);
    assert_eq!(output.stdout, b"over tls");
    assert_eq!(proxy.seen().len(), 1);
}

#[test]
fn an_untrusted_certificate_fails_at_once_with_a_hint() {
    let tls = Tls::start();
    let output = tls.get(&[]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(1), ""), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the TLS connection to https://localhost:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k failed: invalid peer certificate: UnknownIssuer
    hint: If a company proxy or CA signs this certificate, point SSL_CERT_FILE (or SSL_CERT_DIR) at its PEM certificate, or add it to the system's trust store.
    ");
    assert!(!stderr.contains("Retrying"), "{stderr}");
    assert_eq!(tls.front.handshakes(), 1, "not retried");
}

#[test]
fn an_unreadable_ssl_cert_file_is_reported_before_any_connection() {
    let tls = Tls::start();
    let missing = tls.kv.path().join("missing.pem");
    let missing = missing.to_str().expect("UTF-8 path");
    let output = tls.get(&[("SSL_CERT_FILE", missing)]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: cannot read the certificates in SSL_CERT_FILE `[TEMP]/missing.pem` (failed to read PEM from file: No such file or directory (os error 2) at '[TEMP]/missing.pem')
    hint: Point SSL_CERT_FILE at a PEM file of certificates (SSL_CERT_DIR at a folder of them), or unset it.
    ");
    let not_pem = tls.kv.path().join("not.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let output = tls.get(&[("SSL_CERT_FILE", not_pem.to_str().expect("UTF-8"))]);
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: SSL_CERT_FILE `[TEMP]/not.pem` holds no PEM certificate
    hint: Point SSL_CERT_FILE at a PEM file of certificates (SSL_CERT_DIR at a folder of them), or unset it.
    ");
    assert_eq!(tls.front.handshakes(), 0);
}

#[test]
fn a_body_that_stalls_times_out_and_is_retried() {
    let server = FaultServer::start(vec![Fault::Stall(100)]);
    let home = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        against(&server, home.path())
            .args(["--timeout", "1s"])
            .args(args)
            .output()
            .expect("runs")
    };
    let output = run(&["--retries", "1", "storage", "kv", "key", "get", NS, "k"]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(6), ""), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Retrying GET in [SECS] after: no complete response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k within 1s (see `--timeout`) (retry 1 of 1)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: no complete response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k within 1s (see `--timeout`)
    hint: Try again, or allow more time with `--timeout`.
    ");
    assert_eq!(server.received().len(), 2, "retried once");
    let output = run(&["--retries", "0", "--json", "storage", "kv", "get", NS, "k"]);
    assert_eq!(output.status.code(), Some(6));
    assert_eq!(output.stdout, b"");
    let output = run(&[
        "--retries",
        "0",
        "storage",
        "kv",
        "key",
        "get",
        NS,
        "k",
        "--output-file",
        "out.bin",
    ]);
    assert_eq!(output.status.code(), Some(6));
    assert!(!home.path().join("out.bin").exists(), "no file is written");
    let output = run(&[
        "--retries",
        "0",
        "storage",
        "kv",
        "bulk",
        "get",
        NS,
        "a",
        "b",
    ]);
    let (code, _, stderr) = outcome(&output);
    assert_ne!(code, Some(0), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    warning: argument 1: key `a`: no complete response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/a within 1s (see `--timeout`)
    warning: argument 2: key `b`: no complete response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/b within 1s (see `--timeout`)
    Read 0 keys in [SECS] ([RATE]/s); 2 failed, 0 skipped
    error: 2 items failed and 0 were skipped
    hint: 2 items were not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    ");
    // JSON documents stall the same way.
    let output = run(&["--retries", "0", "storage", "kv", "get", NS]);
    assert_eq!(output.status.code(), Some(6));
}

#[test]
fn an_endless_body_is_refused_not_buffered() {
    let server = FaultServer::start(vec![Fault::Endless]);
    let home = tempfile::tempdir().expect("tempdir");
    let mut transcript = String::new();
    for args in [
        vec!["storage", "kv", "key", "get", NS, "k"],
        vec!["--json", "storage", "kv", "key", "get", NS, "k"],
        vec!["storage", "kv", "bulk", "get", NS, "k"],
    ] {
        let output = against(&server, home.path())
            .args(&args)
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!((code, stdout.as_str()), (Some(1), ""), "{args:?}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", args.join(" ")));
    }
    insta::assert_snapshot!(shown(&transcript), @r#"
    $ storage kv key get 00000000-0000-0000-0000-000000000000 k
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k is larger than 1114112 bytes, more than the API ever sends
    $ --json storage kv key get 00000000-0000-0000-0000-000000000000 k
    {"error":{"message":"failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k is larger than 1114112 bytes, more than the API ever sends","code":"failure","exit_code":1,"hint":null,"request_id":null}}
    $ storage kv bulk get 00000000-0000-0000-0000-000000000000 k
    warning: argument 1: key `k`: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k is larger than 1114112 bytes, more than the API ever sends
    Read 0 keys in [SECS] ([RATE]/s); 1 failed, 0 skipped
    error: 1 item failed and 0 were skipped
    hint: 1 item was not read; pass `--failed-file FILE` to keep them and feed FILE back to resume.
    "#);
}

fn rate_limited(retry_after: &str) -> Fault {
    Fault::Respond(
        429,
        vec![
            ("retry-after", retry_after.to_owned()),
            ("content-type", "application/json".to_owned()),
        ],
        r#"{"errors":[{"code":"10011","title":"Too many requests"}]}"#.to_owned(),
    )
}

#[test]
fn a_wait_longer_than_the_cap_ends_the_command_at_once() {
    let mut transcript = String::new();
    for retry_after in ["1e20", "300", "121"] {
        let server = FaultServer::start(vec![rate_limited(retry_after)]);
        let home = tempfile::tempdir().expect("tempdir");
        let output = against(&server, home.path())
            .args(["storage", "kv", "key", "get", NS, "k"])
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(6), "{retry_after}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", retry_after));
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(server.received().len(), 1, "{retry_after}: not retried");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ 1e20
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the service asked to wait 1e20s before retrying (HTTP 429), longer than the 120s this tool waits
      Request id: req-429 (quote it to Telnyx support)
    hint: Try again later.
    $ 300
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the service asked to wait 5m before retrying (HTTP 429), longer than the 120s this tool waits
      Request id: req-429 (quote it to Telnyx support)
    hint: Try again later.
    $ 121
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the service asked to wait 2m 1s before retrying (HTTP 429), longer than the 120s this tool waits
      Request id: req-429 (quote it to Telnyx support)
    hint: Try again later.
    ");
}

#[test]
fn garbage_waits_are_ignored_and_normal_backoff_applies() {
    let mut transcript = String::new();
    for retry_after in ["NaN", "-5", "soon"] {
        let server = FaultServer::start(vec![rate_limited(retry_after)]);
        let home = tempfile::tempdir().expect("tempdir");
        let output = against(&server, home.path())
            .args(["--retries", "1", "storage", "kv", "key", "get", NS, "k"])
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(6), "{retry_after}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", retry_after));
        assert_eq!(server.received().len(), 2, "{retry_after}");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ NaN
    Retrying GET in [SECS] after: Too many requests (HTTP 429) (retry 1 of 1)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: Too many requests (HTTP 429)
      Request id: req-429 (quote it to Telnyx support)
    hint: The service is rate limiting; try again later, or raise `--retries`.
    $ -5
    Retrying GET in [SECS] after: Too many requests (HTTP 429) (retry 1 of 1)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: Too many requests (HTTP 429)
      Request id: req-429 (quote it to Telnyx support)
    hint: The service is rate limiting; try again later, or raise `--retries`.
    $ soon
    Retrying GET in [SECS] after: Too many requests (HTTP 429) (retry 1 of 1)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: Too many requests (HTTP 429)
      Request id: req-429 (quote it to Telnyx support)
    hint: The service is rate limiting; try again later, or raise `--retries`.
    ");
}

#[test]
fn a_404_that_is_not_the_apis_points_at_the_base_url() {
    let mut transcript = String::new();
    for fault in [
        Fault::Respond(
            404,
            vec![("content-type", "text/html".into())],
            "<html><body>Not Found</body></html>".into(),
        ),
        Fault::status(404, ""),
    ] {
        let server = FaultServer::start(vec![fault]);
        let home = tempfile::tempdir().expect("tempdir");
        let output = against(&server, home.path())
            .args(["storage", "kv", "key", "get", NS, "k"])
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(1), "{stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", "(a 404)"));
        assert_eq!(server.received().len(), 1);
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ (a 404)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k is not the Telnyx KV API: it answered HTTP 404 without an API error
      Request id: req-404 (quote it to Telnyx support)
    hint: Check `--base-url` (or TELNYX_BASE_URL, or `api_endpoint` in the config file): it must be the API root and end in `/v2`, e.g. https://api.telnyx.com/v2.
    $ (a 404)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k is not the Telnyx KV API: it answered HTTP 404 without an API error
      Request id: req-404 (quote it to Telnyx support)
    hint: Check `--base-url` (or TELNYX_BASE_URL, or `api_endpoint` in the config file): it must be the API root and end in `/v2`, e.g. https://api.telnyx.com/v2.
    ");
}

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    listener.local_addr().expect("addr").port()
}

/// The binary pointed at `base` with a key, for addresses no server of the test answers.
fn against_url(home: &std::path::Path, base: &str) -> assert_cmd::Command {
    let mut command = crate::support::cli::bare(home);
    command
        .env("TELNYX_BASE_URL", base)
        .env("TELNYX_API_KEY", crate::support::api::TOKEN);
    command
}

#[test]
fn a_refused_connection_is_said_plainly() {
    let home = tempfile::tempdir().expect("tempdir");
    let base = format!("http://127.0.0.1:{}/v2", closed_port());
    let output = against_url(home.path(), &base)
        .args(["--retries", "0", "storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to list KV namespaces
      Caused by: cannot connect to 127.0.0.1:[PORT]: connection refused
    hint: Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`.
    ");
    // A proxy that is down is named, with a hint about the proxy variables.
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let output = against_url(home.path(), "http://127.0.0.1:9/v2")
        .env("HTTP_PROXY", &proxy)
        .args(["--retries", "0", "storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to list KV namespaces
      Caused by: cannot connect to 127.0.0.1:[PORT] (through the proxy http://127.0.0.1:[PORT]): connection refused
    hint: Check the proxy in HTTPS_PROXY, HTTP_PROXY or ALL_PROXY; NO_PROXY lists the hosts reached directly.
    ");
}

#[test]
fn a_key_that_cannot_be_sent_in_a_header_is_an_auth_error_that_hides_it() {
    let home = tempfile::tempdir().expect("tempdir");
    let output = crate::support::cli::bare(home.path())
        .env("TELNYX_BASE_URL", "http://127.0.0.1:9/v2")
        .env("TELNYX_API_KEY", "KEYpasted\nsecret-part")
        .args(["storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(4), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: the API key has characters that cannot be sent in an HTTP header
    hint: The key must be printable ASCII; check TELNYX_API_KEY or the config file for stray characters (`telnyx-edge auth status` shows where the key comes from).
    ");
    assert!(!stderr.contains("secret-part"), "{stderr}");
}

#[test]
fn auth_status_that_cannot_reach_the_service_does_not_blame_the_key() {
    let home = tempfile::tempdir().expect("tempdir");
    let base = format!("http://127.0.0.1:{}/v2", closed_port());
    let output = against_url(home.path(), &base)
        .args(["--retries", "0", "--json", "auth", "status"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    let status: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(status["valid"], Value::Null, "{stdout}");
    insta::assert_snapshot!(shown(&stderr), @r#"{"error":{"message":"cannot check the API key from the TELNYX_API_KEY environment variable: no answer from http://127.0.0.1:[PORT]/v2 that says whether it is accepted: cannot connect to 127.0.0.1:[PORT]: connection refused","code":"unavailable","exit_code":6,"hint":"Check the network and the API address (`--base-url` or TELNYX_BASE_URL); for the local emulator use `--local`.","request_id":null}}"#);
    assert!(!stderr.contains("not accepted"), "{stderr}");
}

#[test]
fn credentials_in_the_base_url_never_appear() {
    let server = FaultServer::start(vec![Fault::Respond(
        503,
        vec![("retry-after", "0".into())],
        String::new(),
    )]);
    let home = tempfile::tempdir().expect("tempdir");
    let with_credentials = server.base_url.replace("http://", "http://user:s3cret@");
    let output = against(&server, home.path())
        .env("TELNYX_BASE_URL", &with_credentials)
        .args([
            "-v",
            "--retries",
            "1",
            "storage",
            "kv",
            "key",
            "get",
            NS,
            "k",
        ])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(6), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    > GET http://[redacted]@127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k
    > authorization: Bearer [redacted]
    < HTTP/1.1 503 Service Unavailable in [MS] (request id req-503)
    Retrying GET in [SECS] after: HTTP 503 Service Unavailable (retry 1 of 1)
    > GET http://[redacted]@127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000/keys/k
    > authorization: Bearer [redacted]
    < HTTP/1.1 503 Service Unavailable in [MS] (request id req-503)
    error: failed to get key `k` from KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: HTTP 503 Service Unavailable
      Request id: req-503 (quote it to Telnyx support)
    hint: The service is having trouble; try again later.
    ");
    // Only the bearer authenticates; the URL's credentials are not sent as a second header.
    for received in server.received() {
        let authorizations: Vec<_> = received
            .headers
            .iter()
            .filter(|(name, _)| name == "authorization")
            .collect();
        assert_eq!(authorizations.len(), 1, "{:?}", received.headers);
    }
    let output = against_url(home.path(), &with_credentials)
        .args(["--retries", "0", "auth", "status"])
        .output()
        .expect("runs");
    let (_, stdout, stderr) = outcome(&output);
    assert!(
        !stdout.contains("s3cret") && !stderr.contains("s3cret"),
        "{stdout}{stderr}"
    );
}

#[test]
fn odd_base_url_forms_never_show_their_password() {
    let server = FaultServer::start(vec![Fault::json(
        200,
        r#"{"data":[],"meta":{"page_number":1,"page_size":250,"total_pages":1,"total_results":0}}"#,
    )]);
    let home = tempfile::tempdir().expect("tempdir");
    let authority = server.base_url.trim_start_matches("http://").to_owned();
    for base in [
        format!("http:alice:hunter2@{authority}"),
        format!("http:/alice:hunter2@{authority}"),
        format!("http://alice:hunter2@{authority}"),
    ] {
        let output = against(&server, home.path())
            .env("TELNYX_BASE_URL", &base)
            .args(["-v", "storage", "kv", "list"])
            .output()
            .expect("runs");
        let (code, stdout, stderr) = outcome(&output);
        assert_eq!(code, Some(0), "{base}: {stderr}");
        assert!(
            !stderr.contains("hunter2") && !stdout.contains("hunter2"),
            "{stderr}"
        );
        let output = against(&server, home.path())
            .env("TELNYX_BASE_URL", &base)
            .args(["--json", "auth", "status"])
            .output()
            .expect("runs");
        let (_, stdout, stderr) = outcome(&output);
        assert!(
            !stdout.contains("hunter2") && !stderr.contains("hunter2"),
            "{stdout}"
        );
    }
    let mut transcript = String::new();
    for invalid in [
        "alice:hunter2@127.0.0.1:8787/v2",
        "http://alice:hunter2@127.0.0.1:8787/v2?x=1",
    ] {
        let output = against(&server, home.path())
            .env("TELNYX_BASE_URL", invalid)
            .args(["storage", "kv", "list"])
            .output()
            .expect("runs");
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(2), "{invalid}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", invalid));
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ alice:hunter2@127.0.0.1:8787/v2
    error: invalid base URL `[redacted]@127.0.0.1:8787/v2`: use http:// or https://, a host, the path `/v2`, and no query
    $ http://alice:hunter2@127.0.0.1:8787/v2?x=1
    error: invalid base URL `http://[redacted]@127.0.0.1:[PORT]/v2?x=1`: use http:// or https://, a host, the path `/v2`, and no query
    ");
}

#[test]
fn proxy_variables_are_read_as_curl_reads_them() {
    let kv = Kv::start();
    let id = kv.namespace("curl-rules");
    kv.ok(&["storage", "kv", "put", &id, "k", "v"]);
    let proxy = Proxy::start();
    let run = |vars: &[(&str, &str)]| {
        let mut command = kv.cmd();
        for (name, value) in vars {
            command.env(name, value);
        }
        command
            .args(["storage", "kv", "get", &id, "k"])
            .output()
            .expect("runs")
    };
    // `*` excludes IP addresses too; an empty variable is unset, whatever its case.
    for vars in [
        vec![("HTTP_PROXY", proxy.url.as_str()), ("NO_PROXY", "*")],
        vec![
            ("HTTP_PROXY", proxy.url.as_str()),
            ("NO_PROXY", ""),
            ("no_proxy", "127.0.0.1"),
        ],
    ] {
        assert_eq!(run(&vars).stdout, b"v", "{vars:?}");
    }
    assert_eq!(proxy.seen(), [], "nothing went through the proxy");
    let output = run(&[("HTTP_PROXY", ""), ("http_proxy", &proxy.url)]);
    assert_eq!(output.stdout, b"v");
    assert_eq!(proxy.seen().len(), 1, "the lower-case variable is used");
    // A proxy that cannot be used is an error, not a silent direct connection.
    let mut transcript = String::new();
    for value in [
        "ftp://127.0.0.1:21",
        "http://alice:hunter2#x@127.0.0.1:9",
        "http://u:p@[::1",
    ] {
        let output = run(&[("HTTP_PROXY", value)]);
        let (code, _, stderr) = outcome(&output);
        assert_eq!(code, Some(2), "{value}: {stderr}");
        transcript.push_str(&format!("$ {}\n{stderr}", value));
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    insta::assert_snapshot!(shown(&transcript), @"
    $ ftp://127.0.0.1:21
    error: the proxy in `HTTP_PROXY` uses `ftp://`; use http://, https://, socks5:// or socks5h://
    $ http://alice:hunter2#x@127.0.0.1:9
    error: the proxy URL in `HTTP_PROXY` cannot be read (it is not shown: it may hold a password)
    hint: Write it as `http://USER:PASSWORD@HOST:PORT`, with `#`, `?`, `/` and `@` in the user and password percent-encoded (%23, %3F, %2F, %40).
    $ http://u:p@[::1
    error: the proxy URL in `HTTP_PROXY` cannot be read (it is not shown: it may hold a password)
    hint: Write it as `http://USER:PASSWORD@HOST:PORT`, with `#`, `?`, `/` and `@` in the user and password percent-encoded (%23, %3F, %2F, %40).
    ");
}

#[test]
fn a_gateway_that_refuses_is_not_blamed_on_the_key_nor_read_as_not_found() {
    let html = |status| {
        Fault::Respond(
            status,
            vec![("content-type", "text/html".into())],
            "<html>Access denied by policy</html>".into(),
        )
    };
    let home = tempfile::tempdir().expect("tempdir");
    let gateway = FaultServer::start(vec![html(403)]);
    let output = against(&gateway, home.path())
        .args(["--json", "auth", "status"])
        .output()
        .expect("runs");
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!(code, Some(1), "{stderr}");
    let status: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(status["valid"], Value::Null);
    assert!(!stderr.contains("was not accepted"), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @r#"{"error":{"message":"cannot check the API key from the TELNYX_API_KEY environment variable: no answer from http://127.0.0.1:[PORT]/v2 that says whether it is accepted: http://127.0.0.1:[PORT]/v2/storage/kvs?page[number]=1&page[size]=1 is not the Telnyx KV API: it answered HTTP 403 without an API error","code":"failure","exit_code":1,"hint":"Something between you and the API refused the request, not the API itself: check the proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) and `--base-url`.","request_id":"req-403"}}"#);
    let not_found = FaultServer::start(vec![html(404)]);
    let output = against(&not_found, home.path())
        .args(["storage", "kv", "get", NS])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(
        code,
        Some(1),
        "a web page's 404 is not a missing namespace: {stderr}"
    );
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 is not the Telnyx KV API: it answered HTTP 404 without an API error
      Request id: req-404 (quote it to Telnyx support)
    hint: Check `--base-url` (or TELNYX_BASE_URL, or `api_endpoint` in the config file): it must be the API root and end in `/v2`, e.g. https://api.telnyx.com/v2.
    ");
}

#[test]
fn a_proxy_that_asks_for_credentials_gets_a_hint_and_no_retries() {
    let home = tempfile::tempdir().expect("tempdir");
    let proxy = FaultServer::start(vec![Fault::status(407, "")]);
    let proxy_url = proxy.base_url.trim_end_matches("/v2").to_owned();
    let output = crate::support::cli::bare(home.path())
        .env("TELNYX_BASE_URL", "http://127.0.0.1:9/v2")
        .env("TELNYX_API_KEY", crate::support::api::TOKEN)
        .env("HTTP_PROXY", &proxy_url)
        .args(["storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(4), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to list KV namespaces
      Caused by: the proxy http://127.0.0.1:[PORT] asks for credentials (HTTP 407) to reach http://127.0.0.1:[PORT]/v2/storage/kvs?page[number]=1&page[size]=250
    hint: Give the proxy's user and password in its URL: `HTTPS_PROXY=http://USER:PASSWORD@proxy:port` (percent-encoded).
    ");
    assert_eq!(proxy.received().len(), 1, "not retried");
    // The same for a `CONNECT` tunnel to an https:// API.
    let tunnel = FaultServer::start(vec![Fault::status(407, "")]);
    let output = crate::support::cli::bare(home.path())
        .env("TELNYX_BASE_URL", "https://localhost:9/v2")
        .env("TELNYX_API_KEY", crate::support::api::TOKEN)
        .env("HTTPS_PROXY", tunnel.base_url.trim_end_matches("/v2"))
        .args(["storage", "kv", "list"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(4), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to list KV namespaces
      Caused by: the proxy http://127.0.0.1:[PORT] asks for credentials (HTTP 407) to reach https://localhost:[PORT]/v2/storage/kvs?page[number]=1&page[size]=250
    hint: Give the proxy's user and password in its URL: `HTTPS_PROXY=http://USER:PASSWORD@proxy:port` (percent-encoded).
    ");
    assert_eq!(tunnel.received().len(), 1, "not retried");
    assert_eq!(tunnel.received()[0].method, "CONNECT");
}

#[test]
fn a_bundle_with_one_bad_certificate_still_trusts_the_good_one() {
    let tls = Tls::start();
    let mut bundle = String::from("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    bundle.push_str(&std::fs::read_to_string(&tls.ca_file).expect("CA"));
    let path = tls.kv.path().join("bundle.pem");
    std::fs::write(&path, bundle).expect("write");
    let output = tls.get(&[("SSL_CERT_FILE", path.to_str().expect("UTF-8"))]);
    let (code, stdout, stderr) = outcome(&output);
    assert_eq!((code, stdout.as_str()), (Some(0), "over tls"), "{stderr}");
    // A missing folder in SSL_CERT_DIR is passed over, as OpenSSL does.
    let output = tls.get(&[
        ("SSL_CERT_FILE", tls.ca_file.to_str().expect("UTF-8")),
        ("SSL_CERT_DIR", "/nonexistent/certs"),
    ]);
    assert_eq!(output.stdout, b"over tls");
}

#[test]
fn server_text_cannot_drive_the_terminal_and_request_ids_are_kept() {
    let home = tempfile::tempdir().expect("tempdir");
    let evil = FaultServer::start(vec![Fault::json(
        400,
        r#"{"errors":[{"code":"1","title":"T","detail":"evil \u001b[31mRED\u001b[0m\nfake: line\r\u0007"}]}"#,
    )]);
    let output = against(&evil, home.path())
        .args(["storage", "kv", "put", NS, "k", "v"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(1));
    assert!(!stderr.contains('\u{1b}') && !stderr.contains('\r') && !stderr.contains('\u{7}'));
    insta::assert_snapshot!(shown(&stderr), @r"
    error: failed to put key `k` in KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: evil \u{1b}[31mRED\u{1b}[0m\nfake: line\r\u{7} (HTTP 400)
      Request id: req-400 (quote it to Telnyx support)
    ");
    let bad_json = FaultServer::start(vec![Fault::json(200, "{\"data\": [")]);
    let output = against(&bad_json, home.path())
        .args(["storage", "kv", "get", NS])
        .output()
        .expect("runs");
    let (_, _, stderr) = outcome(&output);
    insta::assert_snapshot!(shown(&stderr), @"
    error: failed to get KV namespace `00000000-0000-0000-0000-000000000000`
      Caused by: the response from http://127.0.0.1:[PORT]/v2/storage/kvs/00000000-0000-0000-0000-000000000000 is not what the API sends: invalid JSON (EOF while parsing a list at line 1 column 10)
      Request id: req-200 (quote it to Telnyx support)
    ");
}

#[test]
fn wait_keeps_its_deadline_while_a_poll_hangs() {
    let pending = format!(
        r#"{{"data":{{"record_type":"storage_kv","id":"{NS}","name":"slow","status":"pending","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}}}}"#
    );
    let server = FaultServer::start(vec![Fault::json(200, &pending), Fault::Hang]);
    let home = tempfile::tempdir().expect("tempdir");
    let start = std::time::Instant::now();
    let output = against(&server, home.path())
        .args(["storage", "kv", "wait", NS, "--timeout", "2s"])
        .output()
        .expect("runs");
    let (code, _, stderr) = outcome(&output);
    assert_eq!(code, Some(7), "{stderr}");
    insta::assert_snapshot!(shown(&stderr), @"
    Waiting for namespace `slow` to be ready (pending)
    error: namespace `slow` is still pending after 2s
    hint: It may still become ready; keep waiting with `telnyx-edge storage kv wait slow`.
    ");
    // Not the 30 s of a request timeout: generous, since machines are shared.
    assert!(start.elapsed() < std::time::Duration::from_secs(25));
}
