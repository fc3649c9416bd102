//! `ContactController`: list (newest first, `search` as two `LIKE` filters),
//! store and update (one `save()`, `contact_created` for both), delete.

use std::cmp::Reverse;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::clock::now_secs;
use super::countries::country_of;
use super::data::{Address, Contact};
use super::form::{self, Form};
use super::model;
use super::paginate::paginate;
use super::php::{like, mysql_id_eq, truthy};
use super::reply::{self, Answer};
use super::routes::{origin, request_url};
use super::state::{Shared, lock};
use super::validate::{Errors, FileRule};

/// The `search` of a list: `None` when absent or falsy; a list is refused
/// by the caller.
pub(crate) fn search_pattern(search: Option<&str>) -> Option<String> {
    search.filter(|s| truthy(Some(s))).map(|s| format!("%{s}%"))
}

/// GET /contact/list
pub(crate) async fn contact_list(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> Response {
    let params = form::query(uri.query());
    if params.is_list("search") && params.filled("search") {
        return reply::fail("validation_error", ["The search must be a string."]);
    }
    let pattern = search_pattern(params.text("search"));
    let site = origin(&headers);
    let items: Vec<Value> = {
        let data = lock(&shared.data);
        let mut rows: Vec<&Contact> = data
            .contacts
            .iter()
            .filter(|c| {
                let Some(p) = &pattern else { return true };
                let m = |v: Option<&str>| v.is_some_and(|v| like(v, p));
                // ->searchable([mobile, firstname, lastname])
                // ->searchable([firstname, lastname, mobile, email]): both
                // must hold, so the first decides and an e-mail match is lost.
                like(&c.mobile, p) || m(c.firstname.as_deref()) || m(c.lastname.as_deref())
            })
            .collect();
        rows.sort_by_key(|c| Reverse(c.id));
        rows.into_iter().map(|c| model::contact(c, &site)).collect()
    };
    match paginate(items, &params, &request_url(&headers, uri.path())) {
        Ok(page) => reply::success(
            "contact-list",
            "Contact data fetched successfully.",
            json!({ "contacts": page }),
        ),
        Err(_) => reply::server_error(),
    }
}

const PROFILE_IMAGE: FileRule = FileRule {
    image: true,
    file: false,
    mimes: Some(&["jpg", "jpeg", "png"]),
    max_kb: None,
};

/// The validation of `save()`.
fn check(shared: &Shared, form: &Form, id: &str) -> Result<(), Vec<String>> {
    let mut e = Errors::default();
    for name in ["firstname", "lastname"] {
        if e.required(form, name) {
            e.string_max(form, name, 40);
        }
    }
    e.required(form, "mobile_code");
    e.file(form, "profile_image", PROFILE_IMAGE);
    if e.required(form, "mobile") {
        e.digits(form, "mobile");
        if let Some(mobile) = form.text("mobile") {
            let code = form.text("mobile_code");
            let taken = lock(&shared.data).contacts.iter().any(|c| {
                c.mobile == mobile && Some(c.mobile_code.as_str()) == code && !mysql_id_eq(c.id, id)
            });
            if taken {
                e.push("The mobile has already been taken.");
            }
        }
    }
    for name in ["city", "state", "post_code", "address"] {
        if form.params.is_list(name) && form.params.filled(name) {
            e.push(format!(
                "The {} must be a string.",
                super::validate::label(name)
            ));
        }
    }
    if e.is_empty() { Ok(()) } else { Err(e.0) }
}

/// `save($request, $id = 0)`: creates when `id` is falsy, else updates.
fn save(shared: &Shared, form: &Form, id: &str, site: &str) -> Response {
    if let Err(lines) = check(shared, form, id) {
        return reply::fail("validation_error", lines);
    }
    let create = !truthy(Some(id));
    let fixed = shared.settings().fixed;
    if create && !shared.settings().may_add_contact() {
        return reply::fail(
            "contact_limit_error",
            ["You\u{2019}ve reached your  contact limit. Please upgrade your plan to continue."],
        );
    }
    let now = now_secs(shared);
    let text = |name: &str| form.text(name).map(str::to_owned);
    let opt = |name: &str| text(name).unwrap_or_default();
    let code = opt("mobile_code");
    let address = Address {
        city: opt("city"),
        state: opt("state"),
        post_code: opt("post_code"),
        address: opt("address"),
        country: country_of(&code).to_owned(),
    };
    let image = form.file("profile_image").map(|f| {
        let ext = f.file_name.rsplit_once('.').map_or("png", |(_, e)| e);
        format!(
            "{:x}{now}.{}",
            f.size ^ now as u64,
            ext.to_ascii_lowercase()
        )
    });
    let mut data = lock(&shared.data);
    let (index, message) = if create {
        let i = data.insert_contact(Contact {
            id: 0,
            firstname: text("firstname"),
            lastname: text("lastname"),
            mobile_code: code,
            mobile: opt("mobile"),
            email: None,
            image,
            address,
            blocked: false,
            created_at: now,
            updated_at: now,
        });
        (i, "Contact created successfully")
    } else {
        let Some(i) = data.contact_index_raw(id) else {
            return reply::fail("unknown_contact", ["The contact is not found"]);
        };
        let c = &mut data.contacts[i];
        c.firstname = text("firstname");
        c.lastname = text("lastname");
        c.mobile_code = code;
        c.mobile = opt("mobile");
        c.address = address;
        if image.is_some() {
            c.image = image;
        }
        c.updated_at = now;
        data.reindex();
        (i, " Contact updated successfully")
    };
    let contact = &data.contacts[index];
    let body = if create {
        model::new_contact(contact, site)
    } else {
        model::contact(contact, site)
    };
    drop(data);
    // The public version spends quota on an update instead of a create.
    if create == fixed {
        lock(&shared.settings).use_contact();
    }
    reply::success("contact_created", message, json!({ "contact": body }))
}

/// POST /contact/store
pub(crate) async fn contact_store(State(shared): State<Arc<Shared>>, req: Request) -> Answer {
    let site = origin(req.headers());
    let form = form::read(req).await?;
    Ok(save(&shared, &form, "0", &site))
}

/// POST /contact/update/{id}
pub(crate) async fn contact_update(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    req: Request,
) -> Answer {
    let site = origin(req.headers());
    let form = form::read(req).await?;
    Ok(save(&shared, &form, &id, &site))
}

/// DELETE /contact/delete/{id}
pub(crate) async fn contact_delete(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Response {
    let mut data = lock(&shared.data);
    let Some(i) = data.contact_index_raw(&id) else {
        return reply::fail("not_found", ["The contact not found"]);
    };
    let contact_id = data.contacts[i].id;
    let has_messages = data
        .conversation_of(Some(contact_id))
        .is_some_and(|c| data.conversations[c].messages > 0);
    if has_messages {
        return reply::fail("contact_error", ["Unable to delete contact with messages"]);
    }
    if data.contacts[i].blocked {
        return reply::fail(
            "contact_error",
            ["Unable to delete contact which is blocked"],
        );
    }
    data.contacts.remove(i);
    data.reindex();
    reply::done("contact_deleted", "Contact deleted successfully")
}
