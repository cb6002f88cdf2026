//! vCard files (3.0, RFC 2426, and 4.0, RFC 6350; 2.1 cards mostly read too): each card becomes
//! one row under [`HEADERS`], field-vocabulary names, so a vCard import maps its columns as a
//! CSV import does. The file is read card by card; only the properties below are kept.
//!
//! Reading: lines are unfolded (a line starting with a space or tab continues the previous
//! one), quoted-printable values are decoded (their soft line breaks joined) and decoded again
//! from their `CHARSET`, text is unescaped (`\,` `\;` `\\` `\n`), and property groups
//! (`item1.EMAIL`) are accepted, an Apple `itemN.X-ABLabel` naming its group's label.
//!
//! The cells:
//! - `first_name`, `last_name` from `N` (given, family); from `FN` split at its last space
//!   when `N` is absent or empty.
//! - `emails` and `phones` hold every `EMAIL` and `TEL` as `label:value` items joined with
//!   `; ` (`work:ann@example.com; ann@home.example`), an item without a label being its bare
//!   value; the label is the first telling `TYPE` (`mobile` for `cell`, `fax`, `pager`, `work`,
//!   `home`, or any other type but the generic ones such as `voice`, `internet` and `pref`).
//!   `email` and `phone` hold the preferred one's value alone (`PREF=1` or `TYPE=pref`, else the
//!   first), so either pair maps on its own and both together name the same values.
//! - The `address.*` cells from the preferred `ADR`: street from the street component (a
//!   second line of it, and the extended address and PO box, going to `address.street2`).
//! - `birthday` as `YYYY-MM-DD` from `BDAY` when it is a full date; a date without a year
//!   (`--0203`) or free text gives no birthday.
//! - `company` from the first `ORG`'s organisation name, `title` from `TITLE`, `note` from the
//!   `NOTE`s joined by line breaks, `external_id` from `UID`.
//! - `social` holds `network:url` items joined with `; `: each `X-SOCIALPROFILE` under its
//!   `TYPE` (or its host's name), and `URL` as `website`.
//!
//! A card is refused (a [`RowError`]) when it does not end with `END:VCARD`, or one of the
//! properties above is malformed (no `:` after its parameters) or not valid in its encoding.
//! Lines of other properties are skipped unread, so a stray line does not cost the card.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use super::dates::{self, DateFormat};
use super::{Encoding, ReadError, Row, RowError};

/// The columns of a vCard table, in order.
pub const HEADERS: [&str; 18] = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "emails",
    "phones",
    "birthday",
    "address.street",
    "address.street2",
    "address.city",
    "address.region",
    "address.postal_code",
    "address.country",
    "company",
    "title",
    "external_id",
    "note",
    "social",
];

/// A card longer than this is refused rather than held (a photo is dropped before it counts).
const CARD_LIMIT: usize = 1 << 20;

/// A card's kept content lines, or why the card cannot be read.
type CardLines = Result<Vec<Vec<u8>>, String>;

pub(super) struct VcardRows {
    path: PathBuf,
    encoding: Encoding,
    reader: BufReader<File>,
    /// A physical line read ahead while unfolding.
    peeked: Option<Vec<u8>>,
    /// Whether the `BEGIN:VCARD` of the next card has already been read.
    in_card: bool,
    /// The number of the next card.
    next_number: u64,
    /// Set after an I/O error, which would otherwise repeat on every call.
    failed: bool,
}

impl VcardRows {
    pub(super) fn new(reader: BufReader<File>, encoding: Encoding, path: &Path) -> Result<Self, ReadError> {
        let mut rows = Self {
            path: path.to_owned(),
            encoding,
            reader,
            peeked: None,
            in_card: false,
            next_number: 1,
            failed: false,
        };
        if !rows.find_begin().map_err(|e| ReadError::io(path, e))? {
            return Err(ReadError::NoCards);
        }
        Ok(rows)
    }

