//! NDJSON input: one record per non-blank line, each line read with the bounded line reader.

use std::collections::VecDeque;
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
    pending: VecDeque<Record>,
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
            pending: VecDeque::new(),
        }
    }
}

impl Iterator for NdjsonRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.pending.pop_front() {
                return Some(record);
            }
            self.line += 1;
            let origin = format!("line {}", self.line);
            let buf = match line::read(&mut *self.reader) {
                Ok(None) => return None,
                Ok(Some(Line::Text(buf))) => buf,
                Ok(Some(Line::TooLong(start))) => {
                    return Some(Record::bad(
                        origin,
                        "the line is longer than 8 MiB",
                        Some(&start[..MAX_KEPT_INPUT.min(start.len())]),
                    ));
                }
                Err(err) => {
                    return Some(Record::bad(origin, format!("cannot read: {err}"), None));
                }
            };
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.interpreter.record(&buf, origin, &mut self.pending);
        }
    }
}
