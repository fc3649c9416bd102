//! The typed async Wutt client: one method per endpoint of the API, the
//! request forms, and the error type of the non-send endpoints.
//!
//! - The two sends return an [`Outcome`] (never an error): a request the client
//!   will not send (missing recipient, bad media, out-of-range location, …) is
//!   `Outcome::Rejected` with `http_status: None` and `error` saying why, and
//!   the API is not called at all.
//! - The other eight endpoints return `Result<Envelope, WuttError>`.
//! - POST bodies are `multipart/form-data` (integers as decimal text); GET and
//!   DELETE carry no body. Media are streamed from their files after their type
//!   and size were checked. At most [`BODY_CAP`] bytes of an answer are read.
//! - The client secret goes only into the `client-secret` header, marked
//!   sensitive; it is scrubbed from anything the server echoes back.

use std::error::Error as _;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::multipart::Form;
use tracing::debug;

use crate::campaign::phone::PhoneNumber;
use crate::config::Secret;

use super::envelope::{self, Envelope};
use super::media::{MediaError, MediaFile, MediaKind};
use super::outcome::{self, Observation, Outcome, OutcomeClass, Reply, TransportKind};

/// At most this many bytes of an answer are read (1 MiB).
pub const BODY_CAP: usize = 1 << 20;

/// Where and how to reach Wutt.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub base_url: url::Url,
    pub client_id: String,
    pub client_secret: Secret,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub user_agent: String,
}

/// A template send.
#[derive(Debug, Clone, PartialEq)]
pub struct SendTemplate {
    pub to: PhoneNumber,
    pub from_number: Option<String>,
    pub template_id: i64,
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
}

/// Conversation status codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationStatus {
    Done = 1,
    Pending = 2,
    Important = 3,
    Unread = 4,
}

