//! Domain events reach subscribers only once their write committed, in order and once each,
//! every subscriber at its own pace.
//!
//! On PostgreSQL an event becomes deliverable only when no older transaction is still running
//! anywhere on the server, so these tests deliver until the expected events arrived rather than
//! counting on one delivery round.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rapport_core::WorkspaceId;
use rapport_db::{Backend, Db, DbError};
use rapport_jobs::{DomainEvent, NewDomainEvent, SubscriberStatus, Subscribers, record_event, subscriber_status};
use rapport_test_db::TestDb;
use serde_json::json;

use crate::support::{create_workspace, eventually, skip_unless};

const WORKER: &str = "test-worker";

fn contact_created(workspace: WorkspaceId, contact: i64) -> NewDomainEvent {
    NewDomainEvent {
        workspace_id: workspace,
        kind: "contact.created".into(),
        entity_type: "contact".into(),
        entity_id: contact,
        payload: json!({ "contact": contact }),
        actor: "system".into(),
        request_id: None,
    }
}

/// Records one `contact.created` event per contact, all in one write.
async fn record_contacts(db: &Db, workspace: WorkspaceId, contacts: &[i64]) {
    let events: Vec<_> = contacts.iter().map(|contact| contact_created(workspace, *contact)).collect();
    db.write(move |tx| {
        Box::pin(async move {
            for event in &events {
                record_event(tx, event).await?;
            }
            Ok::<_, DbError>(())
        })
    })
    .await
    .expect("the events are recorded");
}

/// The batches a subscriber received, in the order it received them.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Vec<DomainEvent>>>>);

impl Received {
    fn push(&self, batch: Vec<DomainEvent>) {
        self.0.lock().expect("not poisoned").push(batch);
    }

    fn batches(&self) -> Vec<Vec<i64>> {
        let batches = self.0.lock().expect("not poisoned");
        batches.iter().map(|batch| batch.iter().map(|event| event.entity_id).collect()).collect()
    }

    /// The contacts of every event received, in order.
    fn contacts(&self) -> Vec<i64> {
        self.batches().concat()
    }

    fn last_event_id(&self) -> Option<i64> {
        self.0.lock().expect("not poisoned").iter().flatten().last().map(|event| event.id)
    }

    /// A subscriber that records what it receives and succeeds.
    fn subscriber(
        &self,
    ) -> impl Fn(Db, Vec<DomainEvent>) -> std::future::Ready<anyhow::Result<()>> + Send + Sync + 'static {
        let received = self.clone();
        move |_db, events| {
            received.push(events);
            std::future::ready(Ok(()))
        }
    }
}

/// Delivers until `done` holds.
async fn deliver_until(db: &Db, subscribers: &Subscribers, what: &str, done: impl Fn() -> bool) {
    eventually(what, || async {
        subscribers.deliver_pending(db, WORKER).await;
        done()
    })
    .await;
}

async fn status_of(db: &Db, subscriber: &str) -> SubscriberStatus {
    subscriber_status(db)
        .await
        .expect("positions can be read")
        .into_iter()
        .find(|status| status.subscriber == subscriber)
        .expect("the subscriber has a position")
}

#[tokio::test]
async fn events_of_a_rolled_back_write_are_never_delivered() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let workspace = create_workspace(db).await;
    let timeline = Received::default();
    let subscribers = Subscribers::new().subscribe("timeline", timeline.subscriber());

    let rolled_back = db
        .write(move |tx| {
            Box::pin(async move {
                record_event(tx, &contact_created(workspace, 1)).await?;
                Err::<(), _>(DbError::NotFound)
            })
        })
        .await;
    record_contacts(db, workspace, &[2]).await;
    deliver_until(db, &subscribers, "the committed event arrived", || timeline.contacts().contains(&2)).await;
    subscribers.deliver_pending(db, WORKER).await;

    assert!(rolled_back.is_err());
    assert_eq!(timeline.contacts(), vec![2]);
}

#[tokio::test]
async fn committed_events_reach_a_subscriber_in_order_exactly_once() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let workspace = create_workspace(db).await;
    let timeline = Received::default();
    let subscribers = Subscribers::new().subscribe("timeline", timeline.subscriber());

    for contact in 1..=5 {
        record_contacts(db, workspace, &[contact]).await;
    }
    deliver_until(db, &subscribers, "five events arrived", || timeline.contacts().len() >= 5).await;
    let delivered_again = subscribers.deliver_pending(db, WORKER).await;

    assert_eq!(timeline.contacts(), vec![1, 2, 3, 4, 5]);
    assert_eq!(delivered_again, 0);
    let status = status_of(db, "timeline").await;
    assert_eq!(Some(status.last_event_id), timeline.last_event_id());
    assert_eq!(status.last_error, None);
}

