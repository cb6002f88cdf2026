//! The Fellegi-Sunter model: for each slot and level, `m` (how often a true duplicate pair
//! shows it) and `u` (how often two different people do); a pair's weight is the sum of
//! `log2(m / u)` over its compared slots, and with the prior odds that two people of the
//! workspace are one, a calibrated probability.
//!
//! Everything is learnt from the workspace's own people: `u` from random pairs (nearly all of
//! which are different people), `m` by expectation-maximisation over the blocked candidates,
//! one session per kind of blocking key with the fields that key fixes left out (as Splink
//! trains), and the prior from the duplicates those sessions found, scaled to all pairs.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::compare::{EXTRA, LEVELS, Pattern, SLOTS, level};

/// The parameters of one workspace's model, as stored after a scan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// log2 of the prior odds that two people of the workspace are one.
    pub prior: f64,
    /// `m[slot][level - 1]`.
    pub m: Vec<Vec<f64>>,
    /// `u[slot][level - 1]`.
    pub u: Vec<Vec<f64>>,
    /// The custom text fields compared, by field id, in slot order from [`EXTRA`].
    pub extras: Vec<String>,
    /// Their labels, for reasons.
    pub labels: Vec<String>,
    /// What the model was learnt from: people, candidate pairs, EM iterations.
    pub people: u64,
    pub candidates: u64,
    pub iterations: u32,
}

/// No probability of a level is taken below this: a level never seen in a sample is rare,
/// not impossible.
const FLOOR: f64 = 1e-7;
const MAX_ITERATIONS: u32 = 200;

impl Model {
    fn slots(&self) -> usize {
        EXTRA + self.extras.len()
    }

    /// The weight of evidence of one slot at one level, in bits; 0 for a missing field.
    pub fn slot_weight(&self, slot: usize, level: usize) -> f64 {
        if level == 0 || slot >= self.slots() {
            return 0.0;
        }
        (self.m[slot][level - 1] / self.u[slot][level - 1]).log2()
    }

    pub fn weight(&self, pattern: Pattern) -> f64 {
        (0..self.slots()).map(|slot| self.slot_weight(slot, level(pattern, slot))).sum()
    }

    /// The probability that a pair with this pattern is one person.
    pub fn probability(&self, pattern: Pattern) -> f64 {
        1.0 / (1.0 + (-(self.prior + self.weight(pattern))).exp2())
    }

    /// A model for a workspace never scanned: agreement levels likely among duplicates and
    /// rare among others, in the proportions typical of customer data, and the prior of a
    /// workspace of `people`. The first scan replaces it with one learnt from the data.
    pub fn untrained(people: u64, extras: Vec<String>, labels: Vec<String>) -> Self {
        let m = LEVELS.iter().map(|&n| spread(n, 0.85)).collect();
        let u = (0..SLOTS)
            .map(|slot| {
                let exact = match slot {
                    2 | 3 | 5 => 1e-6,
                    0 | 1 => 5e-3,
                    4 => 5e-5,
                    7 => 1e-2,
                    _ => 1e-4,
                };
                mirrored(LEVELS[slot], exact)
            })
            .collect();
        Self { prior: prior(0.01 * people as f64, people), m, u, extras, labels, people, candidates: 0, iterations: 0 }
    }

