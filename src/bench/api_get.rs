//! `api-get`: `GET /api/v1/people/{id}` with a full-access token at 32 kept-alive connections,
//! ids spread over every person of the workspace, beside the raw database answering the same
//! point SELECT by id from a pool of 32. The goal (issue #5): p99 ≤ 5 ms and ≥ 5,000 requests/s.

use std::future::Future;

use hyper::Method;
use sqlx::Row as _;

use super::load::Operation;
use super::people_api::{self, COLUMNS, CONNECTIONS, Prepared, Raw, on_raw};
use super::report::Report;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "api-get",
    summary: "GET /api/v1/people/{id} at 32 connections, against a raw point SELECT by id",
    run: |cx| Box::pin(run(cx)),
};

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let prepared = std::sync::Arc::new(people_api::prepare(cx).await?);
    let measured = people_api::measure_server(cx, &prepared, |connection, requests| {
        let prepared = std::sync::Arc::clone(&prepared);
        let mut n = 0;
        move || {
            n += 1;
            requests.build(Method::GET, &format!("/api/v1/people/{}", prepared.id(connection, n)), None)
        }
    })
    .await?;
    let raw = Raw::open(cx, false).await?;
    let system = raw.system("point SELECT, pool of 32");
    let workers = (0..CONNECTIONS)
        .map(|connection| PointSelect {
            raw: raw.clone(),
            prepared: std::sync::Arc::clone(&prepared),
            connection,
            n: 0,
        })
        .collect();
    let baseline = raw.drive(cx, workers).await?;
    let label = format!("GET person by id, {} people", prepared.people);
    people_api::report(cx, SCENARIO.name, label, measured, (baseline, &system))
}

struct PointSelect {
    raw: Raw,
    prepared: std::sync::Arc<Prepared>,
    connection: usize,
    n: u64,
}

impl Operation for PointSelect {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.n += 1;
        let (raw, workspace, id) =
            (self.raw.clone(), self.prepared.workspace, self.prepared.id(self.connection, self.n));
        async move {
            let sql = sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM people WHERE workspace_id = $1 AND id = $2"));
            let found = on_raw!(raw, pool => sqlx::query(sql).bind(workspace).bind(id).fetch_optional(&pool).await?.map(|r| r.len()));
            anyhow::ensure!(found.is_some(), "person {id} is missing");
            Ok(())
        }
    }
}
