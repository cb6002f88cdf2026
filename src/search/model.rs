//! Search's pure parts: folding text so that case and diacritics never decide a match, the
//! words and dictionary terms of a document, the query with its typo alternatives, and the
//! ranking and highlighting of candidates. The databases only find candidates; the order and
//! the highlights are computed here, so both backends answer the same.

use std::collections::BTreeSet;

use rapport_core::UserId;
use serde::{Deserialize, Serialize};
use unicode_normalization::char::{decompose_canonical, is_combining_mark};

pub use crate::field::Object;

/// What a search index holds for one record: its visible name and the values one can find it
/// by, each under the field whose rule governs it, so a caller never finds a record through a
/// field hidden from them.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    pub object: Object,
    pub record_id: i64,
    pub owner: Option<UserId>,
    pub fields: Vec<Value>,
}

/// One searchable value of a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value {
    pub field: String,
    pub text: String,
}

impl Value {
    pub fn new(field: &str, text: impl Into<String>) -> Self {
        Self { field: field.to_owned(), text: text.into() }
    }
}

/// The fields whose values are digits a person types in pieces: they are found by substring
/// only and never enter the typo dictionary.
const NUMERIC_FIELDS: [&str; 1] = ["phone"];

/// Dictionary terms are words of this many characters: shorter ones are found by prefix, and
/// longer ones are rarely typed whole.
const TERM_LENGTH: std::ops::RangeInclusive<usize> = 3..=24;

impl Document {
    /// What the database's word index holds: the folded words of every value, and every
    /// ending of each phone's digits of four or more as a word of its own, since a phone is
    /// typed from its middle or its end as often as from its beginning.
    pub fn words(&self) -> String {
        let mut all: Vec<String> = Vec::new();
        for value in &self.fields {
            let (folded, _) = fold(&value.text);
            all.extend(words(&folded).map(|(_, word)| word.to_owned()));
            if NUMERIC_FIELDS.contains(&value.field.as_str()) {
                let digits: Vec<char> = value.text.chars().filter(char::is_ascii_digit).collect();
                all.extend((1..digits.len().saturating_sub(3)).map(|start| digits[start..].iter().collect()));
            }
        }
        all.join(" ")
    }

    /// The words of this document that a misspelt query word may be corrected to.
    pub fn terms(&self) -> BTreeSet<String> {
        self.fields
            .iter()
            .filter(|value| !NUMERIC_FIELDS.contains(&value.field.as_str()))
            .flat_map(|value| {
                let (folded, _) = fold(&value.text);
                words(&folded).map(|(_, word)| word.to_owned()).filter(|word| is_term(word)).collect::<Vec<_>>()
            })
            .collect()
    }
}

fn is_term(word: &str) -> bool {
    TERM_LENGTH.contains(&word.chars().count()) && word.chars().all(char::is_alphabetic)
}

/// `raw` in lower case with diacritics removed, and for each folded character the index of
/// the character of `raw` it came from, so that a match in the folded text can be marked in
/// the original.
pub fn fold(raw: &str) -> (String, Vec<usize>) {
    let mut folded = String::with_capacity(raw.len());
    let mut origins = Vec::with_capacity(raw.len());
    for (index, original) in raw.chars().enumerate() {
        for lower in original.to_lowercase() {
            let mut push = |c: char| {
                folded.push(c);
                origins.push(index);
            };
            match lower {
                'ø' => push('o'),
                'æ' => "ae".chars().for_each(&mut push),
                'œ' => "oe".chars().for_each(&mut push),
                'ß' => "ss".chars().for_each(&mut push),
                'ł' => push('l'),
                'đ' => push('d'),
                'ı' => push('i'),
                other => decompose_canonical(other, |part| {
                    if !is_combining_mark(part) {
                        push(part);
                    }
                }),
            }
        }
    }
    (folded, origins)
}

/// The words of folded text with the character index each starts at: runs of letters and
/// digits.
pub fn words(folded: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut chars = folded.char_indices().enumerate().peekable();
    std::iter::from_fn(move || {
        while chars.peek().is_some_and(|(_, (_, c))| !c.is_alphanumeric()) {
            chars.next();
        }
        let (start, (from, _)) = chars.next()?;
        let mut to = folded.len();
        while let Some((_, (at, c))) = chars.peek() {
            if !c.is_alphanumeric() {
                to = *at;
                break;
            }
            chars.next();
        }
        Some((start, &folded[from..to]))
    })
}

