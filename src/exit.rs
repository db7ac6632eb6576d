//! The documented exit codes (`docs/exit-codes.md`) and the error type that carries one.

use std::process::ExitCode;

use crate::api::ApiError;

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

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error whose exit code and hint are known where it is raised.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct UserError {
    pub exit: Exit,
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Self {
            exit,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// The exit code for `err`: a [`UserError`] anywhere in it decides, else an [`ApiError`],
/// else 1.
pub fn code_of(err: &anyhow::Error) -> Exit {
    if let Some(user) = find::<UserError>(err) {
        return user.exit;
    }
    find::<ApiError>(err).map_or(Exit::Failure, ApiError::exit)
}

/// The hint of the [`UserError`] that decides the exit code, else the [`ApiError`]'s.
pub fn hint_of(err: &anyhow::Error) -> Option<String> {
    if let Some(hint) = find::<UserError>(err).and_then(|user| user.hint.clone()) {
        return Some(hint);
    }
    find::<ApiError>(err).and_then(ApiError::hint)
}

/// The service's id for the request that failed, when it gave one.
pub fn request_id_of(err: &anyhow::Error) -> Option<&str> {
    find::<ApiError>(err).and_then(ApiError::request_id)
}

/// Finds an error of type `E` whether it was added as context (which `downcast_ref` sees) or
/// sits in the chain of sources.
fn find<E: std::error::Error + Send + Sync + 'static>(err: &anyhow::Error) -> Option<&E> {
    err.downcast_ref::<E>()
        .or_else(|| err.chain().find_map(|cause| cause.downcast_ref::<E>()))
}

/// Whether `err` comes from writing to a closed pipe (`telnyx-edge … | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
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
    fn the_innermost_user_error_decides() {
        let err = Err::<(), _>(UserError::new(Exit::Conflict, "taken").hint("Use another name."))
            .context("failed to create KV namespace `a`")
            .expect_err("is an error");
        assert_eq!(code_of(&err), Exit::Conflict);
        assert_eq!(hint_of(&err).as_deref(), Some("Use another name."));
        assert_eq!(code_of(&anyhow::anyhow!("plain")), Exit::Failure);
    }
}
