//! Field comparisons: two records become a [`Pattern`], one comparison level per slot (exact,
//! nickname, one typo apart, sounds alike, different, …; 0 is "missing on either side", which
//! is no evidence either way), and a pattern with the model's weights becomes the sentences a
//! reviewer reads.
//!
//! Levels are ordered from the strongest agreement down and the model learns what each is
//! worth, so nothing here says how much a nickname counts against a typo.

use chrono::Datelike;
use strsim::{jaro_winkler, osa_distance};

use super::model::{Name, Record, Street};

/// A comparison vector, four bits per slot.
pub type Pattern = u64;

pub const FIRST_NAME: usize = 0;
pub const LAST_NAME: usize = 1;
pub const EMAIL: usize = 2;
pub const PHONE: usize = 3;
pub const BIRTHDAY: usize = 4;
pub const STREET: usize = 5;
pub const STREET2: usize = 6;
/// Postal code, city and region together: they say one thing (where), and counted apart their
/// agreement would be evidence three times over.
pub const PLACE: usize = 7;
/// The first slot of the workspace's custom text fields.
pub const EXTRA: usize = 8;
pub const MAX_EXTRAS: usize = 4;
pub const SLOTS: usize = EXTRA + MAX_EXTRAS;

/// How many levels (besides missing) each slot has.
pub const LEVELS: [usize; SLOTS] = [5, 5, 3, 3, 4, 4, 3, 5, 3, 3, 3, 3];

/// A bit set above every slot: the names were compared crosswise (first with last).
const SWAPPED: Pattern = 1 << 63;

pub fn level(pattern: Pattern, slot: usize) -> usize {
    ((pattern >> (slot * 4)) & 0xF) as usize
}

fn with(pattern: Pattern, slot: usize, level: usize) -> Pattern {
    pattern | ((level as Pattern & 0xF) << (slot * 4))
}

/// The pattern without the flags, as the model counts it.
pub fn levels_only(pattern: Pattern) -> Pattern {
    pattern & !SWAPPED
}

pub fn compare(a: &Record, b: &Record) -> Pattern {
    let mut p = 0;
    let straight = (names(&a.first, &b.first, true), names(&a.last, &b.last, false));
    let close = |(x, y): (usize, usize)| x > 0 && y > 0 && x <= 3 && y <= 3;
    // Names typed into each other's fields begin alike: only then is the crosswise comparison
    // worth its two string distances.
    let crossed = if !close(straight) && begin_alike(&a.first, &b.last) && begin_alike(&a.last, &b.first) {
        (names(&a.first, &b.last, true), names(&a.last, &b.first, true))
    } else {
        (0, 0)
    };
    let (first, last) = if close(crossed) && crossed.0 + crossed.1 < straight.0 + straight.1 {
        p |= SWAPPED;
        crossed
    } else {
        straight
    };
    p = with(p, FIRST_NAME, first);
    p = with(p, LAST_NAME, last);
    p = with(p, EMAIL, both(&a.email, &b.email, email));
    p = with(p, PHONE, both(&a.phone, &b.phone, phone));
    p = with(
        p,
        BIRTHDAY,
        match (a.birthday, b.birthday) {
            (Some(x), Some(y)) => birthday(x, y),
            _ => 0,
        },
    );
    p = with(
        p,
        STREET,
        match (&a.street, &b.street) {
            (Some(x), Some(y)) => street(x, y),
            _ => 0,
        },
    );
    p = with(p, STREET2, both(&a.street2, &b.street2, |x, y| text(x, y, 0.88)));
    p = with(p, PLACE, place(a, b));
    for (n, (x, y)) in a.extra.iter().zip(&b.extra).take(MAX_EXTRAS).enumerate() {
        p = with(p, EXTRA + n, both(x, y, identifier));
    }
    p
}

fn both<T: ?Sized, B: std::ops::Deref<Target = T>>(
    a: &Option<B>,
    b: &Option<B>,
    compare: impl Fn(&T, &T) -> usize,
) -> usize {
    match (a, b) {
        (Some(a), Some(b)) => compare(a, b),
        _ => 0,
    }
}

fn begin_alike(a: &Option<Name>, b: &Option<Name>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.text.chars().next() == b.text.chars().next() || a.nicknames_of(b),
        _ => false,
    }
}

/// Exact, nicknames, nearly the same, alike (sound, initial or a looser likeness), different.
fn names(a: &Option<Name>, b: &Option<Name>, nicknames: bool) -> usize {
    let (Some(a), Some(b)) = (a, b) else { return 0 };
    if a.text == b.text {
        return 1;
    }
    if nicknames && a.nicknames_of(b) {
        return 2;
    }
    let similarity = jaro_winkler(&a.text, &b.text);
    if similarity >= 0.92 || (a.text.len() >= 4 && osa_distance(&a.text, &b.text) <= 1) {
        return 3;
    }
    let initial = |x: &Name, y: &Name| x.text.chars().count() == 1 && y.text.starts_with(&*x.text);
    if similarity >= 0.8 || a.sounds_like(b) || initial(a, b) || initial(b, a) {
        return 4;
    }
    5
}

