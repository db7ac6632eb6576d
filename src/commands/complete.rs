//! Namespace names and keys for shell completion: with `--local` read in-process from local
//! state's store, otherwise from the service (`GET /storage/kvs`, `GET /storage/kvs/{id}/keys`)
//! with a short deadline, no retries and a small cache under the user's cache directory, so
//! that TAB stays quick and a second TAB makes no request. Nothing here prints or fails: what
//! cannot be looked up in time is simply not offered.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::api::rules::is_namespace_id;
use crate::cli::GlobalArgs;
use crate::client::{Client, ClientOptions};
use crate::commands::backend::local_state_dir;
use crate::commands::settings::GlobalSettings;
use crate::emulator::store::Store;
use crate::local::atomic::AtomicFile;
use crate::local::func_toml::{FuncToml, valid_binding};
use crate::local::settings::{self, Env};

/// How long a completion may wait for the service, all requests together.
const DEADLINE: Duration = Duration::from_millis(1500);
/// How long an answer of the service is reused.
const CACHE_TTL_MS: i64 = 60_000;
/// At most this many namespaces and keys are offered.
const MAX_NAMESPACES: u64 = 250;
const MAX_KEYS: u32 = 250;

/// Pairs of a candidate and its help (a namespace's id; nothing for a key).
type Items = Vec<(String, String)>;

/// The lookup `main` hands to `cli::complete`.
pub(crate) struct Lookup;

impl crate::cli::complete::Lookup for Lookup {
    /// Namespace names in name order (the service lists them by creation), each with its id.
    fn namespaces(&self, global: GlobalArgs) -> Vec<(String, String)> {
        let global = GlobalSettings::resolve(global);
        let mut names = if global.local {
            LocalState::open(&global)
                .map(|state| state.namespaces())
                .unwrap_or_default()
        } else {
            block_on(async { Some(Service::connect(&global)?.namespaces().await) })
                .flatten()
                .unwrap_or_default()
        };
        names.sort();
        names
    }

    fn keys(&self, global: GlobalArgs, namespace: &str, prefix: &str) -> Vec<String> {
        let global = GlobalSettings::resolve(global);
        let func_toml = global.func_toml_in_use().ok().flatten();
        let items = if global.local {
            LocalState::open(&global).and_then(|state| {
                let id = resolve(namespace, func_toml.as_deref(), || state.namespaces())?;
                Some(state.keys(&id, prefix))
            })
        } else {
            block_on(async {
                let service = Service::connect(&global)?;
                let names = service.namespaces().await;
                let id = resolve(namespace, func_toml.as_deref(), || names)?;
                Some(service.keys(&id, prefix).await)
            })
            .flatten()
        };
        items
            .unwrap_or_default()
            .into_iter()
            .map(|(key, _)| key)
            .collect()
    }
}

/// The id NAMESPACE stands for: a UUID as it is, a binding through func.toml, a name through
/// `names`.
fn resolve(spec: &str, func_toml: Option<&Path>, names: impl FnOnce() -> Items) -> Option<String> {
    if is_namespace_id(spec) {
        return Some(spec.to_ascii_lowercase());
    }
    if valid_binding(spec) {
        let toml = FuncToml::load(func_toml?).ok()?;
        return toml.binding(spec).filter(|id| is_namespace_id(id));
    }
    names()
        .into_iter()
        .find(|(name, _)| name == spec)
        .map(|(_, id)| id)
}

/// Runs `work` on a runtime of its own (completion runs before `main` builds one), for at most
/// [`DEADLINE`].
fn block_on<T>(work: impl Future<Output = T>) -> Option<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let answer = runtime
        .block_on(async { tokio::time::timeout(DEADLINE, work).await })
        .ok();
    // A host-name lookup runs on a blocking thread that a timeout cannot stop, and dropping
    // the runtime would wait for it (a resolver that never answers: 10 s of a frozen shell).
    runtime.shutdown_background();
    answer
}

/// Local state's store, read in-process; absent until something was written locally.
struct LocalState(Store);

impl LocalState {
    fn open(global: &GlobalSettings) -> Option<Self> {
        let func_toml = global.func_toml_in_use().ok()?;
        let dir = local_state_dir(func_toml.as_deref()).ok()?;
        // Opening would create the state directory; a completion leaves no trace.
        if !dir.join("kv.sqlite3").is_file() {
            return None;
        }
        Store::open_dir(&dir).ok().map(Self)
    }

    fn namespaces(&self) -> Items {
        let now = crate::emulator::now_ms();
        self.0
            .list_namespaces(now, 0, MAX_NAMESPACES)
            .map(|(rows, _)| rows.into_iter().map(|row| (row.name, row.id)).collect())
            .unwrap_or_default()
    }

