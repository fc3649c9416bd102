//! The two send endpoints: validate like the vendor, refuse invalid numbers,
//! blocked contacts and unusable templates, and record what is accepted.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::wutt::media::MediaKind;

use super::form::{self, Form};
use super::reply::{self, Answer};
use super::state::{MessageKind, SentMessage, Shared, lock};
use super::validate::{AT_LEAST_ONE, Errors, MAX_MESSAGE_CHARS, valid_mobile};

fn unprocessable(remark: &str, message: &str) -> Response {
    reply::error(StatusCode::UNPROCESSABLE_ENTITY, remark, [message])
}

/// Number and block checks common to both sends.
fn check_recipient(shared: &Shared, code: &str, mobile: &str) -> Result<(), Response> {
    if valid_mobile(mobile).is_none() {
        return Err(unprocessable(
            "invalid_number",
            "The mobile number is not valid",
        ));
    }
    if lock(&shared.data).is_blocked(code, mobile) {
        return Err(unprocessable("blocked_contact", "This contact is blocked"));
    }
    Ok(())
}

fn blank(kind: MessageKind, code: &str, mobile: &str, form: &Form) -> SentMessage {
    SentMessage {
        seq: 0,
        received_at_ms: 0,
        kind,
        mobile_code: code.to_owned(),
        mobile: mobile.to_owned(),
        from_number: form.text("from_number").map(str::to_owned),
        template_id: None,
        message: None,
        media: Vec::new(),
        latitude: None,
        longitude: None,
        cta_url_id: None,
        interactive_list_id: None,
        message_id: String::new(),
    }
}

fn sent(shared: &Shared, msg: SentMessage) -> Answer {
    let msg = shared.record(msg);
    Ok(reply::success(
        "message_sent",
        "Message sent successfully",
        json!({"message_id": msg.message_id, "mobile_code": msg.mobile_code, "mobile": msg.mobile}),
    ))
}

/// POST /inbox/send-message
pub(crate) async fn send_message(State(shared): State<Arc<Shared>>, req: Request) -> Answer {
    let form = form::read(req).await?;
    let mut e = Errors::default();
    let code = e.mobile_code(&form);
    let mobile = e.required(&form, "mobile");
    let message = form.raw("message");
    if message.is_some_and(|m| m.chars().count() > MAX_MESSAGE_CHARS) {
        e.push(format!(
            "The message may not be greater than {MAX_MESSAGE_CHARS} characters."
        ));
    }
    let media: Vec<_> = MediaKind::ALL
        .iter()
        .filter_map(|kind| e.media(&form, *kind))
        .collect();
    let latitude = e.coordinate(&form, "latitude", 90.0);
    let longitude = e.coordinate(&form, "longitude", 180.0);
    let (has_lat, has_lon) = (
        form.text("latitude").is_some(),
        form.text("longitude").is_some(),
    );
    if has_lat && !has_lon {
        e.push("The longitude field is required when latitude is present.");
    }
    if has_lon && !has_lat {
        e.push("The latitude field is required when longitude is present.");
    }
    let cta_url_id = e.integer(&form, "cta_url_id");
    let interactive_list_id = e.integer(&form, "interactive_list_id");
    let any_content = message.is_some()
        || MediaKind::ALL
            .iter()
            .any(|k| form.file(k.field()).is_some() || form.text(k.field()).is_some())
        || has_lat
        || has_lon
        || form.text("cta_url_id").is_some()
        || form.text("interactive_list_id").is_some();
    if !any_content {
        e.push(AT_LEAST_ONE);
    }
    let (Some(code), Some(mobile), true) = (code, mobile, e.is_empty()) else {
        return Err(reply::validation(e.0));
    };
    check_recipient(&shared, code, mobile)?;
    let mut msg = blank(MessageKind::Text, code, mobile, &form);
    msg.message = message.map(str::to_owned);
    msg.media = media;
    msg.latitude = latitude;
    msg.longitude = longitude;
    msg.cta_url_id = cta_url_id;
    msg.interactive_list_id = interactive_list_id;
    sent(&shared, msg)
}

/// POST /inbox/send-template-message
pub(crate) async fn send_template(State(shared): State<Arc<Shared>>, req: Request) -> Answer {
    let form = form::read(req).await?;
    let mut e = Errors::default();
    let code = e.mobile_code(&form);
    let mobile = e.required(&form, "mobile");
    let template_id = if form.text("template_id").is_some() {
        e.integer(&form, "template_id")
    } else {
        e.push("The template id field is required.");
        None
    };
    let (Some(code), Some(mobile), Some(template_id), true) =
        (code, mobile, template_id, e.is_empty())
    else {
        return Err(reply::validation(e.0));
    };
    check_recipient(&shared, code, mobile)?;
    let approved = lock(&shared.data)
        .templates
        .iter()
        .find(|t| t.id == template_id)
        .map(|t| t.approved());
    match approved {
        None => {
            return Err(unprocessable(
                "template_not_found",
                "The selected template does not exist",
            ));
        }
        Some(false) => {
            return Err(unprocessable(
                "template_not_approved",
                "The selected template is not approved",
            ));
        }
        Some(true) => {}
    }
    let mut msg = blank(MessageKind::Template, code, mobile, &form);
    msg.template_id = Some(template_id);
    sent(&shared, msg)
}
