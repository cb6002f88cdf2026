//! Blocking: which pairs are compared at all. Each person gets a handful of keys (canonical
//! email, phone, the sound of both names, postal code or birthday with the sound of either
//! name, the street line, each custom identifier); only people sharing a key are compared, so
//! the work grows with the people, not with their square.
//!
//! A block larger than [`FULL_BLOCK`] (a common name in a big town) is not compared all with
//! all: its people are sorted by name and each is compared with its next [`WINDOW`]
//! neighbours, which keeps a common key from making the work quadratic while still finding the
//! near-identical records it holds. Pairs found under several keys are compared once.

use super::model::Record;

/// Blocks up to this size are compared all with all.
pub const FULL_BLOCK: usize = 24;
/// Neighbours each person of a larger block is compared with.
pub const WINDOW: usize = 6;

/// Kinds of key, hashed in so that equal text under two kinds never collides.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Email = 1,
    Phone = 2,
    Names = 3,
    PostalName = 4,
    BirthdayName = 5,
    Street = 6,
    Extra = 7,
    EmailLocal = 8,
    BirthdayPostal = 9,
}

impl Kind {
    const ALL: [Self; 9] = [
        Self::Email,
        Self::Phone,
        Self::Names,
        Self::PostalName,
        Self::BirthdayName,
        Self::Street,
        Self::Extra,
        Self::EmailLocal,
        Self::BirthdayPostal,
    ];

    /// This kind's bit in a pair's [`Kinds`].
    pub fn bit(self) -> Kinds {
        1 << (self as u16)
    }

