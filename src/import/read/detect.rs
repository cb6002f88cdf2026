//! Detection of what a file is: its format from its first bytes (then its extension), its
//! encoding from whether its bytes are UTF-8, and a CSV delimiter from its first lines.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::{Encoding, Format, ReadError};

/// How much of a file's start format and delimiter detection look at.
const SAMPLE: usize = 64 * 1024;

/// The first bytes of `path`, up to [`SAMPLE`].
pub(super) fn sample(path: &Path) -> Result<Vec<u8>, ReadError> {
    let file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut bytes = Vec::with_capacity(SAMPLE);
    file.take(SAMPLE as u64).read_to_end(&mut bytes).map_err(|e| ReadError::io(path, e))?;
    Ok(bytes)
}

/// A workbook is a zip archive; a vCard file's first line begins a card (possibly grouped,
/// `item.BEGIN:VCARD`); anything else is CSV unless its extension says otherwise.
pub(super) fn format(path: &Path) -> Result<Format, ReadError> {
    let bytes = sample(path)?;
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Format::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(ReadError::LegacyExcel);
    }
    if starts_a_card(&bytes) {
        return Ok(Format::Vcard);
    }
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    Ok(match extension.as_deref() {
        Some("vcf" | "vcard") => Format::Vcard,
        Some("xlsx") => Format::Xlsx,
        _ => Format::Csv,
    })
}

fn starts_a_card(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(text.len());
    let line = &text[start..];
    let line = &line[..line.iter().position(|b| *b == b'\r' || *b == b'\n').unwrap_or(line.len())];
    let name = line.split(|b| *b == b':').next().unwrap_or_default();
    let name = name.rsplit(|b| *b == b'.').next().unwrap_or_default();
    name.eq_ignore_ascii_case(b"BEGIN") && line.len() > name.len() && {
        let value = line.rsplit(|b| *b == b':').next().unwrap_or_default();
        value.trim_ascii().eq_ignore_ascii_case(b"VCARD")
    }
}

/// UTF-8 when every byte of the file is valid UTF-8 (an ASCII file is UTF-8), else
/// Windows-1252, the encoding spreadsheet programs write on Western systems. The whole file is
/// checked, streaming, so a single accented byte deep in a large file is not missed; this costs
/// a read of the file at memory speed.
pub(super) fn encoding(path: &Path) -> Result<Encoding, ReadError> {
    let mut file = File::open(path).map_err(|e| ReadError::io(path, e))?;
    let mut buffer = vec![0u8; 256 * 1024];
    // Bytes of a character cut by the end of the previous chunk, carried into the next.
    let mut carried = 0;
    loop {
        let read = file.read(&mut buffer[carried..]).map_err(|e| ReadError::io(path, e))?;
        if read == 0 {
            return Ok(if carried == 0 { Encoding::Utf8 } else { Encoding::Windows1252 });
        }
        let filled = carried + read;
        match std::str::from_utf8(&buffer[..filled]) {
            Ok(_) => carried = 0,
            Err(e) if e.error_len().is_none() => {
                let valid = e.valid_up_to();
                buffer.copy_within(valid..filled, 0);
                carried = filled - valid;
            }
            Err(_) => return Ok(Encoding::Windows1252),
        }
    }
}

/// The delimiter among `,` `;` and tab that splits the sample's lines into the most columns
/// consistently: each candidate is scored by how many records have the header's cell count,
/// then by that count. One column under every candidate means `,`.
pub(super) fn delimiter(sample: &[u8]) -> u8 {
    // The last line of a sample may be cut short: leave it out.
    let end = sample.iter().rposition(|b| *b == b'\n').map_or(sample.len(), |i| i + 1);
    let sample = &sample[..end];
    let mut best = (b',', 0usize, 0usize);
    for candidate in [b',', b';', b'\t'] {
        let mut reader =
            ::csv::ReaderBuilder::new().delimiter(candidate).has_headers(false).flexible(true).from_reader(sample);
        let mut record = ::csv::ByteRecord::new();
        let mut width = None;
        let mut agreeing = 0;
        for _ in 0..100 {
            match reader.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) | Err(_) => break,
            }
            let header_width = *width.get_or_insert(record.len());
            if record.len() == header_width {
                agreeing += 1;
            }
        }
        let width = width.unwrap_or(0);
        if width > 1 && (agreeing, width) > (best.1, best.2) {
            best = (candidate, agreeing, width);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_the_one_that_splits_lines_consistently() {
        assert_eq!(delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(delimiter(b"name;city\n\"Doe, John\";Paris\nAnn;Lyon\n"), b';');
        assert_eq!(delimiter(b"a\tb\n1,5\t2\n3\t4"), b'\t');
        assert_eq!(delimiter(b"only\none\n"), b',');
    }

    #[test]
    fn a_card_is_recognised_by_its_first_line_grouped_or_not() {
        assert!(starts_a_card(b"\xEF\xBB\xBFBEGIN:VCARD\r\nVERSION:4.0"));
        assert!(starts_a_card(b"\n home.begin:vcard\nversion:3.0"));
        assert!(!starts_a_card(b"begin,vcard\n1,2"));
        assert!(!starts_a_card(b"BEGIN:VCALENDAR"));
    }
}
