//! A function project against a service: an in-process emulator plays the service, with
//! namespace `my-cache` bound as `MY_CACHE` in the project's func.toml, and the binary's
//! `--local` emulator holds local state in the project's state directory (`pull`, `push`,
//! `diff`).

use std::path::PathBuf;

use reqwest::Method;

use super::cli::{Kv, outcome};

/// A service with namespace `my-cache` bound as `MY_CACHE` in the project's func.toml.
pub struct Project {
    pub kv: Kv,
    pub id: String,
}

impl Project {
    pub fn new() -> Self {
        Self::with(telnyx_edge::emulator::Config::in_memory())
    }

    pub fn with(config: telnyx_edge::emulator::Config) -> Self {
        let kv = Kv::with(config);
        let id = kv.api.create("my-cache");
        std::fs::write(
            kv.path().join("func.toml"),
            format!("[edge_compute]\nfunc_name = \"f\"\n\n[storage.kv.MY_CACHE]\nid = \"{id}\"\n"),
        )
        .expect("func.toml");
        Self { kv, id }
    }

    /// Writes a `text/plain` key on the service.
    pub fn service_put(&self, key: &str, value: &[u8]) {
        self.service_put_typed(key, value, "text/plain");
    }

    /// Writes a key on the service, with a content type.
    pub fn service_put_typed(&self, key: &str, value: &[u8], content_type: &str) {
        let response = self
            .kv
            .api
            .req(Method::PUT, &format!("/storage/kvs/{}/keys/{key}", self.id))
            .header("content-type", content_type)
            .body(value.to_vec())
            .send()
            .expect("PUT");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// The status and body of the service's GET of `key`.
    pub fn service_get_raw(&self, key: &str) -> (u16, Vec<u8>) {
        let response = self
            .kv
            .api
            .get(&format!("/storage/kvs/{}/keys/{key}", self.id));
        let status = response.status().as_u16();
        (status, response.bytes().expect("body").to_vec())
    }

    pub fn service_delete(&self, key: &str) {
        let response = self
            .kv
            .api
            .delete(&format!("/storage/kvs/{}/keys/{key}", self.id));
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// The service's value of `key`, `None` when it has none.
    pub fn service_get(&self, key: &str) -> Option<Vec<u8>> {
        let response = self
            .kv
            .api
            .get(&format!("/storage/kvs/{}/keys/{key}", self.id));
        match response.status().as_u16() {
            404 => None,
            200 => Some(response.bytes().expect("body").to_vec()),
            status => panic!("GET {key}: {status}"),
        }
    }

    pub fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        outcome(&self.kv.run(args))
    }

    pub fn local(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all = vec!["--local"];
        all.extend(args);
        self.run(&all)
    }

    pub fn local_put(&self, key: &str, value: &str) {
        let (code, _, stderr) = self.local(&["storage", "kv", "put", "MY_CACHE", key, value]);
        assert_eq!(code, Some(0), "{stderr}");
    }

    pub fn state(&self) -> PathBuf {
        self.kv.path().join(".telnyx-edge/state")
    }

    /// Every local key of the namespace with the time (ms) it was last written.
    pub fn local_writes(&self) -> Vec<(String, i64)> {
        let db = rusqlite::Connection::open(self.state().join("kv.sqlite3")).expect("db");
        let mut statement = db
            .prepare("SELECT key, updated_ms FROM kv WHERE ns = ?1 ORDER BY key")
            .expect("query");
        statement
            .query_map([&self.id], |row| Ok((row.get(0)?, row.get(1)?)))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    /// Requests the service has answered so far.
    pub fn requests(&self) -> u64 {
        self.kv.api.stats().requests
    }

    /// Local state's value of `key`, read from its store (no process started).
    pub fn local_get(&self, key: &str) -> Option<Vec<u8>> {
        self.local_row(key).map(|(value, _)| value)
    }

    /// Local state's value of `key` and when it expires (Unix ms).
    pub fn local_row(&self, key: &str) -> Option<(Vec<u8>, Option<i64>)> {
        let path = self.state().join("kv.sqlite3");
        if !path.exists() {
            return None;
        }
        let db = rusqlite::Connection::open(path).expect("db");
        db.query_row(
            "SELECT value, expires_ms FROM kv WHERE ns = ?1 AND key = ?2",
            [&self.id, key],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .ok()
    }
}
