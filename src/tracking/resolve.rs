//! Identity resolution: who each stored event belongs to, and what it changes. Collection
//! acknowledges events as soon as they are durable; resolution follows in the background, a
//! batch of the workspace's unresolved events per transaction, in the order they were stored.
//!
//! - `identify` finds the person by user id, then by external id (the user id a business's own
//!   system gave them), then by email, then by anonymous id; creates them when nobody matches
//!   and the call says something of them; gives them the traits (`traits::person_patch`); and
//!   attaches the earlier events of both ids.
//! - `alias` links `previousId` with `userId`; `group` finds or creates the company by its
//!   group id and links the person to it.
//! - Every other call belongs to whom its user id or anonymous id names, or to nobody yet.
//! - E-commerce events go to orders and the product catalogue.
//! - Per-person aggregates (first and last seen, counts by type and name) grow as events are
//!   attributed.
//!
//! A step a check refuses (an invalid email, a malformed order) is undone alone, through a
//! savepoint, and logged; the raw event stays stored and resolution goes on.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use rapport_core::{Actor, Email, PersonId, Timestamp, WorkspaceId};
use rapport_db::{Backend, Db, DbError, Tx};
use rapport_jobs::{DomainEvent, NewDomainEvent, Subscribers};
use serde_json::{Map, Value, json};

use super::resolve_store::{self as store, Pending, Tally};
use super::rules::TraitRules;
use super::traits;
use crate::company::CompanyInput;
use crate::field::{self, CustomField, Object, ValueContext};
use crate::order::Visitor;
use crate::person::PersonInput;

/// The subscriber that resolves the events of every ingest.
pub const RESOLVE_SUBSCRIBER: &str = "tracking.resolve";
/// The subscriber that removes what tracking knew of a purged person.
pub const FORGET_SUBSCRIBER: &str = "tracking.forget_purged";
/// The domain event an ingest records, waking resolution.
pub const RECEIVED: &str = "events.received";

/// Events per resolving transaction.
const BATCH: i64 = 2_000;

/// Transactions one delivery of the subscriber runs before it hands over: a backlog of millions
/// is worked through in many deliveries, so the worker can stop (or run other work) between them.
const BATCHES_PER_DELIVERY: usize = 10;

/// Track calls whose properties resolution reads: orders, products and carts.
const COMMERCE_EVENTS: &[&str] = &[
    "Order Completed",
    "Order Updated",
    "Order Refunded",
    "Order Cancelled",
    "Product Viewed",
    "Product Added",
    "Product Removed",
    "Product Clicked",
    "Product Added to Wishlist",
    "Cart Viewed",
    "Checkout Started",
    "Product List Viewed",
];

const STEP: &str = "resolve_step";

/// Records, in the ingest's transaction, that `source` stored `stored` events.
pub(super) async fn received(tx: &mut Tx, workspace: WorkspaceId, source: i64, stored: u64) -> Result<(), DbError> {
    let event = NewDomainEvent {
        workspace_id: workspace,
        kind: RECEIVED.into(),
        entity_type: "source".into(),
        entity_id: source,
        payload: json!({ "stored": stored }),
        actor: format!("source:{source}"),
        request_id: None,
    };
    rapport_jobs::record_event(tx, &event).await
}

pub fn subscribe(subscribers: Subscribers) -> Subscribers {
    subscribers
        .subscribe(RESOLVE_SUBSCRIBER, |db: Db, events: Vec<DomainEvent>| async move {
            let workspaces: BTreeSet<WorkspaceId> =
                events.iter().filter(|e| e.kind == RECEIVED).map(|e| e.workspace_id).collect();
            for workspace in workspaces {
                let (resolved, more) = resolve_some(&db, workspace, BATCHES_PER_DELIVERY).await?;
                tracing::debug!(workspace = %workspace, resolved, more, "resolved tracked events");
                if more {
                    // The rest of the backlog is the next delivery's.
                    db.write(move |tx| Box::pin(async move { wake(tx, workspace).await })).await?;
                }
            }
            Ok(())
        })
        .subscribe(FORGET_SUBSCRIBER, |db: Db, events: Vec<DomainEvent>| async move {
            let purged: Vec<(WorkspaceId, PersonId)> = events
                .iter()
                .filter(|e| e.kind == "person.purged")
                .map(|e| (e.workspace_id, PersonId::new(e.entity_id)))
                .collect();
            if purged.is_empty() {
                return Ok(());
            }
            db.write(move |tx| {
                Box::pin(async move {
                    for (workspace, person) in &purged {
                        store::forget(tx, *workspace, *person).await?;
                        crate::order::forget_person(tx, *workspace, *person).await?;
                        crate::cart::forget_person(tx, *workspace, *person).await?;
                    }
                    Ok::<_, DbError>(())
                })
            })
            .await?;
            Ok(())
        })
}

