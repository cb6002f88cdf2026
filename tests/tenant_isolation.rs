//! Tenant isolation, proven route by route: a member of workspace B sends every route the
//! application serves, with every HTTP method, carrying workspace A's ids in the path, the query
//! and the body. Each answer must be exactly the answer for an id that does not exist, and A's
//! data must not change. The route list comes from the application itself (the OpenAPI document
//! and the page router), so a route added later is covered without editing this file; a table
//! added later must get a fixture in [`seed`], or the first assertion says so.

#![allow(clippy::unwrap_used)]

mod util;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use rapport::access::{self, FieldRule};
use rapport::identity::{self, ClientInfo, Credential, Scope};
use rapport_core::WorkspaceId;
use util::{TestApp, TestResponse};

/// An id no workspace has.
const MISSING: i64 = 987_654_321;

/// Body and query fields that name records: B puts A's ids in all of them at once.
const ID_FIELDS: &[&str] =
    &["id", "user_id", "owner", "owner_id", "person_id", "company_id", "record_id", "target_id", "workspace_id"];

/// Tables whose rows are infrastructure and may hold nothing of A after seeding.
const MAY_BE_EMPTY: &[&str] = &["jobs"];

const METHODS: [Method; 5] = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];

/// Gives workspace A at least one row in every workspace-scoped table.
async fn seed(app: &TestApp, a: &rapport::workspace::Created) {
    identity::create_token(app.db(), a.workspace_id, a.owner_id, "seed", vec![Scope::All], None).await.unwrap();
    identity::start_session(app.db(), a.owner_id, ClientInfo { ip: None, user_agent: None, request_id: None })
        .await
        .unwrap();
    identity::two_factor::start_pending_login(app.db(), a.owner_id).await.unwrap();
    let token = identity::create_token(app.db(), a.workspace_id, a.owner_id, "admin", vec![Scope::All], None).await;
    let owner = identity::token_principal(app.db(), token.unwrap().secret.expose()).await.unwrap();
    let name = |raw: &str| access::Name::parse(raw).unwrap();
    let grants = vec![identity::Grant::parse("people:read:all").unwrap()];
    let role = access::create_role(app.db(), &owner, name("Auditors"), grants, None).await.unwrap();
    access::set_field_rule(
        app.db(),
        &owner,
        (&format!("role:{role}"), "person", "email"),
        Some(FieldRule::Hidden),
        None,
    )
    .await
    .unwrap();
    let invited = identity::invitation::NewInvitation::parse("invited@alpha.example", "member", Some(role)).unwrap();
    identity::invitation::invite(app.db(), &owner, invited, "http://alpha.example", None).await.unwrap();
    let team = access::create_team(app.db(), &owner, name("North"), None).await.unwrap();
    access::add_to_team(app.db(), &owner, team, a.owner_id, None).await.unwrap();
    let tier =
        serde_json::from_value(serde_json::json!({"key": "tier", "kind": "select", "options": ["gold"]})).unwrap();
    rapport::field::create(app.db(), &owner, rapport::field::Object::Person, tier).await.unwrap();
    let person = serde_json::json!({"first_name": "Alma", "email": "alma@alpha.example", "tier": "gold"});
    let input = serde_json::from_value(person).unwrap();
    let seeded = |_: &rapport::person::Person| serde_json::Value::Null;
    let created = rapport::person::create(app.db(), &owner, &input, Some("seed".into()), seeded);
    let rapport::person::Created::New(person) = created.await.unwrap() else { unreachable!("a fresh key") };
    let rules = access::field_access(app.db(), &owner, "person").await.unwrap();
    let view = serde_json::json!({"name": "Gold", "filter": {"field": "tier", "op": "is", "value": "gold"}});
    let view = serde_json::from_value(view).unwrap();
    rapport::view::create(app.db(), &owner, (&rapport::person::LIST_TABLE, &rules), view).await.unwrap();
    let asked = serde_json::json!({"object": "people", "format": "csv", "filter": {"tag": "vip"}});
    let export = rapport::export::NewExport::parse(&serde_json::from_value(asked).unwrap()).unwrap();
    rapport::export::request(app.db(), &owner, export, None).await.unwrap();
    let bulk = serde_json::json!({"action": "add_tag", "value": "vip", "ids": [person.id.get()]});
    let bulk = rapport::bulk::NewBulk::parse(rapport::bulk::Object::People, &serde_json::from_value(bulk).unwrap());
    rapport::bulk::request(app.db(), &owner, bulk.unwrap(), None).await.unwrap();
    let company = serde_json::from_value(serde_json::json!({"name": "Alpha Ltd", "domain": "alpha.example"})).unwrap();
    let listed = |_: &rapport::company::Company| serde_json::Value::Null;
    let created = rapport::company::create(app.db(), &owner, &company, None, listed);
    let rapport::company::Created::New(company) = created.await.unwrap() else { unreachable!("no key") };
    rapport::company::link(app.db(), &owner, (company.id, person.id), Some("CEO")).await.unwrap();
    let target = rapport::activity::Target::Person(person.id.get());
    rapport::activity::add_note(app.db(), &owner, target, "Met at the fair").await.unwrap();
    let task = serde_json::from_value(serde_json::json!({"title": "Call back", "assignee": a.owner_id.get()})).unwrap();
    rapport::activity::create_task(app.db(), &owner, Some(target), &task).await.unwrap();
    let storage = rapport::attachment::Storage::of(&app.state.config);
    let declared = rapport::attachment::Declared { file_name: Some("a.csv"), content_type: Some("text/csv") };
    let file = futures::stream::iter([Ok::<_, rapport::attachment::ReceiveError>(axum::body::Bytes::from("a,b\n"))]);
    rapport::attachment::upload(app.db(), &storage, &owner, target, declared, file).await.unwrap();
    let source = rapport::tracking::create_source(
        app.db(),
        (a.workspace_id, &rapport_core::Actor::System("test".into())),
        "website",
    )
    .await
    .unwrap();
    let source = rapport::tracking::source_for_key(app.db(), source.write_key.expose()).await.unwrap();
    // A customer who identifies, fills a cart, orders and returns an item: identities,
    // attributed events, aggregates, the catalogue, the cart and an order with its lines,
    // history and return.
    let calls = serde_json::json!({"batch": [
        {"type": "identify", "userId": "alpha-1", "messageId": "alpha-0", "traits": {"email": "ada@alpha.example"}},
        {"type": "track", "userId": "alpha-1", "event": "Signed Up", "messageId": "alpha-1"},
        {"type": "track", "userId": "alpha-1", "event": "Old Visit", "messageId": "alpha-old", "timestamp": "2020-01-01T00:00:00Z"},
        {"type": "track", "userId": "alpha-1", "event": "Product Added", "messageId": "alpha-1b", "properties": {
            "sku": "alpha-sku", "price": 40, "quantity": 2, "currency": "EUR"}},
        {"type": "track", "userId": "alpha-1", "event": "Order Completed", "messageId": "alpha-2", "properties": {
            "order_id": "alpha-order", "currency": "EUR",
            "products": [{"sku": "alpha-sku", "name": "Alpha Shoe", "category": "shoes", "price": 40, "quantity": 2}]}}
    ]});
    let payload = rapport::tracking::parse(calls.to_string().as_bytes(), None, chrono::Utc::now());
    rapport::tracking::ingest(app.db(), source, payload.unwrap().messages).await.unwrap();
    rapport::tracking::resolve_pending(app.db(), a.workspace_id).await.unwrap();
    // A retention that expires the old visit into a roll-up.
    let retention = rapport::tracking::RetentionInput { keep_months: 12.into(), roll_up: true };
    rapport::tracking::save_retention(app.db(), (a.workspace_id, &owner.actor()), &retention).await.unwrap();
    assert_eq!(rapport::tracking::expire(app.db(), chrono::Utc::now()).await.unwrap(), 1);
    let filter = rapport::order::OrderFilter { person: None, status: None, order_id: None, before: None, limit: 1 };
    let placed = rapport::order::list(app.db(), &owner, &filter).await.unwrap().0;
    let returned = rapport::order::ReturnInput {
        items: vec![rapport::order::ReturnedItem { sku: "alpha-sku".into(), quantity: 1 }],
        reason: Some("too small".into()),
        amount: None,
    };
    rapport::order::add_return(app.db(), &owner, rapport_core::OrderId::new(placed[0].id), &returned).await.unwrap();
    // Three Alan Turings at one address: duplicate detection keys them alike, the import flags
    // the later ones and the scan pairs them; two are merged, leaving a pair in the queue.
    let rows = "first_name,last_name,email,address.street,address.postal_code,birthday\n\
        Alan,Turing,alan@alpha.example,1 Bletchley Road,MK3 6EB,1912-06-23\n\
        Alan,Turing,a.turing@alpha.example,1 Bletchley Road,MK3 6EB,1912-06-23\n\
        Alan M.,Turing,,1 Bletchley Road,MK3 6EB,1912-06-23\nBad,,not-an-email,,,\n";
    let file = futures::stream::iter([Ok::<_, std::io::Error>(axum::body::Bytes::from(rows))]);
    let upload = rapport::import::Upload { file_name: "people.csv".into(), body: file };
    let storage = (app.state.config.data_dir.as_path(), app.state.config.imports.max_bytes);
    let import = rapport::import::upload(app.db(), storage, &owner, rapport::import::Object::People, upload);
    let import = import.await.unwrap();
    let duplicates =
        rapport::import::Duplicates { policy: rapport::import::DuplicatePolicy::Flag, ..Default::default() };
    let start = rapport::import::StartRequest { template: Some("Fair leads".into()), duplicates, ..Default::default() };
    rapport::import::start(app.db(), &app.state.config.data_dir, &owner, import.id, start, None).await.unwrap();
    app.run_pending_jobs().await;
    rapport::dedup::scan(app.db(), a.workspace_id, 0.0).await.unwrap();
    let best = rapport::dedup::pairs(app.db(), a.workspace_id, None, 1).await.unwrap().remove(0);
    let merge = rapport::merge::MergeRequest { survivor: best.a.id, merged: best.b.id, fields: Default::default() };
    rapport::merge::merge(app.db(), &owner, &merge).await.unwrap();
    rapport::merge::bulk(app.db(), &owner, 0.999).await.unwrap();
    // The sku and location are A's workspace id, so the probes' ids name a real level.
    let stocked = a.workspace_id.get().to_string();
    let level = rapport::inventory::SetStockInput { quantity: 3.into(), low_stock_threshold: None };
    rapport::inventory::set(app.db(), &owner, (&stocked, &stocked), &level).await.unwrap();
    rapport::inventory::save_settings(app.db(), &owner, &2.into()).await.unwrap();
    rapport::cart::save_settings(app.db(), &owner, &30.into()).await.unwrap();
    let rules = rapport::tracking::TraitRules {
        person: vec![rapport::tracking::TraitRule { name: "zip".into(), field: Some("address.postal_code".into()) }],
        company: Vec::new(),
    };
    rapport::tracking::save_trait_rules(app.db(), (a.workspace_id, &owner.actor()), &rules).await.unwrap();
}

