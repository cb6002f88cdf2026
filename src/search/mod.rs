//! Search across people and companies: one box, prefix, substring and typo-tolerant, ranked
//! and highlighted. Each record's document is written by its own module in the record's write
//! transaction through [`index`] and [`remove`]; SQLite finds candidates with an FTS5 word
//! index, PostgreSQL with a tsvector index, and both are ranked and highlighted by the same code.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{Document, Marked, Object, Value};
pub use service::{Hit, SearchError, index, index_many, indexed, remove, search};
