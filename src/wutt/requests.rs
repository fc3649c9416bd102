//! The requests of the Wutt API as types: the two sends, the contact form, the
//! list queries, the checks made before anything is sent (a request that
//! fails them never reaches the API), and how each becomes a
//! `multipart/form-data` body (integers as decimal text).

use reqwest::multipart::Form;

use crate::campaign::phone::PhoneNumber;

use super::client::WuttError;
use super::media::{MediaFile, MediaKind};

/// A template send.
#[derive(Debug, Clone, PartialEq)]
pub struct SendTemplate {
    pub to: PhoneNumber,
    pub from_number: Option<String>,
    pub template_id: i64,
    /// The template's body parameters `{{1}}`, `{{2}}`, … in order
    /// (repeated `body_variables[]` fields).
    pub body_variables: Vec<String>,
    /// The header's parameters (repeated `header_variables[]` fields).
    pub header_variables: Vec<String>,
}

/// A free-form send: at least one of text, media, location or interactive element.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SendMessage {
    /// Required; `None` only so that `Default` works (sending without it is refused).
    pub to: Option<PhoneNumber>,
    pub from_number: Option<String>,
    pub message: Option<String>,
    pub media: Vec<MediaFile>,
    /// `(latitude, longitude)`.
    pub location: Option<(f64, f64)>,
    pub cta_url_id: Option<i64>,
    pub interactive_list_id: Option<i64>,
}

impl SendMessage {
    /// A text message.
    pub fn text(to: PhoneNumber, text: impl Into<String>) -> SendMessage {
        SendMessage {
            to: Some(to),
            message: Some(text.into()),
            ..SendMessage::default()
        }
    }

    /// The checks made before sending that need no file access (media are
    /// checked again, with their files, when the request is built).
    pub fn check(&self) -> Result<(), WuttError> {
        let to = self
            .to
            .as_ref()
            .ok_or_else(|| invalid("no recipient (to)"))?;
        check_phone(to)?;
        check_from(self.from_number.as_deref())?;
        if self.message.as_deref().is_some_and(|m| m.trim().is_empty()) {
            return Err(invalid("message text is empty"));
        }
        for (i, m) in self.media.iter().enumerate() {
            if self.media[..i].iter().any(|o| o.kind == m.kind) {
                return Err(invalid(format!("more than one {} file", m.kind.field())));
            }
        }
        if let Some((lat, lon)) = self.location
            && !(lat.is_finite()
                && lon.is_finite()
                && (-90.0..=90.0).contains(&lat)
                && (-180.0..=180.0).contains(&lon))
        {
            return Err(invalid(format!(
                "location {lat}, {lon} is out of range (latitude ±90, longitude ±180)"
            )));
        }
        let has_content = self.message.is_some()
            || !self.media.is_empty()
            || self.location.is_some()
            || self.cta_url_id.is_some()
            || self.interactive_list_id.is_some();
        if !has_content {
            return Err(invalid(
                "nothing to send: give a text, a media file, a location or an interactive element",
            ));
        }
        Ok(())
    }
}

impl SendTemplate {
    pub fn check(&self) -> Result<(), WuttError> {
        check_phone(&self.to)?;
        check_from(self.from_number.as_deref())?;
        if self.template_id < 1 {
            return Err(invalid(format!(
                "template id {} must be at least 1",
                self.template_id
            )));
        }
        Ok(())
    }
}

/// The body of `contact/store` and `contact/update/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactForm {
    pub firstname: String,
    pub lastname: String,
    pub phone: PhoneNumber,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub address: Option<String>,
    /// Limits undocumented; the image limits of `send-message` are applied.
    pub profile_image: Option<MediaFile>,
}

impl ContactForm {
    pub fn new(
        firstname: impl Into<String>,
        lastname: impl Into<String>,
        phone: PhoneNumber,
    ) -> ContactForm {
        ContactForm {
            firstname: firstname.into(),
            lastname: lastname.into(),
            phone,
            city: None,
            state: None,
            zip: None,
            address: None,
            profile_image: None,
        }
    }

    pub fn check(&self) -> Result<(), WuttError> {
        check_phone(&self.phone)?;
        if self.firstname.trim().is_empty() || self.lastname.trim().is_empty() {
            return Err(invalid("first name and last name are required"));
        }
        if self
            .profile_image
            .as_ref()
            .is_some_and(|m| m.kind != MediaKind::Image)
        {
            return Err(invalid("the profile image must be an image"));
        }
        Ok(())
    }
}

