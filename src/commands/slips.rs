//! Common slips on the command line, answered with the command meant: exit 2, nothing sent.

use crate::cli::{CreateArgs, StrayArgs};
use crate::error::{Exit, UserError};

/// `telnyx-edge kv …`: the KV commands live under `storage`.
pub(crate) fn kv(args: &StrayArgs) -> UserError {
    let rest: Vec<String> = args
        .rest
        .iter()
        .map(|word| {
            let word = word.to_string_lossy();
            shlex::try_quote(&word).map_or_else(|_| word.to_string(), |q| q.into_owned())
        })
        .collect();
    let meant = format!("telnyx-edge storage kv {}", rest.join(" "));
    UserError::new(
        Exit::Usage,
        "there is no `telnyx-edge kv`; the KV commands are under `storage`",
    )
    .hint(format!("Did you mean `{}`?", meant.trim_end()))
}

/// `create foo`: the name is an option.
pub(crate) fn create(args: &CreateArgs) -> Result<(), UserError> {
    match (&args.stray_name, &args.name) {
        (Some(stray), None) => Err(UserError::new(
            Exit::Usage,
            format!("`create` takes the name as an option, not `{stray}`"),
        )
        .hint(format!(
            "Did you mean `telnyx-edge storage kv create --name {stray}`?"
        ))),
        (Some(stray), Some(name)) => Err(UserError::new(
            Exit::Usage,
            format!("unexpected `{stray}`: the name is `{name}` (from `--name`)"),
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_is_pointed_at_storage_kv() {
        let err = kv(&StrayArgs {
            rest: vec!["list".into(), "--json".into(), "a b".into()],
        });
        assert_eq!(err.exit, Exit::Usage);
        assert_eq!(
            err.hint.as_deref(),
            Some("Did you mean `telnyx-edge storage kv list --json 'a b'`?")
        );
    }
}
