//! People: the customers a workspace knows, with their contact details, address, preferences,
//! lifecycle stage, owner, tags and external id. This module owns the `people` table; other
//! modules reach people through the functions re-exported here, and learn of changes through
//! the `person.*` domain events every write records.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{LifecycleStage, NewPerson, Person, PersonInput, TimelineEntry, changes, fields};
pub use service::{
    COUNT_CAP, Created, ListQuery, Page, PersonError, TRASH_KEEP, count_all, create, delete, external_ids, get,
    insert_many, list, purge_trash, restore, update,
};

/// The recurring job that empties the trash of people kept longer than [`TRASH_KEEP`].
pub const PURGE_JOB: &str = "person.purge_trash";