/// Records that the workspace's backlog goes on, waking resolution again.
async fn wake(tx: &mut Tx, workspace: WorkspaceId) -> Result<(), DbError> {
    let event = NewDomainEvent {
        workspace_id: workspace,
        kind: RECEIVED.into(),
        entity_type: "workspace".into(),
        entity_id: workspace.get(),
        payload: json!({ "backlog": true }),
        actor: format!("system:{RESOLVE_SUBSCRIBER}"),
        request_id: None,
    };
    rapport_jobs::record_event(tx, &event).await
}

/// Resolves every event of the workspace not yet resolved, a batch per transaction; answers how
/// many there were. Bulk loads and tests call it; the subscriber works in bounded steps.
pub async fn resolve_pending(db: &Db, workspace: WorkspaceId) -> Result<u64, DbError> {
    Ok(resolve_some(db, workspace, usize::MAX).await?.0)
}

/// Resolves up to `batches` transactions' worth of the workspace's backlog; answers how many
/// events, and whether some may be left.
async fn resolve_some(db: &Db, workspace: WorkspaceId, batches: usize) -> Result<(u64, bool), DbError> {
    let people = field::definitions(db, workspace, Object::Person).await?;
    let companies = field::definitions(db, workspace, Object::Company).await?;
    let ctx = field::context(db, workspace).await?;
    let rules = super::rules::trait_rules(db, workspace).await?;
    let mut total = 0;
    for _ in 0..batches {
        let defs = (people.clone(), companies.clone(), rules.clone());
        let resolved = db
            .write(move |tx| {
                Box::pin(async move {
                    let mut batch = Batch::new(workspace, (&defs.0, &defs.1, &defs.2), ctx);
                    batch.run(tx).await
                })
            })
            .await?;
        if resolved == 0 {
            return Ok((total, false));
        }
        total += resolved;
    }
    Ok((total, true))
}

/// How many events of the workspace wait for resolution (counted up to 100,000).
pub async fn backlog(db: &Db, workspace: WorkspaceId) -> Result<i64, DbError> {
    store::backlog(db, workspace).await
}