/// What the caller can observe of an answer: status, error code and where a redirect leads,
/// with the id that was sent replaced so that two answers about different ids compare equal.
fn outcome(response: &TestResponse, sent: i64) -> (StatusCode, String, String) {
    let code = if response.header("content-type").starts_with("application/json") {
        response.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    let location = response.header("location").replace(&sent.to_string(), "{id}");
    (response.status, code, location)
}

/// B's credentials, made fresh for every request so that a route ending B's own session (log
/// out, revoke) cannot change how the next request is answered.
struct Caller {
    token: String,
    cookie: String,
    csrf: String,
}

async fn caller(app: &TestApp, b: &rapport::workspace::Created) -> Caller {
    let token = identity::create_token(app.db(), b.workspace_id, b.owner_id, "probe", vec![Scope::All], None)
        .await
        .unwrap()
        .secret
        .expose()
        .clone();
    let session =
        identity::start_session(app.db(), b.owner_id, ClientInfo { ip: None, user_agent: None, request_id: None })
            .await
            .unwrap();
    let cookie = session.cookie.expose().clone();
    let principal = identity::session_principal(app.db(), &cookie).await.unwrap();
    let Credential::Session { csrf_token } = principal.credential else { unreachable!("a session") };
    Caller { token, cookie, csrf: csrf_token.expose().clone() }
}

fn request(method: &Method, path: &str, id: i64, caller: &Caller) -> Request<Body> {
    let filled = fill(path, id);
    let query: String = ID_FIELDS.iter().map(|field| format!("{field}={id}")).collect::<Vec<_>>().join("&");
    let uri = format!("{filled}?{query}");
    let builder = Request::builder().method(method.clone()).uri(uri).header("host", "localhost");
    if path.starts_with("/api/") {
        let body: serde_json::Map<String, serde_json::Value> =
            ID_FIELDS.iter().map(|field| ((*field).to_owned(), id.into())).collect();
        builder
            .header("authorization", format!("Bearer {}", caller.token))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::Value::Object(body).to_string()))
            .unwrap()
    } else {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("csrf_token", &caller.csrf);
        for field in ID_FIELDS {
            form.append_pair(field, &id.to_string());
        }
        builder
            .header("cookie", format!("rapport_session={}", caller.cookie))
            .header("x-csrf-token", &caller.csrf)
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.finish()))
            .unwrap()
    }
}

