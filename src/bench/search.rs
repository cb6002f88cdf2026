//! `search`: `GET /api/v1/search?q=…` with a full-access token at 32 kept-alive connections,
//! over queries made from the workspace's own people: full names, names with a typo, the
//! beginning of a last name, and a misspelt first name alone. The raw baseline asks the
//! database's own text index for the correctly spelt words as prefixes (an FTS5 `MATCH` on
//! SQLite, a tsvector `@@` on PostgreSQL), 20 rows, no typo handling, no ranking of ours. The goal (issue #5):
//! p95 ≤ 30 ms.

use std::future::Future;
use std::sync::Arc;

use hyper::Method;
use rapport_db::{Db, DbOptions, sql};

use super::load::Operation;
use super::people_api::{self, CONNECTIONS, Raw, on_raw};
use super::report::Report;
use super::{Context, Scenario};

pub const SCENARIO: Scenario = Scenario {
    name: "search",
    summary: "GET /api/v1/search with names, typos and prefixes at 32 connections, against the raw text index",
    run: |cx| Box::pin(run(cx)),
};

/// Distinct people the queries are made from.
const SAMPLED: usize = 256;

async fn run(cx: &Context) -> anyhow::Result<Report> {
    let prepared = people_api::prepare(cx).await?;
    let queries = Arc::new(queries(cx, &prepared).await?);
    anyhow::ensure!(!queries.is_empty(), "the workspace has no named people to search for");
    let measured = people_api::measure_server(cx, &prepared, |connection, requests| {
        let queries = Arc::clone(&queries);
        let mut n = connection * 7;
        move || {
            n += 1;
            let query = &queries[n % queries.len()];
            requests.build(Method::GET, &format!("/api/v1/search?q={}", encoded(&query.typed)), None)
        }
    })
    .await?;
    let raw = Raw::open(cx, false).await?;
    let system = raw.system(match raw {
        Raw::Sqlite(_) => "FTS5 prefix MATCH, pool of 32",
        Raw::Postgres(_) => "tsvector prefix @@, pool of 32",
    });
    let workers = (0..CONNECTIONS)
        .map(|connection| TextIndex {
            raw: raw.clone(),
            queries: Arc::clone(&queries),
            workspace: prepared.workspace.get(),
            n: connection * 7,
        })
        .collect();
    let baseline = raw.drive(cx, workers).await?;
    let label = format!("search people by name (typos, prefixes), {} people", prepared.people);
    people_api::report(cx, SCENARIO.name, label, measured, (baseline, &system))
}

/// A query as a user types it, and the correctly spelt words the raw index is asked for.
struct Search {
    typed: String,
    words: Vec<String>,
}

/// Queries of four kinds, in turn, from people spread over the whole table.
async fn queries(cx: &Context, prepared: &people_api::Prepared) -> anyhow::Result<Vec<Search>> {
    let db = Db::connect(&DbOptions::new(cx.target.database_url())).await?;
    let mut found = Vec::with_capacity(SAMPLED);
    for n in 0..SAMPLED as u64 {
        let id = prepared.id(0, n);
        let name: Option<(Option<String>, Option<String>)> = sql!(db.exec(), c => sqlx::query_as(
            "SELECT first_name, last_name FROM people WHERE workspace_id = $1 AND id >= $2 ORDER BY id LIMIT 1"
        ).bind(prepared.workspace).bind(id).fetch_optional(c).await)?;
        if let Some((Some(first), Some(last))) = name {
            found.push(search(n as usize, &first.to_lowercase(), &last.to_lowercase()));
        }
    }
    db.close().await;
    Ok(found)
}

fn search(kind: usize, first: &str, last: &str) -> Search {
    let prefix: String = last.chars().take(4).collect();
    let (typed, words) = match kind % 4 {
        0 => (format!("{first} {last}"), vec![first.to_owned(), last.to_owned()]),
        1 => (format!("{first} {}", typo(last)), vec![first.to_owned(), last.to_owned()]),
        2 => (prefix.clone(), vec![prefix]),
        _ => (typo(first), vec![first.to_owned()]),
    };
    // The raw index is asked for whole runs of letters and digits, as the application cuts
    // words: an apostrophe or a hyphen would be query syntax to it.
    let words = words
        .iter()
        .flat_map(|word| {
            word.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    Search { typed, words }
}

/// The word with two neighbouring letters swapped past its first, the commonest typo; words
/// too short to swap are left as they are.
fn typo(word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() >= 4 {
        chars.swap(2, 3);
    }
    chars.into_iter().collect()
}

fn encoded(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

struct TextIndex {
    raw: Raw,
    queries: Arc<Vec<Search>>,
    workspace: i64,
    n: usize,
}

impl Operation for TextIndex {
    fn run(&mut self) -> impl Future<Output = anyhow::Result<()>> + Send {
        self.n += 1;
        let (raw, queries, workspace, n) = (self.raw.clone(), Arc::clone(&self.queries), self.workspace, self.n);
        async move {
            let words = &queries[n % queries.len()].words;
            let sqlite = matches!(raw, Raw::Sqlite(_));
            on_raw!(raw, pool => {
                let mut select = sqlx::QueryBuilder::new("");
                if sqlite {
                    let phrases: Vec<String> = words.iter().map(|w| format!("\"{w}\"*")).collect();
                    select.push("SELECT d.id FROM search_words s CROSS JOIN search_documents d ON d.id = s.rowid WHERE search_words MATCH ")
                        .push_bind(phrases.join(" AND "))
                        .push(" AND d.workspace_id = ")
                        .push_bind(workspace)
                        .push(" ORDER BY s.rank LIMIT 20");
                } else {
                    let prefixes: Vec<String> = words.iter().map(|w| format!("{w}:*")).collect();
                    select
                        .push("SELECT d.id FROM search_documents d WHERE d.workspace_id = ")
                        .push_bind(workspace)
                        .push(" AND d.words @@ to_tsquery('simple', ")
                        .push_bind(prefixes.join(" & "))
                        .push(") LIMIT 20");
                }
                select.build().fetch_all(&pool).await?;
            });
            Ok(())
        }
    }
}
