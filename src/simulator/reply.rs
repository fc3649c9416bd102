//! The response envelope as the simulator writes it: `status`, `remark`,
//! `message[]` and, on success, `data`.

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

/// 404 for unknown paths.
pub(crate) async fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "not_found", ["Not found"])
}

/// 405 for a known path with the wrong method.
pub(crate) async fn method_not_allowed() -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        ["The method is not supported for this route"],
    )
}

/// What a handler returns: `Err` is an early refusal, also a complete answer.
pub(crate) type Answer = Result<Response, Response>;