/// The term itself and every string one deletion away: a query word and a term are within one
/// edit when their variants meet, so the dictionary finds corrections with one indexed lookup
/// instead of comparing the query to every term.
pub fn variants(term: &str) -> BTreeSet<String> {
    let chars: Vec<char> = term.chars().collect();
    let mut all = BTreeSet::from([term.to_owned()]);
    if chars.len() > 2 {
        for skip in 0..chars.len() {
            all.insert(chars.iter().enumerate().filter(|(i, _)| *i != skip).map(|(_, c)| c).collect());
        }
    }
    all
}

/// The optimal string alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each count one.
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

/// The edits a query word may be away from a term it is corrected to.
pub fn tolerance(word: &str) -> usize {
    if word.chars().count() >= 8 { 2 } else { 1 }
}

/// Longest query accepted, in characters, and most words considered.
pub const MAX_QUERY: usize = 200;
pub const MAX_WORDS: usize = 8;
/// Corrections kept per query word, the most common terms first.
pub const MAX_ALTERNATIVES: usize = 6;
/// Words shorter than this match only where a word begins: inside words they would match
/// almost everything.
pub const SUBSTRING_MIN: usize = 3;

/// A parsed query: its folded words, each with the dictionary terms it may be a misspelling or
/// the beginning of.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub words: Vec<Word>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub text: String,
    pub alternatives: Vec<String>,
}

impl Word {
    /// Whether the dictionary may hold corrections of this word.
    pub fn may_be_misspelt(&self) -> bool {
        is_term(&self.text)
    }
}

impl Query {
    /// The words of `raw`; `Err` says what is wrong with it.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.chars().count() > MAX_QUERY {
            return Err("must be at most 200 characters");
        }
        let (folded, _) = fold(raw);
        let mut seen = BTreeSet::new();
        let words: Vec<Word> = words(&folded)
            .filter(|(_, word)| seen.insert(word.to_string()))
            .take(MAX_WORDS)
            .map(|(_, word)| Word { text: word.to_owned(), alternatives: Vec::new() })
            .collect();
        if words.is_empty() {
            return Err("must contain a letter or a digit");
        }
        Ok(Self { words })
    }

    /// Keeps, for each word, the dictionary terms (with how many documents hold them) that
    /// are within its tolerance, most common first.
    pub fn correct(&mut self, terms: &[(String, i64)]) {
        for word in &mut self.words {
            if !word.may_be_misspelt() {
                continue;
            }
            let mut near: Vec<&(String, i64)> = terms
                .iter()
                .filter(|(term, _)| *term != word.text && !term.contains(&word.text))
                .filter(|(term, _)| distance(term, &word.text) <= tolerance(&word.text))
                .collect();
            near.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            word.alternatives = near.into_iter().take(MAX_ALTERNATIVES).map(|(term, _)| term.clone()).collect();
        }
    }
}

/// A match of one query word in one value: how good, and where in the value's characters.
#[derive(Clone, Copy, Debug)]
struct Found {
    quality: f64,
    value: usize,
    from: usize,
    to: usize,
}

/// How much a match in each field counts: a name is what people search by.
fn weight(field: &str) -> f64 {
    match field {
        "first_name" | "last_name" | "name" => 1.0,
        "email" | "domain" | "phone" => 0.8,
        _ => 0.6,
    }
}

/// How well `token` (a word of a value) matches `pattern`: the whole word, its beginning, or
/// somewhere inside it. A correction counts for less than what was typed.
fn quality(token: &str, pattern: &str, corrected: bool) -> Option<(f64, usize, usize)> {
    let (whole, begins, inside) = if corrected { (0.6, 0.45, 0.3) } else { (1.0, 0.8, 0.5) };
    let length = pattern.chars().count();
    if token == pattern {
        Some((whole, 0, length))
    } else if token.starts_with(pattern) {
        Some((begins, 0, length))
    } else if pattern.chars().count() >= SUBSTRING_MIN {
        token.find(pattern).map(|at| {
            let from = token[..at].chars().count();
            (inside, from, from + length)
        })
    } else {
        None
    }
}

/// A ranked result: the record, its score, and the character ranges of each value that the
/// query matched.
#[derive(Clone, Debug)]
pub struct Ranked {
    pub score: f64,
    pub marks: Vec<Marked>,
}

