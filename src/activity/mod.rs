//! Activities attached to a person or a company: notes (rich text, sanitised on the way in) and
//! tasks (title, due time, assignee, an emailed reminder that runs as a job, done). This module
//! owns the `notes` and `tasks` tables; it reaches records through the person and company
//! modules' public functions, puts its entries on their timelines through
//! [`crate::profile::record_timeline_entry`], and removes a record's activities when its
//! `.purged` domain event arrives.

pub mod api;
mod model;
mod service;
mod store;
pub mod web;

pub use model::{NOTE_MAX_BYTES, Note, Target, Task, TaskInput, sanitise};
pub use service::{
    ActivityError, Moved, REMIND_JOB, add_note, create_task, delete_note, delete_task, edit_note, move_all, move_back,
    note, notes, require_target, send_reminder, subscribe, task, tasks, update_task,
};
