//! People: names in their country's script, unique e-mail addresses, E.164 phones, addresses
//! with matching regions and postal codes, an employer, a buying habit, and planted
//! near-duplicates with their ground truth.
//!
//! A person is a pure function of `(seed, id)`. Duplicates are planted per block of
//! [`BLOCK`] ids: a few slots of each block copy, with deliberate damage, a person of another
//! block (blocks pair up by rotation, so no one is copied twice and no copy is copied again). A
//! duplicate has no behaviour of its own: it is the same customer entered a second time.

use chrono::{Duration, NaiveDate};

use super::World;
use super::companies::Company;
use super::rng::{Rng, Stream, mix};
use super::words::{COUNTRIES, Country, NICKNAMES, StreetStyle, TAGS, TITLES, fold, forms, strip_diacritics};

pub const HEADER: &str = "id,first_name,last_name,email,phone,birthday,address.street,address.city,address.region,address.postal_code,address.country,company,title,lifecycle_stage,tags,external_id\n";
pub const DUPLICATES_HEADER: &str = "id,duplicate_of,kinds\n";
/// The columns of the raw-import baseline's contacts file: eight of the people columns.
pub const CONTACTS_HEADER: &str = "first_name,last_name,email,phone,company,title,address.city,address.country\n";

/// Ids per duplicate-planting block.
pub const BLOCK: u64 = 100;

/// How much a person buys; it shapes their events and orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Habit {
    /// In the CRM but never seen on the shop.
    Dormant,
    /// Browses, fills carts, never orders.
    Browser,
    /// Orders once and never again: the long tail.
    OneTime,
    Repeat,
    /// The few who order all the time.
    Heavy,
}

const HABITS: [(Habit, u32); 5] =
    [(Habit::Dormant, 25), (Habit::Browser, 40), (Habit::OneTime, 22), (Habit::Repeat, 10), (Habit::Heavy, 3)];

/// How a duplicate differs from its original.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Damage {
    Typo,
    Nickname,
    SwappedNames,
    EmailDomain,
    /// Diacritics dropped, or a Japanese name in the other script.
    Transliteration,
}

impl Damage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Typo => "typo",
            Self::Nickname => "nickname",
            Self::SwappedNames => "swapped_names",
            Self::EmailDomain => "email_domain",
            Self::Transliteration => "transliteration",
        }
    }
}

pub struct Person {
    pub id: u64,
    pub country: &'static Country,
    pub first_name: String,
    pub last_name: String,
    /// The names in Latin letters, for e-mail addresses.
    latin_first: &'static str,
    latin_last: String,
    /// Whether the names are written in the country's own non-Latin script.
    native_script: bool,
    /// The formal given name as listed, for nicknames.
    given: &'static str,
    pub email: String,
    pub phone: String,
    pub birthday: Option<NaiveDate>,
    pub street: String,
    pub city: &'static str,
    pub region: &'static str,
    pub postal_code: String,
    pub company: Option<Company>,
    pub title: &'static str,
    pub lifecycle_stage: &'static str,
    pub tags: String,
    pub external_id: String,
    pub anonymous_id: String,
    pub habit: Habit,
    /// For a planted duplicate: the original's id and what was changed.
    pub duplicate_of: Option<(u64, Vec<Damage>)>,
}

/// The duplicate slots of one block: `(id, original id)`.
pub fn duplicates_in_block(world: &World, block: u64) -> Vec<(u64, u64)> {
    let blocks = world.people.div_ceil(BLOCK);
    let slots = duplicate_slots(world, block);
    let source = (block + blocks / 2) % blocks;
    let source_slots = duplicate_slots(world, source);
    let mut candidates: Vec<u64> = block_ids(world, source).filter(|id| !source_slots.contains(id)).collect();
    let mut rng = Rng::new(world.seed, Stream::DuplicateBlock, block * 2 + 1);
    slots
        .into_iter()
        .filter_map(|slot| {
            if candidates.is_empty() {
                return None;
            }
            let original = candidates.swap_remove(rng.below(candidates.len() as u64) as usize);
            Some((slot, original))
        })
        .collect()
}

fn block_ids(world: &World, block: u64) -> std::ops::RangeInclusive<u64> {
    block * BLOCK + 1..=((block + 1) * BLOCK).min(world.people)
}

/// Ids chosen to hold duplicates in a block: two on average, never more than a quarter.
fn duplicate_slots(world: &World, block: u64) -> Vec<u64> {
    let mut ids: Vec<u64> = block_ids(world, block).collect();
    let mut rng = Rng::new(world.seed, Stream::DuplicateBlock, block * 2);
    let count = (rng.below(5) as usize).min(ids.len() / 4);
    (0..count).map(|_| ids.swap_remove(rng.below(ids.len() as u64) as usize)).collect()
}

