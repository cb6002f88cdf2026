//! When things happen: a window of days ending at the `--end` date, each weighted by growth,
//! weekday, month, and bursts (Black Friday, Cyber Monday, one seeded campaign a month), and an
//! hour-of-day curve in the person's local time. Session times are drawn from these weights, which
//! is what gives the events their daily and weekly seasonality.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::rng::{Rng, Stream};

/// Two years of history.
pub const DAYS: u32 = 730;

/// Relative traffic by local hour: quiet at night, a lunch bump, the evening peak.
const HOURS: [f64; 24] = [
    2.0, 1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 6.0, 7.0, 7.0, 8.0, 9.0, 10.0, 9.0, 8.0, 8.0, 8.0, 9.0, 11.0, 13.0, 14.0, 13.0,
    9.0, 5.0,
];

/// Monday first: people shop more at the weekend.
const WEEKDAYS: [f64; 7] = [0.95, 0.9, 0.92, 0.97, 1.05, 1.2, 1.3];

/// January resolutions and the year-end season are busy for a running shop; summer is quiet.
const MONTHS: [f64; 12] = [1.15, 0.9, 1.0, 1.05, 1.05, 0.95, 0.85, 0.85, 1.0, 1.0, 1.2, 1.3];

const MILLIS_PER_DAY: i64 = 86_400_000;

pub struct Calendar {
    /// Midnight UTC of the first day, in milliseconds since the epoch.
    pub start_millis: i64,
    pub end_millis: i64,
    first_day: NaiveDate,
    /// Cumulative day weights, normalised so the last is 1.
    day_cdf: Vec<f64>,
    hour_cdf: Vec<f64>,
}

impl Calendar {
    /// The `DAYS` days before `end` (exclusive).
    pub fn new(seed: u64, end: NaiveDate) -> Self {
        let first_day = end - Duration::days(i64::from(DAYS));
        let mut rng = Rng::new(seed, Stream::Calendar, 0);
        let campaigns: Vec<NaiveDate> = (0..DAYS / 30)
            .map(|month| first_day + Duration::days(i64::from(month * 30) + rng.below(30) as i64))
            .collect();
        let mut weights = Vec::with_capacity(DAYS as usize);
        for index in 0..DAYS {
            let day = first_day + Duration::days(i64::from(index));
            let growth = 0.6 + 0.8 * f64::from(index) / f64::from(DAYS);
            let mut weight = growth
                * WEEKDAYS[day.weekday().num_days_from_monday() as usize]
                * MONTHS[day.month0() as usize]
                * burst(day);
            if campaigns.contains(&day) {
                weight *= 2.5;
            } else if campaigns.contains(&(day - Duration::days(1))) {
                weight *= 1.6;
            }
            weights.push(weight);
        }
        let start_millis = first_day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis());
        Self {
            start_millis,
            end_millis: start_millis + i64::from(DAYS) * MILLIS_PER_DAY,
            first_day,
            day_cdf: cumulative(&weights),
            hour_cdf: cumulative(&HOURS),
        }
    }

    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// A day index in `from..=to`, drawn by the day weights.
    pub fn day(&self, rng: &mut Rng, from: u32, to: u32) -> u32 {
        let low = if from == 0 { 0.0 } else { self.day_cdf[from as usize - 1] };
        let high = self.day_cdf[to as usize];
        let target = low + (high - low) * rng.unit();
        let found = self.day_cdf.partition_point(|&c| c <= target) as u32;
        found.clamp(from, to)
    }

    /// An instant on day `day` at a local hour drawn by the hour curve, as milliseconds since
    /// the epoch, kept inside the window.
    pub fn instant(&self, rng: &mut Rng, day: u32, utc_offset_hours: i64) -> i64 {
        let target = rng.unit();
        let hour = self.hour_cdf.partition_point(|&c| c <= target).min(23) as i64;
        let local = hour * 3_600_000 + rng.below(3_600_000) as i64;
        let millis = self.start_millis + i64::from(day) * MILLIS_PER_DAY + local - utc_offset_hours * 3_600_000;
        millis.clamp(self.start_millis, self.end_millis - 1)
    }
}

/// The shopping weekend after Thanksgiving: the biggest bursts of the year.
fn burst(day: NaiveDate) -> f64 {
    let Some(thanksgiving) = NaiveDate::from_weekday_of_month_opt(day.year(), 11, Weekday::Thu, 4) else {
        return 1.0;
    };
    match (day - thanksgiving).num_days() {
        1 => 4.0,
        2 | 3 => 2.0,
        4 => 3.0,
        _ => 1.0,
    }
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    let mut running = 0.0;
    let mut out: Vec<f64> = weights
        .iter()
        .map(|w| {
            running += w;
            running / total
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = 1.0;
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{Calendar, DAYS};
    use crate::r#gen::rng::{Rng, Stream};

    fn calendar() -> Calendar {
        Calendar::new(42, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
    }

    #[test]
    fn black_friday_draws_more_sessions_than_an_ordinary_friday() {
        let calendar = calendar();
        let mut rng = Rng::new(1, Stream::Behaviour, 0);
        let mut per_day = vec![0u32; DAYS as usize];
        for _ in 0..200_000 {
            per_day[calendar.day(&mut rng, 0, DAYS - 1) as usize] += 1;
        }
        let index = |y, m, d| (NaiveDate::from_ymd_opt(y, m, d).unwrap() - calendar.first_day()).num_days();
        let black_friday = per_day[index(2025, 11, 28) as usize];
        let friday_before = per_day[index(2025, 11, 14) as usize];
        assert!(black_friday > 2 * friday_before, "{black_friday} vs {friday_before}");
    }

    #[test]
    fn instants_stay_in_the_window_and_follow_the_local_evening() {
        let calendar = calendar();
        let mut rng = Rng::new(2, Stream::Behaviour, 0);
        let mut hours = [0u32; 24];
        for _ in 0..50_000 {
            let day = calendar.day(&mut rng, 0, DAYS - 1);
            let at = calendar.instant(&mut rng, day, 0);
            assert!((calendar.start_millis..calendar.end_millis).contains(&at));
            hours[((at / 3_600_000) % 24) as usize] += 1;
        }
        assert!(hours[20] > 5 * hours[3], "evening {} vs night {}", hours[20], hours[3]);
    }

    #[test]
    fn a_restricted_range_is_respected() {
        let calendar = calendar();
        let mut rng = Rng::new(3, Stream::Behaviour, 0);
        for _ in 0..10_000 {
            let day = calendar.day(&mut rng, 100, 130);
            assert!((100..=130).contains(&day));
        }
    }
}
