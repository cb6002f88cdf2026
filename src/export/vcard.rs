//! vCard 4.0 (RFC 6350) for one person, written from the person as the caller may see them
//! (a hidden field is absent from the card as from every other format): name, emails, phones,
//! address, birthday and the companies they work for. Text is escaped (§3.4) and lines are
//! folded at 75 octets without splitting a character (§3.2); lines end in CRLF.

use serde_json::Value;

/// The labels the `TYPE` parameter knows for emails and addresses (§6.4.2, §6.3.1).
const PLACE_TYPES: [&str; 2] = ["work", "home"];
/// And for phones (§6.4.1); the common label `mobile` is written as `cell`.
const PHONE_TYPES: [&str; 9] = ["work", "home", "text", "voice", "fax", "cell", "video", "pager", "textphone"];

/// A company the person works for, with their title there.
pub struct Org {
    pub name: String,
    pub title: Option<String>,
}

/// The card of `person` (a projected record as the API shows it, `address` nested).
pub fn card(person: &Value, orgs: &[Org]) -> String {
    let text = |key: &str| person.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let mut lines = vec!["BEGIN:VCARD".to_owned(), "VERSION:4.0".to_owned()];
    let (first, last) = (text("first_name"), text("last_name"));
    let full = [first, last].into_iter().flatten().collect::<Vec<_>>().join(" ");
    // FN is the one property every card must have: the name when it may be seen, else the
    // first contact point that may, so a card never carries what the caller cannot see.
    let shown_as = Some(full)
        .filter(|name| !name.is_empty())
        .or_else(|| text("email").map(str::to_owned))
        .or_else(|| text("phone").map(str::to_owned))
        .unwrap_or_else(|| "Unnamed".to_owned());
    lines.push(format!("FN:{}", escape(&shown_as)));
    if first.is_some() || last.is_some() {
        lines.push(format!("N:{};{};;;", escape(last.unwrap_or_default()), escape(first.unwrap_or_default())));
    }
    for (email, params) in labelled(person, "emails", &PLACE_TYPES) {
        lines.push(format!("EMAIL{params}:{}", escape(&email)));
    }
    for (phone, params) in labelled(person, "phones", &PHONE_TYPES) {
        lines.push(format!("TEL;VALUE=uri{params}:tel:{}", phone.replace(' ', "")));
    }
    if let Some(address) = person.get("address").filter(|a| a.as_object().is_some_and(|a| !a.is_empty())) {
        let part = |key: &str| escape(address.get(key).and_then(Value::as_str).unwrap_or_default());
        let parts = ["street2", "street", "city", "region", "postal_code", "country"].map(part);
        if parts.iter().any(|p| !p.is_empty()) {
            lines.push(format!("ADR:;{}", parts.join(";")));
        }
    }
    if let Some(birthday) = text("birthday") {
        lines.push(format!("BDAY:{}", birthday.replace('-', "")));
    }
    for org in orgs {
        lines.push(format!("ORG:{}", escape(&org.name)));
        if let Some(title) = org.title.as_deref().filter(|t| !t.is_empty()) {
            lines.push(format!("TITLE:{}", escape(title)));
        }
    }
    lines.push("END:VCARD".to_owned());
    lines.iter().map(|line| fold(line)).collect()
}

/// The values of a labelled list with their `TYPE` and `PREF` parameters.
fn labelled(person: &Value, key: &str, types: &[&str]) -> Vec<(String, String)> {
    let Some(items) = person.get(key).and_then(Value::as_array) else { return Vec::new() };
    items
        .iter()
        .filter_map(|item| {
            let value = item.get("value").and_then(Value::as_str)?.to_owned();
            let mut params = String::new();
            if let Some(label) = item.get("label").and_then(Value::as_str).map(str::to_lowercase) {
                let label = if label == "mobile" { "cell".to_owned() } else { label };
                if types.contains(&label.as_str()) {
                    params.push_str(&format!(";TYPE={label}"));
                }
            }
            if item.get("primary").and_then(Value::as_bool) == Some(true) {
                params.push_str(";PREF=1");
            }
            Some((value, params))
        })
        .collect()
}

/// A text value with backslash, comma, semicolon and line breaks escaped (§3.4).
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\r' | '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
    out
}

/// One content line folded so that no physical line exceeds 75 octets (CRLF excluded), never
/// inside a UTF-8 sequence; continuation lines start with a space.
pub fn fold(line: &str) -> String {
    const LIMIT: usize = 75;
    let mut out = String::with_capacity(line.len() + 8);
    let mut used = 0;
    for c in line.chars() {
        if used + c.len_utf8() > LIMIT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += c.len_utf8();
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_a_character() {
        let line = format!("NOTE:{}", "é".repeat(60));
        let folded = fold(&line);
        assert!(folded.split("\r\n").all(|l| l.len() <= 75), "{folded:?}");
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
    }

    #[test]
    fn text_is_escaped_and_a_card_carries_only_the_visible_fields() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        let person = json!({
            "first_name": "Ada", "last_name": "Lovelace; Byron",
            "phones": [{"value": "+442071234567", "label": "mobile", "primary": true}],
            "address": {"city": "London", "country": "GB"}, "birthday": "1815-12-10"
        });
        let card = card(&person, &[Org { name: "Analytical, Ltd".into(), title: Some("Countess".into()) }]);
        assert!(card.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\\; Byron\r\n"), "{card}");
        assert!(card.contains("N:Lovelace\\; Byron;Ada;;;\r\n"), "{card}");
        assert!(card.contains("TEL;VALUE=uri;TYPE=cell;PREF=1:tel:+442071234567\r\n"), "{card}");
        assert!(card.contains("ADR:;;;London;;;GB\r\n") && card.contains("BDAY:18151210\r\n"), "{card}");
        assert!(card.contains("ORG:Analytical\\, Ltd\r\nTITLE:Countess\r\n") && !card.contains("EMAIL"), "{card}");
    }
}
