//! `NAMESPACE` arguments, tried in this order: a UUID; a binding in the `func.toml` in use; a
//! namespace name, looked up across every page of the list. Names are lower case and bindings
//! upper case, so the forms never collide.

use std::path::Path;

use anyhow::Context as _;

use crate::api::rules::is_namespace_id;
use crate::api::types::Namespace;
use crate::commands::backend::Backend;
use crate::error::{Exit, UserError};
use crate::local::func_toml::{FuncToml, valid_binding};

/// A namespace a command operates on.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub id: String,
    /// How messages name it: the name when known, else the id.
    pub label: String,
    /// The namespace object, when resolving fetched it.
    pub namespace: Option<Namespace>,
}

/// Resolves without a request when `spec` is a UUID or a binding (key commands need only the
/// id).
pub(crate) async fn id(backend: &Backend, spec: &str) -> anyhow::Result<Target> {
    if is_namespace_id(spec) {
        return Ok(Target {
            id: spec.to_ascii_lowercase(),
            label: spec.to_ascii_lowercase(),
            namespace: None,
        });
    }
    if valid_binding(spec) {
        return by_binding(backend.func_toml.as_deref(), spec);
    }
    by_name(backend, spec).await
}

fn by_binding(func_toml: Option<&Path>, spec: &str) -> anyhow::Result<Target> {
    let not_found = |why: String| -> anyhow::Error {
        UserError::new(
            Exit::NotFound,
            format!("no KV namespace `{spec}`: it is not a UUID, {why}, and namespace names are lower case"),
        )
        .hint("Bind one with `telnyx-edge storage kv bind NAMESPACE BINDING`, or pass `--func-toml PATH`.")
        .into()
    };
    let Some(path) = func_toml.filter(|path| path.is_file()) else {
        return Err(not_found(
            "there is no func.toml here or above to hold a binding".into(),
        ));
    };
    let toml = FuncToml::load(path)?;
    match toml.binding(spec) {
        Some(id) if is_namespace_id(&id) => Ok(Target {
            id: id.to_ascii_lowercase(),
            label: spec.to_owned(),
            namespace: None,
        }),
        Some(id) => Err(UserError::new(
            Exit::Usage,
            format!(
                "binding `{spec}` in `{}` has id `{}`, which is not a namespace UUID",
                path.display(),
                id.escape_debug()
            ),
        )
        .into()),
        None => {
            let known: Vec<String> = toml.bindings().into_iter().map(|(name, _)| name).collect();
            let listed = if known.is_empty() {
                "it has none".to_owned()
            } else {
                format!("it has {}", known.join(", "))
            };
            Err(not_found(format!(
                "`{}` has no such binding ({listed})",
                crate::local::project::display_path(path)
            )))
        }
    }
}

/// Resolves and fetches the namespace object.
pub(crate) async fn namespace(
    backend: &Backend,
    spec: &str,
) -> anyhow::Result<(Target, Namespace)> {
    let client = &backend.client;
    let target = id(backend, spec).await?;
    if let Some(namespace) = target.namespace.clone() {
        return Ok((target, namespace));
    }
    match client.get_namespace(&target.id).await {
        Ok(namespace) => Ok((
            Target {
                label: if target.label == target.id {
                    namespace.name.clone()
                } else {
                    target.label.clone()
                },
                namespace: Some(namespace.clone()),
                ..target
            },
            namespace,
        )),
        Err(err) if err.status() == Some(404) => Err(UserError::new(
            Exit::NotFound,
            format!("no KV namespace with id `{}` (from `{spec}`)", target.id),
        )
        .hint("List the namespaces with `telnyx-edge storage kv list`.")
        .into()),
        Err(err) => {
            Err(anyhow::Error::new(err).context(format!("failed to get KV namespace `{spec}`")))
        }
    }
}

async fn by_name(backend: &Backend, spec: &str) -> anyhow::Result<Target> {
    let client = &backend.client;
    if crate::api::rules::namespace_name(spec).is_err() {
        return Err(UserError::new(
            Exit::NotFound,
            format!(
                "no KV namespace `{}`: it is not a UUID, a binding name (upper case) or a namespace name (lower case)",
                spec.escape_debug()
            ),
        )
        .hint("List the namespaces with `telnyx-edge storage kv list`.")
        .into());
    }
    let found = client
        .look_up_name(spec)
        .await
        .with_context(|| format!("failed to look up KV namespace `{spec}`"))?;
    match found {
        Ok(namespace) => Ok(Target {
            id: namespace.id.clone(),
            label: namespace.name.clone(),
            namespace: Some(namespace),
        }),
        Err(names) => {
            let error = UserError::new(
                Exit::NotFound,
                format!("no KV namespace `{spec}`: not a UUID, and no namespace has that name"),
            );
            Err(match closest(spec, &names).as_slice() {
                [] => error.hint("List the namespaces with `telnyx-edge storage kv list`, or create it with `telnyx-edge storage kv create --name NAME`."),
                [one] => error.hint(format!("Did you mean `{one}`?")),
                several => error.hint(format!(
                    "Did you mean one of {}?",
                    several
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
            .into())
        }
    }
}

/// The names close to `spec` (by edit distance, as clap suggests subcommands), closest first.
fn closest<'a>(spec: &str, names: &'a [String]) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = names
        .iter()
        .map(|name| (strsim::jaro_winkler(spec, name), name.as_str()))
        .filter(|(score, _)| *score > 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, name)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_and_far_ones_are_not() {
        let names: Vec<String> = ["my-cache", "my-cache-2", "sessions", "other"]
            .map(str::to_owned)
            .to_vec();
        assert_eq!(closest("my-cach", &names), ["my-cache", "my-cache-2"]);
        assert_eq!(closest("sesions", &names), ["sessions"]);
        assert!(closest("zzz", &names).is_empty());
    }
}
