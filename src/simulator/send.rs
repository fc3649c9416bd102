//! `send-message` and `send-template-message`, step by step as the server
//! runs them (SERVER.md section 5): validation, the WhatsApp number, the
//! recipient (a contact, or the one no-contact conversation), the blocked
//! check, the endpoint's own checks, then WhatsApp — which may refuse
//! ([`super::refusals`]) — and what the server stores and answers. Only
//! what WhatsApp took is recorded, whatever the answer says.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::json;

use super::account::SimAccount;
use super::content::{Content, MEDIA, check_text, message_json};
use super::data::{Data, WhatsAppNumber, full_name};
use super::form::{self, Form};
use super::php::{mysql_id_eq, truthy};
use super::refusals::{CURL_TIMEOUT, Endpoint, Verdict, exception_text};
use super::reply::{self, Answer};
use super::state::{MessageKind, SentMessage, Shared, lock};
use super::validate::Errors;
use super::variables::{self, Addressee};

const BLOCKED: &str =
    "You cannot send or receive messages with this contact because they have been blocked.";
/// The window in which a customer's last message allows free-form messages.
const WINDOW_SECS: i64 = 24 * 3600;

/// Who a send goes to, once the server has looked the number up.
struct Recipient {
    contact_id: Option<i64>,
    name: String,
    mobile_number: String,
    conversation_id: i64,
    last_customer_at: Option<i64>,
}

/// The account's numbers, none when WhatsApp is not connected.
fn numbers<'d>(data: &'d Data, settings: &SimAccount) -> &'d [WhatsAppNumber] {
    if settings.whatsapp_connected {
        &data.numbers
    } else {
        &[]
    }
}

/// `from_number` given (and truthy): the number stored exactly so; else the
/// account's first number.
fn from_number<'d>(
    data: &'d Data,
    settings: &SimAccount,
    from: Option<&str>,
) -> Option<&'d WhatsAppNumber> {
    let all = numbers(data, settings);
    match from.filter(|f| truthy(Some(f))) {
        Some(f) => all.iter().find(|n| n.phone_number == f),
        None => all.first(),
    }
}

/// The contact of the number (created first under `all_contacts`), its
/// conversation (created if it has none; the shared one for a number that
/// is not a contact), refused when the contact is blocked.
fn recipient(
    data: &mut Data,
    settings: &SimAccount,
    code: &str,
    mobile: &str,
    now: i64,
) -> Result<Recipient, Response> {
    if settings.all_contacts && data.contact_by_number(code, mobile).is_none() {
        data.add_talking_contact(None, None, code, mobile, false, now);
    }
    let contact = data.contact_by_number(code, mobile).cloned();
    let conv = data.ensure_conversation(contact.as_ref().map(|c| c.id), now);
    let mobile_number = format!("{code}{mobile}");
    if contact.as_ref().is_some_and(|c| c.blocked) {
        return Err(reply::fail("not_found", [BLOCKED]));
    }
    let conversation = &data.conversations[conv];
    Ok(Recipient {
        contact_id: contact.as_ref().map(|c| c.id),
        name: match &contact {
            Some(c) => full_name(
                c.firstname.as_deref(),
                c.lastname.as_deref(),
                &mobile_number,
            ),
            None => format!("+{mobile_number}"),
        },
        mobile_number,
        conversation_id: conversation.id,
        last_customer_at: conversation.last_customer_at,
    })
}

fn exception(text: impl Into<String>) -> Response {
    reply::fail("exception", [text.into()])
}

fn blank(kind: MessageKind, form: &Form, to: &Recipient) -> SentMessage {
    SentMessage {
        seq: 0,
        received_at_ms: 0,
        kind,
        mobile_code: form.text("mobile_code").unwrap_or_default().to_owned(),
        mobile: form.text("mobile").unwrap_or_default().to_owned(),
        from_number: form.text("from_number").map(str::to_owned),
        template_id: None,
        message: None,
        body_variables: Vec::new(),
        header_variables: Vec::new(),
        contact_id: to.contact_id,
        media: Vec::new(),
        latitude: None,
        longitude: None,
        cta_url_id: None,
        interactive_list_id: None,
        message_id: String::new(),
    }
}

