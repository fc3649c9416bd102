//! Who may look and who may act: the console's token, the session cookie it
//! buys, the CSRF token of every form, and the cross-site checks of every POST.
//!
//! - A non-loopback address needs a configured token; on loopback without one,
//!   a random token is made for the process ([`token_for`]).
//! - `GET /login?token=…` (the link printed at startup) or the login form sets
//!   an `HttpOnly`, `SameSite=Strict` cookie holding a hash of the token, then
//!   redirects to a URL without it. Every other page needs that cookie.
//! - A POST needs the cookie and the form's CSRF token (a different hash of the
//!   token), or `Authorization: Bearer TOKEN` (scripts); and it is refused when
//!   `Sec-Fetch-Site` or `Origin` say another site sent it.
//! - Pages carry only the CSRF hash: the token itself never reaches a page.

use std::net::SocketAddr;

use axum::extract::rejection::FormRejection;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Shared, view};
use crate::config::Secret;

/// The token, and what is derived from it.
pub struct Auth {
    token: Secret,
    session: String,
    csrf: String,
    cookie: String,
}

/// How a request proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authed {
    /// The browser's session cookie: forms must carry the CSRF token too.
    Cookie,
    /// `Authorization: Bearer TOKEN`: a script, not a browser.
    Bearer,
}

/// The token to use: the configured one, or one made now on loopback
/// (`true`: made). A non-loopback address without a token is refused.
pub fn token_for(addr: &SocketAddr, configured: Option<Secret>) -> anyhow::Result<(Secret, bool)> {
    match configured {
        Some(t) if t.expose().trim().len() >= 16 => Ok((Secret::new(t.expose().trim()), false)),
        Some(_) => Err(crate::cli::ConfigError(
            "the console token (WUTT_CONSOLE_TOKEN or WUTT_CONSOLE_TOKEN_FILE) must be at least 16 characters"
                .into(),
        )
        .into()),
        None if addr.ip().is_loopback() => Ok((Secret::new(hex::encode(rand::random::<[u8; 16]>())), true)),
        None => Err(crate::cli::ConfigError(format!(
            "the console on {addr} (not loopback) needs a token: set WUTT_CONSOLE_TOKEN or WUTT_CONSOLE_TOKEN_FILE"
        ))
        .into()),
    }
}

fn digest(purpose: &str, token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"wutt-console\0");
    h.update(purpose.as_bytes());
    h.update(b"\0");
    h.update(token.as_bytes());
    hex::encode(h.finalize())
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    pub fn new(token: Secret, port: u16) -> Auth {
        Auth {
            session: digest("session", token.expose()),
            csrf: digest("csrf", token.expose()),
            cookie: format!("wutt_console_{port}"),
            token,
        }
    }

    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The CSRF token every form carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    pub fn token_ok(&self, given: &str) -> bool {
        same(given.trim().as_bytes(), self.token.expose().as_bytes())
    }

    pub fn csrf_ok(&self, given: Option<&str>) -> bool {
        given.is_some_and(|g| same(g.as_bytes(), self.csrf.as_bytes()))
    }

    /// How the request proves itself, if it does.
    pub fn authed(&self, headers: &HeaderMap) -> Option<Authed> {
        if let Some(bearer) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            return self.token_ok(bearer).then_some(Authed::Bearer);
        }
        let prefix = format!("{}=", self.cookie);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().strip_prefix(&prefix))
            .any(|v| same(v.as_bytes(), self.session.as_bytes()))
            .then_some(Authed::Cookie)
    }

    fn set_cookie(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            self.cookie, self.session
        ))
        .expect("hex cookie")
    }

    fn clear_cookie(&self) -> HeaderValue {
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
            self.cookie
        ))
        .expect("cookie")
    }
}

/// Why a request was refused, said to whoever sent it.
pub fn refused(status: StatusCode, why: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{why}\n"),
    )
        .into_response()
}

/// A request another site made the browser send: `Sec-Fetch-Site` says so,
/// or `Origin` names another origin than the `Host` asked for.
pub fn cross_site(headers: &HeaderMap) -> bool {
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| s != "same-origin" && s != "none") {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).map(|v| v.to_str()) {
        None => false,
        Some(Ok(origin)) => host.is_none_or(|h| origin != format!("http://{h}")),
        Some(Err(_)) => true,
    }
}

