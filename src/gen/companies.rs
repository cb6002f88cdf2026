//! Companies: a local-sounding name, a domain that is unique by construction, an industry, a
//! size with a long tail, and a city. Each is a pure function of `(seed, id)` so that people can
//! name their employer and use its domain without the company table in memory.

use super::rng::{Rng, Stream};
use super::words::{COUNTRIES, Country, fold, forms};

pub const HEADER: &str = "id,name,domain,industry,employees,address.city,address.country\n";

/// Which country each of twenty consecutive company ids belongs to, in proportion to the
/// countries' weights; counting slots per country is what makes domains unique.
const SLOTS: [usize; 20] = [0, 1, 0, 2, 5, 0, 3, 4, 0, 1, 5, 0, 2, 0, 3, 4, 0, 1, 5, 0];

pub struct Company {
    pub id: u64,
    pub name: String,
    pub domain: String,
    pub industry: &'static str,
    pub employees: u64,
    pub city: &'static str,
    pub country: &'static Country,
}

impl Company {
    pub fn generate(seed: u64, id: u64) -> Self {
        let slot = ((id - 1) % SLOTS.len() as u64) as usize;
        let country_index = SLOTS[slot];
        let country = &COUNTRIES[country_index];
        let per_round = SLOTS.iter().filter(|&&c| c == country_index).count() as u64;
        let rank = SLOTS[..slot].iter().filter(|&&c| c == country_index).count() as u64;
        let index = (id - 1) / SLOTS.len() as u64 * per_round + rank;

        let (firsts, seconds) = (country.company_first, country.company_second);
        let combinations = (firsts.len() * seconds.len()) as u64;
        let first = forms(firsts[(index % firsts.len() as u64) as usize]);
        let (second_entry, industry) = seconds[(index / firsts.len() as u64 % seconds.len() as u64) as usize];
        let second = forms(second_entry);
        let cycle = index / combinations;

        let mut rng = Rng::new(seed, Stream::Company, id);
        let legal = forms(rng.pick(country.legal_forms));
        let native_script = first.1.is_some() && id.is_multiple_of(2);
        let name = if native_script {
            format!("{}{}{}", first.0, second.0, legal.0)
        } else {
            let (a, b) = (first.1.unwrap_or(first.0), second.1.unwrap_or(second.0));
            let (a, b) = if country.noun_first { (b, a) } else { (a, b) };
            format!("{a} {b} {}", legal.1.unwrap_or(legal.0))
        };
        let mut slug = format!("{}-{}", fold(first.1.unwrap_or(first.0)), fold(second.1.unwrap_or(second.0)));
        if cycle > 0 {
            slug.push_str(&(cycle + 1).to_string());
        }
        let city = forms(rng.pick_ref(country.cities).name);
        Self {
            id,
            name,
            domain: format!("{slug}.{}", country.tld),
            industry,
            employees: (rng.pareto(1.1) * 4.0).min(200_000.0) as u64,
            city: if native_script { city.0 } else { city.1.unwrap_or(city.0) },
            country,
        }
    }

    pub fn write_csv(&self, out: &mut csv::Writer<Vec<u8>>) -> csv::Result<()> {
        out.write_record([
            self.id.to_string().as_str(),
            &self.name,
            &self.domain,
            self.industry,
            &self.employees.to_string(),
            self.city,
            self.country.code,
        ])
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::Company;

    #[test]
    fn domains_are_unique_however_many_companies_there_are() {
        let domains: HashSet<String> = (1..=5_000).map(|id| Company::generate(9, id).domain).collect();
        assert_eq!(domains.len(), 5_000);
    }

    #[test]
    fn a_company_is_the_same_every_time_it_is_asked_for() {
        let (a, b) = (Company::generate(9, 77), Company::generate(9, 77));
        assert_eq!((a.name, a.domain, a.employees), (b.name, b.domain, b.employees));
    }
}
