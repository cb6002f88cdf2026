//! The first worksheet of an XLSX workbook, streamed: calamine's cell reader walks the sheet's
//! XML on a thread of its own (the reader borrows the workbook, so the two live together
//! there) and hands rows over a bounded channel, so memory holds the shared strings and a few
//! hundred rows, not the sheet. The first row with a value is the header; dates become ISO
//! text and integral numbers lose their `.0`.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use calamine::{DataRef, Reader, Xlsx};

use super::{ReadError, Row, RowError, fit};

/// Rows read ahead of the consumer.
const AHEAD: usize = 256;

enum Message {
    Headers(Result<Vec<String>, ReadError>),
    Row(Result<Row, RowError>),
}

pub(super) struct XlsxRows {
    path: PathBuf,
    receiver: Receiver<Message>,
    /// A row read past by [`XlsxRows::skip_to`], returned next.
    pending: Option<Result<Row, RowError>>,
    /// The number of the next row to return, at least.
    next_number: u64,
}

impl XlsxRows {
    pub(super) fn open(path: &Path) -> Result<(Self, Vec<String>), ReadError> {
        let (receiver, headers) = start(path)?;
        Ok((Self { path: path.to_owned(), receiver, pending: None, next_number: 1 }, headers))
    }

    pub(super) fn skip_to(&mut self, number: u64) -> Result<(), ReadError> {
        if number < self.next_number {
            // Dropping the old receiver ends the old thread at its next send.
            self.receiver = start(&self.path)?.0;
            self.pending = None;
            self.next_number = 1;
        }
        while self.next_number < number {
            let Some(row) = self.next() else { break };
            let read = match &row {
                Ok(row) => row.number,
                Err(error) => error.number,
            };
            if read >= number {
                self.next_number = read;
                self.pending = Some(row);
                break;
            }
        }
        Ok(())
    }
}

impl Iterator for XlsxRows {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let row = match self.pending.take() {
            Some(row) => row,
            None => match self.receiver.recv().ok()? {
                Message::Row(row) => row,
                Message::Headers(_) => return None,
            },
        };
        let number = match &row {
            Ok(row) => row.number,
            Err(error) => error.number,
        };
        self.next_number = number + 1;
        Some(row)
    }
}

fn start(path: &Path) -> Result<(Receiver<Message>, Vec<String>), ReadError> {
    let (sender, receiver) = sync_channel(AHEAD);
    let owned = path.to_owned();
    thread::Builder::new()
        .name("xlsx-reader".into())
        .spawn(move || read_sheet(&owned, &sender))
        .map_err(|e| ReadError::io(path, e))?;
    match receiver.recv() {
        Ok(Message::Headers(headers)) => Ok((receiver, headers?)),
        _ => Err(ReadError::Workbook("the reader stopped unexpectedly".into())),
    }
}

/// Reads the sheet on the reader's thread; returns when done or when the table is dropped.
fn read_sheet(path: &Path, sender: &SyncSender<Message>) {
    let mut workbook: Xlsx<_> = match calamine::open_workbook(path) {
        Ok(workbook) => workbook,
        Err(e) => {
            let _ = sender.send(Message::Headers(Err(ReadError::Workbook(e.to_string()))));
            return;
        }
    };
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        let _ = sender.send(Message::Headers(Err(ReadError::NoWorksheet)));
        return;
    };
    let mut cells = match workbook.worksheet_cells_reader(&sheet) {
        Ok(cells) => cells,
        Err(e) => {
            let _ = sender.send(Message::Headers(Err(ReadError::Workbook(e.to_string()))));
            return;
        }
    };
    // The header row's index and first column, once seen, and the row being gathered.
    let mut header: Option<(u32, u32, usize)> = None;
    let mut current: Option<(u32, Vec<(u32, String)>)> = None;
    loop {
        let cell = match cells.next_cell() {
            Ok(cell) => cell,
            Err(e) => {
                let message = match header {
                    None => Message::Headers(Err(ReadError::Workbook(e.to_string()))),
                    Some((top, _, _)) => {
                        let number = current.as_ref().map_or(1, |(row, _)| u64::from(row - top));
                        let reason = format!("the worksheet could not be read further: {e}");
                        Message::Row(Err(RowError { number, reason }))
                    }
                };
                let _ = sender.send(message);
                return;
            }
        };
        let finished = match (&cell, &current) {
            (Some(cell), Some((row, _))) => cell.get_position().0 != *row,
            (None, _) => true,
            (Some(_), None) => false,
        };
        if finished && let Some((row, values)) = current.take() {
            let message = match header {
                None => {
                    let (first_column, names) = header_names(values);
                    header = Some((row, first_column, names.len()));
                    Message::Headers(Ok(names))
                }
                Some((top, first_column, width)) => {
                    Message::Row(data_row(u64::from(row - top), values, first_column, width))
                }
            };
            if sender.send(message).is_err() {
                return;
            }
        }
        let Some(cell) = cell else { break };
        let (row, column) = cell.get_position();
        let Some(value) = text(cell.get_value()) else { continue };
        current.get_or_insert_with(|| (row, Vec::new())).1.push((column, value));
    }
    if header.is_none() {
        let _ = sender.send(Message::Headers(Err(ReadError::Empty)));
    }
}

/// The header row's first column and its names, a blank name called after its position.
fn header_names(values: Vec<(u32, String)>) -> (u32, Vec<String>) {
    let first = values.first().map_or(0, |(column, _)| *column);
    let last = values.last().map_or(0, |(column, _)| *column);
    let mut names: Vec<String> = (first..=last).map(|c| format!("Column {}", c - first + 1)).collect();
    for (column, name) in values {
        let name = name.trim();
        if !name.is_empty() {
            names[(column - first) as usize] = name.to_owned();
        }
    }
    (first, names)
}

fn data_row(number: u64, values: Vec<(u32, String)>, first_column: u32, width: usize) -> Result<Row, RowError> {
    if values.iter().any(|(column, _)| *column < first_column) {
        let reason = "the row has a value left of the header's first column".to_owned();
        return Err(RowError { number, reason });
    }
    let used = values.last().map_or(0, |(column, _)| (column - first_column) as usize + 1);
    let mut cells = vec![String::new(); used];
    for (column, value) in values {
        cells[(column - first_column) as usize] = value;
    }
    fit(number, cells, width)
}

/// A cell as text, `None` when it holds nothing. An error value (`#N/A`) holds nothing either.
fn text(value: &DataRef<'_>) -> Option<String> {
    let text = match value {
        DataRef::Empty | DataRef::Error(_) => return None,
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => number(*f),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        DataRef::DateTime(dt) => number(dt.as_f64()),
    };
    (!text.is_empty()).then_some(text)
}

/// A number as a person would write it: `42`, not `42.0`.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 { format!("{}", f as i64) } else { f.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_numbers_lose_their_fraction_and_others_keep_it() {
        assert_eq!(number(42.0), "42");
        assert_eq!(number(-3.0), "-3");
        assert_eq!(number(0.1), "0.1");
        assert_eq!(number(1e20), "100000000000000000000");
    }
}
