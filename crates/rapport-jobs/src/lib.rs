//! Durable background work for Rapport: the jobs queue, the worker that runs it, the scheduler
//! of recurring jobs, and delivery of domain events from the outbox to subscribers.
//!
//! Everything is enqueued or recorded inside the caller's write transaction ([`enqueue`],
//! [`record_event`]), so a job or event exists if and only if the change that caused it
//! committed. Workers in any number of processes share the tables: leases with heartbeats make
//! a job run in one place at a time, and a job whose worker died runs again once its lease
//! expires.

pub mod maintenance;
mod outbox;
mod queue;
mod scheduler;
mod store;
mod worker;

pub use outbox::{
    DomainEvent, NewDomainEvent, SubscriberFn, SubscriberStatus, Subscribers, record_event, record_events,
    subscriber_status,
};
pub use queue::{JobRow, JobStatus, NewJob, QueueDepth, enqueue, list_jobs, queue_depths, retry_dead_job};
pub use scheduler::{Schedule, Scheduler};
pub use worker::{HandlerFn, JobContext, Registry, RetryPolicy, Waker, Worker, WorkerConfig};
