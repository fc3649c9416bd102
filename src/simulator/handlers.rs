//! The non-send endpoints: contacts (list, store, update, delete),
//! conversations (list, details, change status) and the template list.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};

use super::data::{Contact, paginate};
use super::form::{self, Form};
use super::reply::{self, Answer};
use super::state::{Shared, lock};
use super::validate::{Errors, valid_mobile};

/// Largest `paginate` accepted.
const MAX_PER_PAGE: u64 = 100;

fn query_pairs(raw: Option<String>) -> Vec<(String, String)> {
    raw.map(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

fn param<'q>(pairs: &'q [(String, String)], name: &str) -> Option<&'q str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn positive(e: &mut Errors, pairs: &[(String, String)], name: &str, default: u64) -> u64 {
    let Some(raw) = param(pairs, name) else {
        return default;
    };
    match raw.parse::<u64>() {
        Ok(0) => {
            e.push(format!("The {name} must be at least 1."));
            default
        }
        Ok(v) => v,
        Err(_) => {
            e.push(format!("The {name} must be an integer."));
            default
        }
    }
}

/// `page` and `paginate`, checked.
fn paging(e: &mut Errors, pairs: &[(String, String)]) -> (u64, u64) {
    let page = positive(e, pairs, "page", 1);
    let per_page = positive(e, pairs, "paginate", 20);
    if per_page > MAX_PER_PAGE {
        e.push(format!(
            "The paginate may not be greater than {MAX_PER_PAGE}."
        ));
    }
    (page, per_page.min(MAX_PER_PAGE))
}

/// The query of a list endpoint: its parameters, checked `page` and
/// `paginate`, and the validation messages found so far.
struct ListQuery {
    pairs: Vec<(String, String)>,
    errors: Errors,
    page: u64,
    per_page: u64,
}

impl ListQuery {
    fn new(raw: Option<String>) -> ListQuery {
        let pairs = query_pairs(raw);
        let mut errors = Errors::default();
        let (page, per_page) = paging(&mut errors, &pairs);
        ListQuery {
            pairs,
            errors,
            page,
            per_page,
        }
    }

    fn param(&self, name: &str) -> Option<&str> {
        param(&self.pairs, name)
    }

    /// The 422 answer when any parameter was invalid.
    fn check(&mut self) -> Result<(), Response> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(reply::validation(std::mem::take(&mut self.errors.0)))
        }
    }

    /// The success answer: the requested page of `items` under `key`, beside
    /// the paginator's fields.
    fn page<T: Clone + Serialize>(
        &self,
        items: &[T],
        key: &str,
        remark: &str,
        message: &str,
    ) -> Answer {
        let (items, mut meta) = paginate(items, self.page, self.per_page);
        meta[key] = json!(items);
        Ok(reply::success(remark, message, meta))
    }
}

fn path_id(raw: &str, what: &str) -> Result<i64, Response> {
    raw.parse::<i64>()
        .map_err(|_| reply::validation(vec![format!("The {what} must be an integer.")]))
}

fn not_found(what: &str) -> Response {
    let remark = format!("{}_not_found", what.replace(' ', "_"));
    let mut name = what.to_owned();
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    reply::error(
        StatusCode::NOT_FOUND,
        &remark,
        [format!("{name} not found")],
    )
}

/// GET /contact/list
pub(crate) async fn contact_list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Answer {
    let mut q = ListQuery::new(query);
    q.check()?;
    let search = q.param("search").map(str::to_lowercase);
    let data = lock(&shared.data);
    let matches: Vec<Contact> = data
        .contacts
        .iter()
        .filter(|c| {
            search.as_deref().is_none_or(|s| {
                c.firstname.to_lowercase().contains(s)
                    || c.lastname.to_lowercase().contains(s)
                    || c.mobile.contains(s)
                    || format!("{}{}", c.mobile_code, c.mobile).contains(s)
            })
        })
        .cloned()
        .collect();
    q.page(
        &matches,
        "contacts",
        "contact_list",
        "Contact list fetched successfully",
    )
}

/// The contact fields of store and update (the same four are required).
fn contact_from_form(form: &Form, id: i64) -> Result<Contact, Vec<String>> {
    let mut e = Errors::default();
    let first = e.required(form, "firstname");
    let last = e.required(form, "lastname");
    let code = e.mobile_code(form);
    let mobile = e.required(form, "mobile");
    if let Some(file) = form.file("profile_image") {
        if crate::wutt::media::MediaKind::Image
            .mime_for(&file.file_name)
            .is_none()
        {
            e.push("The profile image must be a file of type: jpg, jpeg, png.");
        } else if file.size > 5_000_000 {
            e.push("The profile image may not be greater than 5 MB.");
        }
    }
    if let Some(m) = mobile
        && valid_mobile(m).is_none()
    {
        e.push("The mobile number is not valid");
    }
    let (Some(first), Some(last), Some(code), Some(mobile), true) =
        (first, last, code, mobile, e.is_empty())
    else {
        return Err(e.0);
    };
    let opt = |name: &str| form.text(name).map(str::to_owned);
    Ok(Contact {
        id,
        firstname: first.to_owned(),
        lastname: last.to_owned(),
        mobile_code: code.to_owned(),
        mobile: mobile.to_owned(),
        city: opt("city"),
        state: opt("state"),
        zip: opt("zip"),
        address: opt("address"),
        profile_image: form.file("profile_image").map(|f| f.file_name.clone()),
        blocked: false,
    })
}

