//! Companies (accounts): the organisations a workspace's people work for, with their domain,
//! contact details, address, industry, size, lifecycle stage, owner, tags and external id, and
//! the many-to-many links between people and companies with the person's title there. This
//! module owns the `companies` and `company_people` tables; other modules reach them through
//! the functions re-exported here, and learn of changes through the `company.*` domain events
//! every write records (a link's change is recorded on both records).

pub mod api;
mod model;
mod service;
mod store;
pub mod tracking;
pub mod web;

pub use model::{Company, CompanyInput, Link, NewCompany, fields};
pub use service::{
    CompanyError, Created, Page, Permitted, companies_of, count, create, delete, get, link, list, move_links,
    move_links_back, people, permitted, purge_trash, reindex_search, restore, timeline, unlink, update,
};
pub use store::LIST_TABLE;

/// The recurring job that empties the trash of companies kept longer than the trash keeps them.
pub const PURGE_JOB: &str = "company.purge_trash";
