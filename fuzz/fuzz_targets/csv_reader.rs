//! Any bytes read as CSV, under every delimiter and encoding choice the first byte selects:
//! the reader must neither panic nor break a row's promises (one cell per header, numbers
//! rising), and `skip_to` must land where it says.
#![no_main]

// The reader's own sources, compiled without the rest of the application so the target
// builds in seconds; `cfg(fuzzing)` leaves out the one part that needs the application.
#[allow(dead_code, unused_imports)]
#[path = "../../src/import/read/mod.rs"]
mod read;

use libfuzzer_sys::fuzz_target;
use read::{Encoding, Format, Options, Table};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, content)) = data.split_first() else { return };
    let options = Options {
        format: Some(Format::Csv),
        delimiter: [None, Some(b','), Some(b';'), Some(b'\t')][usize::from(choice & 3)],
        encoding: [None, Some(Encoding::Utf8), Some(Encoding::Windows1252), None][usize::from((choice >> 2) & 3)],
    };
    let path = std::env::temp_dir().join(format!("rapport-fuzz-csv-{}", std::process::id()));
    if std::fs::write(&path, content).is_err() {
        return;
    }
    let Ok(mut table) = Table::open(&path, &options) else { return };
    let width = table.headers().len();
    let mut last = 0;
    for row in table.by_ref() {
        let number = match row {
            Ok(row) => {
                assert_eq!(row.cells.len(), width);
                row.number
            }
            Err(error) => error.number,
        };
        assert!(number > last, "row numbers must rise");
        last = number;
    }
    if last >= 2 && table.skip_to(2).is_ok() {
        let next = table.next().map(|row| row.map_or_else(|e| e.number, |r| r.number));
        assert_eq!(next, Some(2));
    }
});
