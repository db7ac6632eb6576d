//! Confirmations before destructive work: asked on a terminal, refused without one unless
//! `--yes`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use crate::error::{Exit, UserError};

/// What the user must type.
pub(crate) enum Answer<'a> {
    /// `y` or `yes`.
    Yes,
    /// This exact text (a namespace's name).
    Exactly(&'a str),
}

/// Asks `question` on stderr and reads the answer from stdin. `action` names what would
/// happen, for the error when nobody can be asked.
pub(crate) fn confirm(
    yes: bool,
    action: &str,
    question: &str,
    answer: Answer<'_>,
) -> Result<(), UserError> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(UserError::new(
            Exit::Usage,
            format!("refusing to {action} without confirmation: there is no terminal to ask on"),
        )
        .hint("Pass --yes (or set TELNYX_EDGE_SKIP_CONFIRMATIONS=1) to go ahead without asking."));
    }
    let mut stderr = std::io::stderr().lock();
    let _ = write!(stderr, "{question} ");
    let _ = stderr.flush();
    drop(stderr);
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| UserError::new(Exit::Failure, format!("cannot read the answer: {err}")))?;
    let line = line.trim();
    let agreed = match answer {
        Answer::Yes => matches!(line.to_ascii_lowercase().as_str(), "y" | "yes"),
        Answer::Exactly(expected) => line == expected,
    };
    if agreed {
        Ok(())
    } else {
        Err(UserError::new(
            Exit::Failure,
            format!("cancelled: did not {action}"),
        ))
    }
}