/// Query of `contact/list` (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactQuery {
    pub page: Option<u32>,
    pub paginate: Option<u32>,
    pub search: Option<String>,
}

/// Query of `inbox/conversation-list` (all optional; no status = all).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationQuery {
    pub status: Option<ConversationStatus>,
    pub page: Option<u32>,
    pub paginate: Option<u32>,
    /// `LIKE %…%` on the contact's first name, last name and mobile.
    pub search: Option<String>,
}

/// Conversation status codes the server accepts (0–3; the vendor's page also
/// names 4 "unread", which the server refuses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationStatus {
    /// 0: no status.
    NoStatus = 0,
    Done = 1,
    Pending = 2,
    Important = 3,
}

impl ConversationStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<ConversationStatus> {
        [
            ConversationStatus::NoStatus,
            ConversationStatus::Done,
            ConversationStatus::Pending,
            ConversationStatus::Important,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

pub(super) fn invalid(why: impl Into<String>) -> WuttError {
    WuttError::InvalidRequest(why.into())
}

fn check_phone(to: &PhoneNumber) -> Result<(), WuttError> {
    let code = to.mobile_code();
    if code.is_empty() || code.len() > 4 || to.country_code() == 0 {
        return Err(invalid(format!("country code {code} is not 1 to 4 digits")));
    }
    if to.mobile().is_empty() || !to.mobile().bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!("mobile {:?} is not digits", to.mobile())));
    }
    Ok(())
}

fn check_from(from: Option<&str>) -> Result<(), WuttError> {
    if from.is_some_and(|f| f.trim().is_empty()) {
        return Err(invalid("from number is empty"));
    }
    Ok(())
}

pub(super) fn check_id(what: &str, id: u64) -> Result<(), WuttError> {
    if id == 0 {
        return Err(invalid(format!("{what} must be at least 1")));
    }
    Ok(())
}

pub(super) fn check_paging(page: Option<u32>, paginate: Option<u32>) -> Result<(), WuttError> {
    if page == Some(0) || paginate == Some(0) {
        return Err(invalid("page and paginate start at 1"));
    }
    Ok(())
}

pub(super) async fn message_form(req: &SendMessage) -> Result<Form, WuttError> {
    req.check()?;
    let to = req
        .to
        .as_ref()
        .ok_or_else(|| invalid("no recipient (to)"))?;
    let mut form = phone_form(to, req.from_number.as_deref());
    if let Some(text) = &req.message {
        form = form.text("message", text.clone());
    }
    for media in &req.media {
        form = form.part(media.kind.field(), media.part().await?);
    }
    if let Some((lat, lon)) = req.location {
        form = form
            .text("latitude", lat.to_string())
            .text("longitude", lon.to_string());
    }
    if let Some(id) = req.cta_url_id {
        form = form.text("cta_url_id", id.to_string());
    }
    if let Some(id) = req.interactive_list_id {
        form = form.text("interactive_list_id", id.to_string());
    }
    Ok(form)
}

pub(super) fn template_form(req: &SendTemplate) -> Form {
    let mut form = phone_form(&req.to, req.from_number.as_deref())
        .text("template_id", req.template_id.to_string());
    for v in &req.body_variables {
        form = form.text("body_variables[]", v.clone());
    }
    for v in &req.header_variables {
        form = form.text("header_variables[]", v.clone());
    }
    form
}

pub(super) fn phone_form(to: &PhoneNumber, from: Option<&str>) -> Form {
    let form = Form::new()
        .text("mobile_code", to.mobile_code())
        .text("mobile", to.mobile().to_string());
    match from {
        Some(f) => form.text("from_number", f.trim().to_string()),
        None => form,
    }
}

pub(super) async fn contact_form(c: &ContactForm) -> Result<Form, WuttError> {
    c.check()?;
    let mut form = Form::new()
        .text("firstname", c.firstname.clone())
        .text("lastname", c.lastname.clone())
        .text("mobile_code", c.phone.mobile_code())
        .text("mobile", c.phone.mobile().to_string());
    for (name, value) in [
        ("city", &c.city),
        ("state", &c.state),
        ("post_code", &c.zip),
        ("address", &c.address),
    ] {
        if let Some(v) = value {
            form = form.text(name, v.clone());
        }
    }
    if let Some(image) = &c.profile_image {
        form = form.part("profile_image", image.part().await?);
    }
    Ok(form)
}

pub(super) fn paging(page: Option<u32>, paginate: Option<u32>) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(p) = page {
        q.push(("page", p.to_string()));
    }
    if let Some(p) = paginate {
        q.push(("paginate", p.to_string()));
    }
    q
}
