//! `InboxController`'s reading endpoints: the conversation list (latest
//! `last_message_at` first, `search` on the contact, `status` filter), one
//! conversation's details, the status change (0–3 only) and the template
//! list (every template, in id order).

use std::cmp::Reverse;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::clock::now_secs;
use super::contacts::search_pattern;
use super::data::Conversation;
use super::form;
use super::model;
use super::paginate::paginate;
use super::params::Input;
use super::php::{filter_int, like, loose_eq, mysql_number};
use super::reply::{self, Answer};
use super::routes::{origin, request_url};
use super::state::{Shared, lock};
use super::validate::Errors;

/// The `status` filter: `where('status', v)` or `whereIn` for a list, with
/// MySQL's comparison of a number and a string.
fn status_filter(input: Option<&Input>) -> Option<Vec<f64>> {
    match input? {
        Input::One(None) => None,
        Input::One(Some(v)) => Some(vec![mysql_number(v)]),
        Input::List(items) => Some(
            items
                .iter()
                .map(|v| v.as_deref().map_or(f64::NAN, mysql_number))
                .collect(),
        ),
    }
}

/// GET /inbox/conversation-list
pub(crate) async fn conversation_list(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let params = form::query(uri.query());
    if params.is_list("search") && params.filled("search") {
        // "%$search%" with an array: PHP's warning becomes the exception.
        return reply::fail("exception", ["Array to string conversion"]);
    }
    let pattern = search_pattern(params.text("search"));
    let statuses = status_filter(params.get("status"));
    let site = origin(&headers);
    let items: Vec<Value> = {
        let data = lock(&shared.data);
        let mut rows: Vec<&Conversation> = data
            .conversations
            .iter()
            .filter(|c| {
                statuses
                    .as_ref()
                    .is_none_or(|s| s.contains(&(c.status as f64)))
            })
            .filter(|c| {
                let Some(p) = &pattern else { return true };
                // orWhereHas('contact', …): no contact, no match.
                c.contact_id
                    .and_then(|id| data.contact(id))
                    .is_some_and(|ct| {
                        let m = |v: Option<&str>| v.is_some_and(|v| like(v, p));
                        m(ct.firstname.as_deref())
                            || m(ct.lastname.as_deref())
                            || like(&ct.mobile, p)
                    })
            })
            .collect();
        // latest('last_message_at'): NULLs last; ties newest first.
        rows.sort_by_key(|c| (Reverse(c.last_message_at), Reverse(c.id)));
        rows.into_iter()
            .map(|c| model::conversation(&data, c, &site, false))
            .collect()
    };
    match paginate(items, &params, &request_url(&headers, uri.path())) {
        Ok(page) => reply::success(
            "inbox",
            "Conversation data fetched successfully",
            json!({ "conversation": page }),
        ),
        Err(_) => reply::server_error(),
    }
}

/// GET /inbox/conversation-details/{id}
pub(crate) async fn conversation_details(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let site = origin(&headers);
    let data = lock(&shared.data);
    let Some(i) = data.conversation_index_raw(&id) else {
        return reply::fail("not_found", ["Conversation not found"]);
    };
    let conversation = model::conversation(&data, &data.conversations[i], &site, true);
    reply::success(
        "conversation_details",
        "Conversation details fetched successfully.",
        json!({ "conversation": conversation }),
    )
}

/// The statuses the endpoint takes: done, pending, important and 0 (not 4).
const STATUSES: [&str; 4] = ["1", "2", "3", "0"];

/// POST /inbox/change-conversation-status/{id}
pub(crate) async fn change_conversation_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Answer {
    let form = form::read(req).await?;
    let mut e = Errors::default();
    if e.required(&form, "status") {
        let value = form.text("status");
        if value.is_none_or(|v| filter_int(v).is_none()) {
            e.push("The status must be an integer.");
        }
        if value.is_none_or(|v| !STATUSES.iter().any(|s| loose_eq(v, s))) {
            e.push("The selected status is invalid.");
        }
    }
    if !e.is_empty() {
        return Ok(reply::fail("validation_error", e.0));
    }
    let status = form.text("status").map_or(0.0, mysql_number) as i64;
    let now = now_secs(&shared);
    let mut data = lock(&shared.data);
    let Some(i) = data.conversation_index_raw(&id) else {
        return Ok(reply::fail("not_found", ["Conversation not found"]));
    };
    let conv = &mut data.conversations[i];
    if conv.status != status {
        conv.status = status;
        conv.updated_at = now;
    }
    Ok(reply::done("status_updated", "Status updated successfully"))
}

/// GET /inbox/template-list
pub(crate) async fn template_list(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let params = form::query(uri.query());
    let items: Vec<Value> = lock(&shared.data)
        .templates
        .iter()
        .map(model::template)
        .collect();
    match paginate(items, &params, &request_url(&headers, uri.path())) {
        Ok(page) => reply::success(
            "inbox",
            "Template data fetched successfully",
            json!({ "templates": page }),
        ),
        Err(_) => reply::server_error(),
    }
}
