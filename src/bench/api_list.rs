//! `api-list`: `GET /api/v1/people?lifecycle_stage=…&cursor=…&limit=50` with a full-access
//! token at 32 kept-alive connections: a filtered page of 50, newest first, starting at a
//! pseudo-random place in the list, with the capped count the endpoint answers beside it. The
//! raw baseline runs the same two queries (the page and the count capped at 10,001) from a pool
//! of 32. The goal (issue #5): p99 ≤ 25 ms.

use std::future::Future;
use std::sync::Arc;

use hyper::Method;

use super::load::Operation;
use super::people_api::{self, COLUMNS, CONNECTIONS, Prepared, Raw, on_raw};
use super::report::Report;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "api-list",
    summary: "GET /api/v1/people filtered, 50 a page, at 32 connections, against the raw page and count queries",
    run: |cx| Box::pin(run(cx)),
};

const STAGES: [&str; 3] = ["customer", "lead", "subscriber"];
const PAGE: i64 = 50;
const COUNT_CAP: i64 = crate::person::COUNT_CAP + 1;

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let prepared = Arc::new(people_api::prepare(cx).await?);
    let measured = people_api::measure_server(cx, &prepared, |connection, requests| {
        let prepared = Arc::clone(&prepared);
        let mut n = 0;
        move || {
            n += 1;
            let (stage, cursor) = page_of(&prepared, connection, n);
            let path = format!("/api/v1/people?lifecycle_stage={stage}&cursor={cursor}&limit={PAGE}");
            requests.build(Method::GET, &path, None)
        }
    })
    .await?;
    let raw = Raw::open(cx, false).await?;
    let system = raw.system("page + capped count, pool of 32");
    let workers = (0..CONNECTIONS)
        .map(|connection| ListQueries { raw: raw.clone(), prepared: Arc::clone(&prepared), connection, n: 0 })
        .collect();
    let baseline = raw.drive(cx, workers).await?;
    let label = format!("GET people, filtered page of {PAGE}, {} people", prepared.people);
    people_api::report(cx, SCENARIO.name, label, measured, (baseline, &system))
}

/// The `n`th request's stage filter and cursor: the page starts somewhere in the list.
fn page_of(prepared: &Prepared, connection: usize, n: u64) -> (&'static str, i64) {
    (STAGES[(n as usize + connection) % STAGES.len()], prepared.id(connection, n) + 1)
}

struct ListQueries {
    raw: Raw,
    prepared: Arc<Prepared>,
    connection: usize,
    n: u64,
}

impl Operation for ListQueries {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.n += 1;
        let (stage, cursor) = page_of(&self.prepared, self.connection, self.n);
        let (raw, workspace) = (self.raw.clone(), self.prepared.workspace);
        async move {
            let page = sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM people WHERE workspace_id = $1 AND deleted_at IS NULL AND lifecycle_stage = $2 \
                 AND id < $3 ORDER BY id DESC LIMIT $4"
            ));
            let count = "SELECT count(*) FROM (SELECT 1 FROM people WHERE workspace_id = $1 AND deleted_at IS NULL \
                         AND lifecycle_stage = $2 LIMIT $3) AS capped";
            let counted: i64 = on_raw!(raw, pool => {
                sqlx::query(page).bind(workspace).bind(stage).bind(cursor).bind(PAGE + 1).fetch_all(&pool).await?;
                sqlx::query_scalar(count).bind(workspace).bind(stage).bind(COUNT_CAP).fetch_one(&pool).await?
            });
            anyhow::ensure!(counted > 0, "no {stage} in the workspace");
            Ok(())
        }
    }
}
