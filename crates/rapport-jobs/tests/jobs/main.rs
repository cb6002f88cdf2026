//! Integration tests of the jobs crate, run against SQLite or, when
//! `RAPPORT_TEST_DATABASE_URL` names a server, PostgreSQL.

mod crash;
mod outbox;
mod queue;
mod retries;
mod scheduler;
mod support;
mod two_workers;