/// The people of one block in id order, duplicates included.
pub fn block(world: &World, block: u64) -> Vec<Person> {
    let duplicates = duplicates_in_block(world, block);
    block_ids(world, block)
        .map(|id| match duplicates.iter().find(|(slot, _)| *slot == id) {
            Some(&(_, original)) => Person::duplicate(world, id, Person::original(world, original)),
            None => Person::original(world, id),
        })
        .collect()
}

impl Person {
    fn original(world: &World, id: u64) -> Self {
        let mut rng = Rng::new(world.seed, Stream::Person, id);
        let country = &COUNTRIES[rng.weighted(&world.country_weights)];
        let female = rng.chance(0.5);
        let given = rng.pick(if female { country.female } else { country.male });
        let (first_native, first_latin) = forms(given);
        let (last_native, last_latin) = forms(rng.pick(country.family));
        let native_script = first_latin.is_some() && rng.chance(0.45);
        let mut last_name = if native_script { last_native } else { last_latin.unwrap_or(last_native) }.to_owned();
        if country.code == "PL" && female {
            last_name = feminine_polish(&last_name);
        }
        let first_name = if native_script { first_native } else { first_latin.unwrap_or(first_native) }.to_owned();
        let latin_first = first_latin.unwrap_or(first_native);
        let latin_last = match last_latin {
            Some(latin) => latin.to_owned(),
            None => last_name.clone(),
        };

        let company = (world.companies > 0 && rng.chance(0.55))
            .then(|| Company::generate(world.seed, rng.power_rank(world.companies, 0.9) + 1));
        let email = if rng.chance(0.08) {
            String::new()
        } else {
            let domain = match &company {
                Some(company) if rng.chance(0.35) => company.domain.clone(),
                _ => rng.pick(country.mail_domains).to_owned(),
            };
            format!("{}@{domain}", local_part(&mut rng, latin_first, &latin_last, id))
        };

        let city = rng.pick_ref(country.cities);
        let street = address_line(&mut rng, country, native_script);
        let postal_code = postal_code(&mut rng, country, city.postal_prefix);
        let phone = if rng.chance(0.85) { phone(&mut rng, country, city.area_code) } else { String::new() };
        let birthday = rng
            .chance(0.75)
            .then(|| world.calendar.first_day() - Duration::days(365 * 18 + rng.below(365 * 60) as i64));
        let title = match &company {
            Some(_) if rng.chance(0.8) => {
                let local = !country.titles.is_empty() && rng.chance(0.3);
                let entry = if local { rng.pick(country.titles) } else { rng.pick(TITLES) };
                let (native, latin) = forms(entry);
                if native_script { native } else { latin.unwrap_or(native) }
            }
            _ => "",
        };
        let habits: Vec<u32> = HABITS.iter().map(|(_, w)| *w).collect();
        let habit = HABITS[rng.weighted(&habits)].0;
        let lifecycle_stage = lifecycle_stage(&mut rng, habit);
        let tags = tags(&mut rng, habit);
        let key = mix(world.seed);
        Self {
            id,
            country,
            first_name,
            last_name,
            latin_first,
            latin_last,
            native_script,
            given,
            email,
            phone,
            birthday,
            street,
            city: script(city.name, native_script),
            region: script(city.region, native_script),
            postal_code,
            company,
            title,
            lifecycle_stage,
            tags,
            external_id: format!("cus_{}", base36(mix(key ^ id))),
            anonymous_id: super::rng::format_uuid(mix(key.rotate_left(17) ^ id), mix(key.rotate_left(41) ^ id)),
            habit,
            duplicate_of: None,
        }
    }

