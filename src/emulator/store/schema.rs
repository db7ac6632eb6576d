//! The store's tables, and the version stamp that keeps an older emulator from opening a
//! database a newer one wrote.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS namespaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL,
    ready_ms    INTEGER NOT NULL,
    fail        INTEGER NOT NULL,
    deleted_ms  INTEGER,
    gone_ms     INTEGER
);
CREATE TABLE IF NOT EXISTS kv (
    ns           TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        BLOB NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    updated_ms   INTEGER NOT NULL,
    expires_ms   INTEGER,
    PRIMARY KEY (ns, key)
);
CREATE INDEX IF NOT EXISTS kv_expiry ON kv (expires_ms) WHERE expires_ms IS NOT NULL;
";

pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_owned(),
            found: version,
        });
    }
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}
