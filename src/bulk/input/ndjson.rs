//! NDJSON input: one record per non-blank line, each line read with the bounded line reader.

use std::io::BufRead;

use super::interpret::Interpreter;
use super::{MAX_KEPT_INPUT, Record};
use crate::bulk::line::{self, Line};

/// NDJSON: one record per non-blank line.
pub(super) struct NdjsonRecords {
    reader: Box<dyn BufRead + Send>,
    /// The number of the last line read.
    line: usize,
    interpreter: Interpreter,
}

impl NdjsonRecords {
    /// Reads `reader` from after line `line`.
    pub(super) fn new(
        reader: Box<dyn BufRead + Send>,
        line: usize,
        interpreter: Interpreter,
    ) -> Self {
        Self {
            reader,
            line,
            interpreter,
        }
    }

    /// Reads the next line into the interpreter's queue; `None` at the end of the input.
    fn read_line(&mut self) -> Option<()> {
        self.line += 1;
        let origin = format!("line {}", self.line);
        let record = match line::read(&mut *self.reader) {
            Ok(None) => return None,
            Ok(Some(Line::Text(buf))) => {
                if !buf.iter().all(u8::is_ascii_whitespace) {
                    self.interpreter.record(&buf, origin);
                }
                return Some(());
            }
            Ok(Some(Line::TooLong(start))) => Record::bad(
                origin,
                "the line is longer than 8 MiB",
                Some(&start[..MAX_KEPT_INPUT.min(start.len())]),
            ),
            Err(err) => Record::bad(origin, format!("cannot read: {err}"), None),
        };
        self.interpreter.queue(record);
        Some(())
    }
}

impl Iterator for NdjsonRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        while self.interpreter.nothing_queued() {
            self.read_line()?;
        }
        self.interpreter.queued()
    }
}
