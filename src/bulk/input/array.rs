//! A JSON array of items (wrangler's bulk format), split into its elements without parsing the
//! whole array; arrays may follow each other, and NDJSON lines may follow them.

use std::io::BufRead;

use super::interpret::Interpreter;
use super::ndjson::NdjsonRecords;
use super::{MAX_KEPT_INPUT, Record, skip_blank};
use crate::bulk::line::MAX_LINE;

/// Where a JSON text is: inside a string (and after a backslash), and how deep in brackets.
#[derive(Debug, Default, Clone, Copy)]
struct Scanner {
    depth: i32,
    in_string: bool,
    escaped: bool,
}

impl Scanner {
    fn feed(&mut self, byte: u8) {
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            return;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => self.depth -= 1,
            _ => {}
        }
    }
}

/// A JSON array, split into its elements without parsing the whole array.
pub(super) struct ArrayRecords {
    reader: Box<dyn BufRead + Send>,
    index: usize,
    /// Line breaks read so far, so that NDJSON lines after the arrays are numbered truly.
    lines: usize,
    /// NDJSON lines that follow the arrays (`[…]` then `{…}` lines, as a mixed pipe gives).
    then: Option<Box<NdjsonRecords>>,
    done: bool,
    /// The last element read ended its array (`5]`).
    closed: bool,
    interpreter: Interpreter,
}

/// The next element of an array, as read.
enum Element {
    Bytes(Vec<u8>),
    /// Longer than [`MAX_LINE`]: skipped, its first bytes kept.
    TooLong(Vec<u8>),
    End,
}

impl ArrayRecords {
    pub(super) fn new(
        mut reader: Box<dyn BufRead + Send>,
        interpreter: Interpreter,
        lines: usize,
    ) -> Self {
        // The reader stands at the `[`.
        reader.consume(1);
        Self {
            reader,
            index: 0,
            lines,
            then: None,
            done: false,
            closed: false,
            interpreter,
        }
    }

    fn byte(&mut self) -> std::io::Result<Option<u8>> {
        let buf = self.reader.fill_buf()?;
        let Some(&byte) = buf.first() else {
            return Ok(None);
        };
        self.reader.consume(1);
        if byte == b'\n' {
            self.lines += 1;
        }
        Ok(Some(byte))
    }

    /// The bytes of the next element; [`Element::End`] at `]`.
    fn element(&mut self) -> Result<Element, String> {
        let io = |err: std::io::Error| format!("cannot read: {err}");
        // Skip white space and the comma before the element.
        let first = loop {
            match self.byte().map_err(io)? {
                None => return Err("the array ends without `]`: the input is truncated".into()),
                Some(b) if b.is_ascii_whitespace() || b == b',' => {}
                Some(b']') => return Ok(Element::End),
                Some(b) => break b,
            }
        };
        let mut bytes = vec![first];
        let mut too_long = false;
        let mut scanner = Scanner::default();
        scanner.feed(first);
        let scalar = scanner.depth == 0 && !scanner.in_string;
        loop {
            if !scalar && scanner.depth == 0 && !scanner.in_string {
                break;
            }
            let Some(byte) = self.byte().map_err(io)? else {
                return Err("the array ends inside an element: the input is truncated".into());
            };
            if scalar && (byte == b',' || byte == b']' || byte.is_ascii_whitespace()) {
                self.closed = byte == b']';
                break;
            }
            scanner.feed(byte);
            if bytes.len() < MAX_LINE {
                bytes.push(byte);
            } else {
                too_long = true;
            }
        }
        Ok(if too_long {
            bytes.truncate(MAX_KEPT_INPUT);
            Element::TooLong(bytes)
        } else {
            Element::Bytes(bytes)
        })
    }

    /// After a closing `]`: another array goes on the input (`cat a.json b.json`, a byte order
    /// mark at the second file's start allowed), or NDJSON lines do.
    fn trailing(&mut self) -> Trail {
        match skip_blank(&mut *self.reader) {
            Err(err) => Trail::Bad(Record::bad(
                "input".into(),
                format!("cannot read: {err}"),
                None,
            )),
            Ok((next, lines)) => {
                self.lines += lines;
                match next {
                    None => Trail::End,
                    Some(b'[') => {
                        self.reader.consume(1);
                        Trail::More
                    }
                    Some(_) => Trail::Lines,
                }
            }
        }
    }

    /// What follows the end of an array, as the next record (if any).
    fn after_array(&mut self) -> Option<Record> {
        self.closed = false;
        match self.trailing() {
            Trail::More => None,
            Trail::End => {
                self.done = true;
                None
            }
            Trail::Lines => {
                self.done = true;
                let reader = std::mem::replace(&mut self.reader, Box::new(std::io::empty()));
                // The same interpreter: a field warned about once is not warned about again.
                let reading = self.interpreter.reading;
                let interpreter =
                    std::mem::replace(&mut self.interpreter, Interpreter::new(reading));
                self.then = Some(Box::new(NdjsonRecords::new(
                    reader,
                    self.lines,
                    interpreter,
                )));
                None
            }
            Trail::Bad(record) => {
                self.done = true;
                Some(record)
            }
        }
    }
}

/// What comes after an array's `]`.
enum Trail {
    /// Another array.
    More,
    /// Something else: NDJSON lines, read as such.
    Lines,
    /// The end of the input.
    End,
    Bad(Record),
}

impl Iterator for ArrayRecords {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            if let Some(record) = self.interpreter.queued() {
                return Some(record);
            }
            if self.done {
                return self.then.as_mut().and_then(|lines| lines.next());
            }
            let origin = format!("index {}", self.index);
            self.index += 1;
            match self.element() {
                Ok(Element::Bytes(bytes)) => {
                    self.interpreter.record(&bytes, origin);
                    if self.closed
                        && let Some(record) = self.after_array()
                    {
                        self.interpreter.queue(record);
                    }
                }
                Ok(Element::TooLong(start)) => {
                    let record =
                        Record::bad(origin, "the element is longer than 8 MiB", Some(&start));
                    if self.closed
                        && let Some(after) = self.after_array()
                    {
                        self.interpreter.queue(after);
                    }
                    return Some(record);
                }
                Ok(Element::End) => {
                    self.index -= 1;
                    if let Some(record) = self.after_array() {
                        return Some(record);
                    }
                }
                Err(error) => {
                    self.done = true;
                    return Some(Record::bad(origin, error, None));
                }
            }
        }
    }
}
