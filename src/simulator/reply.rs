//! What the server writes: the `apiResponse()` envelope (`remark`,
//! `status`, `message` and `data` — the last two left out when empty —,
//! encoded the way PHP's `json_encode` does: `\/` and `\uXXXX`), the
//! answers of Laravel's router and exception handler for unknown paths and
//! wrong methods, and the HTML pages of the app and of the web server in
//! front of it.

use axum::extract::OriginalUri;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::routes::{allowed, is_external_api};

/// `json_encode($value)` with PHP's default flags.
pub(crate) fn php_json(value: &Value) -> String {
    let plain = value.to_string();
    let mut out = String::with_capacity(plain.len() + 16);
    for c in plain.chars() {
        match c {
            // Only inside strings: JSON's structure is ASCII without '/'.
            '/' => out.push_str("\\/"),
            c if c.is_ascii() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out
}

/// A JSON body as Laravel's `response()->json()` sends it.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, php_json(body)).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// `apiResponse($remark, $status, $message, $data, $statusCode)`.
pub(crate) fn api(
    status_code: StatusCode,
    remark: &str,
    status: &str,
    messages: Vec<String>,
    data: Option<Value>,
) -> Response {
    // serde_json sorts keys; the envelope keeps PHP's order.
    let mut body = format!(
        "{{\"remark\":{},\"status\":{}",
        php_json(&json!(remark)),
        php_json(&json!(status))
    );
    if !messages.is_empty() {
        body.push_str(&format!(",\"message\":{}", php_json(&json!(messages))));
    }
    if let Some(data) = data.filter(|d| !is_empty(d)) {
        body.push_str(&format!(",\"data\":{}", php_json(&data)));
    }
    body.push('}');
    let mut resp = (status_code, body).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

/// A success answer with `data`.
pub(crate) fn success(remark: &str, message: &str, data: Value) -> Response {
    api(
        StatusCode::OK,
        remark,
        "success",
        vec![message.to_owned()],
        Some(data),
    )
}

/// A success answer without `data`.
pub(crate) fn done(remark: &str, message: &str) -> Response {
    api(
        StatusCode::OK,
        remark,
        "success",
        vec![message.to_owned()],
        None,
    )
}

/// A controller's refusal: HTTP 200, `status: error`.
pub(crate) fn fail<S: Into<String>>(
    remark: &str,
    messages: impl IntoIterator<Item = S>,
) -> Response {
    let messages = messages.into_iter().map(Into::into).collect();
    api(StatusCode::OK, remark, "error", messages, None)
}

/// The middleware's 401 `Unauthorized`.
pub(crate) fn unauthorized<S: Into<String>>(messages: impl IntoIterator<Item = S>) -> Response {
    let messages = messages.into_iter().map(Into::into).collect();
    api(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "error",
        messages,
        None,
    )
}

/// An HTML body with its content type.
pub(crate) fn html(status: StatusCode, page: String) -> Response {
    let mut resp = (status, page).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

/// The page nginx writes itself (a proxy's 413, 429, 502, 504 …).
pub(crate) fn nginx_page(status: StatusCode) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    html(
        status,
        format!(
            "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        ),
    )
}

/// The app's own error page (`resources/views/errors/{404,500}`), trimmed
/// of its styling.
fn app_page(status: StatusCode, title: &str, text: &str) -> Response {
    let code = status.as_u16();
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n    <meta charset=\"UTF-8\">\n    <title> Wutt - {code}</title>\n</head>\n<body>\n    <div class=\"error-content flex-center flex-column\">\n        <span class=\"error-content__text\">{code}</span>\n        <div class=\"error-content__footer\">\n            <p class=\"error-content__message\">\n                <span class=\"title\">{title}</span>\n                <span class=\"text\">{text}</span>\n            </p>\n            <a href=\"/\" class=\"btn btn-outline--primary error-btn\"><span class=\"text\">Back to Home</span></a>\n        </div>\n    </div>\n</body>\n</html>\n"
        ),
    )
}

/// Laravel's own minimal error page, for statuses the app has no view of.
fn laravel_page(status: StatusCode) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    html(
        status,
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\n        <title>{reason}</title>\n    </head>\n    <body class=\"antialiased\">\n        <div class=\"relative flex items-top justify-center min-h-screen sm:items-center sm:pt-0\">\n            <div class=\"max-w-xl mx-auto sm:px-6 lg:px-8\">\n                <div class=\"flex items-center pt-8 sm:justify-start sm:pt-0\">\n                    <div class=\"px-4 text-lg text-gray-500 border-r border-gray-400 tracking-wider\">\n                        {code}                    </div>\n\n                    <div class=\"ml-4 text-lg text-gray-500 uppercase tracking-wider\">\n                        {reason}                    </div>\n                </div>\n            </div>\n        </div>\n    </body>\n</html>\n"
        ),
    )
}

