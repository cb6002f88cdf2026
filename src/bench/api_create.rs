//! `api-create`: `POST /api/v1/people` with a full-access token at 32 kept-alive connections,
//! each request a new person (name, unique e-mail, lifecycle stage, tag) answered only once it
//! is durable with its audit row and domain event. The raw baseline inserts the same person as
//! one autocommit INSERT each (SQLite: one connection, WAL, `synchronous=FULL`; PostgreSQL: a
//! pool of 32), durable too but with nothing else written. The goal (issue #5): p99 ≤ 15 ms and
//! ≥ 2,000 creates/s.

use std::future::Future;

use hyper::Method;
use serde_json::json;
use sqlx::types::Json;

use super::load::Operation;
use super::people_api::{self, CONNECTIONS, Raw, on_raw};
use super::report::Report;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "api-create",
    summary: "POST /api/v1/people at 32 connections, durable, against raw single-row autocommit INSERTs",
    run: |cx| Box::pin(run(cx)),
};

/// The `n`th new person of a connection, as the API takes it.
fn person(connection: usize, n: u64) -> serde_json::Value {
    json!({
        "first_name": "Bench",
        "last_name": format!("Person {connection}-{n}"),
        "email": format!("bench.{connection}.{n}@example.com"),
        "lifecycle_stage": "lead",
        "tags": ["benchmark"],
    })
}

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let prepared = people_api::prepare(cx).await?;
    let measured = people_api::measure_server(cx, &prepared, |connection, requests| {
        let mut n = 0;
        move || {
            n += 1;
            requests.build(Method::POST, "/api/v1/people", Some(person(connection, n).to_string().into_bytes()))
        }
    })
    .await?;
    let raw = Raw::open(cx, true).await?;
    let system = match raw {
        Raw::Sqlite(_) => raw.system("autocommit INSERT, 1 connection"),
        Raw::Postgres(_) => raw.system("autocommit INSERT, pool of 32"),
    };
    let workers = (0..CONNECTIONS)
        .map(|connection| RawInsert { raw: raw.clone(), workspace: prepared.workspace, connection, n: 0 })
        .collect();
    let baseline = raw.drive(cx, workers).await?;
    let label = format!("POST person, {} people before", prepared.people);
    people_api::report(cx, SCENARIO.name, label, measured, (baseline, &system))
}

struct RawInsert {
    raw: Raw,
    workspace: rapport_core::WorkspaceId,
    connection: usize,
    n: u64,
}

impl Operation for RawInsert {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        const INSERT: &str = "INSERT INTO people (workspace_id, first_name, last_name, email, email_canonical, emails, \
             lifecycle_stage, tags, created_at, updated_at) VALUES ($1, $2, $3, $4, $4, $5, $6, $7, $8, $8)";
        self.n += 1;
        let (raw, workspace) = (self.raw.clone(), self.workspace);
        let last_name = format!("Raw {}-{}", self.connection, self.n);
        let email = format!("raw.{}.{}@example.com", self.connection, self.n);
        let emails = Json(json!([{ "value": email, "label": "work", "primary": true }]));
        let tags = Json(json!(["benchmark"]));
        async move {
            let now = chrono::Utc::now();
            on_raw!(raw, pool => sqlx::query(INSERT)
                .bind(workspace)
                .bind("Bench")
                .bind(&last_name)
                .bind(&email)
                .bind(&emails)
                .bind("lead")
                .bind(&tags)
                .bind(now)
                .execute(&pool)
                .await
                .map(|_| ()))?;
            Ok(())
        }
    }
}
