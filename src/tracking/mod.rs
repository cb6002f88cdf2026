//! Behaviour tracking: what customers do on a website or in an app, received in the Segment
//! format so that existing instrumentation points at Rapport unchanged. Sources hold write keys;
//! events are stored durably and deduplicated by message id. Resolving who an event belongs
//! to, and what it changes on the profile, builds on this.

pub mod api;
mod budget;
mod model;
mod service;
mod store;
pub mod web;

pub use budget::EventBudget;
pub use model::{MAX_MESSAGE_BYTES, MAX_REQUEST_BYTES, Message, MessageType, Payload, Rejection, parse};
pub use service::{
    CreatedSource, Event, EventCount, EventFilter, Ingested, Source, SourceRef, TrackingError, census, create_source,
    events, ingest, source_for_key, sources, user_ids,
};
