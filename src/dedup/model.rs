//! What duplicate detection compares: a person reduced to normalised keys ([`Record`]) and the
//! pairs it reports ([`Pair`]). Normalising once per person, not once per comparison, is what
//! keeps a scan of a million people within a minute.
//!
//! Names are folded (case, punctuation and diacritics), carry their Double Metaphone codes and
//! the nickname groups they belong to (`nicknames.txt`); emails are canonical, phones E.164,
//! streets have their abbreviations spelt out, postal codes keep only letters and digits.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use rapport_core::PersonId;
use rphonetic::DoubleMetaphone;
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A person's fields as the store reads them, before normalisation.
#[derive(Clone, Debug, Default)]
pub struct Source {
    pub id: i64,
    pub external_id: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// Canonical (see `Email::canonical`).
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub birthday: Option<NaiveDate>,
    pub street: Option<String>,
    pub street2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    /// Custom text values by field id (the keys of `crate::field::Stored`).
    pub custom: crate::field::Stored,
}

impl Source {
    /// A checked person about to be written; `id` is theirs when they exist (an update).
    pub fn of_new(person: &crate::person::NewPerson, id: Option<PersonId>) -> Self {
        let a = &person.address;
        Self {
            id: id.map_or(0, PersonId::get),
            external_id: person.external_id.clone(),
            first_name: person.first_name.clone(),
            last_name: person.last_name.clone(),
            email: person.primary_email().map(|e| e.canonical()),
            phone: person.primary_phone().map(|p| p.as_e164().to_owned()),
            birthday: person.birthday,
            street: a.street.clone(),
            street2: a.street2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            custom: person.custom.clone(),
        }
    }

    /// A person as stored.
    pub fn of_person(person: &crate::person::Person) -> Self {
        let fields = &person.fields;
        let primary = |values: &[crate::profile::LabelledInput]| {
            values.iter().find(|l| l.primary).or(values.first()).map(|l| l.value.clone())
        };
        let a = &fields.address;
        Self {
            id: person.id.get(),
            external_id: fields.external_id.clone(),
            first_name: fields.first_name.clone(),
            last_name: fields.last_name.clone(),
            email: primary(&fields.emails).map(|e| e.to_lowercase()),
            phone: primary(&fields.phones),
            birthday: fields.birthday.as_deref().and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            street: a.street.clone(),
            street2: a.street2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            custom: person.custom.clone(),
        }
    }
}

/// A folded name with what comparisons and blocking need of it.
#[derive(Clone, Debug)]
pub struct Name {
    pub text: Box<str>,
    /// Double Metaphone primary and alternate codes; empty for a name without Latin letters.
    pub primary: Box<str>,
    pub alternate: Box<str>,
    /// Nickname groups the name belongs to, as line numbers of the table.
    pub groups: Box<[u16]>,
}

impl Name {
    pub fn parse(raw: &str) -> Option<Self> {
        let text = fold(raw);
        if text.is_empty() {
            return None;
        }
        let letters: String = text.chars().filter(char::is_ascii_alphabetic).collect();
        let codes = encoder().double_metaphone(&letters);
        let groups = nicknames().get(text.as_str()).cloned().unwrap_or_default().into_boxed_slice();
        Some(Self { text: text.into(), primary: codes.primary().into(), alternate: codes.alternate().into(), groups })
    }

    /// The formal name of the name's first nickname group, or the name itself: "bob" and
    /// "robert" block together.
    pub fn formal(&self) -> &str {
        match self.groups.first() {
            Some(group) => formal_names().get(usize::from(*group)).map_or(&self.text, |formal| formal.as_str()),
            None => &self.text,
        }
    }

    /// The Double Metaphone code of [`Self::formal`].
    pub fn formal_code(&self) -> String {
        let letters: String = self.formal().chars().filter(char::is_ascii_alphabetic).collect();
        encoder().double_metaphone(&letters).primary()
    }

    pub fn sounds_like(&self, other: &Self) -> bool {
        let codes = |n: &Self| [n.primary.clone(), n.alternate.clone()];
        !self.primary.is_empty() && codes(self).iter().any(|c| !c.is_empty() && codes(other).contains(c))
    }

    pub fn nicknames_of(&self, other: &Self) -> bool {
        self.groups.iter().any(|g| other.groups.contains(g))
    }
}

/// A person normalised for comparison. `extra` holds the workspace's custom text values in the
/// order of the model's `extras`.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: PersonId,
    pub external_id: Option<String>,
    pub first: Option<Name>,
    pub last: Option<Name>,
    pub email: Option<Box<str>>,
    pub phone: Option<Box<str>>,
    pub birthday: Option<NaiveDate>,
    pub street: Option<Street>,
    pub street2: Option<Box<str>>,
    pub city: Option<Box<str>>,
    pub region: Option<Box<str>>,
    pub postal: Option<Box<str>>,
    pub extra: Vec<Option<Box<str>>>,
}

