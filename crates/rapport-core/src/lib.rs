//! Domain primitives every Rapport crate shares. Values here are parsed once at the edge and
//! trusted afterwards: holding an [`Email`] means the text was checked, holding a [`WorkspaceId`]
//! means it came from an authenticated principal or the database, never from raw input.

mod actor;
mod change;
mod email;
mod id;
mod locale;
mod money;
mod phone;
mod secret;

pub use actor::Actor;
pub use change::FieldChange;
pub use email::{Email, EmailError};
pub use id::{CartId, CompanyId, FieldId, JobId, OrderId, PersonId, ProductId, UserId, WorkspaceId};
pub use locale::{CodeError, CountryCode, CurrencyCode};
pub use money::{Money, MoneyError};
pub use phone::{Phone, PhoneError};
pub use secret::Secret;

/// Every timestamp Rapport stores or compares is UTC; local time is a presentation concern.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