/// Every request: assets are open; the login routes need no session; every
/// other page needs one; every POST must come from this origin. Sets the
/// security headers of every answer.
pub async fn guard(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let is_post = req.method() == Method::POST;
    let mut res = if is_post && cross_site(req.headers()) {
        refused(
            StatusCode::FORBIDDEN,
            "refused: this request came from another site",
        )
    } else if matches!(path.as_str(), "/style.css" | "/live.js" | "/login") {
        next.run(req).await
    } else {
        match state.auth.authed(req.headers()) {
            Some(a) => {
                req.extensions_mut().insert(a);
                next.run(req).await
            }
            None if is_post => refused(
                StatusCode::UNAUTHORIZED,
                "refused: this action needs the console token (log in first, or send Authorization: Bearer TOKEN)",
            ),
            None if path.starts_with("/api/") || path.starts_with("/live/") => {
                refused(StatusCode::UNAUTHORIZED, "log in to the console first")
            }
            None => (StatusCode::UNAUTHORIZED, view::login_page(None)).into_response(),
        }
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// A POST handler's check of the CSRF token (a script with the bearer token
/// needs none). `Some` is the refusal to send.
pub fn check_csrf(state: &Shared, authed: Authed, given: Option<&str>) -> Option<Response> {
    if authed == Authed::Bearer || state.auth.csrf_ok(given) {
        None
    } else {
        Some(refused(
            StatusCode::FORBIDDEN,
            "refused: the form's CSRF token is missing or wrong (reload the page and try again)",
        ))
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: the link printed at startup.
pub async fn login_link(State(state): State<Shared>, Query(q): Query<LoginQuery>) -> Response {
    match q.token {
        Some(t) if state.auth.token_ok(&t) => logged_in(&state),
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            view::login_page(Some("That token is not this console's.")),
        )
            .into_response(),
        None => view::login_page(None).into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: the login form.
pub async fn login_form(State(state): State<Shared>, Form(f): Form<LoginForm>) -> Response {
    if state.auth.token_ok(&f.token) {
        logged_in(&state)
    } else {
        (
            StatusCode::UNAUTHORIZED,
            view::login_page(Some("That token is not this console's.")),
        )
            .into_response()
    }
}

fn logged_in(state: &Shared) -> Response {
    let mut res = Redirect::to("/").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, state.auth.set_cookie());
    res
}

/// The form every state-changing POST carries: its CSRF token alone.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// `POST /logout`: forgets the session cookie.
pub async fn logout(
    State(state): State<Shared>,
    Extension(authed): Extension<Authed>,
    f: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    if let Some(r) = check_csrf(
        &state,
        authed,
        f.as_ref().ok().and_then(|f| f.csrf.as_deref()),
    ) {
        return r;
    }
    let mut res = Redirect::to("/login").into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, state.auth.clear_cookie());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_configured_token() {
        let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        assert!(token_for(&lo, None).unwrap().1);
        assert!(token_for(&any, None).is_err());
        assert!(token_for(&any, Some(Secret::new("short"))).is_err());
        let (t, made) = token_for(&any, Some(Secret::new("0123456789abcdef-long"))).unwrap();
        assert_eq!((t.expose(), made), ("0123456789abcdef-long", false));
    }

    #[test]
    fn cookie_and_csrf_are_hashes_not_the_token() {
        let a = Auth::new(Secret::new("0123456789abcdef"), 1);
        assert!(!a.csrf().contains("0123456789abcdef"));
        assert!(!a.session.contains("0123456789abcdef"));
        assert_ne!(a.csrf(), a.session);
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            format!("x=1; wutt_console_1={}", a.session)
                .parse()
                .unwrap(),
        );
        assert_eq!(a.authed(&h), Some(Authed::Cookie));
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef".parse().unwrap(),
        );
        assert_eq!(a.authed(&h), Some(Authed::Bearer));
        h.insert(header::AUTHORIZATION, "Bearer nope".parse().unwrap());
        assert_eq!(a.authed(&h), None);
    }

    #[test]
    fn other_sites_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&h));
        h.insert(header::ORIGIN, "http://127.0.0.1:8080".parse().unwrap());
        assert!(!cross_site(&h));
        h.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(!cross_site(&h));
        h.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site(&h));
        h.remove("sec-fetch-site");
        h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(cross_site(&h));
    }
}