/// The path with every `{parameter}` set to `id`.
fn fill(path: &str, id: i64) -> String {
    let mut filled = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map_or(rest.len(), |end| start + end + 1);
        filled.push_str(&rest[..start]);
        filled.push_str(&id.to_string());
        rest = &rest[end..];
    }
    filled.push_str(rest);
    filled
}

fn routes() -> BTreeSet<String> {
    let document = serde_json::to_value(rapport::http::openapi_document()).unwrap();
    let pages = rapport::http::pages();
    let api = document["paths"].as_object().unwrap().keys().cloned();
    api.chain(pages.paths().iter().map(|path| (*path).to_owned())).collect()
}

/// Every id of A's: its workspace, its members, and the `id` of each of its rows.
async fn ids_of(app: &TestApp, workspace: WorkspaceId) -> BTreeSet<i64> {
    let mut ids = BTreeSet::from([workspace.get()]);
    for table in app.workspace_tables().await {
        if app.columns(&table).await.iter().any(|c| c == "id") {
            ids.extend(app.column_in(&table, "id", workspace).await);
        }
    }
    ids.extend(app.column_in("memberships", "user_id", workspace).await);
    ids
}

async fn counts_of(app: &TestApp, workspace: WorkspaceId) -> BTreeMap<String, i64> {
    let mut counts = BTreeMap::new();
    for table in app.workspace_tables().await {
        counts.insert(table.clone(), app.count_in(&table, workspace).await);
    }
    counts
}