impl Record {
    /// Normalises `source`; `extras` names the custom fields (by id) that take part.
    pub fn new(source: &Source, extras: &[String]) -> Self {
        let folded = |raw: &Option<String>| raw.as_deref().map(fold).filter(|t| !t.is_empty()).map(Box::from);
        Self {
            id: PersonId::new(source.id),
            external_id: source.external_id.clone(),
            first: source.first_name.as_deref().and_then(Name::parse),
            last: source.last_name.as_deref().and_then(Name::parse),
            email: source.email.as_deref().map(str::to_lowercase).filter(|e| e.contains('@')).map(Box::from),
            phone: source.phone.as_deref().map(digits).filter(|p| p.len() >= 6).map(Box::from),
            birthday: source.birthday,
            street: source.street.as_deref().map(street).filter(|t| !t.is_empty()).map(Street::new),
            street2: folded(&source.street2),
            city: folded(&source.city),
            region: folded(&source.region),
            postal: source
                .postal_code
                .as_deref()
                .map(|p| fold(p).replace(' ', ""))
                .filter(|p| !p.is_empty())
                .map(Box::from),
            extra: extras
                .iter()
                .map(|field| {
                    let value = source.custom.get(field).and_then(|v| v.as_str()).map(fold);
                    value.filter(|t| !t.is_empty()).map(Box::from)
                })
                .collect(),
        }
    }

    /// The sort key within an oversized block: the folded names, so that neighbours in a
    /// block of one common key are the ones most alike.
    pub fn sort_key(&self) -> String {
        let name = |n: &Option<Name>| n.as_ref().map_or("", |n| &n.text).to_owned();
        format!("{}|{}|{}", name(&self.last), name(&self.first), self.postal.as_deref().unwrap_or(""))
    }
}

/// A normalised street line, and apart its house numbers and its words: numbers and words are
/// compared differently, and splitting them once per person rather than once per comparison
/// is what a scan's time allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Street {
    pub line: Box<str>,
    pub numbers: Box<str>,
    pub words: Box<str>,
}

impl Street {
    fn new(line: String) -> Self {
        let numbered = |w: &&str| w.bytes().any(|c| c.is_ascii_digit());
        let numbers: Vec<&str> = line.split(' ').filter(numbered).collect();
        let words: Vec<&str> = line.split(' ').filter(|w| !numbered(w)).collect();
        Self { numbers: numbers.join(" ").into(), words: words.join(" ").into(), line: line.into() }
    }
}

/// One end of a reported pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PairEnd {
    pub id: i64,
    pub external_id: Option<String>,
}

/// Two people who are probably one, with the calibrated probability that they are and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pair {
    pub a: PairEnd,
    pub b: PairEnd,
    /// The probability (0–1) that `a` and `b` are the same person.
    pub score: f64,
    /// The field comparisons behind the score, strongest evidence first.
    pub reasons: Vec<String>,
}

/// Who a probe of a batched check probably is: someone stored, or an earlier probe of the
/// same check (by its place among the probes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicate {
    Person(PersonId),
    Probe(usize),
}

/// A possible duplicate of a probe, with the probability and the reasons, as a warning
/// names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Possible {
    pub of: Duplicate,
    /// First and last name as stored or given, for the warning; may be empty.
    pub name: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// Lower case, diacritics and punctuation dropped (an apostrophe joins: O'Brien is obrien),
/// runs of anything else one space.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfkd() {
        if is_combining_mark(c) || c == '\'' || c == '’' {
            continue;
        }
        let spelt = match c {
            'ł' | 'Ł' => "l",
            'ø' | 'Ø' => "o",
            'đ' | 'Đ' => "d",
            'ß' => "ss",
            'æ' | 'Æ' => "ae",
            'œ' | 'Œ' => "oe",
            'ı' => "i",
            c if c.is_alphanumeric() => {
                if gap && !out.is_empty() {
                    out.push(' ');
                }
                gap = false;
                out.extend(c.to_lowercase());
                continue;
            }
            _ => {
                gap = true;
                continue;
            }
        };
        if gap && !out.is_empty() {
            out.push(' ');
        }
        gap = false;
        out.push_str(spelt);
    }
    out
}