/// Stores a sent message on its conversation, which moves; returns the
/// message's id.
fn store(shared: &Shared, conversation_id: i64, now: i64) -> i64 {
    let mut data = lock(&shared.data);
    match data
        .conversations
        .iter()
        .position(|c| c.id == conversation_id)
    {
        Some(i) => data.store_sent(i, now),
        None => 0,
    }
}

// ---- send-message ---------------------------------------------------------
/// POST /inbox/send-message
pub(crate) async fn send_message(State(shared): State<Arc<Shared>>, req: Request) -> Answer {
    let form = form::read(req).await?;
    if let Err(lines) = check_text(&form) {
        return Ok(reply::fail("validation_error", lines));
    }
    let settings = shared.settings();
    let now = lock(&shared.clock).now();
    let secs = now.timestamp();
    let code = form.text("mobile_code").unwrap_or_default();
    let mobile = form.text("mobile").unwrap_or_default();
    let (number, to, content) = {
        let mut data = lock(&shared.data);
        let Some(number) = from_number(&data, &settings, form.text("from_number")).map(|n| n.id)
        else {
            return Ok(reply::fail(
                "not_found",
                ["The whatsapp account is not found"],
            ));
        };
        let to = match recipient(&mut data, &settings, code, mobile, secs) {
            Ok(to) => to,
            Err(refusal) => return Ok(refusal),
        };
        let cta = form.text("cta_url_id").filter(|v| truthy(Some(v)));
        let list = form.text("interactive_list_id").filter(|v| truthy(Some(v)));
        let cta = match cta {
            None => None,
            Some(raw) => match data.cta_urls.iter().find(|id| mysql_id_eq(**id, raw)) {
                Some(id) => Some(*id),
                None => return Ok(reply::fail("not_found", ["The cta url is not found"])),
            },
        };
        let list = match list {
            None => None,
            Some(raw) => match data
                .interactive_lists
                .iter()
                .find(|id| mysql_id_eq(**id, raw))
            {
                Some(id) => Some(*id),
                None => {
                    return Ok(reply::fail(
                        "not_found",
                        ["The interactive list is not found"],
                    ));
                }
            },
        };
        (number, to, (cta, list))
    };
    // `$conversation->contact->mobileNumber`: the no-contact conversation has none.
    if to.contact_id.is_none() && !settings.fixed {
        return Ok(exception(
            "Attempt to read property \"mobileNumber\" on null",
        ));
    }
    let (cta, list) = content;
    if (cta.is_some() || list.is_some()) && !settings.interactive {
        return Ok(reply::fail(
            "not_found",
            ["Your current plan does not support interactive messages. Please upgrade your plan."],
        ));
    }
    let media = MEDIA.iter().find_map(|(name, _)| form.file(name).cloned());
    let content = match (cta, list, media) {
        (Some(id), _, _) => Content::Cta(id),
        (None, Some(id), _) => Content::List(id),
        (None, None, Some(file)) => Content::Media(file),
        _ if truthy(form.text("latitude")) && truthy(form.text("longitude")) => Content::Location(
            form.text("latitude").and_then(|v| v.parse().ok()),
            form.text("longitude").and_then(|v| v.parse().ok()),
        ),
        _ => Content::Text(form.text("message").map(str::to_owned)),
    };
    let verdict = if content.invalid() {
        Verdict::Refuse(100)
    } else {
        match lock(&shared.refusals).decide(Endpoint::Text, &to.mobile_number) {
            Verdict::Pass
                if settings.enforce_24h_window
                    && to.last_customer_at.is_none_or(|at| secs - at > WINDOW_SECS) =>
            {
                Verdict::Refuse(131047)
            }
            v => v,
        }
    };
    if let Verdict::Refuse(code) = verdict {
        return Ok(exception(exception_text(code, Endpoint::Text, now)));
    }
    let mut msg = blank(MessageKind::Text, &form, &to);
    match &content {
        Content::Cta(id) => msg.cta_url_id = Some(*id),
        Content::List(id) => msg.interactive_list_id = Some(*id),
        Content::Media(file) => {
            if file.field != "audio" {
                msg.message = form.text("message").map(str::to_owned);
            }
            msg.media = vec![file.clone()];
        }
        Content::Location(lat, lon) => {
            msg.latitude = *lat;
            msg.longitude = *lon;
        }
        Content::Text(text) => msg.message = text.clone(),
    }
    let msg = shared.record(msg);
    if verdict == Verdict::Timeout {
        // WhatsApp took it; the server's call gave up before storing it.
        return Ok(exception(CURL_TIMEOUT));
    }
    let id = store(&shared, to.conversation_id, secs);
    let message = message_json(
        &form,
        &content,
        number,
        to.conversation_id,
        &msg.message_id,
        id,
        now,
    );
    Ok(reply::success(
        "success",
        "Message sent successfully",
        json!({"conversation_id": to.conversation_id, "message": message}),
    ))
}