    pub(super) fn skip_to(&mut self, number: u64) -> Result<(), ReadError> {
        if number < self.next_number {
            let file = File::open(&self.path).map_err(|e| ReadError::io(&self.path, e))?;
            *self = Self::new(BufReader::new(file), self.encoding, &self.path.clone())?;
        }
        while self.next_number < number {
            if self.read_card().is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Reads up to and including the next `BEGIN:VCARD`; false at the end of the file.
    fn find_begin(&mut self) -> io::Result<bool> {
        while let Some(line) = self.logical()? {
            if is(&line, b"BEGIN") {
                self.in_card = true;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The next card's number and its kept lines, or why it cannot be read.
    fn read_card(&mut self) -> Option<(u64, CardLines)> {
        if self.failed {
            return None;
        }
        let number = self.next_number;
        match self.card_lines() {
            Ok(None) => None,
            Ok(Some(lines)) => {
                self.next_number += 1;
                Some((number, lines))
            }
            Err(e) => {
                self.failed = true;
                Some((number, Err(format!("the file could not be read further: {e}"))))
            }
        }
    }

    fn card_lines(&mut self) -> io::Result<Option<CardLines>> {
        if !self.in_card && !self.find_begin()? {
            return Ok(None);
        }
        self.in_card = false;
        let mut lines = Vec::new();
        let mut size = 0;
        loop {
            let Some(line) = self.logical()? else {
                return Ok(Some(Err("the card does not end with END:VCARD".into())));
            };
            if is(&line, b"END") {
                break;
            }
            if is(&line, b"BEGIN") {
                self.in_card = true;
                return Ok(Some(Err("the card does not end with END:VCARD before the next card".into())));
            }
            if kept(&line) {
                size += line.len();
                lines.push(line);
            }
        }
        if size > CARD_LIMIT {
            return Ok(Some(Err(format!("the card is longer than {} KiB", CARD_LIMIT / 1024))));
        }
        Ok(Some(Ok(lines)))
    }

    /// A physical line without its line break; blank lines are skipped.
    fn physical(&mut self) -> io::Result<Option<Vec<u8>>> {
        if let Some(line) = self.peeked.take() {
            return Ok(Some(line));
        }
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(None);
            }
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            if !line.is_empty() {
                return Ok(Some(line));
            }
        }
    }

    /// A content line with its folded continuations and quoted-printable soft breaks joined.
    fn logical(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(mut line) = self.physical()? else { return Ok(None) };
        while let Some(next) = self.physical()? {
            if line.last() == Some(&b'=') && quoted_printable(&line) {
                line.pop();
                line.extend_from_slice(&next);
            } else if next.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
                line.extend_from_slice(&next[1..]);
            } else {
                self.peeked = Some(next);
                break;
            }
        }
        Ok(Some(line))
    }
}

impl Iterator for VcardRows {
    type Item = Result<Row, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (number, lines) = self.read_card()?;
        let cells = lines.and_then(|lines| card(&lines, self.encoding));
        Some(cells.map(|cells| Row { number, cells }).map_err(|reason| RowError { number, reason }))
    }
}

/// The property name of a content line, group removed.
fn name_of(line: &[u8]) -> &[u8] {
    let end = line.iter().position(|b| *b == b';' || *b == b':').unwrap_or(line.len());
    let name = &line[..end];
    name.rsplit(|b| *b == b'.').next().unwrap_or(name)
}

/// Whether `line` is `BEGIN:VCARD` (`END:VCARD`) for `keyword` `BEGIN` (`END`).
fn is(line: &[u8], keyword: &[u8]) -> bool {
    name_of(line).eq_ignore_ascii_case(keyword)
        && line
            .iter()
            .position(|b| *b == b':')
            .is_some_and(|i| line[i + 1..].trim_ascii().eq_ignore_ascii_case(b"VCARD"))
}

const KEPT: [&str; 13] =
    ["N", "FN", "EMAIL", "TEL", "ADR", "BDAY", "ORG", "TITLE", "NOTE", "UID", "URL", "X-SOCIALPROFILE", "X-ABLABEL"];

fn kept(line: &[u8]) -> bool {
    let name = name_of(line);
    KEPT.iter().any(|k| name.eq_ignore_ascii_case(k.as_bytes()))
}

fn quoted_printable(line: &[u8]) -> bool {
    let params = &line[..line.iter().position(|b| *b == b':').unwrap_or(line.len())];
    params.windows(16).any(|w| w.eq_ignore_ascii_case(b"QUOTED-PRINTABLE"))
}

/// One content line: `[group.]NAME *(;PARAM[=VALUE[,VALUE]]):value`.
struct Property {
    group: Option<String>,
    name: String,
    /// Parameter names upper-cased; a bare parameter (`TEL;HOME:`) is a `TYPE`.
    params: Vec<(String, Vec<String>)>,
    value: Vec<u8>,
}

impl Property {
    fn parse(line: &[u8]) -> Result<Self, String> {
        let not_a_property = || format!("the line “{}” is not a property", String::from_utf8_lossy(line));
        let end = line.iter().position(|b| *b == b';' || *b == b':').ok_or_else(not_a_property)?;
        let full = String::from_utf8_lossy(&line[..end]).trim().to_owned();
        let (group, name) = match full.rsplit_once('.') {
            Some((group, name)) => (Some(group.to_lowercase()), name.to_ascii_uppercase()),
            None => (None, full.to_ascii_uppercase()),
        };
        if name.is_empty() {
            return Err(not_a_property());
        }
        let mut params = Vec::new();
        let mut at = end;
        while line.get(at) == Some(&b';') {
            let start = at + 1;
            let mut quoted = false;
            at = start;
            while let Some(&b) = line.get(at) {
                match b {
                    b'"' => quoted = !quoted,
                    b';' | b':' if !quoted => break,
                    _ => {}
                }
                at += 1;
            }
            let param = String::from_utf8_lossy(&line[start..at]);
            let (key, values) = match param.split_once('=') {
                Some((key, values)) => (key.trim().to_ascii_uppercase(), values),
                None => ("TYPE".to_owned(), param.as_ref()),
            };
            let values = split_outside_quotes(values).into_iter().map(|v| v.trim().trim_matches('"'));
            // A quoted list of types (`TYPE="work,voice"`, RFC 6350 §5.6) is still a list.
            let values: Vec<String> = if key == "TYPE" {
                values.flat_map(|v| v.split(',')).map(|v| v.trim().to_owned()).collect()
            } else {
                values.map(str::to_owned).collect()
            };
            params.push((key, values.into_iter().filter(|v| !v.is_empty()).collect()));
        }
        if line.get(at) != Some(&b':') {
            return Err(not_a_property());
        }
        Ok(Self { group, name, params, value: line[at + 1..].to_vec() })
    }