    fn keys(&self, id: &str, prefix: &str) -> Items {
        let now = crate::emulator::now_ms();
        match self.0.list_keys(id, prefix, None, MAX_KEYS, now) {
            Ok(Ok((rows, _))) => rows
                .into_iter()
                .map(|row| (row.key, String::new()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The service, with the resolved credentials, and where its answers are cached.
struct Service {
    client: Client,
    /// Tells apart the caches of different services and accounts (hashed, never stored).
    account: String,
}

impl Service {
    /// `None` without credentials: completion never prompts for them. Called on a runtime,
    /// which the client needs.
    fn connect(global: &GlobalSettings) -> Option<Self> {
        let env = Env::from_process();
        let config = settings::load_config(&env).ok()?;
        let remote = settings::remote(&global.choices(), &env, &config).ok()?;
        let token = remote.credential?.token;
        let account = format!("{}\0{token}", remote.base_url);
        let client = Client::new(ClientOptions {
            base_url: remote.base_url,
            token,
            timeout: DEADLINE,
            retries: 0,
            direct: false,
            observer: None,
        })
        .ok()?;
        Some(Self { client, account })
    }

    async fn namespaces(&self) -> Items {
        self.cached(&["namespaces"], async {
            let list = self.client.list_namespaces(1, MAX_NAMESPACES).await.ok()?;
            Some(list.data.into_iter().map(|ns| (ns.name, ns.id)).collect())
        })
        .await
    }

    async fn keys(&self, id: &str, prefix: &str) -> Items {
        self.cached(&["keys", id, prefix], async {
            let list = self
                .client
                .list_keys(id, Some(prefix), Some(MAX_KEYS), None)
                .await
                .ok()?;
            Some(
                list.data
                    .into_iter()
                    .map(|k| (k.key, String::new()))
                    .collect(),
            )
        })
        .await
    }

    /// The cached answer to `what` when it is fresh, else `fetch`'s (cached when it came).
    async fn cached(&self, what: &[&str], fetch: impl Future<Output = Option<Items>>) -> Items {
        let path = cache_path(&self.account, what);
        if let Some(items) = path.as_deref().and_then(read_cache) {
            return items;
        }
        let Some(items) = fetch.await else {
            return Vec::new();
        };
        if let Some(path) = &path {
            write_cache(path, &items);
        }
        items
    }
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    /// When the service answered, in Unix milliseconds.
    at_ms: i64,
    items: Items,
}

/// `<cache dir>/telnyx-edge/completion/<hash>.json`, the hash of the account and the question.
fn cache_path(account: &str, what: &[&str]) -> Option<PathBuf> {
    let mut hasher = Sha256::new();
    hasher.update(account.as_bytes());
    for part in what {
        hasher.update([0]);
        hasher.update(part.as_bytes());
    }
    let name: String = hasher.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Some(
        dirs::cache_dir()?
            .join("telnyx-edge/completion")
            .join(format!("{name}.json")),
    )
}

fn read_cache(path: &Path) -> Option<Items> {
    let entry: CacheEntry = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let age = crate::emulator::now_ms() - entry.at_ms;
    (0..CACHE_TTL_MS).contains(&age).then_some(entry.items)
}

/// Best effort: a cache that cannot be written costs only the next request.
fn write_cache(path: &Path, items: &Items) {
    let entry = CacheEntry {
        at_ms: crate::emulator::now_ms(),
        items: items.clone(),
    };
    let Ok(bytes) = serde_json::to_vec(&entry) else {
        return;
    };
    let Some(dir) = path.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(mut file) = AtomicFile::new(path) else {
        return;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Key names can be private; the cache is the user's alone.
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    if std::io::Write::write_all(&mut file, &bytes).is_ok() {
        let _ = file.commit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_resolves_by_uuid_binding_or_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let toml = dir.path().join("func.toml");
        std::fs::write(
            &toml,
            "[storage.kv.MY_CACHE]\nid = \"550e8400-e29b-41d4-a716-446655440000\"\n",
        )
        .expect("write");
        let names = || vec![("my-cache".to_owned(), "id-1".to_owned())];
        assert_eq!(
            resolve("550E8400-E29B-41D4-A716-446655440000", None, names).as_deref(),
            Some("550e8400-e29b-41d4-a716-446655440000")
        );
        assert_eq!(
            resolve("MY_CACHE", Some(&toml), names).as_deref(),
            Some("550e8400-e29b-41d4-a716-446655440000")
        );
        assert_eq!(resolve("OTHER", Some(&toml), names), None);
        assert_eq!(resolve("my-cache", None, names).as_deref(), Some("id-1"));
        assert_eq!(resolve("nope", None, names), None);
    }

    #[test]
    fn a_cache_entry_is_used_only_while_fresh() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c/entry.json");
        let items = vec![("user/1".to_owned(), String::new())];
        write_cache(&path, &items);
        assert_eq!(read_cache(&path), Some(items.clone()));
        let stale = CacheEntry {
            at_ms: crate::emulator::now_ms() - CACHE_TTL_MS - 1,
            items,
        };
        std::fs::write(&path, serde_json::to_vec(&stale).expect("json")).expect("write");
        assert_eq!(read_cache(&path), None);
        std::fs::write(&path, b"junk").expect("write");
        assert_eq!(read_cache(&path), None);
    }

    #[test]
    fn caches_differ_by_account_and_question() {
        let a = cache_path("https://a\0k1", &["keys", "ns", "u"]);
        assert_ne!(a, cache_path("https://a\0k2", &["keys", "ns", "u"]));
        assert_ne!(a, cache_path("https://a\0k1", &["keys", "ns", "us"]));
        // The key itself never appears in the file name.
        assert!(a.is_none_or(|path| !path.display().to_string().contains("k1")));
    }
}