    /// Learns the model. `u` comes from `random` pairs' patterns. `m` comes from training
    /// sessions, one per kind of blocking key: each session's pairs (pattern → count) with the
    /// slots its key fixes left out, since a pair found by sharing a street says nothing,
    /// through the street, about how often duplicates share one. Each slot's `m` is the
    /// average over the sessions that compare it, weighted by the duplicates each found. The
    /// prior takes the duplicates of the session that found most: a lower bound, since no key
    /// finds every duplicate, and a safe one (a low prior costs recall only at the margin,
    /// where a high one would report strangers who happen to share a key).
    pub fn fit(
        sessions: &[(HashMap<Pattern, u64>, &[usize])],
        candidates: &HashMap<Pattern, u64>,
        random: &[Pattern],
        people: u64,
        (extras, labels): (Vec<String>, Vec<String>),
    ) -> Self {
        let slots = EXTRA + extras.len();
        let u = frequencies(random.iter().map(|p| (*p, 1.0)), slots);
        let mut sums: Vec<Vec<f64>> = LEVELS.iter().map(|&n| vec![0.0; n]).collect();
        let mut weights = vec![0.0; SLOTS];
        let mut iterations = 0;
        let mut found: f64 = 0.0;
        for (patterns, fixed) in sessions {
            let compared: Vec<usize> = (0..slots).filter(|slot| !fixed.contains(slot)).collect();
            let Some(learnt) = em(patterns, &u, &compared) else { continue };
            iterations += learnt.iterations;
            found = found.max(learnt.matches);
            for &slot in &compared {
                for (sum, m) in sums[slot].iter_mut().zip(&learnt.m[slot]) {
                    *sum += learnt.matches * m;
                }
                weights[slot] += learnt.matches;
            }
        }
        let m: Vec<Vec<f64>> = sums
            .into_iter()
            .zip(&weights)
            .enumerate()
            .map(|(slot, (sum, weight))| {
                if *weight > 0.0 {
                    sum.iter().map(|s| (s / weight).max(FLOOR)).collect()
                } else {
                    spread(LEVELS[slot], 0.9)
                }
            })
            .collect();
        let candidates = candidates.values().sum();
        Self { prior: prior(found, people), m, u, extras, labels, people, candidates, iterations }
    }
}

struct Learnt {
    m: Vec<Vec<f64>>,
    /// Expected duplicates among the session's pairs.
    matches: f64,
    iterations: u32,
}

/// The log-likelihood ratio of a pattern over the `compared` slots.
fn log_ratio(pattern: Pattern, m: &[Vec<f64>], u: &[Vec<f64>], compared: &[usize]) -> f64 {
    compared
        .iter()
        .map(|&slot| match level(pattern, slot) {
            0 => 0.0,
            l => m[slot][l - 1].ln() - u[slot][l - 1].ln(),
        })
        .sum()
}

/// EM over one session's patterns: the share of duplicates, `m` of the `compared` slots, and
/// the distribution of the session's own non-duplicates, which starts as `u` but is learnt
/// apart: people who share a key (a name, a street) share other things too (a country, a
/// town) far more often than random pairs do. `None` for a session too small to learn from.
fn em(patterns: &HashMap<Pattern, u64>, u: &[Vec<f64>], compared: &[usize]) -> Option<Learnt> {
    let patterns: Vec<(Pattern, f64)> = patterns.iter().map(|(p, n)| (*p, *n as f64)).collect();
    let total: f64 = patterns.iter().map(|(_, n)| n).sum();
    if total < 10.0 || compared.is_empty() {
        return None;
    }
    let mut m: Vec<Vec<f64>> = LEVELS.iter().map(|&n| spread(n, 0.9)).collect();
    let mut others = u.to_vec();
    let mut share: f64 = 0.1;
    let mut iterations = 0;
    loop {
        iterations += 1;
        let odds = (share / (1.0 - share)).ln();
        let posterior: Vec<f64> = patterns
            .iter()
            .map(|(p, _)| 1.0 / (1.0 + (-(odds + log_ratio(*p, &m, &others, compared))).exp()))
            .collect();
        let matched = frequencies(patterns.iter().zip(&posterior).map(|((p, n), g)| (*p, n * g)), SLOTS);
        let unmatched = frequencies(patterns.iter().zip(&posterior).map(|((p, n), g)| (*p, n * (1.0 - g))), SLOTS);
        let new_share =
            (patterns.iter().zip(&posterior).map(|((_, n), g)| n * g).sum::<f64>() / total).clamp(FLOOR, 1.0 - FLOOR);
        let mut moved = (new_share - share).abs();
        for &slot in compared {
            moved += m[slot].iter().zip(&matched[slot]).map(|(a, b)| (a - b).abs()).sum::<f64>();
            m[slot].clone_from(&matched[slot]);
            others[slot].clone_from(&unmatched[slot]);
        }
        share = new_share;
        if moved < 1e-6 || iterations >= MAX_ITERATIONS {
            return Some(Learnt { m, matches: share * total, iterations });
        }
    }
}

/// log2 prior odds of a match among all pairs of `people`, given that about `matches` pairs are.
fn prior(matches: f64, people: u64) -> f64 {
    let pairs = (people as f64 * (people as f64 - 1.0) / 2.0).max(1.0);
    let p = (matches.max(1.0) / pairs).clamp(FLOOR * FLOOR, 0.5);
    (p / (1.0 - p)).log2()
}