/// A value with the character ranges to highlight in it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Marked {
    pub field: String,
    pub text: String,
    /// Character offsets `[from, to)` into `text`.
    pub ranges: Vec<[usize; 2]>,
}

impl Marked {
    /// The text cut into pieces, each with whether it is highlighted.
    pub fn pieces(&self) -> Vec<(String, bool)> {
        let chars: Vec<char> = self.text.chars().collect();
        let mut pieces = Vec::new();
        let mut at = 0;
        for [from, to] in &self.ranges {
            if *from > at {
                pieces.push((chars[at..*from].iter().collect(), false));
            }
            pieces.push((chars[*from..*to].iter().collect(), true));
            at = *to;
        }
        if at < chars.len() {
            pieces.push((chars[at..].iter().collect(), false));
        }
        pieces
    }
}

/// Scores `values` (those the caller may see) against `query`: `None` unless every word
/// matches somewhere. A word scores its best match weighted by its field.
pub fn rank(query: &Query, values: &[Value]) -> Option<Ranked> {
    let folded: Vec<(String, Vec<usize>)> = values.iter().map(|value| fold(&value.text)).collect();
    let mut score = 0.0;
    let mut found = Vec::new();
    for word in &query.words {
        let mut best: Option<Found> = None;
        for (index, (text, _)) in folded.iter().enumerate() {
            let field_weight = weight(&values[index].field);
            for (start, token) in words(text) {
                let tries = std::iter::once((word.text.as_str(), false))
                    .chain(word.alternatives.iter().map(|alternative| (alternative.as_str(), true)));
                for (pattern, corrected) in tries {
                    if let Some((quality, from, to)) = quality(token, pattern, corrected) {
                        let quality = quality * field_weight;
                        if best.is_none_or(|best| quality > best.quality) {
                            best = Some(Found { quality, value: index, from: start + from, to: start + to });
                        }
                    }
                }
            }
        }
        let best = best?;
        score += best.quality;
        found.push(best);
    }
    let marks = values
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let origins = &folded[index].1;
            let mut ranges: Vec<[usize; 2]> = found
                .iter()
                .filter(|found| found.value == index && found.to > found.from)
                .map(|found| [origins[found.from], origins[found.to - 1] + 1])
                .collect();
            if ranges.is_empty() {
                return None;
            }
            ranges.sort_unstable();
            Some(Marked { field: value.field.clone(), text: value.text.clone(), ranges: merged(ranges) })
        })
        .collect();
    Some(Ranked { score: score / query.words.len() as f64, marks })
}

/// The fields that name a record, in the order a name reads.
const NAME_FIELDS: [&str; 3] = ["first_name", "last_name", "name"];

/// A record's name from its visible values, with the query's matches marked in it; `None`
/// when the caller may see none of its name.
pub fn title(values: &[Value], marks: &[Marked]) -> Option<Marked> {
    let mut title = Marked { field: "name".into(), text: String::new(), ranges: Vec::new() };
    for value in values.iter().filter(|value| NAME_FIELDS.contains(&value.field.as_str())) {
        if value.text.trim().is_empty() {
            continue;
        }
        if !title.text.is_empty() {
            title.text.push(' ');
        }
        let offset = title.text.chars().count();
        title.text.push_str(&value.text);
        let marked = marks.iter().find(|mark| mark.field == value.field && mark.text == value.text);
        for [from, to] in marked.map(|mark| mark.ranges.as_slice()).unwrap_or_default() {
            title.ranges.push([from + offset, to + offset]);
        }
    }
    (!title.text.is_empty()).then_some(title)
}

/// What to show under a record's name: the first value the query matched outside the name,
/// else the record's first value outside the name (its primary email or domain).
pub fn subtitle(values: &[Value], marks: &[Marked]) -> Option<Marked> {
    let outside = |field: &str| !NAME_FIELDS.contains(&field);
    marks.iter().find(|mark| outside(&mark.field)).cloned().or_else(|| {
        values.iter().find(|value| outside(&value.field)).map(|value| Marked {
            field: value.field.clone(),
            text: value.text.clone(),
            ranges: Vec::new(),
        })
    })
}

