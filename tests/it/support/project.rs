//! A function project against a service: an in-process emulator plays the service, with
//! namespace `my-cache` bound as `MY_CACHE` in the project's func.toml, and the binary's
//! `--local` emulator holds local state in the project's state directory (`pull`, `push`,
//! `diff`).
//!
//! [`Project::with_settled_writes`] keeps the service's store on disk and serves it twice: the
//! test writes through an emulator whose clock is [`AHEAD_MS`] behind the one the binary talks
//! to, so what the test wrote is old enough to be trusted when the binary lists it (the pull's
//! settle window), without sleeping.

use std::path::PathBuf;

use reqwest::Method;

use super::api::Api;
use super::cli::{Kv, outcome};

/// How far the clock of the emulator the binary talks to is ahead of the one the test writes
/// through, in a [`Project::with_settled_writes`]: past the pull's settle window of 2 s.
pub const AHEAD_MS: i64 = 3000;

/// A service with namespace `my-cache` bound as `MY_CACHE` in the project's func.toml.
pub struct Project {
    pub kv: Kv,
    pub id: String,
    /// In a [`Project::with_settled_writes`]: the emulator the test writes through, its clock
    /// [`AHEAD_MS`] behind `kv.api`'s, and the directory of the store both serve.
    earlier: Option<(Api, tempfile::TempDir)>,
}

impl Project {
    pub fn new() -> Self {
        Self::with(telnyx_edge::emulator::Config::in_memory())
    }

    pub fn with(config: telnyx_edge::emulator::Config) -> Self {
        let kv = Kv::with(config);
        let id = kv.api.create("my-cache");
        Self::bound(kv, id, None)
    }

    /// A project whose service writes ([`Project::service_put`]) are dated [`AHEAD_MS`] before
    /// the clock of the service the binary lists: settled as soon as they are made.
    pub fn with_settled_writes() -> Self {
        Self::with_settled_writes_and(telnyx_edge::emulator::Config::in_memory())
    }

    /// [`Project::with_settled_writes`], the binary's service configured by `config` (its
    /// storage and clock are set here).
    pub fn with_settled_writes_and(config: telnyx_edge::emulator::Config) -> Self {
        let store = tempfile::tempdir().expect("tempdir");
        let earlier = Api::on_disk(store.path(), 0);
        // Created on the earlier clock, so that both clocks see it ready.
        let id = earlier.create("my-cache");
        let kv = Kv::with(telnyx_edge::emulator::Config {
            storage: telnyx_edge::emulator::Storage::Dir(store.path().to_path_buf()),
            clock_offset_ms: AHEAD_MS,
            ..config
        });
        Self::bound(kv, id, Some((earlier, store)))
    }

    fn bound(kv: Kv, id: String, earlier: Option<(Api, tempfile::TempDir)>) -> Self {
        std::fs::write(
            kv.path().join("func.toml"),
            format!("[edge_compute]\nfunc_name = \"f\"\n\n[storage.kv.MY_CACHE]\nid = \"{id}\"\n"),
        )
        .expect("func.toml");
        Self { kv, id, earlier }
    }

    /// The service as an emulator whose clock is `ms` ahead of the one the binary talks to, over
    /// the same store (only in a [`Project::with_settled_writes`]): how the service answers
    /// that much later.
    pub fn service_later(&self, ms: i64) -> Api {
        let (_, store) = self
            .earlier
            .as_ref()
            .expect("a project with settled writes");
        Api::on_disk(store.path(), AHEAD_MS + ms)
    }

    /// Writes a `text/plain` key on the service.
    pub fn service_put(&self, key: &str, value: &[u8]) {
        self.service_put_typed(key, value, "text/plain");
    }

    /// Writes a key on the service, with a content type: in a
    /// [`Project::with_settled_writes`], on the earlier clock.
    pub fn service_put_typed(&self, key: &str, value: &[u8], content_type: &str) {
        let api = self.earlier.as_ref().map_or(&self.kv.api, |(api, _)| api);
        put_typed(api, &self.id, key, value, content_type);
    }

    /// Writes a key on the service on the clock the binary sees: in a
    /// [`Project::with_settled_writes`], a write later than every [`Project::service_put`].
    pub fn service_put_now(&self, key: &str, value: &[u8], content_type: &str) {
        put_typed(&self.kv.api, &self.id, key, value, content_type);
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

fn put_typed(api: &Api, id: &str, key: &str, value: &[u8], content_type: &str) {
    let response = api
        .req(Method::PUT, &format!("/storage/kvs/{id}/keys/{key}"))
        .header("content-type", content_type)
        .body(value.to_vec())
        .send()
        .expect("PUT");
    assert!(response.status().is_success(), "{}", response.status());
}
