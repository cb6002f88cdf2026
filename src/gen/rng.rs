//! The generator's source of randomness: xoshiro256++ seeded through splitmix64, plus the few
//! distributions the data needs (uniform, weighted choice, exponential, Pareto, power-law rank).
//!
//! It is written here rather than taken from `rand` because the output must stay byte-identical
//! for a seed across dependency upgrades, and `rand` does not promise value stability of its
//! distributions between versions. Every row derives its own generator from
//! `(seed, stream, index)`, so rows can be produced in any order, on any thread, and recomputed
//! on demand (a planted duplicate recomputes its original).

/// Independent sequences drawn from one seed; each kind of row has its own.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    Person = 1,
    DuplicateBlock = 2,
    Company = 3,
    Product = 4,
    Behaviour = 5,
    Calendar = 6,
    ChunkBudget = 7,
}

pub struct Rng {
    state: [u64; 4],
}

/// The splitmix64 finaliser: a bijection on `u64` that scatters nearby inputs.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64, stream: Stream, index: u64) -> Self {
        let mut z = mix(seed ^ mix((stream as u64) << 56 ^ index));
        let mut state = [0; 4];
        for word in &mut state {
            z = mix(z);
            *word = z;
        }
        Self { state }
    }

    pub fn next_u64(&mut self) -> u64 {
        let [s0, s1, s2, s3] = self.state;
        let result = s0.wrapping_add(s3).rotate_left(23).wrapping_add(s0);
        let t = s1 << 17;
        let mut s = [s0, s1, s2 ^ s0, s3 ^ s1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        self.state = s;
        result
    }

    /// Uniform in `0..n` (Lemire's multiply-and-reject, unbiased). `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        let threshold = n.wrapping_neg() % n;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(n);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// One of `items`, uniformly. `items` must not be empty.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Like [`Rng::pick`], for items that are not `Copy`.
    pub fn pick_ref<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index into `weights`, each chosen in proportion to its weight.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut target = self.below(total);
        for (index, &weight) in weights.iter().enumerate() {
            if target < u64::from(weight) {
                return index;
            }
            target -= u64::from(weight);
        }
        weights.len() - 1
    }

    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Pareto with minimum 1 and tail index `alpha`: most draws near 1, a few very large.
    pub fn pareto(&mut self, alpha: f64) -> f64 {
        (1.0 - self.unit()).powf(-1.0 / alpha)
    }

    /// A rank in `0..n` where rank `k` is drawn about `(k+1)^-exponent` as often as rank 0: the
    /// continuous inverse of a power law, so it needs no table however large `n` is.
    pub fn power_rank(&mut self, n: u64, exponent: f64) -> u64 {
        let n_f = n as f64;
        let u = self.unit();
        let x = if (exponent - 1.0).abs() < 1e-9 {
            (u * (n_f + 1.0).ln()).exp()
        } else {
            let a = 1.0 - exponent;
            ((n_f + 1.0).powf(a) - 1.0).mul_add(u, 1.0).powf(1.0 / a)
        };
        ((x - 1.0) as u64).min(n - 1)
    }

    /// Geometric count starting at `minimum`, continuing with `p_more` each time.
    pub fn count(&mut self, minimum: u32, p_more: f64, maximum: u32) -> u32 {
        let mut n = minimum;
        while n < maximum && self.chance(p_more) {
            n += 1;
        }
        n
    }

    /// A random version-4 UUID in its usual text form.
    pub fn uuid(&mut self) -> String {
        let (high, low) = (self.next_u64(), self.next_u64());
        format_uuid(high, low)
    }
}

/// Formats two words as a version-4, variant-1 UUID.
pub fn format_uuid(high: u64, low: u64) -> String {
    let high = (high & !0xF000) | 0x4000;
    let low = (low & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::{Rng, Stream};

    #[test]
    fn the_same_seed_stream_and_index_give_the_same_sequence() {
        let sequence = |index| {
            let mut rng = Rng::new(7, Stream::Person, index);
            (0..8).map(|_| rng.next_u64()).collect::<Vec<_>>()
        };
        assert_eq!(sequence(3), sequence(3));
        assert_ne!(sequence(3), sequence(4));
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(1, Stream::Calendar, 0);
        let mut seen = [0u32; 7];
        for _ in 0..7_000 {
            seen[rng.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| (800..1200).contains(&n)), "{seen:?}");
    }

    #[test]
    fn power_rank_favours_low_ranks_and_reaches_high_ones() {
        let mut rng = Rng::new(2, Stream::Product, 0);
        let draws: Vec<u64> = (0..20_000).map(|_| rng.power_rank(1_000, 1.1)).collect();
        let top_ten = draws.iter().filter(|&&r| r < 10).count();
        assert!(top_ten > 4_000, "the ten most popular ranks get a large share: {top_ten}");
        assert!(draws.iter().any(|&r| r > 900), "the long tail is reached");
        assert!(draws.iter().all(|&r| r < 1_000));
    }

    #[test]
    fn uuids_have_version_4_and_the_rfc_variant() {
        let id = Rng::new(3, Stream::Behaviour, 9).uuid();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
    }
}
