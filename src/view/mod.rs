//! List views: the filter language (a condition tree over an object's fields and custom
//! fields, with operators fitting each type), sorts that stay index range scans, cursor pages,
//! capped counts, and saved views (private or shared). People and companies list through
//! [`page`], and their pages share [`web`]; see `docs/list-views.md`.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{BuilderRow, Column, FieldType, FilterError, SavedView, Table, from_rows, operators, to_rows};
pub use service::{
    ListSpec, Listed, ViewError, ViewSpec, count, create, delete, object_of, page, query_filter, update, view, views,
};