fn digits(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

/// A street line folded, with the usual abbreviations of street types spelt out.
pub fn street(raw: &str) -> String {
    let folded = fold(raw);
    let words: Vec<String> = folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| match (spelt_out(w), w.strip_suffix("str")) {
            (Some(full), _) => full.to_owned(),
            // German compounds: Hauptstr. is Hauptstraße.
            (None, Some(stem)) if stem.len() >= 3 => format!("{stem}strasse"),
            _ => w.to_owned(),
        })
        .collect();
    words.join(" ")
}

fn spelt_out(word: &str) -> Option<&'static str> {
    Some(match word {
        "st" => "street",
        "str" => "strasse",
        "rd" => "road",
        "ave" | "av" | "avda" => "avenue",
        "blvd" | "bd" | "bvd" => "boulevard",
        "dr" | "drv" => "drive",
        "ln" => "lane",
        "ct" | "crt" => "court",
        "pl" => "place",
        "cres" | "cr" => "crescent",
        "cct" | "cir" => "circuit",
        "hwy" => "highway",
        "pde" => "parade",
        "tce" | "ter" => "terrace",
        "sq" => "square",
        "pkwy" | "pky" => "parkway",
        "cl" => "close",
        "gr" | "gve" => "grove",
        "esp" => "esplanade",
        "mt" => "mount",
        "apt" => "apartment",
        "ul" => "ulica",
        _ => return None,
    })
}

fn encoder() -> &'static DoubleMetaphone {
    static ENCODER: OnceLock<DoubleMetaphone> = OnceLock::new();
    ENCODER.get_or_init(DoubleMetaphone::default)
}

const NICKNAMES: &str = include_str!("nicknames.txt");

fn groups() -> impl Iterator<Item = Vec<String>> {
    NICKNAMES
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split_whitespace().map(fold).collect())
}

/// Folded name → the nickname groups it belongs to.
fn nicknames() -> &'static HashMap<String, Vec<u16>> {
    static TABLE: OnceLock<HashMap<String, Vec<u16>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: HashMap<String, Vec<u16>> = HashMap::new();
        for (group, names) in groups().enumerate() {
            for name in names {
                let entry = table.entry(name).or_default();
                let group = u16::try_from(group).unwrap_or(u16::MAX);
                if !entry.contains(&group) {
                    entry.push(group);
                }
            }
        }
        table
    })
}

fn formal_names() -> &'static [String] {
    static FORMAL: OnceLock<Vec<String>> = OnceLock::new();
    FORMAL.get_or_init(|| groups().map(|names| names.into_iter().next().unwrap_or_default()).collect())
}

#[cfg(test)]
mod tests {
    use super::{Name, fold, street};

    #[test]
    fn folding_drops_case_diacritics_and_punctuation() {
        assert_eq!(fold("  Zoë  O'Brien-Łukasz "), "zoe obrien lukasz");
        assert_eq!(fold("Müller"), "muller");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("JOSÉ"), "jose");
    }

    #[test]
    fn street_types_are_spelt_out() {
        assert_eq!(street("12 Tullaroop St."), "12 tullaroop street");
        assert_eq!(street("12 tullaroop street"), "12 tullaroop street");
        assert_eq!(street("4/7 Smith Rd"), "4 7 smith road");
        assert_eq!(street("Hauptstr. 5"), street("Hauptstraße 5"));
    }

    #[test]
    fn nicknames_share_a_group_and_block_under_the_formal_name() {
        let (bob, robert, jon, john) = (
            Name::parse("Bob").unwrap(),
            Name::parse("Robert").unwrap(),
            Name::parse("Jon").unwrap(),
            Name::parse("John").unwrap(),
        );
        assert!(bob.nicknames_of(&robert) && jon.nicknames_of(&john));
        assert!(!bob.nicknames_of(&john));
        assert_eq!(bob.formal(), "robert");
        assert_eq!(Name::parse("Kasia").unwrap().formal(), "katarzyna");
        assert!(Name::parse("Liz").unwrap().nicknames_of(&Name::parse("Elizabeth").unwrap()));
    }

    #[test]
    fn names_that_sound_alike_share_a_phonetic_code() {
        assert!(Name::parse("Smith").unwrap().sounds_like(&Name::parse("Schmidt").unwrap()));
        assert!(Name::parse("Katherine").unwrap().sounds_like(&Name::parse("Catherine").unwrap()));
        assert!(!Name::parse("Smith").unwrap().sounds_like(&Name::parse("Jones").unwrap()));
    }

    #[test]
    fn a_name_in_another_script_has_no_phonetic_code() {
        let name = Name::parse("山田").unwrap();
        assert!(name.primary.is_empty());
        assert!(!name.sounds_like(&Name::parse("山田").unwrap()));
    }
}
