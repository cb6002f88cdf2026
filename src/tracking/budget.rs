//! A per-source event budget (a token bucket in memory): a sender that exceeds its rate is
//! told to come back later with 429 and `Retry-After`, before its events cost a write. Each
//! process keeps its own buckets; behind a load balancer the limit is per instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use super::service::SourceRef;

pub struct EventBudget {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<SourceRef, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refreshed: Instant,
}

impl EventBudget {
    pub fn new(per_second: u32, burst: u32) -> Self {
        Self { per_second: f64::from(per_second), burst: f64::from(burst), buckets: Mutex::new(HashMap::new()) }
    }

    /// Spends `events` from the source's budget, or says in how many seconds there will be
    /// enough. A request larger than the whole burst is let through when the bucket is full,
    /// so a burst setting below the batch size cannot lock a sender out for ever.
    pub fn take(&self, source: SourceRef, events: usize) -> Result<(), i64> {
        let wanted = events as f64;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let bucket = buckets.entry(source).or_insert(Bucket { tokens: self.burst, refreshed: now });
        let elapsed = now.duration_since(bucket.refreshed).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refreshed = now;
        let affordable = wanted.min(self.burst);
        if bucket.tokens >= affordable {
            bucket.tokens -= wanted;
            return Ok(());
        }
        let wait = (affordable - bucket.tokens) / self.per_second.max(f64::MIN_POSITIVE);
        Err((wait.ceil() as i64).max(1))
    }
}

#[cfg(test)]
mod tests {
    use rapport_core::WorkspaceId;

    use super::*;

    #[test]
    fn a_source_over_its_budget_waits_and_others_do_not() {
        let budget = EventBudget::new(10, 100);
        let a = SourceRef { workspace: WorkspaceId::new(1), id: 1 };
        let b = SourceRef { workspace: WorkspaceId::new(1), id: 2 };
        assert_eq!(budget.take(a, 100), Ok(()));
        let wait = budget.take(a, 50).expect_err("over budget");
        assert!((4..=5).contains(&wait), "{wait}");
        assert_eq!(budget.take(b, 60), Ok(()));
    }
}