fn email(a: &str, b: &str) -> usize {
    if a == b {
        return 1;
    }
    let local = |e: &str| e.split_once('@').map_or("", |(local, _)| local).to_owned();
    if local(a) == local(b) || osa_distance(a, b) <= 1 { 2 } else { 3 }
}

fn phone(a: &str, b: &str) -> usize {
    if a == b {
        return 1;
    }
    // Phones are ASCII digits: the national number is the last eight or so, whatever prefix
    // one of them was written with.
    fn tail(p: &str) -> &[u8] {
        &p.as_bytes()[p.len().saturating_sub(8)..]
    }
    if osa_distance(a, b) <= 1 || (a.len() >= 8 && b.len() >= 8 && tail(a) == tail(b)) { 2 } else { 3 }
}

/// Exact; one typo or day and month swapped; two typos or the same month of the same year;
/// different.
fn birthday(a: chrono::NaiveDate, b: chrono::NaiveDate) -> usize {
    if a == b {
        return 1;
    }
    let swapped = a.year() == b.year() && a.day() == b.month() && a.month() == b.day();
    let typos = typos(&digits(a), &digits(b));
    if swapped || typos <= 1 {
        2
    } else if typos <= 2 || (a.year() == b.year() && a.month() == b.month()) {
        3
    } else {
        4
    }
}

/// A date as it is written, `YYYYMMDD`, without allocating.
fn digits(day: chrono::NaiveDate) -> [u8; 8] {
    let mut out = [0u8; 8];
    let value = day.year().rem_euclid(10_000) as u32 * 10_000 + day.month() * 100 + day.day();
    for (n, slot) in out.iter_mut().rev().enumerate() {
        *slot = b'0' + (value / 10u32.pow(n as u32) % 10) as u8;
    }
    out
}

/// Typos between two strings of one length: differing places, where two neighbours swapped
/// count once.
fn typos(a: &[u8; 8], b: &[u8; 8]) -> usize {
    let mut count = 0;
    let mut n = 0;
    while n < 8 {
        if a[n] != b[n] {
            if n + 1 < 8 && a[n] == b[n + 1] && a[n + 1] == b[n] {
                n += 1;
            }
            count += 1;
        }
        n += 1;
    }
    count
}

/// Exact; one line's words all in the other (a house number left out) or the same numbers on
/// nearly the same street; alike (a number one typo apart on a nearly same street, or the
/// same numbers on a street written differently); different. House numbers count apart from
/// the words: 12 and 14 Main Street are two houses, however alike the text.
fn street(a: &Street, b: &Street) -> usize {
    if a.line == b.line {
        return 1;
    }
    let within = |x: &str, y: &str| x.split(' ').all(|w| y.split(' ').any(|v| v == w));
    let clash = !a.numbers.is_empty() && !b.numbers.is_empty() && a.numbers != b.numbers;
    let similarity = jaro_winkler(&a.words, &b.words);
    if !clash && (within(&a.line, &b.line) || within(&b.line, &a.line) || similarity >= 0.92) {
        2
    } else if (clash && similarity >= 0.92 && osa_distance(&a.numbers, &b.numbers) <= 1)
        || (!clash && similarity >= 0.8)
    {
        3
    } else {
        4
    }
}

fn text(a: &str, b: &str, close: f64) -> usize {
    if a == b {
        1
    } else if jaro_winkler(a, b) >= close {
        2
    } else {
        3
    }
}

/// Codes and numbers: exact, one typo apart, different.
fn identifier(a: &str, b: &str) -> usize {
    if a == b {
        1
    } else if a.len() >= 3 && osa_distance(a, b) <= 1 {
        2
    } else {
        3
    }
}

/// Postal code and city the same; postal code the same (or one typo apart in the same city);
/// the city the same or the postal code one typo apart; only the region the same; different.
fn place(a: &Record, b: &Record) -> usize {
    let postal = both(&a.postal, &b.postal, identifier);
    let city = both(&a.city, &b.city, |x, y| text(x, y, 0.92));
    let region = both(&a.region, &b.region, |x, y| text(x, y, 2.0));
    if postal == 0 && city == 0 && region == 0 {
        return 0;
    }
    let city_same = matches!(city, 1 | 2);
    match (postal, city_same) {
        (1, true) => 1,
        (1, false) | (2, true) => 2,
        (2, false) | (_, true) => 3,
        _ if region == 1 => 4,
        _ => 5,
    }
}

