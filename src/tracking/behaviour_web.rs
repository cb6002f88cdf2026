//! The behaviour section of a person's page: when they were first and last seen, what they did
//! most, their latest events in words, what they spent and bought, their latest orders, and what
//! sits in their carts.

use rapport_core::PersonId;

use super::profile::{self, Activity, PersonEvent};
use crate::app::AppState;
use crate::cart::{Cart, CartFilter, CartStatus};
use crate::http::ApiError;
use crate::identity::Principal;
use crate::order::{Order, OrderFilter, Spend};

/// Latest events and orders the section shows.
const SHOWN: i64 = 10;

pub struct Behaviour {
    pub activity: Option<Activity>,
    pub events: Vec<PersonEvent>,
    pub spend: Vec<Spend>,
    pub categories: Vec<(String, i64)>,
    pub orders: Vec<Order>,
    /// Carts not yet ordered.
    pub carts: Vec<Cart>,
}

/// The section for a person the caller may read, with the parts their role may see; `None`
/// when it may see neither events nor orders.
pub async fn behaviour(
    state: &AppState,
    principal: &Principal,
    person: PersonId,
) -> Result<Option<Behaviour>, ApiError> {
    let (events_visible, orders_visible) = (principal.may("events", false), principal.may("orders", false));
    if !events_visible && !orders_visible {
        return Ok(None);
    }
    let workspace = principal.workspace_id;
    let mut behaviour = Behaviour {
        activity: None,
        events: Vec::new(),
        spend: Vec::new(),
        categories: Vec::new(),
        orders: Vec::new(),
        carts: Vec::new(),
    };
    if events_visible {
        behaviour.activity = profile::activity_of(&state.db, workspace, person).await?;
        behaviour.events = profile::events_of(&state.db, workspace, person, None, SHOWN).await?.0;
    }
    if orders_visible {
        (behaviour.spend, behaviour.categories) = crate::order::spend_of(&state.db, workspace, person).await?;
        let filter = OrderFilter { person: Some(person), status: None, order_id: None, before: None, limit: SHOWN };
        behaviour.orders = crate::order::list(&state.db, principal, &filter).await?.0;
        let filter = CartFilter { person: Some(person), state: None, before: None, limit: SHOWN };
        let carts = crate::cart::list(&state.db, principal, &filter).await?.0;
        behaviour.carts = carts.into_iter().filter(|c| c.status != CartStatus::Ordered).collect();
    }
    Ok(Some(behaviour))
}
