//! Integration tests of the storage crate, run against SQLite or, when
//! `RAPPORT_TEST_DATABASE_URL` names a server, PostgreSQL.

mod backup;
mod group_commit;
mod migrations;
mod sqlite_settings;
mod support;
mod url_refusal;