#[tokio::test]
async fn a_failing_subscriber_stays_put_and_receives_the_same_batch_again() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let workspace = create_workspace(db).await;
    let search = Received::default();
    let subscribers = Subscribers::new().subscribe("search", {
        let search = search.clone();
        move |_db, events| {
            search.push(events);
            let first_call = search.batches().len() == 1;
            async move {
                anyhow::ensure!(!first_call, "the search index is down");
                Ok(())
            }
        }
    });
    record_contacts(db, workspace, &[1, 2, 3]).await;

    deliver_until(db, &subscribers, "the subscriber failed once", || !search.batches().is_empty()).await;
    let after_failure = status_of(db, "search").await;
    deliver_until(db, &subscribers, "the batch was delivered again", || search.batches().len() >= 2).await;
    let after_success = status_of(db, "search").await;

    assert_eq!(search.batches(), vec![vec![1, 2, 3], vec![1, 2, 3]]);
    assert_eq!(after_failure.last_event_id, 0, "a failed batch does not move the subscriber");
    assert!(after_failure.last_error.is_some_and(|error| error.contains("the search index is down")));
    assert_eq!(Some(after_success.last_event_id), search.last_event_id());
    assert_eq!(after_success.last_error, None);
}

#[tokio::test]
async fn two_subscribers_progress_independently() {
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let workspace = create_workspace(db).await;
    let timeline = Received::default();
    let webhook_calls = Arc::new(AtomicUsize::new(0));
    let subscribers = Subscribers::new()
        .subscribe("webhooks", {
            let calls = Arc::clone(&webhook_calls);
            move |_db, _events| {
                calls.fetch_add(1, Ordering::SeqCst);
                std::future::ready(Err(anyhow::anyhow!("the endpoint is unreachable")))
            }
        })
        .subscribe("timeline", timeline.subscriber());

    record_contacts(db, workspace, &[1, 2, 3]).await;
    deliver_until(db, &subscribers, "the timeline has three events", || timeline.contacts().len() >= 3).await;
    record_contacts(db, workspace, &[4, 5]).await;
    deliver_until(db, &subscribers, "the timeline has five events and the webhooks were tried twice", || {
        timeline.contacts().len() >= 5 && webhook_calls.load(Ordering::SeqCst) >= 2
    })
    .await;

    assert_eq!(timeline.contacts(), vec![1, 2, 3, 4, 5], "the timeline never received an event twice");
    assert_eq!(Some(status_of(db, "timeline").await.last_event_id), timeline.last_event_id());
    let webhooks = status_of(db, "webhooks").await;
    assert_eq!(webhooks.last_event_id, 0, "the failing subscriber has not moved");
    assert!(webhooks.last_error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_committed_after_a_later_numbered_one_is_still_delivered_on_postgres() {
    if !skip_unless(Backend::Postgres, "an_event_committed_after_a_later_numbered_one_is_still_delivered_on_postgres") {
        return;
    }
    let test_db = TestDb::new().await;
    let db = test_db.db();
    let workspace = create_workspace(db).await;
    let timeline = Received::default();
    let subscribers = Subscribers::new().subscribe("timeline", timeline.subscriber());

    // The first write takes the smaller event id, then stays open while a second write records
    // a larger id and commits, and a delivery round runs.
    let (recorded, has_recorded) = tokio::sync::oneshot::channel();
    let (commit, may_commit) = tokio::sync::oneshot::channel::<()>();
    let slow = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |tx| {
                Box::pin(async move {
                    record_event(tx, &contact_created(workspace, 1)).await?;
                    let _ = recorded.send(());
                    let _ = may_commit.await;
                    Ok::<_, DbError>(())
                })
            })
            .await
        }
    });
    has_recorded.await.expect("the slow write recorded its event");
    record_contacts(db, workspace, &[2]).await;
    subscribers.deliver_pending(db, WORKER).await;
    let _ = commit.send(());
    slow.await.expect("no panic").expect("the slow write commits");

    deliver_until(db, &subscribers, "both events arrived", || timeline.contacts().len() >= 2).await;
    subscribers.deliver_pending(db, WORKER).await;
    let mut contacts = timeline.contacts();
    contacts.sort_unstable();
    assert_eq!(contacts, vec![1, 2]);
}
