//! Email and phone parsing against published test vectors: the isemail suite (Dominic
//! Sayers) and libphonenumber's own example numbers. The data lives in `shared/data` beside the
//! checkout, looked for in the repository's parent folders.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use rapport_core::{CountryCode, Email, Phone};

fn shared_data(file: &str) -> PathBuf {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    root.ancestors()
        .map(|dir| dir.join("shared/data").join(file))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("shared/data/{file} is not beside the checkout"))
}

#[derive(serde::Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    region: String,
    national_input: String,
    e164: String,
    international: String,
}

/// Vectors that our metadata (libphonenumber 9.0.33, the newest the 0.3 crate ships) reads
/// differently from the newer metadata (9.0.43) the vectors were made with: the Faroes' new
/// digit grouping, the Belarusian, Kazakh and Russian `8 800` toll-free ranges and a new
/// Rwandan range. Listed exactly, so any other disagreement fails.
const METADATA_LAG: [&str; 13] = [
    "BY 8 801 123 4567: Err(Invalid)",
    "FO 20 12 34: +298 201234",
    "FO 21 12 34: +298 211234",
    "FO 80 21 23: +298 802123",
    "FO 90 11 23: +298 901123",
    "FO 60 12 34: +298 601234",
    "KZ 8 (800) 123-45-67: Err(Invalid)",
    "KZ 8 (809) 123-45-67: Err(Invalid)",
    "KZ 8 (808) 123-45-67: Err(Invalid)",
    "RU 8 (800) 123-45-67: Err(Invalid)",
    "RU 8 (809) 123-45-67: Err(Invalid)",
    "RU 8 (808) 123-45-67: Err(Invalid)",
    "RW 250 123 456: Err(Invalid)",
];

#[test]
fn every_example_number_parses_to_its_e164_and_international_forms() {
    let path = shared_data("phonenumbers/phonenumbers_example_vectors.json");
    let vectors: Vectors = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Phone::warm();
    let mut checked = 0;
    let mut failures = Vec::new();
    for vector in &vectors.vectors {
        // Ascension, Tristan da Cunha and Kosovo have dialling plans but no ISO 3166-1 code,
        // so a workspace can never name them as its country.
        let Ok(region) = CountryCode::parse(&vector.region) else { continue };
        checked += 1;
        match Phone::parse(&vector.national_input, region) {
            Ok(phone) if phone.as_e164() == vector.e164 && phone.international() == vector.international => {}
            Ok(phone) => {
                failures.push(format!("{} {}: {}", vector.region, vector.national_input, phone.international()))
            }
            Err(err) => failures.push(format!("{} {}: Err({err:?})", vector.region, vector.national_input)),
        }
    }
    assert!(checked > 1100, "only {checked} vectors had an ISO region");
    assert_eq!(failures, METADATA_LAG.map(String::from), "of {checked} vectors, these failed");
}

/// One `<test>` of the isemail suite: the address (control characters written as U+2400 + n)
/// and its category.
struct EmailCase {
    id: String,
    address: String,
    category: String,
    diagnosis: String,
}

fn email_cases() -> Vec<EmailCase> {
    let xml = std::fs::read_to_string(shared_data("email/isemail_tests.xml")).unwrap();
    xml.split("<test id=\"")
        .skip(1)
        .map(|test| {
            let id = test.split('"').next().unwrap().to_owned();
            let address = between(test, "<address>", "</address>").unwrap_or_default();
            let category = between(test, "<category>", "</category>").unwrap().to_owned();
            let diagnosis = between(test, "<diagnosis>", "</diagnosis>").unwrap().to_owned();
            EmailCase { id, address: unescape(address), category, diagnosis }
        })
        .collect()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    Some(&text[start..start + text[start..].find(close)?])
}

fn unescape(raw: &str) -> String {
    let text = raw.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("&#x") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').unwrap() + at;
        let code = u32::from_str_radix(&rest[at + 3..end], 16).unwrap();
        let code = if (0x2400..0x2420).contains(&code) { code - 0x2400 } else { code };
        out.push(char::from_u32(code).unwrap());
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out.replace("&amp;", "&")
}

/// Whether [`Email`] should accept a case; the categories are argued in `email.rs`.
fn accepted(case: &EmailCase) -> bool {
    match case.category.as_str() {
        "ISEMAIL_VALID_CATEGORY" | "ISEMAIL_DNSWARN" => true,
        "ISEMAIL_RFC5321" => case.diagnosis == "ISEMAIL_RFC5321_TLD",
        "ISEMAIL_CFWS" => {
            let trimmed = case.address.trim_matches(' ');
            trimmed != case.address && trimmed.bytes().all(|b| b.is_ascii_graphic())
        }
        _ => false,
    }
}

#[test]
fn isemail_addresses_are_accepted_or_refused_as_documented() {
    let cases = email_cases();
    assert_eq!(cases.len(), 164);
    let wrong: Vec<String> = cases
        .iter()
        .filter(|case| Email::parse(&case.address).is_ok() != accepted(case))
        .map(|case| {
            format!("#{} {:?} ({}, expected accepted: {})", case.id, case.address, case.diagnosis, accepted(case))
        })
        .collect();
    assert!(wrong.is_empty(), "disagreements:\n{}", wrong.join("\n"));
}
