//! How a failed command is reported: its message and causes, and which exit code, hint and
//! request id its error carries.

use crate::client::ApiError;
use crate::error::{Exit, UserError, find};
use crate::ui::jq::JqError;
use crate::ui::printer::Failure;

/// What `main` prints under an error and exits with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    pub exit: Exit,
    /// The error's message, then each cause's.
    pub lines: Vec<String>,
    /// With `-v`, the causes below an [`ApiError`]; empty otherwise.
    pub detail: Vec<String>,
    pub hint: Option<String>,
    /// The service's id for the request that failed, for support.
    pub request_id: Option<String>,
}

impl Report {
    /// A [`UserError`] anywhere in `err` decides the exit code and hint, else an [`ApiError`],
    /// else exit 1. The causes below an [`ApiError`] are the HTTP library's internals, which its
    /// own message already sums up: they are shown only when `verbose`.
    pub(crate) fn of(err: &anyhow::Error, verbose: bool) -> Self {
        let user = find::<UserError>(err);
        let api = find::<ApiError>(err);
        let (mut lines, mut detail) = (Vec::new(), Vec::new());
        let mut below_api_error = false;
        for cause in err.chain() {
            if !below_api_error {
                lines.push(cause.to_string());
                below_api_error = cause.downcast_ref::<ApiError>().is_some();
            } else if verbose {
                detail.push(cause.to_string());
            }
        }
        Self {
            exit: user
                .map(|user| user.exit)
                .or_else(|| api.map(ApiError::exit))
                .unwrap_or(Exit::Failure),
            lines,
            detail,
            hint: user
                .and_then(|user| user.hint.clone())
                .or_else(|| api.and_then(ApiError::hint))
                .or_else(|| jq_failed(err).then(|| JQ_HINT.to_owned())),
            request_id: api.and_then(ApiError::request_id).map(str::to_owned),
        }
    }

    /// The report as the printer renders it.
    pub(crate) fn failure(&self) -> Failure<'_> {
        Failure {
            exit: self.exit,
            lines: &self.lines,
            detail: &self.detail,
            hint: self.hint.as_deref(),
            request_id: self.request_id.as_deref(),
        }
    }
}

/// A `--jq` expression fails on what the command printed, after the command did its work:
/// a script must not take the exit 1 for a write that did not happen.
const JQ_HINT: &str = "The command itself ran, and any change it made stands; only the `--jq` filter of its output failed.";

/// Whether `err` is a `--jq` expression that failed on a command's output (the printer hands it
/// on inside an I/O error).
fn jq_failed(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.is::<JqError>()
            || cause
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .is_some_and(|inner| inner.is::<JqError>())
    })
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
        let report = Report::of(&err, false);
        assert_eq!(report.exit, Exit::Conflict);
        assert_eq!(report.hint.as_deref(), Some("Use another name."));
        assert_eq!(
            report.lines,
            ["failed to create KV namespace `a`", "taken"].map(String::from)
        );
        assert_eq!(
            Report::of(&anyhow::anyhow!("plain"), false).exit,
            Exit::Failure
        );
    }

    #[test]
    fn the_causes_below_an_api_error_are_shown_only_when_verbose() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "tcp connect error");
        let err = Err::<(), _>(ApiError::Connect {
            url: "http://127.0.0.1:1/v2/storage/kvs".to_owned(),
            failure: crate::client::ConnectFailure::Refused,
            proxy: None,
            source: Box::new(inner),
        })
        .context("failed to list KV namespaces")
        .expect_err("is an error");
        assert_eq!(
            Report::of(&err, false).lines,
            [
                "failed to list KV namespaces",
                "cannot connect to 127.0.0.1:1: connection refused"
            ]
            .map(String::from)
        );
        assert!(Report::of(&err, false).detail.is_empty());
        let verbose = Report::of(&err, true);
        assert_eq!(verbose.lines, Report::of(&err, false).lines);
        assert_eq!(verbose.detail, ["tcp connect error"]);
    }
}
