//! Custom fields: a workspace's own fields on people and companies (text, numbers, money,
//! dates, selects, relations …), with required, unique, default and help text, renamed and
//! retired without losing values. This module owns the definitions and the indexed copy of
//! the values (`custom_values`) that filters and sorts read; the objects keep the values on
//! their own rows and call [`checked`] and [`index`] in their writes. See `docs/custom-fields.md`.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{CustomField, CustomKind, FieldSpec, Object, Stored, ValueContext, form_text, text_of};
pub use service::{
    FieldError, changed_values, checked, context, create, definitions, find, index, index_many, input_kind, list,
    named, shown_values, together, unindex, update, view,
};