    fn param(&self, key: &str) -> impl Iterator<Item = &str> {
        self.params.iter().filter(move |(k, _)| k == key).flat_map(|(_, v)| v.iter().map(String::as_str))
    }

    /// The `TYPE` values, lower-cased.
    fn types(&self) -> Vec<String> {
        self.param("TYPE").map(str::to_lowercase).collect()
    }

    fn preferred(&self) -> bool {
        self.param("PREF").any(|p| p.trim() == "1") || self.types().iter().any(|t| t == "pref")
    }

    /// The value as text: quoted-printable undone, then decoded from its `CHARSET` or else the
    /// file's encoding. Escapes are left for the caller, which knows whether it is structured.
    fn text(&self, encoding: Encoding) -> Result<String, String> {
        let qp = self.param("ENCODING").chain(self.param("TYPE")).any(|e| e.eq_ignore_ascii_case("quoted-printable"));
        let bytes = if qp { unquote_printable(&self.value) } else { self.value.clone() };
        let charset = self.param("CHARSET").next().and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
        let charset = match (charset, encoding) {
            (Some(charset), _) => charset,
            (None, Encoding::Utf8) => encoding_rs::UTF_8,
            (None, Encoding::Windows1252) => encoding_rs::WINDOWS_1252,
        };
        if charset == encoding_rs::UTF_8 {
            let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            return String::from_utf8(bytes.to_vec())
                .map_err(|_| format!("the {} value is not valid UTF-8 text", self.name));
        }
        Ok(charset.decode_without_bom_handling(&bytes).0.into_owned())
    }
}

fn split_outside_quotes(raw: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in raw.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&raw[start..]);
    parts
}