fn merged(ranges: Vec<[usize; 2]>) -> Vec<[usize; 2]> {
    let mut out: Vec<[usize; 2]> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match out.last_mut() {
            Some(last) if range[0] <= last[1] => last[1] = last[1].max(range[1]),
            _ => out.push(range),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(raw: &str, terms: &[(&str, i64)]) -> Query {
        let mut query = Query::parse(raw).expect("a valid query");
        let terms: Vec<(String, i64)> = terms.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect();
        query.correct(&terms);
        query
    }

    #[test]
    fn folding_drops_case_and_diacritics_and_remembers_where_each_character_came_from() {
        assert_eq!(fold("Zoë Ångström").0, "zoe angstrom");
        let (folded, origins) = fold("Straße");
        assert_eq!(folded, "strasse");
        assert_eq!(origins, vec![0, 1, 2, 3, 4, 4, 5]);
        assert_eq!(fold("Łukasz Søren").0, "lukasz soren");
    }

    #[test]
    fn words_are_runs_of_letters_and_digits() {
        let found: Vec<_> = words("john.smith@example.com +44 20").collect();
        assert_eq!(found, vec![(0, "john"), (5, "smith"), (11, "example"), (19, "com"), (24, "44"), (27, "20")]);
    }

    #[test]
    fn variants_meet_for_words_one_edit_apart() {
        let meet = |a: &str, b: &str| !variants(a).is_disjoint(&variants(b));
        assert!(meet("smyth", "smith"));
        assert!(meet("jon", "john"));
        assert!(meet("jhon", "john"));
        assert!(!meet("smith", "jones"));
    }

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        assert_eq!(distance("john", "jhon"), 1);
        assert_eq!(distance("smyth", "smith"), 1);
        assert_eq!(distance("jon", "john"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_misspelt_query_ranks_the_corrected_name_and_marks_it() {
        let query = query("jon smyth", &[("john", 40), ("smith", 90), ("jones", 5)]);
        assert_eq!(query.words[0].alternatives, vec!["john".to_owned()]);
        assert_eq!(query.words[1].alternatives, vec!["smith".to_owned()]);
        let values = vec![Value::new("first_name", "John"), Value::new("last_name", "Smith")];
        let ranked = rank(&query, &values).expect("both words match");
        assert_eq!(ranked.marks[0].ranges, vec![[0, 4]]);
        assert_eq!(ranked.marks[1].ranges, vec![[0, 5]]);
        assert!(rank(&query, &[Value::new("first_name", "John")]).is_none(), "every word must match");
    }

    #[test]
    fn what_was_typed_outranks_a_correction_and_a_name_outranks_a_tag() {
        let query = query("jon", &[("john", 40)]);
        let exact = rank(&query, &[Value::new("first_name", "Jon")]).expect("matches");
        let corrected = rank(&query, &[Value::new("first_name", "John")]).expect("matches");
        let tagged = rank(&query, &[Value::new("tags", "jon")]).expect("matches");
        assert!(exact.score > corrected.score);
        assert!(exact.score > tagged.score);
    }

    #[test]
    fn substrings_and_prefixes_match_and_highlight_in_the_original_text() {
        let query = query("mül", &[]);
        let ranked = rank(&query, &[Value::new("last_name", "Hoffmüller")]).expect("a substring matches");
        let marked = &ranked.marks[0];
        assert_eq!(marked.pieces(), vec![("Hoff".into(), false), ("mül".into(), true), ("ler".into(), false)]);
        let digits = query_digits();
        assert!(rank(&digits, &[Value::new("phone", "+442079460123")]).is_some());
    }

    fn query_digits() -> Query {
        query("7946 0123", &[])
    }

    #[test]
    fn a_phone_is_a_word_from_each_of_its_digits_on_and_punctuation_separates_words() {
        let document = Document {
            object: Object::Person,
            record_id: 1,
            owner: None,
            fields: vec![Value::new("last_name", "Smith"), Value::new("phone", "+4420794601")],
        };
        assert_eq!(document.words(), "smith 4420794601 420794601 20794601 0794601 794601 94601 4601");
        let email = Document {
            object: Object::Person,
            record_id: 1,
            owner: None,
            fields: vec![Value::new("email", "Zoë.Smith@Example.com")],
        };
        assert_eq!(email.words(), "zoe smith example com");
    }

    #[test]
    fn bad_queries_say_why() {
        assert!(Query::parse("  --  ").is_err());
        assert!(Query::parse(&"a".repeat(201)).is_err());
    }
}