    /// The kinds a model learns `m` from, each with the comparison slots its key fixes (a pair
    /// that shares a street says nothing, through that, about how often duplicates do) or
    /// makes agree far more often than chance.
    pub fn training() -> [(Self, &'static [usize]); 6] {
        use super::compare::{
            BIRTHDAY, EMAIL, EXTRA, FIRST_NAME, LAST_NAME, MAX_EXTRAS, PHONE, PLACE, STREET, STREET2,
        };
        const EXTRAS: [usize; MAX_EXTRAS] = [EXTRA, EXTRA + 1, EXTRA + 2, EXTRA + 3];
        [
            (Self::Names, &[FIRST_NAME, LAST_NAME]),
            // People on one street live in one place: the street fixes the place too.
            (Self::Street, &[STREET, STREET2, PLACE]),
            (Self::Email, &[EMAIL]),
            (Self::Phone, &[PHONE]),
            (Self::BirthdayPostal, &[BIRTHDAY, PLACE]),
            (Self::Extra, &EXTRAS),
        ]
    }
}

/// The kinds of key a pair was found under, one bit each.
pub type Kinds = u16;

/// The kind of a hashed key: its low bits, so that one hash carries both.
fn kind_of(key: i64) -> Kind {
    Kind::ALL[(key as u64 & 0xF) as usize % Kind::ALL.len()]
}

fn hash(kind: Kind, parts: &[&str]) -> i64 {
    // FNV-1a: stable across builds and platforms, which stored keys need.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |byte: u8| {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    eat(kind as u8);
    for part in parts {
        part.bytes().for_each(&mut eat);
        eat(0xff);
    }
    let index = Kind::ALL.iter().position(|k| *k == kind).unwrap_or_default() as u64;
    ((h & !0xF) | index) as i64
}

/// The sounds of a record's first (as its formal name: Bob sounds as Robert) and last names.
fn name_codes(record: &Record) -> (Option<String>, Option<String>) {
    let first = record.first.as_ref().map(|n| n.formal_code()).filter(|c| !c.is_empty());
    let last = record.last.as_ref().map(|n| n.primary.to_string()).filter(|c| !c.is_empty());
    (first, last)
}

/// The keys stored for single-record checks: those the people table's own indexes (email,
/// phone) do not already serve, none that depend on the workspace's custom fields, and none
/// as common as the sound of a name alone, which in a large workspace names thousands.
pub fn stored_keys(record: &Record) -> Vec<i64> {
    let mut keys = Vec::with_capacity(5);
    let (first, last) = name_codes(record);
    let codes: Vec<&str> = first.iter().chain(last.iter()).map(String::as_str).collect();
    for code in &codes {
        if let Some(postal) = &record.postal {
            keys.push(hash(Kind::PostalName, &[postal, code]));
        }
        if let Some(day) = record.birthday {
            keys.push(hash(Kind::BirthdayName, &[&day.to_string(), code]));
        }
    }
    if let Some(street) = &record.street {
        keys.push(hash(Kind::Street, &[&street.line]));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Every key a scan blocks on: the stored ones, the sounds of both names (in either order),
/// email, phone, the email's local part, birthday with postal code, and each custom identifier.
pub fn scan_keys(record: &Record) -> Vec<i64> {
    let mut keys = stored_keys(record);
    if let (Some(a), Some(b)) = name_codes(record) {
        let (x, y) = if a <= b { (a, b) } else { (b, a) };
        keys.push(hash(Kind::Names, &[&x, &y]));
    }
    if let Some(email) = &record.email {
        keys.push(hash(Kind::Email, &[email]));
        if let Some((local, _)) = email.split_once('@').filter(|(local, _)| local.len() >= 4) {
            keys.push(hash(Kind::EmailLocal, &[local]));
        }
    }
    if let Some(phone) = &record.phone {
        keys.push(hash(Kind::Phone, &[phone]));
    }
    if let (Some(day), Some(postal)) = (record.birthday, &record.postal) {
        keys.push(hash(Kind::BirthdayPostal, &[&day.to_string(), postal]));
    }
    for (n, value) in record.extra.iter().enumerate() {
        if let Some(value) = value {
            keys.push(hash(Kind::Extra, &[&n.to_string(), value]));
        }
    }
    keys
}

/// The keys a check finds people by: the stored ones, and the email and phone the people
/// table's own indexes serve. A batched check compares the records of one batch with each
/// other by these, so a pair is found whether the two rows fall in one batch or in two.
pub fn check_keys(record: &Record) -> Vec<i64> {
    let mut keys = stored_keys(record);
    if let Some(email) = &record.email {
        keys.push(hash(Kind::Email, &[email]));
    }
    if let Some(phone) = &record.phone {
        keys.push(hash(Kind::Phone, &[phone]));
    }
    keys
}

/// The keys a lookup for one record asks the people table's indexes for.
pub fn indexed_values(record: &Record) -> (Option<&str>, Option<&str>) {
    (record.email.as_deref(), record.phone.as_deref())
}

/// The candidate pairs of `records` as `(i, j)` indexes with `i < j`, each once, with the
/// kinds of key that found it.
pub fn candidate_pairs(records: &[Record]) -> Vec<(u32, u32, Kinds)> {
    let mut entries: Vec<(i64, u32)> = Vec::with_capacity(records.len() * 10);
    for (n, record) in records.iter().enumerate() {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        entries.extend(scan_keys(record).into_iter().map(|key| (key, n)));
    }
    entries.sort_unstable();
    let mut pairs: Vec<(u64, Kinds)> = Vec::with_capacity(entries.len() * 2);
    for block in entries.chunk_by(|x, y| x.0 == y.0) {
        let kind = kind_of(block[0].0).bit();
        let mut push = |a: u32, b: u32| {
            let (a, b) = if a < b { (a, b) } else { (b, a) };
            if a != b {
                pairs.push(((u64::from(a) << 32) | u64::from(b), kind));
            }
        };
        if block.len() <= FULL_BLOCK {
            for (i, x) in block.iter().enumerate() {
                for y in &block[i + 1..] {
                    push(x.1, y.1);
                }
            }
        } else {
            let mut members: Vec<(String, u32)> =
                block.iter().map(|(_, n)| (records[*n as usize].sort_key(), *n)).collect();
            members.sort_unstable();
            for (i, x) in members.iter().enumerate() {
                for y in members.iter().skip(i + 1).take(WINDOW) {
                    push(x.1, y.1);
                }
            }
        }
    }
    pairs.sort_unstable_by_key(|(pair, _)| *pair);
    pairs
        .chunk_by(|x, y| x.0 == y.0)
        .map(|same| {
            let kinds = same.iter().fold(0, |kinds, (_, kind)| kinds | kind);
            ((same[0].0 >> 32) as u32, same[0].0 as u32, kinds)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::model::Source;

    fn record(id: i64, first: &str, last: &str, postal: &str) -> Record {
        let source = Source {
            id,
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            postal_code: Some(postal.into()),
            ..Source::default()
        };
        Record::new(&source, &[])
    }

    #[test]
    fn nicknames_and_swapped_names_share_a_block() {
        let records = [
            record(1, "Robert", "Smith", "4011"),
            record(2, "Bob", "Smith", "9999"),
            record(3, "Smith", "Robert", "1"),
        ];
        let pairs = candidate_pairs(&records);
        let found = |a, b| pairs.iter().find(|(i, j, _)| (*i, *j) == (a, b)).map(|(_, _, kinds)| *kinds);
        assert!(found(0, 1).is_some_and(|kinds| kinds & Kind::Names.bit() != 0), "{pairs:?}");
        assert!(found(0, 2).is_some(), "{pairs:?}");
    }

    #[test]
    fn a_huge_block_is_compared_with_neighbours_only() {
        let records: Vec<Record> = (0..1_000).map(|n| record(n, "Ann", &format!("Lee{n:04}"), "4011")).collect();
        let pairs = candidate_pairs(&records);
        assert!(pairs.len() <= records.len() * WINDOW * 2, "{} pairs", pairs.len());
        assert!(pairs.len() >= records.len(), "{} pairs", pairs.len());
    }
}