    /// A second record of `original`, damaged in one or two ways, with no behaviour of its own.
    fn duplicate(world: &World, id: u64, original: Self) -> Self {
        let mut rng = Rng::new(world.seed, Stream::Person, id);
        let mut possible = vec![Damage::Typo, Damage::SwappedNames];
        if nickname(original.given).is_some() {
            possible.push(Damage::Nickname);
        }
        if !original.email.is_empty() {
            possible.push(Damage::EmailDomain);
        }
        if original.native_script
            || strip_diacritics(&original.first_name) != original.first_name
            || strip_diacritics(&original.last_name) != original.last_name
        {
            possible.push(Damage::Transliteration);
        }
        if original.native_script {
            possible.retain(|d| *d != Damage::Typo);
        }
        let mut damages = vec![possible.swap_remove(rng.below(possible.len() as u64) as usize)];
        if rng.chance(0.3) && !possible.is_empty() {
            damages.push(possible.swap_remove(rng.below(possible.len() as u64) as usize));
        }
        // Transliteration rewrites the whole names, so it goes first and the rest damage its result.
        damages.sort_by_key(|d| *d != Damage::Transliteration);

        let mut copy = original;
        let original_id = copy.id;
        let mut email = None;
        for damage in &damages {
            match damage {
                Damage::Transliteration => {
                    if copy.native_script {
                        copy.first_name = copy.latin_first.to_owned();
                        copy.last_name = copy.latin_last.clone();
                    } else {
                        copy.first_name = strip_diacritics(&copy.first_name);
                        copy.last_name = strip_diacritics(&copy.last_name);
                    }
                }
                Damage::Nickname => {
                    if let Some(short) = nickname(copy.given) {
                        copy.first_name = short.to_owned();
                    }
                }
                Damage::Typo => {
                    if rng.chance(0.5) {
                        copy.first_name = typo(&mut rng, &copy.first_name);
                    } else {
                        copy.last_name = typo(&mut rng, &copy.last_name);
                    }
                }
                Damage::SwappedNames => std::mem::swap(&mut copy.first_name, &mut copy.last_name),
                Damage::EmailDomain => {
                    if let Some((local, domain)) = copy.email.split_once('@') {
                        let others: Vec<&str> =
                            copy.country.mail_domains.iter().copied().filter(|d| *d != domain).collect();
                        email = Some(format!("{local}@{}", rng.pick(&others)));
                    }
                }
            }
        }
        copy.email = email.unwrap_or_else(|| {
            if rng.chance(0.5) {
                String::new()
            } else {
                let domain = rng.pick(copy.country.mail_domains);
                format!("{}@{domain}", local_part(&mut rng, copy.latin_first, &copy.latin_last, id))
            }
        });
        if rng.chance(0.4) {
            copy.phone.clear();
        }
        if rng.chance(0.3) {
            copy.birthday = None;
        }
        copy.id = id;
        copy.lifecycle_stage = "lead";
        copy.tags.clear();
        copy.external_id.clear();
        copy.habit = Habit::Dormant;
        copy.duplicate_of = Some((original_id, damages));
        copy
    }

    pub fn write_csv(&self, out: &mut csv::Writer<Vec<u8>>) -> csv::Result<()> {
        let birthday = self.birthday.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
        out.write_record([
            self.id.to_string().as_str(),
            &self.first_name,
            &self.last_name,
            &self.email,
            &self.phone,
            &birthday,
            &self.street,
            self.city,
            self.region,
            &self.postal_code,
            self.country.code,
            self.company_name(),
            self.title,
            self.lifecycle_stage,
            &self.tags,
            &self.external_id,
        ])
    }

    pub fn write_duplicate_csv(&self, out: &mut csv::Writer<Vec<u8>>) -> csv::Result<()> {
        let Some((original, damages)) = &self.duplicate_of else {
            return Ok(());
        };
        let kinds: Vec<&str> = damages.iter().map(|d| d.as_str()).collect();
        out.write_record([self.id.to_string(), original.to_string(), kinds.join(";")])
    }

    /// The eight columns of [`CONTACTS_HEADER`]. Everyone gets an address here, since the
    /// baseline imports under a unique index on it; the id at its end keeps it unique.
    pub fn write_contact_csv(&self, out: &mut csv::Writer<Vec<u8>>) -> csv::Result<()> {
        let email = if self.email.is_empty() {
            format!("{}.{}{}@{}", fold(self.latin_first), fold(&self.latin_last), self.id, self.country.mail_domains[0])
        } else {
            self.email.clone()
        };
        out.write_record([
            self.first_name.as_str(),
            &self.last_name,
            &email,
            &self.phone,
            self.company_name(),
            self.title,
            self.city,
            self.country.code,
        ])
    }

    pub fn company_name(&self) -> &str {
        self.company.as_ref().map_or("", |c| c.name.as_str())
    }

    /// The person's locale, for events' context.
    pub fn locale(&self) -> &'static str {
        self.country.locale
    }
}

fn script(entry: &'static str, native: bool) -> &'static str {
    let (native_form, latin) = forms(entry);
    if native { native_form } else { latin.unwrap_or(native_form) }
}

fn nickname(given: &str) -> Option<&'static str> {
    NICKNAMES.iter().find(|(formal, _)| *formal == given).map(|(_, short)| *short)
}