#[tokio::test]
async fn workspace_b_learns_nothing_about_and_changes_nothing_of_workspace_a_on_any_route() {
    let app = TestApp::new().await;
    let a = app.with_workspace("Alpha", "owner@alpha.example").await;
    let b = app.with_workspace("Beta", "owner@beta.example").await;
    seed(&app, &a).await;
    // B has a source of its own, so that its sources pages answer for B's ids and not A's.
    rapport::tracking::create_source(
        app.db(),
        (b.workspace_id, &rapport_core::Actor::System("test".into())),
        "beta website",
    )
    .await
    .unwrap();

    let before = counts_of(&app, a.workspace_id).await;
    let unseeded: Vec<_> =
        before.iter().filter(|(table, n)| **n == 0 && !MAY_BE_EMPTY.contains(&table.as_str())).collect();
    assert!(unseeded.is_empty(), "give workspace A a row in these tables in `seed`: {unseeded:?}");

    let ids = ids_of(&app, a.workspace_id).await;
    let routes = routes();
    assert!(routes.contains("/api/v1/me") && routes.contains("/login"), "the route list is complete: {routes:?}");
    let mut probes = 0;
    for path in &routes {
        for method in &METHODS {
            for id in &ids {
                let foreign = app.request(request(method, path, *id, &caller(&app, &b).await)).await;
                let missing = app.request(request(method, path, MISSING, &caller(&app, &b).await)).await;
                // Ids are numbered per table, so one of A's ids may also be the id of some row
                // of B's own (B's user, a token made for a probe): such an id is B's to use.
                if outcome(&foreign, *id) != outcome(&missing, MISSING)
                    && ids_of(&app, b.workspace_id).await.contains(id)
                {
                    continue;
                }
                assert_eq!(
                    outcome(&foreign, *id),
                    outcome(&missing, MISSING),
                    "{method} {path} with workspace A's id {id} answers differently from a missing id: {}",
                    foreign.text()
                );
                assert!(!foreign.status.is_server_error(), "{method} {path}: {}", foreign.text());
                probes += 1;
            }
        }
    }
    assert_eq!(counts_of(&app, a.workspace_id).await, before, "workspace A's data changed");
    assert!(probes >= routes.len() * METHODS.len(), "every route and method was probed");
}
