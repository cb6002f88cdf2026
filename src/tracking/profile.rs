//! What tracking shows on a person's profile: their aggregates (first and last seen, events by
//! type and name) and their events, newest first, each in words ("Viewed Trail Runner X").

use rapport_core::{PersonId, Timestamp, WorkspaceId};
use rapport_db::{Db, DbError};
use serde_json::Value;

use super::resolve_store as store;

/// A person's tracked behaviour in numbers, kept current as events are resolved.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Activity {
    #[schema(value_type = String, format = DateTime)]
    pub first_seen_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub last_seen_at: Timestamp,
    pub events: i64,
    /// By type and name (the event of a track call, the name of a page), most frequent first.
    pub counts: Vec<ActivityCount>,
}

#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ActivityCount {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub count: i64,
    #[schema(value_type = String, format = DateTime)]
    pub last_at: Timestamp,
}

pub async fn activity_of(db: &Db, workspace: WorkspaceId, person: PersonId) -> Result<Option<Activity>, DbError> {
    let Some(row) = store::activity_of(db, workspace, person).await? else { return Ok(None) };
    let counts = store::counts_of(db, workspace, person)
        .await?
        .into_iter()
        .map(|(kind, name, count, last_at)| ActivityCount { kind, name, count, last_at })
        .collect();
    Ok(Some(Activity { first_seen_at: row.first_seen_at, last_seen_at: row.last_seen_at, events: row.events, counts }))
}

/// One of a person's events, in words.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PersonEvent {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: Option<String>,
    /// `Viewed Trail Runner X`, `Added Trail Runner X to the cart`, `Viewed the page Pricing`.
    pub summary: String,
    #[schema(value_type = String, format = DateTime)]
    pub occurred_at: Timestamp,
    #[schema(value_type = Object)]
    pub properties: Value,
}

/// The cursor of a person's events: the time and id of the last one shown.
pub type EventCursor = (Timestamp, i64);

pub async fn events_of(
    db: &Db,
    workspace: WorkspaceId,
    person: PersonId,
    before: Option<EventCursor>,
    limit: i64,
) -> Result<(Vec<PersonEvent>, Option<EventCursor>), DbError> {
    let limit = limit.clamp(1, 200);
    let mut rows = store::events_of(db, workspace, person, before, limit + 1).await?;
    let next = crate::profile::cut_page(&mut rows, limit, |r| (r.occurred_at, r.id));
    let events = rows
        .into_iter()
        .map(|row| PersonEvent {
            summary: describe(&row.kind, row.name.as_deref(), &row.properties.0),
            id: row.id,
            kind: row.kind,
            name: row.name,
            occurred_at: row.occurred_at,
            properties: row.properties.0,
        })
        .collect();
    Ok((events, next))
}

/// An event in words, from its type, name and the properties the Segment spec defines.
pub fn describe(kind: &str, name: Option<&str>, properties: &Value) -> String {
    let text = |key: &str| properties.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let product = text("name").or_else(|| text("sku")).or_else(|| text("product_id"));
    let page = name.or_else(|| text("title")).or_else(|| text("path")).or_else(|| text("url"));
    match (kind, name) {
        ("track", Some("Product Viewed")) => {
            product.map_or_else(|| "Viewed a product".into(), |p| format!("Viewed {p}"))
        }
        ("track", Some("Product Added")) => {
            product.map_or_else(|| "Added a product to the cart".into(), |p| format!("Added {p} to the cart"))
        }
        ("track", Some("Product Removed")) => {
            product.map_or_else(|| "Removed a product from the cart".into(), |p| format!("Removed {p} from the cart"))
        }
        ("track", Some("Products Searched")) => {
            text("query").map_or_else(|| "Searched products".into(), |q| format!("Searched for “{q}”"))
        }
        ("track", Some("Checkout Started")) => "Started checkout".into(),
        ("track", Some("Order Completed")) => {
            text("order_id").map_or_else(|| "Completed an order".into(), |o| format!("Completed order {o}"))
        }
        ("track", Some(event)) => event.to_owned(),
        ("page", _) => page.map_or_else(|| "Viewed a page".into(), |p| format!("Viewed the page {p}")),
        ("screen", _) => name.map_or_else(|| "Opened a screen".into(), |s| format!("Opened the screen {s}")),
        ("identify", _) => "Identified".into(),
        ("group", _) => "Joined a company".into(),
        ("alias", _) => "Linked another id".into(),
        _ => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_read_as_what_the_person_did() {
        assert_eq!(
            describe("track", Some("Product Viewed"), &json!({"name": "Trail Runner X"})),
            "Viewed Trail Runner X"
        );
        assert_eq!(describe("track", Some("Product Added"), &json!({"sku": "TR-X"})), "Added TR-X to the cart");
        assert_eq!(describe("track", Some("Signed Up"), &json!({})), "Signed Up");
        assert_eq!(describe("page", None, &json!({"path": "/pricing"})), "Viewed the page /pricing");
        assert_eq!(describe("page", Some("Pricing"), &json!({})), "Viewed the page Pricing");
        assert_eq!(describe("screen", Some("Home"), &json!({})), "Opened the screen Home");
    }
}
