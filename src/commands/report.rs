//! How a failed command is reported: which exit code, hint and request id its error carries.

use crate::client::ApiError;
use crate::error::{Exit, UserError, find};

/// What `main` prints under an error and exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub exit: Exit,
    pub hint: Option<String>,
    /// The service's id for the request that failed, for support.
    pub request_id: Option<String>,
}

impl Report {
    /// A [`UserError`] anywhere in `err` decides the exit code and hint, else an [`ApiError`],
    /// else exit 1.
    pub(crate) fn of(err: &anyhow::Error) -> Self {
        let user = find::<UserError>(err);
        let api = find::<ApiError>(err);
        Self {
            exit: user
                .map(|user| user.exit)
                .or_else(|| api.map(ApiError::exit))
                .unwrap_or(Exit::Failure),
            hint: user
                .and_then(|user| user.hint.clone())
                .or_else(|| api.and_then(ApiError::hint)),
            request_id: api.and_then(ApiError::request_id).map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn the_innermost_user_error_decides() {
        let err = Err::<(), _>(UserError::new(Exit::Conflict, "taken").hint("Use another name."))
            .context("failed to create KV namespace `a`")
            .expect_err("is an error");
        let report = Report::of(&err);
        assert_eq!(report.exit, Exit::Conflict);
        assert_eq!(report.hint.as_deref(), Some("Use another name."));
        assert_eq!(Report::of(&anyhow::anyhow!("plain")).exit, Exit::Failure);
    }
}
