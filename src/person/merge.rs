//! What merging duplicates asks of people, inside the transaction of the merge: the two people
//! with the caller's reach checked (changing the survivor, deleting the one merged away), the
//! survivor rewritten with the chosen fields and the other marked merged and trashed, and the
//! reverse for an undo. Each side keeps the promises of a single edit: custom values indexed,
//! search documents and duplicate keys current, an audit row and a `person.merged` (or
//! `person.updated` / `person.restored` on undo) domain event per person.

use chrono::Utc;
use rapport_core::{Actor, FieldChange, PersonId, UserId, WorkspaceId};
use rapport_db::{Db, Tx};
use serde_json::Value;

use super::model::{Person, PersonInput};
use super::service::{PersonError, WriteReach, named, parse, record_change, rewrite, taken};
use super::store;
use crate::audit::AuditAction;
use crate::field::{self, CustomField, Object, ValueContext};
use crate::identity::{Action, Principal};

/// The change on the survivor that names who was merged into them.
pub const MERGED_FROM: &str = "merged_from";
/// The change on the merged person that names their survivor.
pub const MERGED_INTO: &str = "merged_into";

/// Who may merge: the survivor must be within the caller's update reach, the person merged
/// away within their delete reach (a merge trashes them).
pub struct Reach {
    user: UserId,
    keep: WriteReach,
    absorb: WriteReach,
}

impl Reach {
    pub async fn of(db: &Db, principal: &Principal) -> Result<Self, PersonError> {
        Ok(Self {
            user: principal.user_id,
            keep: WriteReach::of(db, principal, Action::Update, "you may merge into only people you may change")
                .await?,
            absorb: WriteReach::of(db, principal, Action::Delete, "you may merge away only people you may delete")
                .await?,
        })
    }
}

/// The survivor and the person to merge into them, both live and within the caller's reach.
pub async fn pair(
    tx: &mut Tx,
    workspace: WorkspaceId,
    reach: &Reach,
    (survivor, merged): (PersonId, PersonId),
    defs: &[CustomField],
) -> Result<(Person, Person), PersonError> {
    let live = |p: Option<Person>| p.filter(|p| p.deleted_at.is_none());
    let kept = reach.keep.check(live(store::find_in(tx, workspace, survivor).await?))?;
    let absorbed = reach.absorb.check(live(store::find_in(tx, workspace, merged).await?))?;
    Ok((named(kept, defs), named(absorbed, defs)))
}

/// Gives the survivor the `combined` fields and marks `merged` as merged into them (trashed,
/// out of search, custom values unindexed so a unique value can move, duplicate pairs dropped).
/// An external id the survivor takes over is released by the merged person first. Answers the
/// survivor afterwards.
pub async fn absorb(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    reach: &Reach,
    (survivor, merged): (&Person, &Person),
    combined: &PersonInput,
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<Person, PersonError> {
    let now = Utc::now();
    if combined.external_id.is_some() && combined.external_id == merged.fields.external_id {
        store::set_external_id(tx, workspace, merged.id, None).await?;
    }
    store::set_merged(tx, workspace, merged.id, (Some(survivor.id), Some(now)), now).await?;
    field::unindex(tx, workspace, (Object::Person, merged.id.get())).await?;
    crate::search::remove(tx, workspace, (Object::Person, merged.id.get())).await?;
    crate::dedup::forget(tx, workspace, merged.id).await?;
    let into = FieldChange { field: MERGED_INTO.into(), old: Value::Null, new: survivor.id.get().into() };
    record_change(tx, workspace, actor, merged.id, AuditAction::Merge, &[into]).await?;

    let mut wanted = combined.clone();
    wanted.custom = field::changed_values(&survivor.fields.custom, &combined.custom);
    let new = parse(&wanted, defs, Some(&survivor.custom), ctx)?;
    if new.owner != survivor.fields.owner.map(UserId::new)
        && !crate::access::owner_allowed(reach.user, Some(&reach.keep.change), new.owner)
    {
        return Err(PersonError::OwnerOutOfReach);
    }
    let from = FieldChange { field: MERGED_FROM.into(), old: Value::Null, new: merged.id.get().into() };
    let after = rewrite(tx, (workspace, actor), survivor, new, defs, (AuditAction::Merge, vec![from])).await?;
    after.ok_or(PersonError::NotFound)
}

/// Undoes [`absorb`]: the survivor's fields become what `restore` makes of their current ones,
/// and the merged person comes back live with their external id. Refused as
/// [`PersonError::NotFound`] when either is gone (purged) or the merged person is no longer
/// merged into this survivor.
pub async fn separate(
    tx: &mut Tx,
    (workspace, actor): (WorkspaceId, &Actor),
    reach: &Reach,
    (survivor, merged): (PersonId, PersonId),
    (restore, external_id): (impl FnOnce(&PersonInput) -> PersonInput, Option<&str>),
    (defs, ctx): (&[CustomField], ValueContext),
) -> Result<Person, PersonError> {
    let kept = named(reach.keep.check(store::find_in(tx, workspace, survivor).await?)?, defs);
    let absorbed = store::find_in(tx, workspace, merged)
        .await?
        .filter(|p| p.merged_into == Some(survivor))
        .ok_or(PersonError::NotFound)?;
    let absorbed = named(reach.absorb.check(Some(absorbed))?, defs);

    let mut wanted = restore(&kept.fields);
    wanted.custom = field::changed_values(&kept.fields.custom, &wanted.custom);
    let new = parse(&wanted, defs, Some(&kept.custom), ctx)?;
    let from = FieldChange { field: MERGED_FROM.into(), old: merged.get().into(), new: Value::Null };
    rewrite(tx, (workspace, actor), &kept, new, defs, (AuditAction::Update, vec![from])).await?;

    let now = Utc::now();
    store::set_merged(tx, workspace, merged, (None, None), now).await?;
    if external_id.is_some() {
        store::set_external_id(tx, workspace, merged, external_id).await.map_err(|e| taken(e, "people"))?;
    }
    field::index(tx, workspace, (Object::Person, merged.get()), defs, &absorbed.custom)
        .await?
        .map_err(PersonError::Invalid)?;
    let back = named(store::find_in(tx, workspace, merged).await?.ok_or(PersonError::NotFound)?, defs);
    crate::search::index(tx, workspace, &back.search_document()).await?;
    let into = FieldChange { field: MERGED_INTO.into(), old: survivor.get().into(), new: Value::Null };
    record_change(tx, workspace, actor, merged, AuditAction::Restore, &[into]).await?;
    Ok(back)
}
