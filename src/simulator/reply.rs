//! The response envelope as the simulator writes it: `status`, `remark`,
//! `message[]` and, on success, `data`; and the HTML pages a web server in
//! front of the API answers with (gateway errors, unknown paths).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A success envelope (HTTP 200).
pub(crate) fn success(remark: &str, message: &str, data: Value) -> Response {
    let body = json!({"status": "success", "remark": remark, "message": [message], "data": data});
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// An error envelope with the given HTTP status.
pub(crate) fn error<S: Into<String>>(
    status: StatusCode,
    remark: &str,
    messages: impl IntoIterator<Item = S>,
) -> Response {
    let messages: Vec<String> = messages.into_iter().map(Into::into).collect();
    let body = json!({"status": "error", "remark": remark, "message": messages});
    (status, axum::Json(body)).into_response()
}

/// 422 `validation_error` with every message found.
pub(crate) fn validation(messages: Vec<String>) -> Response {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_error",
        messages,
    )
}

/// 429 `too_many_requests` with `Retry-After` in whole seconds (at least 1).
pub(crate) fn too_many_requests(retry_after_secs: u64) -> Response {
    let mut resp = error(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_requests",
        ["Too many requests"],
    );
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs.max(1)),
    );
    resp
}

/// 500 `server_error`.
pub(crate) fn server_error() -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        ["Internal server error"],
    )
}

/// An nginx-style HTML error page, as a proxy or web server in front of the
/// API writes it: not the envelope.
pub(crate) fn web_page(status: StatusCode) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    let page = format!(
        "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    html(status, page)
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

/// 404 for unknown paths: the web server's page, not an envelope, because no
/// API endpoint answered (a wrong base URL must look like one to clients).
pub(crate) async fn not_found() -> Response {
    web_page(StatusCode::NOT_FOUND)
}

/// 405 for a known path with the wrong method (the web server's page too).
pub(crate) async fn method_not_allowed() -> Response {
    web_page(StatusCode::METHOD_NOT_ALLOWED)
}

/// What a handler returns: `Err` is an early refusal, also a complete answer.
pub(crate) type Answer = Result<Response, Response>;
