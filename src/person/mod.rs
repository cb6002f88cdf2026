//! People: the customers a workspace knows, with their contact details, address, preferences,
//! lifecycle stage, owner, tags and external id. This module owns the `people` table; other
//! modules reach people through the functions re-exported here, and learn of changes through
//! the `person.*` domain events every write records. Every function takes the caller and
//! applies their reach (own, team, all) for its action; see `docs/profiles.md`.

pub mod api;
pub mod import;
pub mod merge;
mod model;
mod service;
mod store;
pub mod tracking;
pub mod web;

pub use store::LIST_TABLE;

pub use model::{LifecycleStage, NewPerson, Person, PersonInput, TimelineEntry, changes, fields};
pub use service::{
    COUNT_CAP, Created, Page, Permitted, PersonError, TRASH_KEEP, count, count_all, create, delete, external_ids,
    find_by, get, history, insert_many, list, permitted, purge_trash, readable, reindex_search, restore, timeline,
    update,
};

/// The recurring job that empties the trash of people kept longer than [`TRASH_KEEP`].
pub const PURGE_JOB: &str = "person.purge_trash";
