//! Attachment types: the stored metadata ([`Attachment`]), the file name as it may be shown and
//! sent back ([`file_name`]), and the content type a file is accepted as ([`content_type`]):
//! what its bytes are, on an allow-list, agreeing with what the client declared.

use rapport_core::{Timestamp, UserId};
use serde::Serialize;

use crate::activity::Target;

/// Longest stored file name, in bytes.
const NAME_MAX_BYTES: usize = 200;

/// How many leading bytes the type is sniffed from (office formats are recognised by the
/// first entries of their zip directory).
pub const SNIFF_BYTES: usize = 64 * 1024;

/// An attachment as stored and read back.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub target: Target,
    /// The uploaded file's name, reduced to a safe base name.
    pub file_name: String,
    /// The type its bytes were recognised as; downloads are served with it.
    pub content_type: String,
    /// Bytes.
    pub size: i64,
    /// Hex SHA-256 of the content.
    pub sha256: String,
    pub uploaded_by: Option<UserId>,
    /// The uploader's email when they uploaded.
    pub uploader_email: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// Where the bytes are, under the workspace's folder of the data directory.
    #[serde(skip)]
    pub storage_key: String,
}

impl Attachment {
    /// The size as people read it: `812 B`, `14.2 KB`, `3.1 MB`.
    pub fn size_text(&self) -> String {
        human_size(self.size)
    }
}

pub fn human_size(bytes: i64) -> String {
    let value = bytes as f64;
    if bytes < 1_000 {
        format!("{bytes} B")
    } else if bytes < 1_000_000 {
        format!("{:.1} KB", value / 1e3)
    } else {
        format!("{:.1} MB", value / 1e6)
    }
}

/// The base name of what a client called the file: no directories, no control characters,
/// no leading dots (hidden files), at most 200 bytes; `file` when nothing is left.
pub fn file_name(raw: Option<&str>) -> String {
    let base = raw.unwrap_or_default().rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().filter(|c| !c.is_control() && !matches!(*c, '"' | '\u{2028}' | '\u{2029}')).collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let mut name = String::new();
    for c in trimmed.chars() {
        if name.len() + c.len_utf8() > NAME_MAX_BYTES {
            break;
        }
        name.push(c);
    }
    if name.is_empty() { "file".to_owned() } else { name }
}

/// `Content-Disposition` for a download: always `attachment`, so a browser saves the file and
/// never renders it; an ASCII fallback name and the exact name in RFC 5987 form.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{}\"; filename*=UTF-8''{encoded}", ascii.replace('\\', "_"))
}

/// The types an attachment may have. Everything here is recognised by its magic bytes except
/// the two text types, which are accepted only for UTF-8 text that is not markup.
const ALLOWED: &[&str] = &[
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/bmp",
    "image/tiff",
    "image/heif",
    "image/avif",
    "application/pdf",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
    "application/zip",
    "text/plain",
    "text/csv",
];

/// Office formats are zip files inside; a client may name one whose directory the sniffer
/// did not reach.
const ZIPPED: &[&str] = &[
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
];

/// A declared type without parameters, lower case, with common aliases resolved; `None` when
/// the client said nothing useful.
fn declared_type(raw: Option<&str>) -> Option<String> {
    let essence = raw?.split(';').next()?.trim().to_ascii_lowercase();
    let canonical = match essence.as_str() {
        "" | "application/octet-stream" => return None,
        "image/jpg" | "image/pjpeg" => "image/jpeg",
        "application/x-zip-compressed" | "application/x-zip" => "application/zip",
        "text/comma-separated-values" | "application/csv" => "text/csv",
        other => other,
    };
    Some(canonical.to_owned())
}

/// What was learnt of a file's content while it was received.
pub struct Sniffed<'a> {
    /// Its first [`SNIFF_BYTES`] bytes.
    pub head: &'a [u8],
    /// The whole content is UTF-8 without NUL bytes.
    pub text: bool,
}

