//! The product catalogue of a running shop: SKUs by category (running shoes first among them),
//! brand-and-model names and prices in cents. It is small enough to keep in memory, and product
//! `0` is the most popular: behaviour draws products by a power law over this order.

use super::rng::{Rng, Stream};
use super::words::{BRANDS, CATEGORIES, COLOURS, Category};

pub const HEADER: &str = "sku,name,category,price,currency\n";

/// Every price is in this currency; amounts are integer minor units.
pub const CURRENCY: &str = "USD";

pub struct Product {
    pub sku: String,
    pub name: String,
    pub category: &'static Category,
    pub price_cents: u64,
}

pub struct Catalogue {
    pub products: Vec<Product>,
    /// Product indexes per category, most popular first.
    by_category: Vec<Vec<u32>>,
    category_weights: Vec<u32>,
}

impl Product {
    fn generate(seed: u64, index: u64) -> Self {
        let mut rng = Rng::new(seed, Stream::Product, index);
        let weights: Vec<u32> = CATEGORIES.iter().map(|c| c.weight).collect();
        let category = &CATEGORIES[rng.weighted(&weights)];
        let mut name = format!("{} {}", rng.pick(BRANDS), rng.pick(category.models));
        if !category.kind.is_empty() {
            name = format!("{name} {} {}", rng.between(1, 6), category.kind);
        }
        if category.gendered {
            name.push_str(if rng.chance(0.5) { ", Women's" } else { ", Men's" });
        }
        if category.coloured {
            name.push_str(", ");
            name.push_str(rng.pick(COLOURS));
        }
        let (low, high) = category.price_cents;
        let dollars = rng.between(low / 100, high / 100);
        let cents = match rng.below(5) {
            0 => 0,
            1 => 50,
            _ => 99,
        };
        Self {
            sku: format!("{}-{:06}", category.sku_prefix, index + 1),
            name,
            category,
            price_cents: dollars * 100 + cents,
        }
    }

    pub fn write_csv(&self, out: &mut csv::Writer<Vec<u8>>) -> csv::Result<()> {
        out.write_record([self.sku.as_str(), &self.name, self.category.code, &self.price_cents.to_string(), CURRENCY])
    }
}

impl Catalogue {
    pub fn generate(seed: u64, count: u64) -> Self {
        let products: Vec<Product> = (0..count).map(|index| Product::generate(seed, index)).collect();
        let mut by_category = vec![Vec::new(); CATEGORIES.len()];
        for (index, product) in products.iter().enumerate() {
            if let Some(position) = CATEGORIES.iter().position(|c| c.code == product.category.code) {
                by_category[position].push(index as u32);
            }
        }
        let category_weights = CATEGORIES.iter().map(|c| c.weight).collect();
        Self { products, by_category, category_weights }
    }

    /// A category index, drawn by the categories' shares; one with products when there are any.
    pub fn category(&self, rng: &mut Rng) -> usize {
        let drawn = rng.weighted(&self.category_weights);
        if self.by_category[drawn].is_empty() {
            self.by_category.iter().position(|p| !p.is_empty()).unwrap_or(drawn)
        } else {
            drawn
        }
    }

    /// A popular product: from `category` when it has any, else from the whole catalogue.
    pub fn pick(&self, rng: &mut Rng, category: Option<usize>) -> &Product {
        match category.map(|c| &self.by_category[c]).filter(|p| !p.is_empty()) {
            Some(within) => &self.products[within[rng.power_rank(within.len() as u64, 1.0) as usize] as usize],
            None => &self.products[rng.power_rank(self.products.len() as u64, 1.0) as usize],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Catalogue;

    #[test]
    fn the_catalogue_sells_running_shoes_at_plausible_prices() {
        let catalogue = Catalogue::generate(5, 300);
        let shoes: Vec<_> = catalogue.products.iter().filter(|p| p.category.code == "running_shoes").collect();
        assert!(shoes.len() > 30, "{} running shoes", shoes.len());
        assert!(shoes.iter().all(|p| (7_900..=22_000).contains(&p.price_cents)));
        assert!(catalogue.products.iter().all(|p| p.price_cents > 0));
    }
}