/// An uncaught PHP error: the app's 500 page.
pub(crate) fn server_error() -> Response {
    app_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Oops! Internal server error",
        "We're currently working to resolve the issue. Please try again shortly.",
    )
}

/// Maintenance mode (`php artisan down`): Laravel's "Service Unavailable".
pub(crate) fn service_unavailable() -> Response {
    laravel_page(StatusCode::SERVICE_UNAVAILABLE)
}

/// A proxy's 429 with `Retry-After` in whole seconds (at least 1).
pub(crate) fn too_many_requests(retry_after_secs: u64) -> Response {
    let mut resp = nginx_page(StatusCode::TOO_MANY_REQUESTS);
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs.max(1)),
    );
    resp
}

/// Laravel's `$request->path()`: no slashes around, `/` for the root.
fn laravel_path(path: &str) -> String {
    let p = path.trim_matches('/');
    if p.is_empty() {
        "/".into()
    } else {
        p.to_owned()
    }
}

/// `$request->wantsJson()`: the first accepted type is JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|first| first.contains("/json") || first.contains("+json"))
}

/// No route: under `/external-api` the app's handler answers a JSON 404
/// `not_found`; elsewhere Laravel's page (or `{"message"}` for JSON callers).
pub(crate) async fn not_found(OriginalUri(uri): OriginalUri, headers: HeaderMap) -> Response {
    let message = format!("The route {} could not be found.", laravel_path(uri.path()));
    if is_external_api(uri.path()) {
        api(
            StatusCode::NOT_FOUND,
            "not_found",
            "error",
            vec![message],
            None,
        )
    } else if wants_json(&headers) {
        json_response(StatusCode::NOT_FOUND, &json!({"message": message}))
    } else {
        app_page(
            StatusCode::NOT_FOUND,
            "Page not found",
            "The page you are looking for may not exist, or an error has occurred. It might also be temporarily unavailable.",
        )
    }
}

/// A known path with the wrong method: under `/external-api` the app's
/// handler turns Laravel's exception into an HTTP 200 `exception`.
pub(crate) async fn method_not_allowed(
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let message = format!(
        "The {} method is not supported for route {}. Supported methods: {}.",
        method,
        laravel_path(uri.path()),
        allowed(uri.path()).join(", ")
    );
    if is_external_api(uri.path()) {
        fail("exception", [message])
    } else if wants_json(&headers) {
        json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({"message": message}))
    } else {
        laravel_page(StatusCode::METHOD_NOT_ALLOWED)
    }
}

/// What a handler returns: `Err` is an early refusal, also a complete answer.
pub(crate) type Answer = Result<Response, Response>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_php() {
        assert_eq!(
            php_json(&json!({"a": "You\u{2019}ve http://x/y", "e": "\u{1F600}"})),
            r#"{"a":"You\u2019ve http:\/\/x\/y","e":"\ud83d\ude00"}"#
        );
        assert_eq!(laravel_path("/external-api/x/"), "external-api/x");
        assert_eq!(laravel_path("/"), "/");
    }
}
