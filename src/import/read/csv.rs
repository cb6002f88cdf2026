//! CSV rows, streamed: the `csv` crate splits records as bytes (quoted fields with delimiters,
//! quotes and line breaks, LF or CRLF), then each cell is decoded from the file's encoding. Both
//! encodings agree on the ASCII delimiters and quotes, so splitting before decoding is exact.
//! Memory holds one record at a time, whatever the file's length.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use ::csv::{ByteRecord, Reader, ReaderBuilder};

use super::{Detected, Encoding, Format, Options, ReadError, Row, RowError, detect, fit};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A record longer than this is refused: no contact's row is that long, and the usual cause is
/// a quote never closed, which swallows the lines after it into one cell.
const ROW_LIMIT: usize = 1 << 20;

pub(super) struct CsvRows {
    path: PathBuf,
    delimiter: u8,
    encoding: Encoding,
    reader: Reader<File>,
    record: ByteRecord,
    width: usize,
    /// The number the next record read will have.
    next_number: u64,
    /// Set after an I/O error, which would otherwise repeat on every call.
    failed: bool,
}

impl CsvRows {
    pub(super) fn open(path: &Path, options: &Options) -> Result<(Self, Vec<String>, Detected), ReadError> {
        let sample = detect::sample(path)?;
        let bom = sample.starts_with(BOM);
        let encoding = match options.encoding {
            Some(encoding) => encoding,
            None if bom => Encoding::Utf8,
            None => detect::encoding(path)?,
        };
        let delimiter =
            options.delimiter.unwrap_or_else(|| detect::delimiter(&sample[if bom { BOM.len() } else { 0 }..]));
        let mut reader = reader(path, delimiter)?;
        let mut record = ByteRecord::new();
        if !reader.read_byte_record(&mut record).map_err(|e| csv_error(path, e))? {
            return Err(ReadError::Empty);
        }
        let headers = record
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let name = decode(raw, encoding).ok_or(ReadError::HeaderEncoding)?;
                let name = name.trim();
                Ok(if name.is_empty() { format!("Column {}", i + 1) } else { name.to_owned() })
            })
            .collect::<Result<Vec<_>, ReadError>>()?;
        let rows = Self {
            path: path.to_owned(),
            delimiter,
            encoding,
            reader,
            record,
            width: headers.len(),
            next_number: 1,
            failed: false,
        };
        Ok((rows, headers, Detected { format: Format::Csv, delimiter, encoding }))
    }

    pub(super) fn skip_to(&mut self, number: u64) -> Result<(), ReadError> {
        if number < self.next_number {
            self.reader = reader(&self.path, self.delimiter)?;
            // The header again, read past.
            self.reader.read_byte_record(&mut self.record).map_err(|e| csv_error(&self.path, e))?;
            self.next_number = 1;
            self.failed = false;
        }
        while self.next_number < number {
            if !self.reader.read_byte_record(&mut self.record).map_err(|e| csv_error(&self.path, e))? {
                break;
            }
            self.next_number += 1;
        }
        Ok(())
    }
}

impl Iterator for CsvRows {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let number = self.next_number;
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                self.failed = true;
                return Some(Err(RowError { number, reason: format!("the file could not be read further: {e}") }));
            }
        }
        self.next_number += 1;
        if self.record.as_slice().len() > ROW_LIMIT {
            let reason = format!(
                "the row is longer than {} KiB: a quoted cell may be missing its closing quote",
                ROW_LIMIT / 1024
            );
            return Some(Err(RowError { number, reason }));
        }
        let mut cells = Vec::with_capacity(self.width.max(self.record.len()));
        for (i, raw) in self.record.iter().enumerate() {
            match decode(raw, self.encoding) {
                Some(cell) => cells.push(cell),
                None => {
                    let reason = format!(
                        "cell {} is not valid UTF-8 text (if the file comes from Excel, choose the Windows-1252 encoding)",
                        i + 1
                    );
                    return Some(Err(RowError { number, reason }));
                }
            }
        }
        Some(fit(number, cells, self.width))
    }
}

/// A reader positioned at the file's first record, past any byte-order mark.
fn reader(path: &Path, delimiter: u8) -> Result<Reader<File>, ReadError> {
    let mut file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut start = [0u8; 3];
    let read = file.read(&mut start).map_err(|e| ReadError::io(path, e))?;
    let skip = if start[..read] == *BOM { 3 } else { 0 };
    file.seek(SeekFrom::Start(skip)).map_err(|e| ReadError::io(path, e))?;
    Ok(ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(256 * 1024)
        .from_reader(file))
}

fn decode(raw: &[u8], encoding: Encoding) -> Option<String> {
    match encoding {
        Encoding::Utf8 => std::str::from_utf8(raw).ok().map(str::to_owned),
        Encoding::Windows1252 => Some(encoding_rs::WINDOWS_1252.decode_without_bom_handling(raw).0.into_owned()),
    }
}

fn csv_error(path: &Path, error: ::csv::Error) -> ReadError {
    match error.into_kind() {
        ::csv::ErrorKind::Io(source) => ReadError::io(path, source),
        other => ReadError::io(path, std::io::Error::other(format!("{other:?}"))),
    }
}