// ---- send-template-message ------------------------------------------------

fn check_template(form: &Form) -> Result<(), Vec<String>> {
    let mut e = Errors::default();
    e.required(form, "template_id");
    e.required(form, "mobile_code");
    if e.required(form, "mobile") {
        e.digits(form, "mobile");
    }
    if e.is_empty() { Ok(()) } else { Err(e.0) }
}

/// POST /inbox/send-template-message
pub(crate) async fn send_template(State(shared): State<Arc<Shared>>, req: Request) -> Answer {
    let form = form::read(req).await?;
    if let Err(lines) = check_template(&form) {
        return Ok(reply::fail("validation_error", lines));
    }
    let settings = shared.settings();
    let now = lock(&shared.clock).now();
    let secs = now.timestamp();
    let code = form.text("mobile_code").unwrap_or_default();
    let mobile = form.text("mobile").unwrap_or_default();
    let raw_template = form.text("template_id").unwrap_or_default();
    let (to, template) = {
        let mut data = lock(&shared.data);
        // Looked up, then never used: the default number sends.
        let _ignored = from_number(&data, &settings, form.text("from_number"));
        let to = match recipient(&mut data, &settings, code, mobile, secs) {
            Ok(to) => to,
            Err(refusal) => return Ok(refusal),
        };
        let Some(template) = data.approved_template(raw_template).cloned() else {
            return Ok(reply::fail("not_found", ["The template is not found"]));
        };
        if !numbers(&data, &settings).iter().any(|n| n.is_default) {
            return Ok(reply::fail(
                "not_found",
                ["Please connect your whatsapp account first"],
            ));
        }
        (to, template)
    };
    let vars = match variables::read(&form.params) {
        Ok(vars) => vars,
        Err(text) => return Ok(exception(text)),
    };
    let addressee = Addressee {
        name: &to.name,
        mobile_number: &to.mobile_number,
    };
    let (header, body) = match variables::resolve(&vars, &addressee) {
        Ok(params) => params,
        Err(text) => return Ok(exception(text)),
    };
    let verdict = match variables::whatsapp_check(&template, &header, &body) {
        Some(code) => Verdict::Refuse(code),
        None => lock(&shared.refusals).decide(Endpoint::Template, &to.mobile_number),
    };
    if let Verdict::Refuse(code) = verdict {
        return Ok(exception(exception_text(code, Endpoint::Template, now)));
    }
    let mut msg = blank(MessageKind::Template, &form, &to);
    msg.template_id = Some(template.id);
    msg.body_variables = vars.body;
    msg.header_variables = vars.header;
    shared.record(msg);
    if verdict == Verdict::Timeout {
        return Ok(exception(CURL_TIMEOUT));
    }
    store(&shared, to.conversation_id, secs);
    if settings.fixed {
        Ok(reply::success(
            "template_sent",
            "Message sent successfully",
            json!({"conversation_id": to.conversation_id}),
        ))
    } else {
        // The success answer names a variable the method never set.
        Ok(exception("Undefined variable $conversationId"))
    }
}
