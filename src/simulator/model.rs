//! The rows as Laravel serialises its models: every column, dates as
//! `2026-12-02T10:11:12.000000Z`, booleans as 0/1, the `image_src` and
//! `full_name` appends of a contact, and the loaded relations
//! (`contact`, `notes`, `contact.tags`, `contact.lists`).
//!
//! The column lists are read off the script's models and controllers (its
//! schema is not public); a client must not depend on more than `id`,
//! `contact`, `last_message_at`, `status` and the names and numbers.

use serde_json::{Value, json};

use super::clock::iso;
use super::data::{Contact, Conversation, Data, Template, USER_ID, full_name};

/// `asset('assets/images/avatar.jpg')` on this host.
fn avatar(origin: &str) -> String {
    format!("{origin}/assets/images/avatar.jpg")
}

fn address(c: &Contact) -> Value {
    json!({
        "city": c.address.city,
        "state": c.address.state,
        "post_code": c.address.post_code,
        "address": c.address.address,
        "country": c.address.country,
    })
}

fn name(c: &Contact) -> String {
    full_name(
        c.firstname.as_deref(),
        c.lastname.as_deref(),
        &c.mobile_number(),
    )
}

/// A contact row as loaded from the database.
pub(crate) fn contact(c: &Contact, origin: &str) -> Value {
    json!({
        "id": c.id,
        "user_id": USER_ID,
        "firstname": c.firstname,
        "lastname": c.lastname,
        "mobile_code": c.mobile_code,
        "mobile": c.mobile,
        "email": c.email,
        "image": c.image,
        "address": address(c),
        "details": null,
        "is_blocked": u8::from(c.blocked),
        "blocked_by": if c.blocked { json!(USER_ID) } else { Value::Null },
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "image_src": avatar(origin),
        "full_name": name(c),
    })
}

/// A contact just created by `contact/store`: only the attributes the
/// controller set, the timestamps, the id and the appends.
pub(crate) fn new_contact(c: &Contact, origin: &str) -> Value {
    let mut v = json!({
        "user_id": USER_ID,
        "firstname": c.firstname,
        "lastname": c.lastname,
        "mobile_code": c.mobile_code,
        "mobile": c.mobile,
        "address": address(c),
        "updated_at": iso(c.updated_at),
        "created_at": iso(c.created_at),
        "id": c.id,
        "image_src": avatar(origin),
        "full_name": name(c),
    });
    if let Some(image) = &c.image {
        v["image"] = json!(image);
    }
    v
}

/// A conversation with `contact` and `notes`; `details` adds the
/// contact's `tags` and `lists` (conversation-details).
pub(crate) fn conversation(data: &Data, conv: &Conversation, origin: &str, details: bool) -> Value {
    let contact = conv
        .contact_id
        .and_then(|id| data.contact(id))
        .map_or(Value::Null, |c| {
            let mut v = contact(c, origin);
            if details {
                v["tags"] = json!([]);
                v["lists"] = json!([]);
            }
            v
        });
    let notes: Vec<Value> = data
        .notes_of(conv.id)
        .into_iter()
        .map(|n| {
            json!({
                "id": n.id,
                "user_id": USER_ID,
                "conversation_id": n.conversation_id,
                "note": n.note,
                "created_at": iso(n.created_at),
                "updated_at": iso(n.created_at),
            })
        })
        .collect();
    json!({
        "id": conv.id,
        "user_id": USER_ID,
        "contact_id": conv.contact_id,
        "whatsapp_account_id": conv.whatsapp_account_id,
        "status": conv.status,
        "last_message_at": conv.last_message_at.map(iso),
        "needs_human_reply": u8::from(conv.needs_human_reply),
        "created_at": iso(conv.created_at),
        "updated_at": iso(conv.updated_at),
        "contact": contact,
        "notes": notes,
    })
}

/// A template row.
pub(crate) fn template(t: &Template) -> Value {
    json!({
        "id": t.id,
        "user_id": USER_ID,
        "whatsapp_account_id": 1,
        "whatsapp_template_id": t.whatsapp_template_id,
        "name": t.name,
        "category_id": t.category_id,
        "language_id": t.language_id,
        "header_format": t.header_format,
        "header": t.header,
        "header_media": t.header_media,
        "body": t.body,
        "footer": t.footer,
        "buttons": t.buttons,
        "status": t.status,
        "rejected_reason": t.rejected_reason,
        "code_expiration_minutes": null,
        "add_security_recommendation": 0,
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
    })
}
