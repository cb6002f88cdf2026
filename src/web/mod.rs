//! The web UI shell: the page layout every module's pages extend, static assets embedded in
//! the binary under content-hashed URLs (cached for a year, since a new build means a new URL),
//! the home page and the error page.

mod assets;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

pub use assets::asset_url;

use crate::app::AppState;
use crate::http::Pages;
use crate::identity::{Credential, Principal};

pub(crate) fn router() -> Pages {
    Pages::new().route("/", get(home)).route("/assets/{file}", get(assets::serve))
}

/// What the layout needs on every page.
pub struct Layout {
    pub title: String,
    pub css: &'static str,
    pub js: &'static str,
    pub icon: &'static str,
    pub nav: Nav,
}

/// Which links of the main navigation the caller may follow. A page that does not know its
/// caller shows only what everyone finds: home, people (which asks to sign in) and the API.
pub struct Nav {
    pub people: bool,
    pub companies: bool,
    /// Orders and the product catalogue.
    pub orders: bool,
    /// Everyone signed in has tasks.
    pub tasks: bool,
    pub members: bool,
    pub settings: bool,
    pub roles: bool,
    pub audit: bool,
    pub inventory: bool,
    /// The top bar's search box, for a signed-in caller who may read people or companies.
    pub search: bool,
}

impl Nav {
    fn of(principal: &Principal) -> Self {
        let admin = principal.can("workspace", crate::identity::Action::Admin).is_some();
        let people = principal.can("people", crate::identity::Action::Read).is_some();
        let companies = principal.can("companies", crate::identity::Action::Read).is_some();
        Self {
            people,
            companies,
            orders: principal.can("orders", crate::identity::Action::Read).is_some(),
            search: people || companies,
            tasks: true,
            members: admin,
            settings: admin,
            roles: admin,
            audit: crate::audit::web::may_open(principal),
            inventory: principal.may(crate::inventory::MODULE, false),
        }
    }
}

impl Layout {
    pub fn new(title: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            css: asset_url("app.css"),
            js: asset_url("app.js"),
            icon: asset_url("icon.svg"),
            nav: Nav {
                people: true,
                companies: true,
                orders: false,
                tasks: false,
                members: false,
                settings: false,
                roles: false,
                audit: false,
                inventory: false,
                search: false,
            },
        }
    }

    /// The layout of a signed-in caller's page: the navigation offers what they may open.
    pub fn for_caller(title: impl Into<String>, principal: &Principal) -> Self {
        Self { nav: Nav::of(principal), ..Self::new(title) }
    }
}

/// The CSRF token a page's forms carry: the session's, or nothing for a bearer token (which
/// cannot post forms).
pub fn csrf_token(principal: &Principal) -> String {
    match &principal.credential {
        Credential::Session { csrf_token } => csrf_token.expose().clone(),
        Credential::Token { .. } => String::new(),
    }
}

/// Renders a template into a response, or a 500 page if rendering fails.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "rendering a page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><title>Error</title><p>An internal error occurred.</p>".to_owned()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
    needs_setup: bool,
    signed_in: Option<SignedIn>,
    version: &'static str,
}

struct SignedIn {
    email: String,
    workspace: String,
    role: &'static str,
    csrf_token: String,
}

async fn home(State(state): State<AppState>, principal: Option<Principal>) -> Result<Response, crate::http::ApiError> {
    let needs_setup = crate::workspace::needs_setup(&state.db).await?;
    let layout = principal.as_ref().map_or_else(|| Layout::new("Welcome"), |p| Layout::for_caller("Welcome", p));
    let signed_in = principal.map(|p| SignedIn {
        csrf_token: csrf_token(&p),
        email: p.email,
        workspace: p.workspace_name,
        role: p.role.as_str(),
    });
    let page = HomePage { layout, needs_setup, signed_in, version: env!("CARGO_PKG_VERSION") };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    status: u16,
    reason: &'a str,
    message: &'a str,
    request_id: &'a str,
}

/// The page shown for any failed browser request, with the request id a user can quote.
pub fn error_page(status: StatusCode, message: &str, request_id: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    render(status, &ErrorPage { layout: Layout::new(reason), status: status.as_u16(), reason, message, request_id })
}

/// Refuses a state-changing browser request that another site initiated: `Sec-Fetch-Site`
/// (sent by every current browser) must be same-origin or none, and an `Origin` header, when
/// present, must name this host.
pub fn require_same_origin(headers: &axum::http::HeaderMap) -> Result<(), crate::http::ApiError> {
    let forbidden = || crate::http::ApiError::Forbidden("cross-site requests are not accepted".into());
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return Err(forbidden());
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(axum::http::header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
        if origin == "null" || origin_host != host {
            return Err(forbidden());
        }
    }
    Ok(())
}