/// Polish surnames in -ski, -cki and -dzki take -ska, -cka, -dzka for women.
fn feminine_polish(surname: &str) -> String {
    match surname.strip_suffix("ki") {
        Some(stem) if stem.ends_with('s') || stem.ends_with('c') || stem.ends_with('z') => format!("{stem}ka"),
        _ => surname.to_owned(),
    }
}

/// An address local part that ends in the person's id: letters never end in a digit, so the
/// trailing digits identify the person and no two people share an address.
fn local_part(rng: &mut Rng, first: &str, last: &str, id: u64) -> String {
    let (first, last) = (fold(first), fold(last));
    let initial = first.chars().next().map(String::from).unwrap_or_default();
    match rng.below(5) {
        0 => format!("{first}.{last}{id}"),
        1 => format!("{initial}{last}{id}"),
        2 => format!("{first}{id}"),
        3 => format!("{last}.{first}{id}"),
        _ => format!("{first}_{last}{id}"),
    }
}

fn address_line(rng: &mut Rng, country: &Country, native: bool) -> String {
    let street = script(rng.pick(country.streets), native);
    let number = rng.between(1, 199);
    match country.street_style {
        StreetStyle::NumberFirst => format!("{number} {street}"),
        StreetStyle::NumberLast if rng.chance(0.3) => format!("{street} {number}/{}", rng.between(1, 40)),
        StreetStyle::NumberLast => format!("{street} {number}"),
        StreetStyle::CommaNumber => format!("{street}, {number}"),
        StreetStyle::Block => {
            let (chome, block, house) = (rng.between(1, 5), rng.between(1, 20), rng.between(1, 30));
            if native {
                format!("{street}{chome}-{block}-{house}")
            } else {
                format!("{chome}-{block}-{house} {street}")
            }
        }
    }
}

fn postal_code(rng: &mut Rng, country: &Country, prefix: &str) -> String {
    let mut code = prefix.to_owned();
    while code.len() < country.postal_digits {
        code.push(char::from(b'0' + rng.below(10) as u8));
    }
    if let Some(at) = country.postal_hyphen_at {
        code.insert(at, '-');
    }
    code
}

/// An E.164 number in a range the country uses for mobiles (in the US, the city's area code);
/// the first free digit is 2–9, as numbering plans require after a prefix.
fn phone(rng: &mut Rng, country: &Country, area_code: &str) -> String {
    let prefix = if country.phone_prefixes.is_empty() { area_code } else { rng.pick(country.phone_prefixes) };
    let mut number = format!("+{}{prefix}", country.calling_code);
    number.push(char::from(b'0' + rng.between(2, 9) as u8));
    for _ in prefix.len() + 1..country.national_digits {
        number.push(char::from(b'0' + rng.below(10) as u8));
    }
    number
}

fn lifecycle_stage(rng: &mut Rng, habit: Habit) -> &'static str {
    let stages: &[&str] = match habit {
        Habit::Dormant => &["subscriber", "lead", "other"],
        Habit::Browser => &["lead", "marketing_qualified_lead", "sales_qualified_lead", "opportunity"],
        Habit::OneTime | Habit::Repeat => &["customer"],
        Habit::Heavy => &["customer", "customer", "evangelist"],
    };
    rng.pick(stages)
}

fn tags(rng: &mut Rng, habit: Habit) -> String {
    let mut chosen: Vec<&str> = Vec::new();
    if habit == Habit::Heavy {
        chosen.push("vip");
    }
    for _ in 0..rng.count(0, 0.45, 3) {
        let tag = rng.pick(TAGS);
        if !chosen.contains(&tag) {
            chosen.push(tag);
        }
    }
    chosen.join(";")
}

/// One keyboard slip: a neighbouring key, two letters swapped, one dropped or one doubled.
fn typo(rng: &mut Rng, word: &str) -> String {
    const ROWS: [&str; 3] = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        chars.push(chars.last().copied().unwrap_or('e'));
        return chars.into_iter().collect();
    }
    let at = rng.between(1, chars.len() as u64 - 1) as usize;
    match rng.below(4) {
        0 => {
            let c = chars[at].to_ascii_lowercase();
            let neighbour = ROWS.iter().find_map(|row| {
                let position = row.find(c)?;
                let row = row.as_bytes();
                let side = if position + 1 < row.len() && (position == 0 || rng.chance(0.5)) {
                    position + 1
                } else {
                    position - 1
                };
                Some(char::from(row[side]))
            });
            match neighbour {
                Some(n) => chars[at] = n,
                None => chars.swap(at - 1, at),
            }
        }
        1 => chars.swap(at - 1, at),
        2 => {
            chars.remove(at);
        }
        _ => chars.insert(at, chars[at]),
    }
    let damaged: String = chars.into_iter().collect();
    if damaged == word { format!("{word}{}", word.chars().last().unwrap_or('e')) } else { damaged }
}

