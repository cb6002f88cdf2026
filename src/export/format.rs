//! Writing exported records to a file, one format each: CSV (formula injection neutralised),
//! JSON Lines, XLSX (constant-memory worksheets, a new sheet past Excel's row limit) and vCard.
//! Every writer takes records one at a time and holds none of them, so an export of a million
//! rows uses the memory of one page. The writers are synchronous; the service runs them on the
//! blocking pool.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::Workbook;
use serde_json::Value;

use super::model::Format;
use super::vcard::{self, Org};

/// One exported record: as the API shows it to the caller (hidden fields already absent) and,
/// for vCards, the companies the person works for.
pub struct Record {
    pub view: Value,
    pub orgs: Vec<Org>,
}

/// A record's cells in `columns` order. Lists and maps become one text cell; absent values
/// are empty cells.
pub fn cells(view: &Value, columns: &[&str]) -> Vec<Value> {
    let flat = crate::profile::flat_values(view.clone());
    columns.iter().map(|column| flat.get(*column).map(cell).unwrap_or(Value::Null)).collect()
}

/// A value as one cell: numbers stay numbers, labelled lists and tags are joined with `; `,
/// maps become `key: value` pairs.
fn cell(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::String(
            items
                .iter()
                .filter_map(|item| match item {
                    Value::Object(labelled) => labelled.get("value").and_then(Value::as_str).map(str::to_owned),
                    Value::String(text) => Some(text.clone()),
                    other => Some(other.to_string()),
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Value::Object(map) => Value::String(
            map.iter()
                .map(|(key, v)| format!("{key}: {}", v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Value::Bool(b) => Value::String(b.to_string()),
        other => other.clone(),
    }
}

/// A cell a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab or carriage return
/// first) gets a leading apostrophe, so opening the file runs nothing (OWASP's advice for CSV
/// injection). E.164 phone numbers begin with `+` and are quoted too: a spreadsheet would
/// otherwise turn them into numbers.
pub fn neutralised(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing the export file: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Excel's last row is 1,048,576; the header takes one in every sheet.
const XLSX_ROWS: u32 = 1_048_576;

/// An open export file.
pub enum Writer {
    Csv(Box<csv::Writer<BufWriter<File>>>, Vec<&'static str>),
    Jsonl(BufWriter<File>),
    Xlsx(Box<Xlsx>),
    Vcard(BufWriter<File>),
}

pub struct Xlsx {
    workbook: Workbook,
    path: PathBuf,
    title: &'static str,
    columns: Vec<&'static str>,
    sheets: usize,
    row: u32,
}

impl Xlsx {
    fn add_sheet(&mut self) -> Result<(), WriteError> {
        self.sheets += 1;
        let name = if self.sheets == 1 { self.title.to_owned() } else { format!("{} {}", self.title, self.sheets) };
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, column) in self.columns.iter().enumerate() {
            sheet.write_string(0, col as u16, *column)?;
        }
        self.row = 1;
        Ok(())
    }

    fn write(&mut self, view: &Value) -> Result<(), WriteError> {
        if self.row == XLSX_ROWS {
            self.add_sheet()?;
        }
        let row = self.row;
        let values = cells(view, &self.columns);
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        for (col, value) in values.iter().enumerate() {
            let col = col as u16;
            // Strings are written as strings, never as formulas, so nothing here needs the
            // neutralising CSV does.
            match value {
                Value::Null => {}
                Value::Number(n) => {
                    sheet.write_number(row, col, n.as_f64().unwrap_or_default())?;
                }
                other => {
                    sheet.write_string(row, col, text_of(other))?;
                }
            }
        }
        self.row += 1;
        Ok(())
    }
}

impl Writer {
    /// Creates `path` (truncating what a failed run left) and writes the header. `scratch` is
    /// where the XLSX writer keeps its per-sheet temporary files.
    pub fn create(
        format: Format,
        path: &Path,
        scratch: &Path,
        title: &'static str,
        columns: Vec<&'static str>,
    ) -> Result<Self, WriteError> {
        Ok(match format {
            Format::Csv => {
                let mut csv = csv::Writer::from_writer(BufWriter::new(File::create(path)?));
                csv.write_record(&columns)?;
                Self::Csv(Box::new(csv), columns)
            }
            Format::Jsonl => Self::Jsonl(BufWriter::new(File::create(path)?)),
            Format::Vcard => Self::Vcard(BufWriter::new(File::create(path)?)),
            Format::Xlsx => {
                let mut workbook = Workbook::new();
                workbook.set_tempdir(scratch)?;
                let mut xlsx = Xlsx { workbook, path: path.to_owned(), title, columns, sheets: 0, row: 0 };
                xlsx.add_sheet()?;
                Self::Xlsx(Box::new(xlsx))
            }
        })
    }

    pub fn write(&mut self, record: &Record) -> Result<(), WriteError> {
        match self {
            Self::Csv(csv, columns) => {
                let row = cells(&record.view, columns);
                csv.write_record(row.iter().map(|value| neutralised(&text_of(value)).into_owned()))?;
            }
            Self::Jsonl(out) => {
                serde_json::to_writer(&mut *out, &record.view)?;
                out.write_all(b"\n")?;
            }
            Self::Xlsx(xlsx) => xlsx.write(&record.view)?,
            Self::Vcard(out) => out.write_all(vcard::card(&record.view, &record.orgs).as_bytes())?,
        }
        Ok(())
    }

    /// Flushes everything to disk.
    pub fn finish(self) -> Result<(), WriteError> {
        let file = match self {
            Self::Csv(csv, _) => {
                csv.into_inner().map_err(|e| WriteError::Io(std::io::Error::other(e.error().to_string())))?
            }
            Self::Jsonl(out) | Self::Vcard(out) => out,
            Self::Xlsx(mut xlsx) => {
                let path = xlsx.path.clone();
                xlsx.workbook.save(&path)?;
                return Ok(File::open(&path)?.sync_all()?);
            }
        };
        Ok(file.into_inner().map_err(std::io::IntoInnerError::into_error)?.sync_all()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_that_would_run_as_formulas_are_neutralised_and_others_are_not() {
        for risky in ["=1+1", "+44 20", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralised(risky), format!("'{risky}"));
        }
        assert_eq!(neutralised("Ada"), "Ada");
        assert_eq!(neutralised(""), "");
    }

    #[test]
    fn lists_and_maps_become_one_cell_and_nested_address_parts_their_own_column() {
        let view = json!({"id": 7, "emails": [{"value": "a@x.example", "primary": true}, {"value": "b@x.example"}],
                          "tags": ["vip", "beta"], "social": {"x": "https://x.example/ada"},
                          "address": {"city": "Paris"}});
        let row = cells(&view, &["id", "emails", "tags", "social", "address.city", "address.country"]);
        assert_eq!(
            row,
            vec![
                json!(7),
                json!("a@x.example; b@x.example"),
                json!("vip; beta"),
                json!("x: https://x.example/ada"),
                json!("Paris"),
                Value::Null
            ]
        );
    }
}