#[derive(Debug, thiserror::Error)]
enum StepError {
    #[error(transparent)]
    Person(#[from] crate::person::PersonError),
    #[error(transparent)]
    Company(#[from] crate::company::CompanyError),
    #[error(transparent)]
    Order(#[from] crate::order::OrderError),
    #[error(transparent)]
    Cart(#[from] crate::cart::CartError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// One resolving transaction's state: the ids it knows, the events' people, the tallies.
struct Batch<'a> {
    workspace: WorkspaceId,
    people: &'a [CustomField],
    companies: &'a [CustomField],
    rules: &'a TraitRules,
    ctx: ValueContext,
    users: HashMap<String, PersonId>,
    visitors: HashMap<String, PersonId>,
    tallies: HashMap<(PersonId, String, String), Tally>,
    now: Timestamp,
}

impl<'a> Batch<'a> {
    fn new(
        workspace: WorkspaceId,
        (people, companies, rules): (&'a [CustomField], &'a [CustomField], &'a TraitRules),
        ctx: ValueContext,
    ) -> Self {
        Self {
            workspace,
            people,
            companies,
            rules,
            ctx,
            users: HashMap::new(),
            visitors: HashMap::new(),
            tallies: HashMap::new(),
            now: Utc::now(),
        }
    }

    async fn run(&mut self, tx: &mut Tx) -> Result<u64, DbError> {
        let tracked = COMMERCE_EVENTS.iter().map(|name| format!("'{name}'")).collect::<Vec<_>>().join(", ");
        let events = store::unresolved(tx, self.workspace, &tracked, BATCH, tx.backend() == Backend::Postgres).await?;
        if events.is_empty() {
            return Ok(0);
        }
        self.learn(tx, &events).await?;
        let mut marks = Vec::with_capacity(events.len());
        let mut catalogued = Vec::new();
        for event in &events {
            // Most events (page views, plain tracks) change nothing but their person, and those
            // that only describe products are catalogued together at the end: only the rest pay
            // for a savepoint.
            if !matches!(event.kind.as_str(), "identify" | "alias" | "group") {
                match (&event.name, &event.properties) {
                    (_, None) => {
                        marks.push((event.id, self.person_of(event)));
                        continue;
                    }
                    (Some(name), Some(properties)) if only_catalogues(name) => {
                        catalogued.extend(crate::product::described(name, &properties.0));
                        marks.push((event.id, self.person_of(event)));
                        continue;
                    }
                    _ => {}
                }
            }
            let actor = Actor::System(format!("source:{}", event.source_id));
            tx.savepoint(STEP).await?;
            match self.apply(tx, &actor, event).await {
                Ok(person) => {
                    tx.release(STEP).await?;
                    marks.push((event.id, person));
                }
                Err(err) => {
                    tx.roll_back_to(STEP).await?;
                    tracing::warn!(event = event.id, kind = %event.kind, error = %err, "an event's effect was refused; the event is kept");
                    marks.push((event.id, self.person_of(event)));
                }
            }
        }
        // An identify or alias later in the batch names whom the earlier events of its ids
        // belong to, as it does for events of earlier batches.
        for (event, mark) in events.iter().zip(marks.iter_mut()) {
            mark.1 = mark.1.or_else(|| self.person_of(event));
        }
        for (event, person) in events.iter().zip(&marks) {
            if let Some(person) = person.1 {
                self.tally(person, &event.kind, event.name.as_deref(), event.occurred_at);
            }
        }
        crate::product::catalogue(tx, self.workspace, &catalogued).await?;
        store::mark(tx, self.workspace, &marks, self.now).await?;
        let tallies: Vec<Tally> = std::mem::take(&mut self.tallies).into_values().collect();
        store::add(tx, self.workspace, &tallies).await?;
        Ok(events.len() as u64)
    }

    /// Looks up, once for the batch, every user id and anonymous id it names; a user id that
    /// names nobody yet may be a person's external id.
    async fn learn(&mut self, tx: &mut Tx, events: &[Pending]) -> Result<(), DbError> {
        let users: BTreeSet<String> = events.iter().filter_map(|e| e.user_id.clone()).collect();
        let users: Vec<String> = users.into_iter().collect();
        self.users.extend(store::identities(tx, self.workspace, "user_id", &users).await?);
        let unknown: Vec<String> = users.into_iter().filter(|u| !self.users.contains_key(u)).collect();
        let found = crate::person::tracking::by_external_ids(tx, self.workspace, &unknown).await.map_err(person_db)?;
        let links: Vec<(&str, &str, PersonId)> = found.iter().map(|(u, p)| ("user_id", u.as_str(), *p)).collect();
        store::link(tx, self.workspace, &links, false, self.now).await?;
        self.users.extend(found);
        let visitors: BTreeSet<String> = events.iter().filter_map(|e| e.anonymous_id.clone()).collect();
        let visitors: Vec<String> = visitors.into_iter().collect();
        self.visitors.extend(store::identities(tx, self.workspace, "anonymous_id", &visitors).await?);
        Ok(())
    }

    fn person_of(&self, event: &Pending) -> Option<PersonId> {
        let user = event.user_id.as_ref().and_then(|u| self.users.get(u));
        user.or_else(|| event.anonymous_id.as_ref().and_then(|a| self.visitors.get(a))).copied()
    }

    async fn apply(&mut self, tx: &mut Tx, actor: &Actor, event: &Pending) -> Result<Option<PersonId>, StepError> {
        let person = match event.kind.as_str() {
            "identify" => self.identify(tx, actor, event).await?,
            "alias" => self.alias(tx, actor, event).await?,
            _ => self.person_of(event),
        };
        if event.kind == "group"
            && let Some(group_id) = &event.group_id
        {
            self.group(tx, actor, (group_id, event.traits.as_ref().map(|t| &t.0)), person).await?;
        }
        if let (Some(name), Some(properties)) = (&event.name, &event.properties) {
            let visitor =
                Visitor { person, user_id: event.user_id.as_deref(), anonymous_id: event.anonymous_id.as_deref() };
            let happened = (name.as_str(), &properties.0, event.occurred_at);
            crate::product::catalogue_event(tx, self.workspace, name, &properties.0).await?;
            if crate::order::ORDER_EVENTS.contains(&name.as_str()) {
                crate::order::record_event(tx, (self.workspace, actor), visitor, happened).await?;
            }
            if crate::cart::is_cart_event(name) {
                crate::cart::record_event(tx, self.workspace, visitor, happened).await?;
            }
        }
        Ok(person)
    }

    async fn identify(&mut self, tx: &mut Tx, actor: &Actor, event: &Pending) -> Result<Option<PersonId>, StepError> {
        let empty = Value::Object(Map::new());
        let traits = event.traits.as_ref().map_or(&empty, |t| &t.0);
        let keys: Vec<String> = self.people.iter().filter(|d| d.retired_at.is_none()).map(|d| d.key.clone()).collect();
        let mut patch = traits::person_patch(traits, &keys, &self.rules.person);
        let by_email = match patch.get("email").and_then(Value::as_str).and_then(|e| Email::parse(e).ok()) {
            Some(email) => crate::person::tracking::by_email(tx, self.workspace, &email.canonical()).await?,
            None => None,
        };
        let user = event.user_id.as_ref().and_then(|u| self.users.get(u)).copied();
        let visitor = event.anonymous_id.as_ref().and_then(|a| self.visitors.get(a)).copied();
        let person = match user.or(by_email).or(visitor) {
            Some(person) => {
                self.fill(tx, actor, person, &mut patch).await?;
                person
            }
            None if patch.is_empty() && event.user_id.is_none() => return Ok(None),
            None => self.create(tx, actor, event.user_id.as_deref(), patch).await?,
        };
        let mut links = Vec::new();
        if let Some(user) = &event.user_id {
            links.push(("user_id", user.as_str(), person));
        }
        if let Some(visitor) = &event.anonymous_id {
            links.push(("anonymous_id", visitor.as_str(), person));
        }
        store::link(tx, self.workspace, &links, true, self.now).await?;
        self.attach(tx, (actor, person), event.user_id.as_deref(), event.anonymous_id.as_deref()).await?;
        if let Some(user) = &event.user_id {
            self.users.insert(user.clone(), person);
        }
        if let Some(visitor) = &event.anonymous_id {
            self.visitors.insert(visitor.clone(), person);
        }
        Ok(Some(person))
    }

    /// Gives `person` the traits; fields a check refuses are left out and the rest stored.
    async fn fill(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        person: PersonId,
        patch: &mut Map<String, Value>,
    ) -> Result<(), StepError> {
        for _ in 0..2 {
            if patch.is_empty() {
                return Ok(());
            }
            let traits = Value::Object(patch.clone());
            match crate::person::tracking::fill_from(
                tx,
                (self.workspace, actor),
                person,
                &traits,
                (self.people, self.ctx),
            )
            .await
            {
                Err(crate::person::PersonError::Invalid(refused)) if traits::drop_fields(patch, refused.keys()) => {
                    continue;
                }
                other => return Ok(other?),
            }
        }
        Ok(())
    }

    async fn create(
        &self,
        tx: &mut Tx,
        actor: &Actor,
        user: Option<&str>,
        mut patch: Map<String, Value>,
    ) -> Result<PersonId, StepError> {
        if let Some(user) = user {
            patch.insert("external_id".into(), user.into());
        }
        patch.insert("source".into(), "tracking".into());
        loop {
            let input: PersonInput = serde_json::from_value(Value::Object(patch.clone()))
                .map_err(|e| crate::person::PersonError::Invalid([("body".to_owned(), vec![e.to_string()])].into()))?;
            match crate::person::tracking::create_from(tx, (self.workspace, actor), &input, (self.people, self.ctx))
                .await
            {
                Err(crate::person::PersonError::Invalid(refused))
                    if traits::drop_fields(&mut patch, refused.keys()) => {}
                other => return Ok(other?),
            }
        }
    }

    /// Attaches the earlier, unattributed events of the ids to `person`, with the orders and
    /// carts those events made.
    async fn attach(
        &mut self,
        tx: &mut Tx,
        (actor, person): (&Actor, PersonId),
        user: Option<&str>,
        visitor: Option<&str>,
    ) -> Result<(), DbError> {
        for (column, value) in [("user_id", user), ("anonymous_id", visitor)] {
            let Some(value) = value else { continue };
            for (kind, name, at) in store::attach(tx, self.workspace, column, value, person).await? {
                self.tally(person, &kind, name.as_deref(), at);
            }
            crate::order::attribute(tx, (self.workspace, actor), (column, value), person).await?;
            crate::cart::attribute(tx, self.workspace, (column, value), person).await?;
        }
        Ok(())
    }

    async fn alias(&mut self, tx: &mut Tx, actor: &Actor, event: &Pending) -> Result<Option<PersonId>, StepError> {
        let (Some(previous), Some(user)) = (&event.previous_id, &event.user_id) else {
            return Ok(self.person_of(event));
        };
        let target = self.users.get(user).copied();
        let earlier = match self.users.get(previous).or_else(|| self.visitors.get(previous)) {
            Some(person) => Some(*person),
            None => {
                let ids = [previous.clone()];
                let as_user = store::identities(tx, self.workspace, "user_id", &ids).await?;
                match as_user.first() {
                    Some((_, person)) => Some(*person),
                    None => store::identities(tx, self.workspace, "anonymous_id", &ids).await?.first().map(|(_, p)| *p),
                }
            }
        };
        match (target, earlier) {
            (Some(person), None) => {
                let links = [("user_id", previous.as_str(), person), ("anonymous_id", previous.as_str(), person)];
                store::link(tx, self.workspace, &links, false, self.now).await?;
                self.attach(tx, (actor, person), Some(previous), Some(previous)).await?;
                self.users.insert(previous.clone(), person);
                self.visitors.insert(previous.clone(), person);
                Ok(Some(person))
            }
            (None, Some(person)) => {
                store::link(tx, self.workspace, &[("user_id", user.as_str(), person)], false, self.now).await?;
                self.attach(tx, (actor, person), Some(user), None).await?;
                self.users.insert(user.clone(), person);
                Ok(Some(person))
            }
            (Some(person), Some(other)) if person != other => {
                tracing::info!(
                    event = event.id,
                    "an alias names two people already; both are kept, for a merge to decide"
                );
                Ok(Some(person))
            }
            (target, earlier) => Ok(target.or(earlier)),
        }
    }

    async fn group(
        &mut self,
        tx: &mut Tx,
        actor: &Actor,
        (group_id, traits): (&str, Option<&Value>),
        person: Option<PersonId>,
    ) -> Result<(), StepError> {
        let keys: Vec<String> =
            self.companies.iter().filter(|d| d.retired_at.is_none()).map(|d| d.key.clone()).collect();
        let empty = Value::Object(Map::new());
        let mut patch = traits::company_patch(traits.unwrap_or(&empty), &keys, &self.rules.company);
        patch.entry("name").or_insert_with(|| group_id.into());
        patch.insert("source".into(), "tracking".into());
        let company = loop {
            let input: CompanyInput = serde_json::from_value(Value::Object(patch.clone())).map_err(|e| {
                crate::company::CompanyError::Invalid([("body".to_owned(), vec![e.to_string()])].into())
            })?;
            let found = crate::company::tracking::by_group_id(
                tx,
                (self.workspace, actor),
                group_id,
                &input,
                (self.companies, self.ctx),
            )
            .await;
            match found {
                Err(crate::company::CompanyError::Invalid(refused))
                    if traits::drop_fields(&mut patch, refused.keys()) => {}
                other => break other?,
            }
        };
        if let (Some(company), Some(person)) = (company, person) {
            let title = traits.and_then(|t| t.get("title")).and_then(Value::as_str);
            crate::company::tracking::join(tx, (self.workspace, actor), (company, person), title).await?;
        }
        Ok(())
    }

    fn tally(&mut self, person: PersonId, kind: &str, name: Option<&str>, at: Timestamp) {
        let name = name.unwrap_or_default().to_owned();
        let tally = self.tallies.entry((person, kind.to_owned(), name.clone())).or_insert_with(|| Tally {
            person,
            kind: kind.to_owned(),
            name,
            count: 0,
            first: at,
            last: at,
        });
        tally.count += 1;
        tally.first = tally.first.min(at);
        tally.last = tally.last.max(at);
    }
}

/// Whether a track call's only effect beyond its person is cataloguing products: it places,
/// changes or fills nothing.
fn only_catalogues(name: &str) -> bool {
    !crate::order::ORDER_EVENTS.contains(&name) && !crate::cart::is_cart_event(name)
}

fn person_db(err: crate::person::PersonError) -> DbError {
    match err {
        crate::person::PersonError::Db(db) => db,
        other => DbError::Unavailable(other.to_string()),
    }
}

/// Moves a merged person's ids and events to the survivor, in the merge's transaction, and
/// answers the ids moved, for an undo.
pub async fn move_all(
    tx: &mut Tx,
    workspace: WorkspaceId,
    (from, to): (PersonId, PersonId),
) -> Result<Vec<(String, String)>, DbError> {
    let moved = store::move_identities(tx, workspace, from, to).await?;
    store::move_events(tx, workspace, from, to).await?;
    // The counters are added, not counted again from the events: events past the workspace's
    // retention are gone, what they counted is not.
    store::combine(tx, workspace, from, to).await?;
    Ok(moved)
}

/// Undoes [`move_all`]: the ids moved, and their events, go back to `to`; both people's
/// counters are counted again from the events they now hold.
pub async fn move_back(
    tx: &mut Tx,
    workspace: WorkspaceId,
    moved: &[(String, String)],
    (from, to): (PersonId, PersonId),
) -> Result<(), DbError> {
    store::move_back(tx, workspace, moved, from, to).await?;
    store::recount(tx, workspace, from).await?;
    store::recount(tx, workspace, to).await
}
