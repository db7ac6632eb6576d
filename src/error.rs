//! The error model: the documented exit codes (`docs/exit-codes.md`), the error that carries one
//! from where it is raised, and how to find a typed error in an `anyhow` chain.

use std::process::ExitCode;

/// Every exit code the binary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Failure = 1,
    Usage = 2,
    NotFound = 3,
    Auth = 4,
    Conflict = 5,
    Unavailable = 6,
    WaitFailed = 7,
    Interrupted = 130,
}

impl Exit {
    /// A stable machine name for the class of failure, the `code` of an error reported as JSON
    /// (`docs/exit-codes.md`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Success => "ok",
            Self::Failure => "failure",
            Self::Usage => "usage",
            Self::NotFound => "not_found",
            Self::Auth => "auth",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::WaitFailed => "wait_failed",
            Self::Interrupted => "interrupted",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error whose exit code and hint are known where it is raised.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct UserError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub(crate) fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Not a failure to report, only an exit code: `diff` found differences (exit 1), as diff(1)
/// does. `main` prints nothing for it.
#[derive(Debug, thiserror::Error)]
#[error("exit status {}", *.0 as i32)]
pub(crate) struct Quiet(pub Exit);

/// Finds an error of type `E` whether it was added as context (which `downcast_ref` sees) or
/// sits in the chain of sources.
pub(crate) fn find<E: std::error::Error + Send + Sync + 'static>(
    err: &anyhow::Error,
) -> Option<&E> {
    err.downcast_ref::<E>()
        .or_else(|| err.chain().find_map(|cause| cause.downcast_ref::<E>()))
}

/// Whether `err` comes from writing to a closed pipe (`telnyx-edge … | head`).
pub(crate) fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn a_user_error_is_found_as_context_or_as_a_source() {
        let err = Err::<(), _>(UserError::new(Exit::Conflict, "taken").hint("Use another name."))
            .context("failed to create KV namespace `a`")
            .expect_err("is an error");
        let found = find::<UserError>(&err).expect("found");
        assert_eq!(
            (found.exit, found.hint.as_deref()),
            (Exit::Conflict, Some("Use another name."))
        );
        assert!(find::<UserError>(&anyhow::anyhow!("plain")).is_none());
    }
}
