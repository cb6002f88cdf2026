//! Behaviour tracking: what customers do on a website or in an app, received in the Segment
//! format so that existing instrumentation points at Rapport unchanged. Sources hold write keys;
//! events are stored durably and deduplicated by message id, then resolved in the background:
//! who each belongs to (`resolve`), what it changes on the profile, and the orders and
//! products it describes.

pub mod api;
pub mod behaviour_web;
mod budget;
mod model;
pub mod people_api;
mod profile;
mod resolve;
mod resolve_store;
mod retention;
mod rules;
mod service;
mod store;
mod traits;
pub mod web;

pub use budget::EventBudget;
pub use model::{MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, Message, MessageType, Payload, Rejection, parse, text};
pub use profile::{Activity, ActivityCount, EventCursor, PersonEvent, activity_of, describe, events_of};
pub use resolve::{
    FORGET_SUBSCRIBER, RECEIVED, RESOLVE_SUBSCRIBER, backlog, move_all, move_back, resolve_pending, subscribe,
};
pub use retention::{
    RETENTION_JOB, Retention, RetentionError, RetentionInput, Rollup, expire, retention, rollups, save_retention,
};
pub use rules::{COMPANY_FIELDS, PERSON_FIELDS, SaveError, TraitRule, TraitRules, save_trait_rules, trait_rules};
pub use service::{
    CreatedSource, Event, EventCount, EventFilter, Ingested, Source, SourceRef, TrackingError, census, create_source,
    events, ingest, source_for_key, sources, user_ids,
};