/// What one slot at one level says about the pair, for a reviewer.
pub fn reason(a: &Record, b: &Record, pattern: Pattern, slot: usize, label: &str) -> Option<String> {
    let level = level(pattern, slot);
    let crossed = pattern & SWAPPED != 0;
    let name_of = |r: &Record, first: bool| {
        let name = if first { &r.first } else { &r.last };
        name.as_ref().map_or(String::new(), |n| n.text.to_string())
    };
    let pair = |first: bool| {
        let other = if crossed { !first } else { first };
        format!("{} / {}", name_of(a, first), name_of(b, other))
    };
    let names = |what: &str, first: bool| match level {
        1 => format!("same {what}: {}", name_of(a, first)),
        2 => format!("{what}s are nicknames: {}", pair(first)),
        3 => format!("{what}s nearly the same: {}", pair(first)),
        4 => format!("{what}s alike: {}", pair(first)),
        _ => format!("different {what}s: {}", pair(first)),
    };
    let graded = |levels: &[&str]| levels.get(level - 1).map(|s| (*s).to_owned()).unwrap_or_default();
    Some(match (slot, level) {
        (_, 0) => return None,
        (FIRST_NAME, _) => names("first name", true),
        (LAST_NAME, _) => names("last name", false),
        (EMAIL, _) => graded(&["same email", "emails differ only in domain or one typo", "different emails"]),
        (PHONE, _) => graded(&["same phone", "phones one digit apart", "different phones"]),
        (BIRTHDAY, _) => graded(&[
            "same birthday",
            "birthdays one typo apart or day and month swapped",
            "birthdays close",
            "different birthdays",
        ]),
        (STREET, _) => graded(&[
            "same street address",
            "street addresses nearly the same",
            "street addresses alike",
            "different street addresses",
        ]),
        (STREET2, _) => {
            graded(&["same second address line", "second address lines alike", "different second address lines"])
        }
        (PLACE, _) => graded(&[
            "same postal code and city",
            "same postal code",
            "same city or postal codes one typo apart",
            "same region only",
            "different places",
        ]),
        (_, 1) => format!("same {label}"),
        (_, 2) => format!("{label} one typo apart"),
        _ => format!("different {label}"),
    })
}

/// Said before the name reasons when the names were compared crosswise.
pub fn swapped_reason(pattern: Pattern) -> Option<&'static str> {
    (pattern & SWAPPED != 0).then_some("first and last names swapped")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::model::Source;

    fn record(first: &str, last: &str) -> Record {
        let source = Source {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            birthday: chrono::NaiveDate::from_ymd_opt(1980, 3, 4),
            postal_code: Some("4011".into()),
            city: Some("St James".into()),
            ..Source::default()
        };
        Record::new(&source, &[])
    }

    #[test]
    fn names_are_graded_from_exact_to_different() {
        let robert = record("Robert", "Smith");
        assert_eq!(level(compare(&robert, &record("Robert", "Smith")), FIRST_NAME), 1);
        assert_eq!(level(compare(&robert, &record("Bob", "Smith")), FIRST_NAME), 2);
        assert_eq!(level(compare(&robert, &record("Robret", "Smith")), FIRST_NAME), 3);
        assert_eq!(level(compare(&robert, &record("Xavier", "Smith")), FIRST_NAME), 5);
        assert_eq!(level(compare(&robert, &record("Robert", "Schmidt")), LAST_NAME), 4);
    }

    #[test]
    fn swapped_names_are_compared_crosswise_and_said() {
        let pattern = compare(&record("Smith", "Robert"), &record("Robert", "Smith"));
        assert_eq!((level(pattern, FIRST_NAME), level(pattern, LAST_NAME)), (1, 1));
        assert_eq!(swapped_reason(pattern), Some("first and last names swapped"));
    }

    #[test]
    fn birthdays_with_day_and_month_swapped_count_as_close() {
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(birthday(day(1980, 3, 4), day(1980, 4, 3)), 2);
        assert_eq!(birthday(day(1980, 3, 4), day(1980, 3, 5)), 2);
        assert_eq!(birthday(day(1980, 3, 14), day(1980, 3, 10)), 2);
        assert_eq!(birthday(day(1981, 3, 4), day(1980, 3, 5)), 3);
        assert_eq!(birthday(day(1980, 3, 4), day(1961, 11, 27)), 4);
    }

    #[test]
    fn house_numbers_tell_neighbours_apart() {
        let line = |raw: &str| {
            let source = Source { street: Some(raw.into()), ..Source::default() };
            Record::new(&source, &[]).street.unwrap()
        };
        let main = line("12 Main Street");
        assert_eq!(street(&main, &line("12 main st")), 1);
        assert_eq!(street(&main, &line("Main Street")), 2);
        assert_eq!(street(&main, &line("12 Mian Street")), 2);
        assert_eq!(street(&main, &line("13 Main Street")), 3);
        assert_eq!(street(&main, &line("48 Main Street")), 4);
    }

    #[test]
    fn a_missing_field_is_level_zero() {
        let mut a = record("Ann", "Lee");
        a.birthday = None;
        assert_eq!(level(compare(&a, &record("Ann", "Lee")), BIRTHDAY), 0);
        assert_eq!(level(compare(&a, &record("Ann", "Lee")), EMAIL), 0);
    }
}
