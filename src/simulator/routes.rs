//! The API's route table (`routes/external_api.php`), for what the router
//! itself cannot say: which methods a path allows (Laravel matches the
//! route before any middleware runs, so a wrong method is answered before
//! the credentials are checked) and whether a path is under the real prefix;
//! and the request's own URL, as Laravel builds links from it.

use axum::http::{HeaderMap, Method, header};

/// The prefix the server registers its routes under.
pub(crate) const PREFIX: &str = "/external-api";
/// The documentation's misspelling, served too for convenience.
pub(crate) const DOC_PREFIX: &str = "/extern-api";

/// `(method, path)`; `{id}` is one path segment.
pub(crate) const ROUTES: &[(Method, &str)] = &[
    (Method::GET, "/contact/list"),
    (Method::POST, "/contact/store"),
    (Method::POST, "/contact/update/{id}"),
    (Method::DELETE, "/contact/delete/{id}"),
    (Method::GET, "/inbox/conversation-list"),
    (Method::GET, "/inbox/template-list"),
    (Method::POST, "/inbox/change-conversation-status/{id}"),
    (Method::GET, "/inbox/conversation-details/{id}"),
    (Method::POST, "/inbox/send-message"),
    (Method::POST, "/inbox/send-template-message"),
];

/// The path without `/external-api` or `/extern-api`.
pub(crate) fn strip_prefix(path: &str) -> &str {
    for prefix in [PREFIX, DOC_PREFIX] {
        if let Some(rest) = path.strip_prefix(prefix)
            && rest.starts_with('/')
        {
            return rest;
        }
    }
    path
}

/// Whether Laravel's exception handler treats the path as an external-API
/// request (`request()->is('external-api/*')`).
pub(crate) fn is_external_api(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1)
}

/// `http://HOST` of the request (Laravel's `url('/')`).
pub(crate) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// `$request->url()`: origin and path, no query.
pub(crate) fn request_url(headers: &HeaderMap, path: &str) -> String {
    format!("{}{}", origin(headers), path)
}

fn matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some("{id}"), Some(seg)) if !seg.is_empty() => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// The methods a path allows, as Laravel lists them (`GET` brings `HEAD`).
/// Empty: no such route.
pub(crate) fn allowed(path: &str) -> Vec<&'static str> {
    let path = strip_prefix(path);
    let mut methods = Vec::new();
    for (method, pattern) in ROUTES {
        if matches(pattern, path) {
            methods.push(method.as_str());
            if *method == Method::GET {
                methods.push("HEAD");
            }
        }
    }
    methods
}

/// Whether the method is one the path's route takes.
pub(crate) fn method_allowed(method: &Method, path: &str) -> bool {
    let allowed = allowed(path);
    allowed.is_empty() || allowed.contains(&method.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_lookups() {
        assert_eq!(
            allowed("/external-api/inbox/template-list"),
            ["GET", "HEAD"]
        );
        assert_eq!(allowed("/contact/update/7"), ["POST"]);
        assert!(allowed("/contact/update/").is_empty());
        assert!(allowed("/extern-api/nope").is_empty());
        assert!(method_allowed(&Method::HEAD, "/inbox/template-list"));
        assert!(!method_allowed(&Method::GET, "/inbox/send-message"));
        assert!(is_external_api("/external-api/x"));
        assert!(!is_external_api("/external-api"));
        assert!(!is_external_api("/extern-api/x"));
    }
}