/// Base 36, lower case, without leading zeros.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::{BLOCK, Damage, Person, block, duplicates_in_block, feminine_polish, typo};
    use crate::r#gen::World;
    use crate::r#gen::rng::{Rng, Stream};

    fn world(people: u64) -> World {
        World::new(11, people, 100, 50, 0, chrono::NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
    }

    fn everyone(world: &World) -> Vec<Person> {
        (0..world.people.div_ceil(BLOCK)).flat_map(|b| block(world, b)).collect()
    }

    #[test]
    fn emails_and_external_ids_are_unique() {
        let people = everyone(&world(3_000));
        let emails: Vec<&str> = people.iter().map(|p| p.email.as_str()).filter(|e| !e.is_empty()).collect();
        let unique: HashSet<&str> = emails.iter().copied().collect();
        assert_eq!(unique.len(), emails.len());
        let ids: Vec<&str> = people.iter().map(|p| p.external_id.as_str()).filter(|e| !e.is_empty()).collect();
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
        assert!(emails.len() > 2_500, "most people have an e-mail address");
    }

    #[test]
    fn people_spread_over_the_countries_with_phones_in_e164() {
        let mut per_country: HashMap<&str, u32> = HashMap::new();
        let mut texans = 0;
        for person in everyone(&world(6_000)) {
            *per_country.entry(person.country.code).or_default() += 1;
            texans += u32::from(person.region == "TX");
            if !person.phone.is_empty() {
                assert!(person.phone.starts_with('+'), "{}", person.phone);
                assert!((9..=16).contains(&person.phone.len()), "{}", person.phone);
                assert!(person.phone[1..].bytes().all(|b| b.is_ascii_digit()), "{}", person.phone);
            }
        }
        assert_eq!(per_country.len(), 6, "{per_country:?}");
        assert!((2_100..2_700).contains(&per_country["US"]), "{per_country:?}");
        assert!(texans > 500, "{texans} Texans");
    }

    #[test]
    fn about_two_percent_are_planted_duplicates_of_distinct_originals() {
        let world = world(20_000);
        let pairs: Vec<(u64, u64)> = (0..200).flat_map(|block| duplicates_in_block(&world, block)).collect();
        assert!((250..550).contains(&pairs.len()), "{} duplicates", pairs.len());
        let originals: HashSet<u64> = pairs.iter().map(|p| p.1).collect();
        let copies: HashSet<u64> = pairs.iter().map(|p| p.0).collect();
        assert_eq!(originals.len(), pairs.len(), "no one is copied twice");
        assert!(originals.is_disjoint(&copies), "no copy is copied again");
    }

    #[test]
    fn a_duplicate_resembles_its_original_as_its_damage_says() {
        let world = world(20_000);
        let people = everyone(&world);
        let mut seen = HashSet::new();
        for (copy, original) in (0..200).flat_map(|block| duplicates_in_block(&world, block)) {
            let (copy, original) = (&people[copy as usize - 1], &people[original as usize - 1]);
            let (_, damages) = copy.duplicate_of.as_ref().unwrap();
            assert_eq!(copy.city, original.city);
            assert!(copy.email.is_empty() || copy.email != original.email);
            assert!(copy.external_id.is_empty());
            if damages == &[Damage::SwappedNames] {
                assert_eq!((&copy.first_name, &copy.last_name), (&original.last_name, &original.first_name));
            }
            if damages == &[Damage::EmailDomain] {
                assert_eq!(copy.email.split('@').next(), original.email.split('@').next());
            }
            seen.extend(damages.iter().copied());
        }
        assert_eq!(seen.len(), 5, "every kind of damage is planted: {seen:?}");
    }

    #[test]
    fn a_typo_changes_a_name_by_one_slip() {
        let mut rng = Rng::new(1, Stream::Person, 1);
        for name in ["Robert", "Müller", "Kowalska", "Lee"] {
            let damaged = typo(&mut rng, name);
            assert_ne!(damaged, name);
            let difference = damaged.chars().count().abs_diff(name.chars().count());
            assert!(difference <= 1, "{name} → {damaged}");
        }
    }

    #[test]
    fn polish_women_take_the_feminine_surname() {
        assert_eq!(feminine_polish("Kowalski"), "Kowalska");
        assert_eq!(feminine_polish("Dąbrowski"), "Dąbrowska");
        assert_eq!(feminine_polish("Nowak"), "Nowak");
    }
}