/// The share of each level per slot among weighted patterns, missing levels left out, with a
/// half-count of smoothing so that no level has probability zero.
fn frequencies(weighted: impl Iterator<Item = (Pattern, f64)>, slots: usize) -> Vec<Vec<f64>> {
    let mut counts: Vec<Vec<f64>> = LEVELS.iter().map(|&n| vec![0.0; n]).collect();
    for (pattern, weight) in weighted {
        for (slot, row) in counts.iter_mut().enumerate().take(slots) {
            let l = level(pattern, slot);
            if l > 0 && l <= row.len() {
                row[l - 1] += weight;
            }
        }
    }
    counts
        .into_iter()
        .map(|row| {
            let smoothing = 0.5 / row.len() as f64;
            let total: f64 = row.iter().sum::<f64>() + 0.5;
            row.iter().map(|c| ((c + smoothing) / total).max(FLOOR)).collect()
        })
        .collect()
}

/// `first` for the strongest level, the rest halving down the levels.
fn spread(levels: usize, first: f64) -> Vec<f64> {
    let mut rest: Vec<f64> = (1..levels).map(|n| 0.5f64.powi(n as i32)).collect();
    let sum: f64 = rest.iter().sum();
    rest.iter_mut().for_each(|r| *r *= (1.0 - first) / sum.max(f64::MIN_POSITIVE));
    std::iter::once(first).chain(rest).collect()
}

/// Rare agreement, near-certain disagreement: `exact` for the strongest level, twice as much
/// for each weaker one, the rest on "different".
fn mirrored(levels: usize, exact: f64) -> Vec<f64> {
    let mut row: Vec<f64> = (0..levels - 1).map(|n| exact * 2f64.powi(n as i32)).collect();
    let agreeing: f64 = row.iter().sum();
    row.push((1.0 - agreeing).max(FLOOR));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pattern with the first `slots` slots at the given levels.
    fn pattern(levels: &[usize]) -> Pattern {
        levels.iter().enumerate().fold(0, |p, (slot, l)| p | ((*l as Pattern) << (slot * 4)))
    }

    #[test]
    fn em_tells_duplicates_from_others_and_weighs_agreement_positively() {
        let agree = pattern(&[1, 1, 0, 0, 1, 1, 0, 1]);
        let typo = pattern(&[3, 1, 0, 0, 1, 1, 0, 1]);
        let other = pattern(&[5, 1, 0, 0, 4, 4, 0, 1]);
        let random_other = pattern(&[5, 5, 0, 0, 4, 4, 0, 5]);
        let candidates = HashMap::from([(agree, 300), (typo, 100), (other, 2_000)]);
        let random: Vec<Pattern> = (0..10_000).map(|n| if n % 50 == 0 { other } else { random_other }).collect();
        let sessions = [(candidates.clone(), &[1usize][..])];
        let model = Model::fit(&sessions, &candidates, &random, 10_000, (vec![], vec![]));
        assert!(model.probability(agree) > 0.99, "{}", model.probability(agree));
        assert!(model.probability(typo) > 0.9, "{}", model.probability(typo));
        assert!(model.probability(other) < 0.01, "{}", model.probability(other));
        assert!(model.slot_weight(0, 1) > 0.0 && model.slot_weight(0, 5) < 0.0);
        assert!(model.iterations > 1);
    }

    #[test]
    fn an_untrained_model_counts_agreement_for_and_disagreement_against() {
        let model = Model::untrained(1_000, vec![], vec![]);
        for (slot, &levels) in LEVELS.iter().enumerate().take(EXTRA) {
            assert!(model.u[slot].iter().sum::<f64>() <= 1.0 + 1e-9, "slot {slot}: {:?}", model.u[slot]);
            assert!(model.slot_weight(slot, 1) > 0.0 && model.slot_weight(slot, levels) < 0.0, "slot {slot}");
        }
        assert!(model.probability(pattern(&[1, 1, 0, 0, 1, 1, 0, 1])) > 0.99);
        assert!(model.probability(pattern(&[3, 5, 0, 0, 1, 4, 0, 5])) < 0.01);
    }
}