impl ConversationStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<ConversationStatus> {
        [
            ConversationStatus::Done,
            ConversationStatus::Pending,
            ConversationStatus::Important,
            ConversationStatus::Unread,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// Errors of the non-send endpoints.
#[derive(Debug, thiserror::Error)]
pub enum WuttError {
    /// The client refused to send the request; nothing reached the API.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A media file failed its checks; nothing reached the API.
    #[error("invalid media: {0}")]
    Media(#[from] MediaError),
    /// No HTTP answer (connection refused, DNS, TLS, timeout, reset).
    #[error("no answer from Wutt ({}): {message}", kind.as_str())]
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// An HTTP answer whose body is not the envelope.
    #[error(
        "Wutt answered HTTP {http_status} with a body that is not the envelope ({reason}): {excerpt:?}"
    )]
    NotEnvelope {
        http_status: u16,
        reason: String,
        /// The first bytes of the body (at most 512, valid UTF-8).
        excerpt: String,
    },
    /// An error envelope (or a success envelope with a non-2xx status).
    #[error("Wutt refused (HTTP {http_status}, {}): {}", envelope.remark, envelope.text())]
    Api {
        http_status: u16,
        envelope: Envelope,
    },
}

impl WuttError {
    /// The class the same answer would have for a send (`None` when nothing
    /// was sent). `AccountRefused` means the account or configuration is the
    /// problem, not this request.
    pub fn class(&self) -> Option<OutcomeClass> {
        let obs = match self {
            WuttError::InvalidRequest(_) | WuttError::Media(_) => return None,
            WuttError::Transport { kind, .. } => Observation::Transport(*kind),
            WuttError::NotEnvelope { http_status, .. } => Observation::Answer {
                http_status: *http_status,
                envelope: None,
            },
            WuttError::Api {
                http_status,
                envelope,
            } => Observation::Answer {
                http_status: *http_status,
                envelope: Some(envelope),
            },
        };
        Some(outcome::classify(obs).class)
    }
}

fn invalid(why: impl Into<String>) -> WuttError {
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

fn check_id(what: &str, id: u64) -> Result<(), WuttError> {
    if id == 0 {
        return Err(invalid(format!("{what} must be at least 1")));
    }
    Ok(())
}

fn check_paging(page: Option<u32>, paginate: Option<u32>) -> Result<(), WuttError> {
    if page == Some(0) || paginate == Some(0) {
        return Err(invalid("page and paginate start at 1"));
    }
    Ok(())
}

/// What one HTTP call observed.
struct Answer {
    transport: Option<TransportKind>,
    reply: Reply,
    retry_after: Option<Duration>,
}

impl Answer {
    fn into_result(self) -> Result<Envelope, WuttError> {
        let Answer {
            transport, reply, ..
        } = self;
        if let Some(kind) = transport {
            return Err(WuttError::Transport {
                kind,
                message: reply.error.unwrap_or_default(),
            });
        }
        let http_status = reply.http_status.unwrap_or(0);
        match reply.envelope {
            None => Err(WuttError::NotEnvelope {
                http_status,
                reason: reply.error.unwrap_or_else(|| "no envelope".into()),
                excerpt: reply.body_excerpt.unwrap_or_default(),
            }),
            Some(envelope) if envelope.is_success() && (200..300).contains(&http_status) => {
                Ok(envelope)
            }
            Some(envelope) => Err(WuttError::Api {
                http_status,
                envelope,
            }),
        }
    }
}

/// The Wutt API client. Cheap to clone (the connection pool is shared).
#[derive(Debug, Clone)]
pub struct Client {
    config: ClientConfig,
    http: reqwest::Client,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, WuttError> {
        if !matches!(config.base_url.scheme(), "http" | "https")
            || config.base_url.cannot_be_a_base()
        {
            return Err(invalid(format!(
                "base URL {} must be an http(s) URL",
                config.base_url
            )));
        }
        let mut headers = HeaderMap::new();
        let id = HeaderValue::from_str(&config.client_id)
            .map_err(|_| invalid("the client id contains characters not allowed in a header"))?;
        let mut secret = HeaderValue::from_str(config.client_secret.expose()).map_err(|_| {
            invalid("the client secret contains characters not allowed in a header")
        })?;
        secret.set_sensitive(true);
        headers.insert("client-id", id);
        headers.insert("client-secret", secret);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            // A redirect would carry the secret header along; never follow one.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client { config, http })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// `POST /inbox/send-template-message`.
    pub async fn send_template(&self, req: &SendTemplate) -> Outcome {
        if let Err(e) = req.check() {
            return Outcome::not_sent(e.to_string());
        }
        let form = phone_form(&req.to, req.from_number.as_deref())
            .text("template_id", req.template_id.to_string());
        self.send("/inbox/send-template-message", form).await
    }

    /// `POST /inbox/send-message`.
    pub async fn send_message(&self, req: &SendMessage) -> Outcome {
        match self.message_form(req).await {
            Ok(form) => self.send("/inbox/send-message", form).await,
            Err(e) => Outcome::not_sent(e.to_string()),
        }
    }

    /// `GET /inbox/template-list`.
    pub async fn template_list(&self) -> Result<Envelope, WuttError> {
        self.call(Method::GET, "/inbox/template-list", &[], None)
            .await
            .into_result()
    }

    /// `GET /contact/list`.
    pub async fn contact_list(&self, q: &ContactQuery) -> Result<Envelope, WuttError> {
        check_paging(q.page, q.paginate)?;
        let mut query = paging(q.page, q.paginate);
        if let Some(s) = &q.search {
            query.push(("search", s.clone()));
        }
        self.call(Method::GET, "/contact/list", &query, None)
            .await
            .into_result()
    }

    /// `POST /contact/store`.
    pub async fn contact_store(&self, c: &ContactForm) -> Result<Envelope, WuttError> {
        let form = contact_form(c).await?;
        self.call(Method::POST, "/contact/store", &[], Some(form))
            .await
            .into_result()
    }

    /// `POST /contact/update/{id}`.
    pub async fn contact_update(&self, id: u64, c: &ContactForm) -> Result<Envelope, WuttError> {
        check_id("contact id", id)?;
        let form = contact_form(c).await?;
        self.call(
            Method::POST,
            &format!("/contact/update/{id}"),
            &[],
            Some(form),
        )
        .await
        .into_result()
    }

    /// `DELETE /contact/delete/{id}` (no body).
    pub async fn contact_delete(&self, id: u64) -> Result<Envelope, WuttError> {
        check_id("contact id", id)?;
        self.call(Method::DELETE, &format!("/contact/delete/{id}"), &[], None)
            .await
            .into_result()
    }

    /// `GET /inbox/conversation-list`.
    pub async fn conversation_list(&self, q: &ConversationQuery) -> Result<Envelope, WuttError> {
        check_paging(q.page, q.paginate)?;
        let mut query = Vec::new();
        if let Some(s) = q.status {
            query.push(("status", s.code().to_string()));
        }
        query.extend(paging(q.page, q.paginate));
        self.call(Method::GET, "/inbox/conversation-list", &query, None)
            .await
            .into_result()
    }

    /// `GET /inbox/conversation-details/{id}` (no body).
    pub async fn conversation_details(&self, id: u64) -> Result<Envelope, WuttError> {
        check_id("conversation id", id)?;
        let path = format!("/inbox/conversation-details/{id}");
        self.call(Method::GET, &path, &[], None).await.into_result()
    }

    /// `POST /inbox/change-conversation-status/{id}`.
    pub async fn change_conversation_status(
        &self,
        id: u64,
        status: ConversationStatus,
    ) -> Result<Envelope, WuttError> {
        check_id("conversation id", id)?;
        let path = format!("/inbox/change-conversation-status/{id}");
        let form = Form::new().text("status", status.code().to_string());
        self.call(Method::POST, &path, &[], Some(form))
            .await
            .into_result()
    }

    async fn message_form(&self, req: &SendMessage) -> Result<Form, WuttError> {
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

    async fn send(&self, path: &str, form: Form) -> Outcome {
        let answer = self.call(Method::POST, path, &[], Some(form)).await;
        let outcome = Outcome::classify(answer.transport, answer.reply, answer.retry_after);
        debug!(
            path,
            class = outcome.class().as_str(),
            http_status = outcome.reply().http_status,
            "wutt send classified"
        );
        outcome
    }

    fn url(&self, path: &str, query: &[(&str, String)]) -> url::Url {
        let mut url = self.config.base_url.clone();
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url.set_fragment(None);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        form: Option<Form>,
    ) -> Answer {
        let mut request = self.http.request(method.clone(), self.url(path, query));
        if let Some(form) = form {
            request = request.multipart(form);
        }
        debug!(%method, path, "wutt request");
        let started = Instant::now();
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let kind = transport_kind(&e);
                let message = self.scrub(&error_chain(&e));
                debug!(%method, path, kind = kind.as_str(), error = %message, "wutt call failed");
                return Answer {
                    transport: Some(kind),
                    reply: Reply {
                        error: Some(message),
                        ..Reply::default()
                    },
                    retry_after: None,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| outcome::parse_retry_after(v, SystemTime::now()));
        let (body, problem) = read_capped(&mut response).await;
        debug!(
            %method,
            path,
            http_status = status,
            bytes = body.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "wutt answer"
        );
        let parsed = match problem {
            Some(p) => Err(p),
            None => Envelope::parse(&body),
        };
        let reply = match parsed {
            Ok(mut env) => {
                self.scrub_envelope(&mut env);
                Reply {
                    http_status: Some(status),
                    envelope: Some(env),
                    ..Reply::default()
                }
            }
            Err(why) => Reply {
                http_status: Some(status),
                envelope: None,
                body_excerpt: Some(self.scrub(&envelope::excerpt(&body))),
                error: Some(self.scrub(&format!("HTTP {status}: {why}"))),
            },
        };
        Answer {
            transport: None,
            reply,
            retry_after,
        }
    }

    /// Removes the secret from text the server or a library produced.
    fn scrub(&self, text: &str) -> String {
        let secret = self.config.client_secret.expose();
        if secret.len() < 4 || !text.contains(secret) {
            return text.to_string();
        }
        text.replace(secret, "[redacted]")
    }

    fn scrub_envelope(&self, env: &mut Envelope) {
        env.remark = self.scrub(&env.remark);
        for line in &mut env.message {
            *line = self.scrub(line);
        }
        if let Some(data) = &mut env.data {
            self.scrub_value(data);
        }
    }

    fn scrub_value(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = self.scrub(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| self.scrub_value(i)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|i| self.scrub_value(i)),
            _ => {}
        }
    }
}

fn phone_form(to: &PhoneNumber, from: Option<&str>) -> Form {
    let form = Form::new()
        .text("mobile_code", to.mobile_code())
        .text("mobile", to.mobile().to_string());
    match from {
        Some(f) => form.text("from_number", f.trim().to_string()),
        None => form,
    }
}

async fn contact_form(c: &ContactForm) -> Result<Form, WuttError> {
    c.check()?;
    let mut form = Form::new()
        .text("firstname", c.firstname.clone())
        .text("lastname", c.lastname.clone())
        .text("mobile_code", c.phone.mobile_code())
        .text("mobile", c.phone.mobile().to_string());
    for (name, value) in [
        ("city", &c.city),
        ("state", &c.state),
        ("zip", &c.zip),
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

fn paging(page: Option<u32>, paginate: Option<u32>) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    if let Some(p) = page {
        q.push(("page", p.to_string()));
    }
    if let Some(p) = paginate {
        q.push(("paginate", p.to_string()));
    }
    q
}

/// Reads at most [`BODY_CAP`] bytes; the second value says why reading stopped
/// early (too large, broke off, timed out).
async fn read_capped(response: &mut reqwest::Response) -> (Vec<u8>, Option<String>) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > BODY_CAP {
                    let room = BODY_CAP - body.len();
                    body.extend_from_slice(&chunk[..room]);
                    return (
                        body,
                        Some(format!(
                            "body larger than {BODY_CAP} bytes; stopped reading"
                        )),
                    );
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return (body, None),
            Err(e) => {
                let what = if e.is_timeout() {
                    "timed out"
                } else {
                    "broke off"
                };
                let problem = format!(
                    "the answer {what} after {} bytes: {}",
                    body.len(),
                    error_chain(&e)
                );
                return (body, Some(problem));
            }
        }
    }
}

fn transport_kind(e: &reqwest::Error) -> TransportKind {
    if e.is_builder() {
        TransportKind::Build
    } else if e.is_connect() {
        TransportKind::Connect
    } else if e.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Dropped
    }
}

/// An error and its causes on one line.
fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
