//! Recognising the caller of a request. API clients send `Authorization: Bearer TOKEN`; browsers
//! send the session cookie. A state-changing request made with a session must also prove it
//! came from our own pages: same origin (`Sec-Fetch-Site` / `Origin`), and the session's CSRF
//! token, either in the `x-csrf-token` header (scripts) or in the `csrf_token` field of a form
//! read with [`SessionForm`]. Bearer requests carry no ambient credential and are exempt.

use axum::extract::{Form, FromRequest, FromRequestParts, Multipart, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::ApiError;
use crate::app::AppState;
use crate::identity::{self, AuthError, Credential, Principal};

/// Over TLS the cookie is named `__Host-rapport_session`: browsers then refuse it unless it is
/// Secure, host-only and path `/`, so no sibling domain can plant one.
pub const SESSION_COOKIE: &str = "rapport_session";
const CSRF_HEADER: &str = "x-csrf-token";

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::BadCredentials | AuthError::Unauthenticated | AuthError::NoWorkspace => Self::Unauthorized,
            AuthError::Throttled(until) => {
                Self::RateLimited { retry_after_secs: (until - chrono::Utc::now()).num_seconds().max(1) }
            }
            AuthError::Db(db) => db.into(),
        }
    }
}

pub fn session_cookie_value(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE)
}

/// The value of cookie `name`, or of its `__Host-` form set over TLS.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|pair| {
        let (found, value) = pair.trim().split_once('=')?;
        (found == name || found.strip_prefix("__Host-") == Some(name)).then(|| value.to_owned())
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Authenticates without the CSRF check; callers decide how the token is presented.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let principal = if let Some(token) = bearer(&parts.headers) {
        identity::token_principal(&state.db, token).await?
    } else {
        let cookie = session_cookie_value(&parts.headers).ok_or(ApiError::Unauthorized)?;
        identity::session_principal(&state.db, &cookie).await?
    };
    if principal.must_enrol_two_factor && !ENROLMENT_PATHS.contains(&parts.uri.path()) {
        return Err(ApiError::TwoFactorRequired);
    }
    Ok(principal)
}

/// All a member may reach while their workspace requires two-factor and they have not enrolled.
const ENROLMENT_PATHS: &[&str] = &["/account/two-factor", "/account/two-factor/enable", "/logout"];

fn check_csrf(principal: &Principal, presented: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Credential::Session { csrf_token } = &principal.credential else {
        return Ok(());
    };
    crate::web::require_same_origin(headers)?;
    let presented = presented.unwrap_or_default();
    if presented.is_empty() || !bool::from(presented.as_bytes().ct_eq(csrf_token.expose().as_bytes())) {
        return Err(ApiError::Forbidden(
            "the form has expired or did not come from Rapport; reload the page and try again".into(),
        ));
    }
    Ok(())
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = authenticate(parts, state).await?;
        if !parts.method.is_safe() {
            let header = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            check_csrf(&principal, header, &parts.headers)?;
        }
        Ok(principal)
    }
}

impl OptionalFromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Option<Self>, Self::Rejection> {
        match <Principal as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(principal) => Ok(Some(principal)),
            Err(ApiError::Unauthorized) => Ok(None),
            Err(other) => Err(other),
        }
    }
}

/// A form posted from one of our pages by a signed-in user, its CSRF token checked.
pub trait CsrfProtected {
    fn csrf_token(&self) -> &str;
}

/// Implements [`CsrfProtected`] for forms whose token field is `csrf_token`.
macro_rules! csrf_protected {
    ($($form:ty),*) => {$(
        impl $crate::http::auth::CsrfProtected for $form {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    )*};
}
pub(crate) use csrf_protected;

/// A form that is only a button: its token is all it carries.
#[derive(serde::Deserialize)]
pub struct ButtonForm {
    #[serde(default)]
    csrf_token: String,
}

csrf_protected!(ButtonForm);

pub struct SessionForm<T>(pub Principal, pub T);

impl<T> FromRequest<AppState> for SessionForm<T>
where
    T: DeserializeOwned + CsrfProtected + Send,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let principal = authenticate(&parts, state).await?;
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        check_csrf(&principal, Some(form.csrf_token()), &parts.headers)?;
        Ok(Self(principal, form))
    }
}

/// A multipart form (a file upload) posted from one of our pages by a signed-in user. Its first
/// part must be the CSRF token, `csrf_token`, checked before anything else is read; the
/// handler reads the remaining parts as they stream in.
pub struct SessionMultipart(pub Principal, pub Multipart);

impl FromRequest<AppState> for SessionMultipart {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        let principal = authenticate(&parts, state).await?;
        let mut form = Multipart::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        let token = match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("csrf_token") => field.text().await.ok(),
            _ => None,
        };
        check_csrf(&principal, Some(token.as_deref().unwrap_or_default()), &parts.headers)?;
        Ok(Self(principal, form))
    }
}
