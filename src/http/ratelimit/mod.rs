//! Per-IP limits on the endpoints that invite guessing or send mail (sign-in, password reset,
//! accepting invitations, verification links): each client address may call each of them a
//! fixed number of times per window, counted in the database so that every instance behind a
//! load balancer shares the count. Over the limit a request is answered 429 with `Retry-After`
//! before any password is evaluated.
//!
//! The client address is the TCP peer. `X-Forwarded-For` is believed only when the peer is
//! listed in `http.trusted_proxies`, and then only its last address not itself a trusted proxy:
//! anything to the left of that was written by the client and proves nothing.
//!
//! This complements the per-account throttle in `identity`: that one stops guessing one
//! account from many addresses, this one guessing many accounts from one address.

mod store;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chrono::{Duration, Utc};
use rapport_db::Db;

use super::ApiError;
use crate::app::AppState;

/// One limited endpoint: at most `max` calls per address in `window`.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub scope: &'static str,
    pub max: i32,
    pub window: Duration,
}

pub const LOGIN: Limit = Limit { scope: "login", max: 10, window: Duration::minutes(5) };
pub const PASSWORD_RESET: Limit = Limit { scope: "password_reset", max: 5, window: Duration::minutes(15) };
/// Asking for another email-verification link: each one sends mail.
pub const EMAIL_VERIFICATION: Limit = Limit { scope: "email_verification", max: 5, window: Duration::minutes(15) };

/// The address a request comes from, as far as it can be trusted; `None` for in-process callers
/// that have no TCP peer.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        Ok(Self(peer.map(|peer| client_ip(&state.config.http.trusted_proxies, peer, &parts.headers))))
    }
}

fn client_ip(trusted_proxies: &[IpAddr], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|ip| !trusted_proxies.contains(ip)).unwrap_or(peer)
}

/// Counts one call of `limit` from `ip`; past the limit, a 429 saying when to retry. Requests
/// without a known address (only in-process callers) share one count.
pub async fn check(db: &Db, limit: Limit, ip: Option<IpAddr>) -> Result<(), ApiError> {
    let ip = ip.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    let now = Utc::now();
    let scope = limit.scope;
    let (hits, window_started_at) = db
        .write(move |tx| Box::pin(async move { store::count_hit(tx, scope, &ip, now, now - limit.window).await }))
        .await?;
    if hits > limit.max {
        let retry_after_secs = (window_started_at + limit.window - now).num_seconds().max(1);
        tracing::warn!(scope, "per-address limit reached");
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    Ok(())
}
