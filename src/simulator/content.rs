//! What `send-message` hands WhatsApp: its field rules (Laravel's lines),
//! the one kind of content a request sends (a CTA URL, else a list, else the
//! first media file, else a location, else the text), what WhatsApp refuses
//! as malformed, and the `Message` row the server stores and answers with.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::clock::{iso, iso_micros};
use super::data::USER_ID;
use super::form::Form;
use super::state::MediaInfo;
use super::validate::{Errors, FileRule};

/// WhatsApp's longest text body.
const MAX_TEXT_CHARS: usize = 4096;

/// The media fields in the order the server looks at them, with their rules.
pub(crate) const MEDIA: [(&str, FileRule); 4] = [
    (
        "image",
        FileRule {
            image: true,
            file: false,
            mimes: Some(&["jpg", "jpeg", "png"]),
            max_kb: Some(5120),
        },
    ),
    (
        "document",
        FileRule {
            image: false,
            file: true,
            mimes: Some(&["pdf", "doc", "docx"]),
            max_kb: Some(102_400),
        },
    ),
    (
        "video",
        FileRule {
            image: false,
            file: true,
            mimes: Some(&["mp4"]),
            max_kb: Some(16_384),
        },
    ),
    (
        "audio",
        FileRule {
            image: false,
            file: true,
            mimes: None,
            max_kb: Some(16_384),
        },
    ),
];

/// `required_if:other,!=,0`: the other field is `"!="` or a numeric zero.
fn zero_or_ne(v: Option<&str>) -> bool {
    v.is_some_and(|v| v == "!=" || super::php::numeric_value(v) == Some(0.0))
}

pub(crate) fn check_text(form: &Form) -> Result<(), Vec<String>> {
    let mut e = Errors::default();
    let others = [
        "image",
        "document",
        "video",
        "audio",
        "cta_url_id",
        "latitude",
        "longitude",
        "interactive_list_id",
        "product",
        "created_order_data",
    ];
    if !form.filled("message") && !others.iter().any(|o| form.filled(o)) {
        e.push("The message should not be empty.");
    }
    for (name, rule) in MEDIA {
        e.file(form, name, rule);
    }
    e.integer(form, "cta_url_id");
    e.integer(form, "interactive_list_id");
    let (lat, lon) = (form.text("latitude"), form.text("longitude"));
    if !form.filled("latitude") && zero_or_ne(lon) {
        e.push(format!(
            "The latitude field is required when longitude is {}.",
            lon.unwrap_or_default()
        ));
    }
    if !form.filled("longitude") && zero_or_ne(lat) {
        e.push("The longitude field is required when latitude is not empty.");
    }
    e.required(form, "mobile_code");
    if e.required(form, "mobile") {
        e.digits(form, "mobile");
    }
    if e.is_empty() { Ok(()) } else { Err(e.0) }
}

/// What `send-message` hands WhatsApp.
pub(crate) enum Content {
    Cta(i64),
    List(i64),
    Media(MediaInfo),
    Location(Option<f64>, Option<f64>),
    Text(Option<String>),
}

impl Content {
    /// `getIntMessageType()`.
    fn message_type(&self) -> u8 {
        match self {
            Content::Text(_) => 1,
            Content::Media(m) => match m.field.as_str() {
                "image" => 2,
                "video" => 3,
                "document" => 4,
                _ => 5,
            },
            Content::Cta(_) => 6,
            Content::Location(..) => 8,
            Content::List(_) => 9,
        }
    }

    /// Whether WhatsApp refuses it as a malformed request (100).
    pub fn invalid(&self) -> bool {
        match self {
            Content::Text(None) => true,
            Content::Text(Some(t)) => t.chars().count() > MAX_TEXT_CHARS,
            Content::Location(lat, lon) => lat.is_none() || lon.is_none(),
            _ => false,
        }
    }
}

/// The MIME type `mime_content_type` would give, by extension.
fn mime_of(file: &MediaInfo) -> String {
    let ext = file
        .file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let known = match ext.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "ogg" => "audio/ogg",
        "aac" => "audio/aac",
        "amr" => "audio/amr",
        "m4a" => "audio/mp4",
        _ => "",
    };
    if known.is_empty() {
        file.content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into())
    } else {
        known.into()
    }
}

/// The server's `Message` row of a sent `send-message`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn message_json(
    form: &Form,
    content: &Content,
    number: i64,
    conversation_id: i64,
    wamid: &str,
    id: i64,
    now: DateTime<Utc>,
) -> Value {
    let secs = now.timestamp();
    let message = form.text("message");
    let mut v = json!({
        "user_id": USER_ID,
        "whatsapp_account_id": number,
        "whatsapp_message_id": wamid,
        "conversation_id": conversation_id,
        "cta_url_id": if let Content::Cta(id) = content { *id } else { 0 },
        "interactive_list_id": if let Content::List(id) = content { *id } else { 0 },
        "type": 1,
        "message": message,
        "media_id": null,
        "message_type": content.message_type(),
        "location": null,
        "media_caption": null,
        "media_filename": null,
        "media_url": null,
        "media_path": null,
        "mime_type": null,
        "media_type": null,
        "agent_id": 0,
        "status": 1,
        "ordering": iso_micros(now),
        "product_data": null,
        "updated_at": iso(secs),
        "created_at": iso(secs),
        "id": id,
    });
    match content {
        Content::Media(file) => {
            let media_id = format!("{}", 900_000_000_000_000 + id);
            let mime = mime_of(file);
            v["media_id"] = json!(media_id);
            v["media_caption"] = json!(message);
            v["media_type"] = json!(file.field);
            v["mime_type"] = json!(mime);
            v["media_url"] = json!(format!(
                "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}"
            ));
            if file.field == "document" {
                v["media_filename"] = json!(file.file_name);
            } else {
                let ext = mime.rsplit('/').next().unwrap_or("bin");
                v["media_path"] = json!(format!(
                    "{USER_ID}/{}/{media_id}.{ext}",
                    now.format("%Y/%m/%d")
                ));
            }
        }
        Content::Location(..) => {
            v["location"] = json!({
                "latitude": form.text("latitude"),
                "longitude": form.text("longitude"),
                "name": form.text("name").unwrap_or(""),
                "address": form.text("address").unwrap_or(""),
            });
        }
        _ => {}
    }
    v
}
