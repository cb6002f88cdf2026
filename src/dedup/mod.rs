//! Duplicate detection among people: normalised keys ([`model`]), blocking so that the work
//! grows with the number of people ([`blocking`]), field comparisons ([`compare`]) combined by
//! a Fellegi-Sunter model learnt from the workspace's own data by EM ([`fellegi`]) into a
//! calibrated probability with reasons a person can read. It runs as a full scan
//! (`rapport dedup scan`), as a check of one record against the people sharing one of its
//! keys (for create and update warnings), and as a batched check of many new records at once,
//! against those people and each other (for imports). See `docs/duplicates.md`.
//!
//! The module owns its tables (`dedup_keys`, `dedup_models`, `dedup_pairs`) and reads the
//! people table only to scan and check; the review queue and merging build on [`pairs`] and
//! [`forget`].

mod blocking;
mod compare;
mod fellegi;
mod model;
mod service;
mod store;

pub use fellegi::Model;
pub use model::{Duplicate, Pair, PairEnd, Possible, Record, Source, fold};
pub use service::{
    DEFAULT_THRESHOLD, DedupError, Scan, candidates, candidates_many, candidates_of, detect, forget, index, pairs,
    queued_pair, reindex, remember, scan, scanned_at, score, workspace_model,
};

/// Writes pairs as JSON Lines, one pair per line.
pub fn write_jsonl(pairs: &[Pair], out: &mut impl std::io::Write) -> std::io::Result<()> {
    for pair in pairs {
        serde_json::to_writer(&mut *out, pair)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
