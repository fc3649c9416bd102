//! The control endpoints that shape the account's data, and the operations
//! behind them (shared with [`super::SimHandle`]): contacts who have been
//! talking to the business, the conversations, template review states,
//! WhatsApp's refusal rules and a customer's reply arriving.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::clock::now_secs;
use super::control::bad_request;
use super::data::Data;
use super::model;
use super::refusals::WhatsAppRule;
use super::state::{Shared, lock};

/// A contact to add (`POST /__sim/contacts` takes a JSON array of them).
/// It gets a conversation in which its customer wrote just now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedContact {
    pub firstname: String,
    pub lastname: String,
    pub mobile_code: String,
    pub mobile: String,
    #[serde(default)]
    pub blocked: bool,
}

/// A contact as the control API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimContact {
    pub id: i64,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub mobile_code: String,
    pub mobile: String,
    pub blocked: bool,
    pub conversation_id: Option<i64>,
}

/// A conversation as the control API lists it (times: the server's clock,
/// Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimConversation {
    pub id: i64,
    /// `None`: the conversation shared by every number that is not a contact.
    pub contact_id: Option<i64>,
    pub status: i64,
    pub last_message_at: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    /// Messages stored on it, both ways.
    pub messages: u32,
}

/// Body of `POST /__sim/reply`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyFrom {
    mobile_code: String,
    mobile: String,
}

/// Body of `PUT /__sim/templates/{id}`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateStatus {
    status: u8,
}

pub(crate) fn add_contacts(shared: &Shared, contacts: &[SeedContact]) -> Vec<i64> {
    let now = now_secs(shared);
    let mut data = lock(&shared.data);
    contacts
        .iter()
        .map(|c| {
            data.add_talking_contact(
                Some(c.firstname.clone()),
                Some(c.lastname.clone()),
                &c.mobile_code,
                &c.mobile,
                c.blocked,
                now,
            )
        })
        .collect()
}

pub(crate) fn contacts(data: &Data) -> Vec<SimContact> {
    data.contacts
        .iter()
        .map(|c| SimContact {
            id: c.id,
            firstname: c.firstname.clone(),
            lastname: c.lastname.clone(),
            mobile_code: c.mobile_code.clone(),
            mobile: c.mobile.clone(),
            blocked: c.blocked,
            conversation_id: data
                .conversation_of(Some(c.id))
                .map(|i| data.conversations[i].id),
        })
        .collect()
}

pub(crate) fn conversations(data: &Data) -> Vec<SimConversation> {
    data.conversations
        .iter()
        .map(|c| SimConversation {
            id: c.id,
            contact_id: c.contact_id,
            status: c.status,
            last_message_at: c.last_message_at,
            last_customer_message_at: c.last_customer_at,
            messages: c.messages,
        })
        .collect()
}

/// Sets a template's review state; `false` when there is no such template
/// or the state is not 0–3.
pub(crate) fn set_template_status(shared: &Shared, id: i64, status: u8) -> bool {
    if status > 3 {
        return false;
    }
    let now = now_secs(shared);
    let mut data = lock(&shared.data);
    match data.templates.iter_mut().find(|t| t.id == id) {
        Some(t) => {
            t.status = status;
            t.updated_at = now;
            true
        }
        None => false,
    }
}

pub(crate) fn remove_template(shared: &Shared, id: i64) -> bool {
    let mut data = lock(&shared.data);
    let before = data.templates.len();
    data.templates.retain(|t| t.id != id);
    data.templates.len() != before
}

/// A customer's message arrives from the number: its conversation moves
/// and the 24-hour window opens. A number that is not a contact becomes
/// one (without names), as the server's webhook does. Returns the
/// conversation's id.
pub(crate) fn customer_reply(shared: &Shared, code: &str, mobile: &str) -> i64 {
    let now = now_secs(shared);
    let mut data = lock(&shared.data);
    let existing = data.contact_by_number(code, mobile).map(|c| c.id);
    let contact_id = match existing {
        Some(id) => id,
        None => return conversation_id_of_new(&mut data, code, mobile, now),
    };
    let conv = data.ensure_conversation(Some(contact_id), now);
    data.customer_wrote(conv, now);
    data.conversations[conv].id
}

fn conversation_id_of_new(data: &mut Data, code: &str, mobile: &str, now: i64) -> i64 {
    let id = data.add_talking_contact(None, None, code, mobile, false, now);
    data.conversation_of(Some(id))
        .map_or(0, |i| data.conversations[i].id)
}

pub(crate) async fn get_contacts(State(shared): State<Arc<Shared>>) -> Response {
    Json(contacts(&lock(&shared.data))).into_response()
}

pub(crate) async fn post_contacts(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<SeedContact>>(&body) {
        Ok(list) => Json(add_contacts(&shared, &list)).into_response(),
        Err(err) => bad_request(format!("not a list of contacts: {err}")),
    }
}

pub(crate) async fn get_conversations(State(shared): State<Arc<Shared>>) -> Response {
    Json(conversations(&lock(&shared.data))).into_response()
}

pub(crate) async fn put_template(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<i64>,
    body: Bytes,
) -> Response {
    let Ok(TemplateStatus { status }) = serde_json::from_slice(&body) else {
        return bad_request("the body must be {\"status\": 0..3}".into());
    };
    if status > 3 {
        return bad_request(
            "status must be 0 (pending), 1 (approved), 2 (rejected) or 3 (disabled)".into(),
        );
    }
    if !set_template_status(&shared, id, status) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let data = lock(&shared.data);
    match data.templates.iter().find(|t| t.id == id) {
        Some(t) => Json(model::template(t)).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(crate) async fn delete_template(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<i64>,
) -> StatusCode {
    if remove_template(&shared, id) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

pub(crate) async fn get_whatsapp(State(shared): State<Arc<Shared>>) -> Response {
    Json(lock(&shared.refusals).rules()).into_response()
}

pub(crate) async fn put_whatsapp(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let rules: Vec<WhatsAppRule> = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(err) => return bad_request(format!("not a list of rules: {err}")),
    };
    let mut refusals = lock(&shared.refusals);
    match refusals.replace(rules) {
        Ok(()) => {
            tracing::info!(rules = ?refusals.rules(), "simulator: WhatsApp refusal rules replaced");
            Json(refusals.rules()).into_response()
        }
        Err(msg) => bad_request(msg),
    }
}

pub(crate) async fn post_reply(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<ReplyFrom>(&body) {
        Ok(from) => {
            let id = customer_reply(&shared, &from.mobile_code, &from.mobile);
            Json(serde_json::json!({ "conversation_id": id })).into_response()
        }
        Err(err) => bad_request(format!(
            "the body must be {{\"mobile_code\", \"mobile\"}}: {err}"
        )),
    }
}
