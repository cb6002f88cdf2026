//! Merging duplicate people: the review queue of the pairs duplicate detection found
//! (`crate::dedup`), two people side by side with a choice per field, the merge (the survivor
//! takes the chosen values and every note, task, attachment and company link of the other, who
//! goes to the trash marked merged), its undo for 30 days, and bulk merges above a score run as
//! a job. See `docs/duplicates.md`.
//!
//! The module owns `merges` and `merge_runs`; what a merge does to people is
//! `crate::person::merge`, and each module holding records of people moves its own.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{CHOSEN, Merge, MergeRequest, Moved, Run, RunStatus, Side, UNDO_KEEP, fill_from};
pub use service::{
    BULK_JOB, Comparison, MergeError, SCAN_JOB, bulk, compare, get, latest_run, merge, merged_away, queue, recent,
    register, run, run_bulk, scan, scanned_at, undo,
};