/// Creates (`id: None`) or replaces a contact from the form.
fn save_contact(shared: &Shared, form: &Form, id: Option<i64>) -> Answer {
    let mut data = lock(&shared.data);
    let (id, index) = match id {
        None => (data.next_contact_id, None),
        Some(id) => match data.contacts.iter().position(|c| c.id == id) {
            Some(index) => (id, Some(index)),
            None => return Err(not_found("contact")),
        },
    };
    let contact = contact_from_form(form, id).map_err(reply::validation)?;
    if data.contact_with_number(&contact.mobile_code, &contact.mobile, id) {
        return Err(reply::validation(vec![
            "The mobile has already been taken.".into(),
        ]));
    }
    let (remark, message) = match index {
        Some(index) => {
            data.contacts[index] = contact;
            ("contact_updated", "Contact updated successfully")
        }
        None => {
            data.next_contact_id += 1;
            data.contacts.push(contact);
            ("contact_created", "Contact created successfully")
        }
    };
    data.refresh_blocked();
    let saved = data.contacts.iter().find(|c| c.id == id).cloned();
    Ok(reply::success(remark, message, json!({ "contact": saved })))
}

/// POST /contact/store
pub(crate) async fn contact_store(State(shared): State<Arc<Shared>>, req: Request) -> Answer {
    let form = form::read(req).await?;
    save_contact(&shared, &form, None)
}

/// POST /contact/update/{contactId}
pub(crate) async fn contact_update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Answer {
    let id = path_id(&id, "contact id")?;
    let form = form::read(req).await?;
    save_contact(&shared, &form, Some(id))
}

/// DELETE /contact/delete/{contactId}
pub(crate) async fn contact_delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let id = path_id(&id, "contact id")?;
    let mut data = lock(&shared.data);
    let before = data.contacts.len();
    data.contacts.retain(|c| c.id != id);
    if data.contacts.len() == before {
        return Err(not_found("contact"));
    }
    Ok(reply::success(
        "contact_deleted",
        "Contact deleted successfully",
        json!({ "id": id }),
    ))
}

fn conversation_status(raw: &str) -> Option<u8> {
    raw.parse::<u8>().ok().filter(|s| (1..=4).contains(s))
}

/// GET /inbox/conversation-list
pub(crate) async fn conversation_list(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
) -> Answer {
    let mut q = ListQuery::new(query);
    let status = match q.param("status") {
        None => None,
        Some(raw) => {
            let s = conversation_status(raw);
            if s.is_none() {
                q.errors.push("The selected status is invalid.");
            }
            s
        }
    };
    q.check()?;
    let data = lock(&shared.data);
    let all: Vec<Value> = data
        .conversations
        .iter()
        .filter(|c| status.is_none_or(|s| c.status == s))
        .map(|c| data.conversation_json(c, false))
        .collect();
    q.page(
        &all,
        "conversations",
        "conversation_list",
        "Conversation list fetched successfully",
    )
}

/// GET /inbox/conversation-details/{conversation_id}
pub(crate) async fn conversation_details(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let id = path_id(&id, "conversation id")?;
    let data = lock(&shared.data);
    let Some(conv) = data.conversations.iter().find(|c| c.id == id) else {
        return Err(not_found("conversation"));
    };
    Ok(reply::success(
        "conversation_details",
        "Conversation details fetched successfully",
        json!({ "conversation": data.conversation_json(conv, true) }),
    ))
}

/// POST /inbox/change-conversation-status/{conversation_id}
pub(crate) async fn change_conversation_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Answer {
    let id = path_id(&id, "conversation id")?;
    let form = form::read(req).await?;
    let mut e = Errors::default();
    let Some(raw) = e.required(&form, "status") else {
        return Err(reply::validation(e.0));
    };
    let Some(status) = conversation_status(raw) else {
        return Err(reply::validation(vec![
            "The selected status is invalid.".into(),
        ]));
    };
    let mut data = lock(&shared.data);
    let Some(conv) = data.conversations.iter_mut().find(|c| c.id == id) else {
        return Err(not_found("conversation"));
    };
    conv.status = status;
    if status != 4 {
        conv.unread = 0;
    }
    let conv = conv.clone();
    Ok(reply::success(
        "conversation_status_changed",
        "Conversation status changed successfully",
        json!({ "conversation": data.conversation_json(&conv, false) }),
    ))
}

/// GET /inbox/template-list
pub(crate) async fn template_list(State(shared): State<Arc<Shared>>) -> Answer {
    let data = lock(&shared.data);
    Ok(reply::success(
        "template_list",
        "Template list fetched successfully",
        json!({ "templates": data.templates }),
    ))
}
