//! The output formats and colour choices, as the command line offers them.

use clap::ValueEnum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorWhen {
    /// Colour only on a terminal, and not when NO_COLOR is set
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// Aligned columns and plain lines for people
    Table,
    /// One JSON document
    Json,
    /// One JSON object per line, streamed
    Ndjson,
    /// One id or key per line
    Ids,
}
