//! `NAMESPACE` arguments: a UUID, or a namespace name looked up across every page of the list.

use anyhow::Context as _;

use crate::api::Client;
use crate::api::types::Namespace;
use crate::exit::{Exit, UserError};

/// A namespace a command operates on.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    /// How messages name it: the name when known, else the id.
    pub label: String,
    /// The namespace object, when resolving fetched it.
    pub namespace: Option<Namespace>,
}

/// Whether `spec` is a UUID in the form the API uses.
pub fn is_uuid(spec: &str) -> bool {
    spec.len() == 36 && uuid::Uuid::try_parse(spec).is_ok()
}

/// Resolves without a request when `spec` is a UUID (key commands need only the id).
pub async fn id(client: &Client, spec: &str) -> anyhow::Result<Target> {
    if is_uuid(spec) {
        return Ok(Target {
            id: spec.to_ascii_lowercase(),
            label: spec.to_ascii_lowercase(),
            namespace: None,
        });
    }
    by_name(client, spec).await
}

/// Resolves and fetches the namespace object.
pub async fn namespace(client: &Client, spec: &str) -> anyhow::Result<(Target, Namespace)> {
    let target = id(client, spec).await?;
    if let Some(namespace) = target.namespace.clone() {
        return Ok((target, namespace));
    }
    match client.get_namespace(&target.id).await {
        Ok(namespace) => Ok((
            Target {
                label: namespace.name.clone(),
                namespace: Some(namespace.clone()),
                ..target
            },
            namespace,
        )),
        Err(err) if err.status() == Some(404) => Err(UserError::new(
            Exit::NotFound,
            format!("no KV namespace with id `{spec}`"),
        )
        .hint("List the namespaces with `telnyx-edge storage kv list`.")
        .into()),
        Err(err) => {
            Err(anyhow::Error::new(err).context(format!("failed to get KV namespace `{spec}`")))
        }
    }
}

async fn by_name(client: &Client, spec: &str) -> anyhow::Result<Target> {
    if crate::validate::namespace_name(spec).is_err() {
        return Err(UserError::new(
            Exit::NotFound,
            format!(
                "no KV namespace `{}`: it is neither a UUID nor a namespace name (lowercase letters, digits and `-`)",
                spec.escape_debug()
            ),
        )
        .hint("List the namespaces with `telnyx-edge storage kv list`.")
        .into());
    }
    let found = client
        .find_namespace_by_name(spec)
        .await
        .with_context(|| format!("failed to look up KV namespace `{spec}`"))?;
    match found {
        Some(namespace) => Ok(Target {
            id: namespace.id.clone(),
            label: namespace.name.clone(),
            namespace: Some(namespace),
        }),
        None => Err(UserError::new(
            Exit::NotFound,
            format!("no KV namespace `{spec}`: not a UUID, and no namespace has that name"),
        )
        .hint("List the namespaces with `telnyx-edge storage kv list`, or create it with `telnyx-edge storage kv create --name NAME`.")
        .into()),
    }
}