fn unquote_printable(raw: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'='
            && let (Some(high), Some(low)) =
                (raw.get(i + 1).and_then(|b| hex(*b)), raw.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// Text with its escapes undone: `\n` `\N` a line break, `\,` `\;` `\\` the character.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(c @ (',' | ';' | '\\' | ':')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The components of a structured value (`N`, `ADR`, `ORG`): split at unescaped `;`, each
/// unescaped and trimmed.
fn components(raw: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in raw.chars() {
        if escaped {
            current.push('\\');
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ';' {
            parts.push(unescape(&current).trim().to_owned());
            current.clear();
        } else {
            current.push(c);
        }
    }
    if escaped {
        current.push('\\');
    }
    parts.push(unescape(&current).trim().to_owned());
    parts
}

/// One email, phone or profile, its label and whether it is the preferred one.
struct Item {
    label: Option<String>,
    value: String,
    preferred: bool,
}

/// The cells of one card, in [`HEADERS`] order.
fn card(lines: &[Vec<u8>], encoding: Encoding) -> Result<Vec<String>, String> {
    let properties = lines.iter().map(|line| Property::parse(line)).collect::<Result<Vec<_>, _>>()?;
    let group_labels: BTreeMap<&str, String> = properties
        .iter()
        .filter(|p| p.name == "X-ABLABEL")
        .filter_map(|p| Some((p.group.as_deref()?, p.text(encoding).ok()?)))
        .map(|(group, label)| (group, apple_label(&label)))
        .filter(|(_, label)| !label.is_empty())
        .collect();
    let label_of = |p: &Property, phone: bool| -> Option<String> {
        // An Apple label names the group outright; a group called `home` or `work` says less
        // than a type does.
        let apple = p.group.as_deref().and_then(|g| group_labels.get(g).cloned());
        let group = || p.group.clone().filter(|g| ["home", "work", "other"].contains(&g.as_str()));
        let label = apple.or_else(|| type_label(&p.types(), phone)).or_else(group);
        label.map(|l| l.replace([':', ';'], " ").trim().to_owned())
    };

    let (mut first, mut last) = (String::new(), String::new());
    let mut full = String::new();
    let (mut emails, mut phones, mut social) = (Vec::new(), Vec::new(), Vec::new());
    let mut addresses: Vec<(bool, Vec<String>)> = Vec::new();
    let (mut birthday, mut company, mut title, mut uid) = (String::new(), String::new(), String::new(), String::new());
    let mut notes = Vec::new();
    for p in &properties {
        match p.name.as_str() {
            "N" if first.is_empty() && last.is_empty() => {
                let parts = components(&p.text(encoding)?);
                last = parts.first().cloned().unwrap_or_default();
                first = parts.get(1).cloned().unwrap_or_default();
            }
            "FN" if full.is_empty() => full = unescape(&p.text(encoding)?).trim().to_owned(),
            "EMAIL" => {
                let value = unescape(&p.text(encoding)?).trim().to_owned();
                let value = value.strip_prefix("mailto:").map(str::to_owned).unwrap_or(value);
                if !value.is_empty() {
                    emails.push(Item { label: label_of(p, false), value, preferred: p.preferred() });
                }
            }
            "TEL" => {
                let value = phone_value(&unescape(&p.text(encoding)?));
                if !value.is_empty() {
                    phones.push(Item { label: label_of(p, true), value, preferred: p.preferred() });
                }
            }
            "ADR" => addresses.push((p.preferred(), components(&p.text(encoding)?))),
            "BDAY" if birthday.is_empty() => birthday = date(&p.text(encoding)?).unwrap_or_default(),
            "ORG" if company.is_empty() => company = components(&p.text(encoding)?).swap_remove(0),
            "TITLE" if title.is_empty() => title = unescape(&p.text(encoding)?).trim().to_owned(),
            "NOTE" => notes.push(unescape(&p.text(encoding)?).trim().to_owned()),
            "UID" if uid.is_empty() => uid = unescape(&p.text(encoding)?).trim().to_owned(),
            "URL" => {
                let value = unescape(&p.text(encoding)?).trim().to_owned();
                social.push(Item { label: Some("website".into()), value, preferred: false });
            }
            "X-SOCIALPROFILE" => {
                let value = unescape(&p.text(encoding)?).trim().to_owned();
                let network = p.types().into_iter().find(|t| t != "pref").or_else(|| host_name(&value));
                social.push(Item { label: network, value, preferred: false });
            }
            _ => {}
        }
    }
    if first.is_empty() && last.is_empty() {
        (first, last) = match full.rsplit_once(char::is_whitespace) {
            Some((first, last)) => (first.trim().to_owned(), last.trim().to_owned()),
            None => (full.clone(), String::new()),
        };
    }
    let address = addresses.iter().find(|(preferred, _)| *preferred).or(addresses.first()).map(|(_, a)| a.clone());
    let part = |i: usize| address.as_ref().and_then(|a| a.get(i)).cloned().unwrap_or_default();
    let (street, more) = match part(2).split_once('\n') {
        Some((street, more)) => (street.trim().to_owned(), more.replace('\n', ", ").trim().to_owned()),
        None => (part(2), String::new()),
    };
    let street2 = [more, part(1), part(0)].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(", ");
    social.retain(|item| !item.value.is_empty() && item.label.is_some());
    let mut networks = Vec::new();
    social.retain(|item| {
        let fresh = !networks.contains(&item.label);
        networks.push(item.label.clone());
        fresh
    });

    Ok(vec![
        first,
        last,
        preferred(&emails),
        preferred(&phones),
        joined(&emails),
        joined(&phones),
        birthday,
        street,
        street2,
        part(3),
        part(4),
        part(5),
        part(6),
        company,
        title,
        uid,
        notes.into_iter().filter(|n| !n.is_empty()).collect::<Vec<_>>().join("\n"),
        joined(&social),
    ])
}

fn preferred(items: &[Item]) -> String {
    items.iter().find(|i| i.preferred).or(items.first()).map(|i| i.value.clone()).unwrap_or_default()
}

fn joined(items: &[Item]) -> String {
    let item = |i: &Item| match &i.label {
        Some(label) if !label.is_empty() => format!("{label}:{}", i.value),
        _ => i.value.clone(),
    };
    items.iter().map(item).collect::<Vec<_>>().join("; ")
}

/// Types that say nothing a person would call a label.
const GENERIC_TYPES: [&str; 13] =
    ["pref", "voice", "internet", "x400", "msg", "text", "video", "bbs", "modem", "isdn", "pcs", "textphone", "uri"];

fn type_label(types: &[String], phone: bool) -> Option<String> {
    let has = |t: &str| types.iter().any(|x| x == t);
    if phone {
        if has("cell") || has("mobile") || has("iphone") {
            return Some("mobile".into());
        }
        for label in ["fax", "pager"] {
            if has(label) {
                return Some(label.into());
            }
        }
    }
    for label in ["work", "home"] {
        if has(label) {
            return Some(label.into());
        }
    }
    types.iter().find(|t| !GENERIC_TYPES.contains(&t.as_str()) && !t.starts_with("x-")).cloned()
}

/// Apple's built-in labels are written `_$!<Other>!$_`.
fn apple_label(raw: &str) -> String {
    let label = unescape(raw);
    label.trim().trim_start_matches("_$!<").trim_end_matches(">!$_").trim().to_lowercase()
}

/// A phone's number: a `tel:` URI's number with its extension kept as `ext. N`.
fn phone_value(raw: &str) -> String {
    let raw = raw.trim();
    let Some(uri) = raw.get(..4).filter(|s| s.eq_ignore_ascii_case("tel:")).map(|_| &raw[4..]) else {
        return raw.to_owned();
    };
    let mut parts = uri.split(';');
    let number = parts.next().unwrap_or_default().trim().to_owned();
    match parts.find_map(|p| p.strip_prefix("ext=")) {
        Some(extension) => format!("{number} ext. {extension}"),
        None => number,
    }
}

/// `BDAY` as `YYYY-MM-DD` when it names a full date (`19630921`, `1963-09-21`, either with a
/// time); none for `--0203` and the like.
fn date(raw: &str) -> Option<String> {
    let raw = unescape(raw);
    let day = raw.trim().split('T').next().unwrap_or_default();
    dates::parse(day, DateFormat::Iso)
        .or_else(|| dates::parse(day, DateFormat::Compact))
        .map(|d| d.format("%Y-%m-%d").to_string())
}

/// `twitter` for `https://www.twitter.com/ann`: the host's name below its top-level domain.
fn host_name(url: &str) -> Option<String> {
    let host = url.split("://").nth(1)?.split(['/', '?', '#', ':']).next()?;
    let mut labels = host.rsplit('.');
    labels.next()?;
    labels.next().filter(|l| !l.is_empty()).map(str::to_lowercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(card_text: &str) -> Result<BTreeMap<&'static str, String>, String> {
        let lines: Vec<Vec<u8>> = card_text.lines().map(|l| l.as_bytes().to_vec()).filter(|l| kept(l)).collect();
        Ok(HEADERS.into_iter().zip(card(&lines, Encoding::Utf8)?).collect())
    }

    #[test]
    fn escapes_are_undone_and_structured_values_split_at_unescaped_semicolons() {
        assert_eq!(unescape(r"a\,b\;c\\d\ne"), "a,b;c\\d\ne");
        assert_eq!(
            components(r";;Haight Street 512\;\nEscape\, Test;Novosibirsk"),
            ["", "", "Haight Street 512;\nEscape, Test", "Novosibirsk"]
        );
        assert_eq!(unquote_printable(b"Universit=E6t G=F6rlitz =zz"), b"Universit\xE6t G\xF6rlitz =zz");
    }

    #[test]
    fn emails_and_phones_keep_their_labels_and_the_preferred_one_is_also_alone() {
        let c = cells(
            "VERSION:3.0\nFN:Ann Lee\nEMAIL;TYPE=INTERNET:ann@home.example\nEMAIL;TYPE=work,pref:ann@work.example\n\
             TEL;TYPE=CELL:+33 6 12 34 56 78\nitem1.TEL:+33 1 23 45 67 89\nitem1.X-ABLabel:_$!<Other>!$_",
        )
        .unwrap_or_default();
        assert_eq!(c["first_name"], "Ann");
        assert_eq!(c["last_name"], "Lee");
        assert_eq!(c["email"], "ann@work.example");
        assert_eq!(c["emails"], "ann@home.example; work:ann@work.example");
        assert_eq!(c["phone"], "+33 6 12 34 56 78");
        assert_eq!(c["phones"], "mobile:+33 6 12 34 56 78; other:+33 1 23 45 67 89");
    }

    #[test]
    fn social_profiles_are_named_by_type_or_host_and_a_url_is_the_website() {
        let c = cells(
            "FN:Ann\nX-SOCIALPROFILE;TYPE=twitter:https://twitter.com/ann\n\
             X-SOCIALPROFILE:https://www.linkedin.com/in/ann\nURL:https://ann.example",
        )
        .unwrap_or_default();
        assert_eq!(
            c["social"],
            "twitter:https://twitter.com/ann; linkedin:https://www.linkedin.com/in/ann; website:https://ann.example"
        );
    }

    #[test]
    fn a_birthday_without_a_year_is_no_birthday() {
        assert_eq!(date("--0203"), None);
        assert_eq!(date("02-10"), None);
        assert_eq!(date("19630921").as_deref(), Some("1963-09-21"));
        assert_eq!(date("1963-09-21T00:00:00Z").as_deref(), Some("1963-09-21"));
    }

    #[test]
    fn a_malformed_kept_property_refuses_the_card_and_a_stray_line_does_not() {
        assert!(cells("FN:Ann\nthis is no property").is_ok());
        assert!(cells("FN;TYPE=\"a:b\"").is_err());
    }
}