/// The type a file is stored and served as, or why it is refused (a message for the `file`
/// field): the type its bytes show must be on the allow-list and agree with the declared one.
pub fn content_type(declared: Option<&str>, name: &str, content: &Sniffed<'_>) -> Result<String, String> {
    let declared = declared_type(declared);
    let sniffed = infer::get(content.head).map(|kind| kind.mime_type());
    let accepted = match (sniffed, declared.as_deref()) {
        (Some(found), _) if !ALLOWED.contains(&found) => return Err(format!("files of type {found} are not accepted")),
        (Some(found), None) => found.to_owned(),
        (Some(found), Some(said)) if found == said => found.to_owned(),
        (Some("application/zip"), Some(said)) if ZIPPED.contains(&said) => said.to_owned(),
        (Some(found), Some(said)) => return Err(format!("the content is {found}, not {said} as declared")),
        (None, _) if !content.text => return Err("the content is not a type that is accepted".into()),
        (None, None | Some("text/plain")) => "text/plain".to_owned(),
        (None, Some("text/csv")) => "text/csv".to_owned(),
        // Some systems declare every CSV file as a spreadsheet.
        (None, Some("application/vnd.ms-excel")) if name.to_ascii_lowercase().ends_with(".csv") => {
            "text/csv".to_owned()
        }
        (None, Some(said)) => return Err(format!("the content is text, not {said} as declared")),
    };
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn sniff(head: &[u8]) -> Sniffed<'_> {
        Sniffed { head, text: std::str::from_utf8(head).is_ok() && !head.contains(&0) }
    }

    #[test]
    fn a_file_is_accepted_as_what_its_bytes_are_when_that_agrees_with_its_declared_type() {
        assert_eq!(content_type(Some("image/png"), "a.png", &sniff(PNG)).unwrap(), "image/png");
        assert_eq!(content_type(None, "a", &sniff(PNG)).unwrap(), "image/png");
        assert_eq!(
            content_type(Some("application/octet-stream"), "a", &sniff(b"%PDF-1.7\n")).unwrap(),
            "application/pdf"
        );
        assert_eq!(content_type(Some("text/csv; charset=utf-8"), "a.csv", &sniff(b"a,b\n1,2\n")).unwrap(), "text/csv");
        assert_eq!(content_type(Some("application/vnd.ms-excel"), "A.CSV", &sniff(b"a,b\n")).unwrap(), "text/csv");
        assert!(content_type(Some("image/jpeg"), "a.jpg", &sniff(PNG)).unwrap_err().contains("image/png"));
    }

    #[test]
    fn markup_and_unknown_binaries_are_refused_whatever_they_are_declared_as() {
        let html = b"<!DOCTYPE html><html><script>alert(1)</script></html>";
        assert!(content_type(Some("image/png"), "x.png", &sniff(html)).is_err());
        assert!(content_type(Some("text/plain"), "x.txt", &sniff(html)).is_err());
        assert!(content_type(Some("text/html"), "x.html", &sniff(b"hello")).is_err());
        assert!(content_type(None, "x", &sniff(b"\x7fELF\x02\x01\x01\0\0\0")).is_err());
        assert!(content_type(Some("text/plain"), "x", &sniff(b"\0\x01\x02")).is_err());
    }

    #[test]
    fn file_names_lose_directories_control_characters_and_leading_dots() {
        assert_eq!(file_name(Some("C:\\Users\\ada\\report.pdf")), "report.pdf");
        assert_eq!(file_name(Some("../../.env")), "env");
        assert_eq!(file_name(Some("a\r\nb\".txt")), "ab.txt");
        assert_eq!(file_name(Some("  ")), "file");
        assert_eq!(file_name(None), "file");
        assert!(file_name(Some(&"é".repeat(300))).len() <= NAME_MAX_BYTES);
    }

    #[test]
    fn a_download_is_always_an_attachment_with_both_name_forms() {
        assert_eq!(
            content_disposition("Prix été.pdf"),
            "attachment; filename=\"Prix _t_.pdf\"; filename*=UTF-8''Prix%20%C3%A9t%C3%A9.pdf"
        );
    }
}
