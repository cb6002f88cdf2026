//! Files attached to a person or a company: uploaded through the API or a record's page,
//! checked (size limit, content type sniffed from the bytes against an allow-list) while they
//! stream to the data directory, kept there durably before their metadata row commits, and
//! served back only as downloads. This module owns the `attachments` table and the
//! `attachments/` folder of the data directory; it reaches records through
//! [`crate::activity::require_target`] (an attachment is as visible as its record), puts
//! "Attached …" on the record's timeline, removes a record's files when its `.purged` domain
//! event arrives, and sweeps files no row names. See `docs/attachments.md`.

pub mod api;
mod files;
mod model;
mod service;
mod store;
pub mod web;

pub use api::is_upload;
pub use files::ReceiveError;
pub use model::{Attachment, content_disposition, content_type, file_name};
pub use service::{
    AttachmentError, Declared, SWEEP_JOB, Storage, attachment, attachments, delete, may_attach, move_all, move_back,
    open, subscribe, sweep, upload,
};
