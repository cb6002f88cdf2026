//! Pieces every customer profile shares, whatever its object: the field vocabulary's
//! description ([`FieldDef`]), labelled emails and phones, postal addresses, the default region
//! phone numbers are read in, and the stored responses that make a retried create answer the
//! same instead of creating twice, and the life of a stored record ([`record_change`], merge
//! patches, diffs, cursor pages). Objects (`person`, later `company`) build on these; nothing
//! here knows about any one object.

mod model;
pub mod page;
mod record;
mod store;

pub use model::{
    Address, AddressInput, FieldDef, FieldKind, Labelled, LabelledInput, Parsed, parse_emails, parse_phones, primary,
    text,
};
pub use record::{
    COUNT_CAP, TRASH_KEEP, TimelineEntry, count_text, cut_page, diff, flat_values, governing_field, merge_patch,
    parse_etag, parse_time_cursor, projected, record_change, record_changes, record_timeline_entry, shown_count, tags,
    time_cursor, timeline, web_url, written_fields,
};

use rapport_core::{CountryCode, WorkspaceId};
use rapport_db::{Db, DbError, Tx};

/// The region national phone numbers are read in: the workspace's country setting. Every parse
/// of a profile goes through this one function.
pub async fn phone_region(db: &Db, workspace: WorkspaceId) -> Result<CountryCode, DbError> {
    match crate::workspace::settings(db, workspace).await {
        Ok(settings) => Ok(settings.country),
        Err(crate::workspace::WorkspaceError::Db(err)) => Err(err),
        Err(other) => Err(DbError::Unavailable(other.to_string())),
    }
}

/// A stored response to an earlier request with this `Idempotency-Key`.
pub struct Replay {
    pub route: String,
    pub status: u16,
    pub body: serde_json::Value,
}

pub async fn replay(db: &Db, workspace: WorkspaceId, key: &str) -> Result<Option<Replay>, DbError> {
    store::find_key(db, workspace, key).await
}

/// Remembers the response to `key` in the caller's transaction, so the create and its answer
/// commit together. A concurrent request with the same key fails here and rolls back.
pub async fn remember(tx: &mut Tx, workspace: WorkspaceId, key: &str, reply: &Replay) -> Result<(), DbError> {
    store::insert_key(tx, workspace, key, reply).await
}
