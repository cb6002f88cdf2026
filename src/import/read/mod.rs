//! Reading an import file into rows of text: CSV (`,` `;` or tab, UTF-8 or Windows-1252),
//! the first worksheet of an XLSX workbook, or a vCard 3.0/4.0 file whose cards become rows
//! under field-vocabulary headers. Every format yields the same [`Table`]: headers, then
//! numbered rows streamed in constant memory, so one mapping path imports them all. A row that
//! cannot be read is a [`RowError`] and reading goes on; a file that cannot be read at all is a
//! [`ReadError`].
//!
//! This module knows files, not records: mapping a row onto a person is the import's job.
//! It depends on nothing else in the crate (except [`suggest`], which reads the vocabulary), so
//! the fuzz targets under `fuzz/` compile it on its own.

mod csv;
pub mod dates;
mod detect;
#[cfg(not(fuzzing))]
pub mod suggest;
mod vcard;
mod xlsx;

use std::fs::File;
use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::str::FromStr;

pub use vcard::HEADERS as VCARD_HEADERS;

/// The kind of file, detected from its content and then its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Vcard,
}

impl FromStr for Format {
    type Err = UnknownChoice;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Self::Csv),
            "xlsx" => Ok(Self::Xlsx),
            "vcard" | "vcf" => Ok(Self::Vcard),
            _ => Err(UnknownChoice("a format: csv, xlsx or vcard")),
        }
    }
}

/// The character encoding of a text file (CSV, vCard).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Windows1252,
}

impl FromStr for Encoding {
    type Err = UnknownChoice;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        match raw.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" => Ok(Self::Utf8),
            "windows-1252" | "cp1252" | "latin1" | "latin-1" | "iso-8859-1" => Ok(Self::Windows1252),
            _ => Err(UnknownChoice("an encoding: utf-8 or windows-1252")),
        }
    }
}

/// A value that names none of the choices; the text says what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {0}")]
pub struct UnknownChoice(&'static str);

/// What the caller already knows about the file; `None` lets the reader detect it. The first
/// row of a CSV or XLSX file is always its header.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub format: Option<Format>,
    /// For CSV only: `b','`, `b';'` or `b'\t'` (any single byte is accepted).
    pub delimiter: Option<u8>,
    pub encoding: Option<Encoding>,
}

/// What the reader settled on. `delimiter` is meaningful for CSV only (`b','` otherwise) and
/// `encoding` for CSV and vCard (`Utf8` for XLSX).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    pub format: Format,
    pub delimiter: u8,
    pub encoding: Encoding,
}

/// One data row. `number` is 1-based and excludes the header: the n-th record of a CSV file
/// after its header, the spreadsheet row minus the header row for XLSX (empty rows are skipped
/// but keep their number), the n-th card of a vCard file. It is the same on every read of the
/// same file, so an import can key its work on it. `cells` has exactly one cell per header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub number: u64,
    pub cells: Vec<String>,
}

/// A row the reader could not read; the rows after it are still read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("row {number}: {reason}")]
pub struct RowError {
    pub number: u64,
    pub reason: String,
}

/// The file as a whole cannot be read. Messages are written for the person importing it.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("the file {} could not be read: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("the file is empty: the first row must name the columns")]
    Empty,
    #[error("the header row is not valid UTF-8; choose the Windows-1252 encoding if the file comes from Excel")]
    HeaderEncoding,
    #[error("this is an old Excel (.xls) workbook; save it as .xlsx or .csv and import that")]
    LegacyExcel,
    #[error("the workbook could not be read: {0}")]
    Workbook(String),
    #[error("the workbook has no worksheet")]
    NoWorksheet,
    #[error("the file holds no vCard (a card starts with BEGIN:VCARD)")]
    NoCards,
}

impl ReadError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io { path: path.to_owned(), source }
    }
}

/// An open import file: its headers and detected form, and an iterator over its rows.
pub struct Table {
    headers: Vec<String>,
    detected: Detected,
    rows: Rows,
}

enum Rows {
    Csv(csv::CsvRows),
    Xlsx(xlsx::XlsxRows),
    Vcard(vcard::VcardRows),
}

impl Table {
    /// Opens `path`, detecting whatever `options` leaves open, and reads its header.
    pub fn open(path: &Path, options: &Options) -> Result<Table, ReadError> {
        let format = match options.format {
            Some(format) => format,
            None => detect::format(path)?,
        };
        let table = match format {
            Format::Csv => {
                let (rows, headers, detected) = csv::CsvRows::open(path, options)?;
                Table { headers, detected, rows: Rows::Csv(rows) }
            }
            Format::Xlsx => {
                let (rows, headers) = xlsx::XlsxRows::open(path)?;
                let detected = Detected { format, delimiter: b',', encoding: Encoding::Utf8 };
                Table { headers, detected, rows: Rows::Xlsx(rows) }
            }
            Format::Vcard => {
                let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
                let encoding = match options.encoding {
                    Some(encoding) => encoding,
                    None => detect::encoding(path)?,
                };
                let rows = vcard::VcardRows::new(BufReader::new(file), encoding, path)?;
                let detected = Detected { format, delimiter: b',', encoding };
                let headers = vcard::HEADERS.iter().map(|h| (*h).to_owned()).collect();
                Table { headers, detected, rows: Rows::Vcard(rows) }
            }
        };
        Ok(table)
    }

    /// The column names. For vCard: [`VCARD_HEADERS`], field-vocabulary names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn detected(&self) -> &Detected {
        &self.detected
    }

    /// Makes `number` the next row returned (or the first after it, if that row is empty or
    /// absent), for resuming an interrupted import. Going back re-reads from the start.
    pub fn skip_to(&mut self, number: u64) -> Result<(), ReadError> {
        match &mut self.rows {
            Rows::Csv(rows) => rows.skip_to(number),
            Rows::Xlsx(rows) => rows.skip_to(number),
            Rows::Vcard(rows) => rows.skip_to(number),
        }
    }
}

impl Iterator for Table {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.rows {
            Rows::Csv(rows) => rows.next(),
            Rows::Xlsx(rows) => rows.next(),
            Rows::Vcard(rows) => rows.next(),
        }
    }
}

/// The headers, the first `rows` rows that could be read, and what was detected: what an
/// upload form shows before the columns are mapped.
pub fn preview(path: &Path, options: &Options, rows: usize) -> Result<(Vec<String>, Vec<Row>, Detected), ReadError> {
    let mut table = Table::open(path, options)?;
    let first: Vec<Row> = table.by_ref().filter_map(Result::ok).take(rows).collect();
    Ok((table.headers, first, table.detected))
}

/// The cells of a row brought to the header's width: short rows padded with empty cells; a
/// longer row is refused, since its extra cells would belong to no column.
fn fit(number: u64, mut cells: Vec<String>, width: usize) -> Result<Row, RowError> {
    if cells.len() > width {
        return Err(RowError {
            number,
            reason: format!("the row has {} cells but the header names {width} columns", cells.len()),
        });
    }
    cells.resize(width, String::new());
    Ok(Row { number, cells })
}
