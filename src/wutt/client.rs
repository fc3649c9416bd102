//! The typed async Wutt client: one method per endpoint of the API, its
//! configuration, and the error type of the non-send endpoints.
//!
//! - The two sends return an [`Outcome`] (never an error): a request the client
//!   will not send (missing recipient, bad media, out-of-range location, …) is
//!   `Outcome::Rejected` with `http_status: None` and `error` saying why, and
//!   the API is not called at all.
//! - The other eight endpoints return `Result<Envelope, WuttError>`.
//! - POST bodies are `multipart/form-data` (built in `requests`); GET and
//!   DELETE carry no body. Media are streamed from their files after their type
//!   and size were checked. At most [`BODY_CAP`] bytes of an answer are read.
//! - The client secret goes only into the `client-secret` header, marked
//!   sensitive; it is scrubbed from anything the server echoes back.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::Method;
use reqwest::header::{DATE, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::multipart::Form;
use serde_json::Value;
use tracing::debug;

use crate::config::Secret;

use super::clock::ServerClock;
use super::envelope::{self, Envelope};
use super::media::MediaError;
use super::outcome::{self, Observation, Outcome, OutcomeClass, Reply, TransportKind};
use super::requests::{self, check_id, check_paging, contact_form, invalid, paging, template_form};
use super::templates::{Page, Template};
use super::transport::{Answer, error_chain, read_capped, transport_kind};

// The request types lived here first; their paths stay valid.
pub use super::requests::{
    ContactForm, ContactQuery, ConversationQuery, ConversationStatus, SendMessage, SendTemplate,
};

/// At most this many bytes of an answer are read (1 MiB).
pub const BODY_CAP: usize = 1 << 20;

/// Items asked for per page when the client reads a whole list.
pub const LIST_PAGE_SIZE: u32 = 100;

/// The most pages read of one list (a guard against a server that never ends).
pub const MAX_PAGES: u32 = 10_000;

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
    /// An HTTP answer whose body is not the envelope (a web server's page,
    /// a proxy's error, a broken body). Shown in one line: what came back
    /// and, when the table knows, what to check.
    #[error("{}", not_envelope(*http_status, excerpt))]
    NotEnvelope {
        http_status: u16,
        reason: String,
        /// The first bytes of the body (at most 512, valid UTF-8).
        excerpt: String,
    },
    /// A success envelope whose `data` is not what the endpoint gives (a list
    /// answer that is not a paginator, a page other than the one asked for).
    #[error("Wutt answered with data the client cannot read: {0}")]
    UnexpectedData(String),
    /// An error envelope (or a success envelope with a non-2xx status).
    #[error("Wutt refused (HTTP {http_status}, {}): {}", envelope.remark, envelope.text())]
    Api {
        http_status: u16,
        envelope: Envelope,
    },
}

/// "Wutt answered HTTP 404 with an HTML page: check WUTT_BASE_URL: …".
fn not_envelope(http_status: u16, excerpt: &str) -> String {
    let said = format!(
        "Wutt answered HTTP {http_status} with {}",
        outcome::body_kind(Some(excerpt))
    );
    let rule = outcome::classify(Observation::Answer {
        http_status,
        envelope: None,
    });
    match rule.hint {
        Some(hint) => format!("{said}: {hint}"),
        None => said,
    }
}

impl WuttError {
    /// The class the same answer would have for a send (`None` when nothing
    /// was sent). `AccountRefused` means the account or configuration is the
    /// problem, not this request.
    pub fn class(&self) -> Option<OutcomeClass> {
        self.rule().map(|r| r.class)
    }

    /// The outcome the same answer has for a send (a request the client
    /// refused to make is `Rejected`, as for a send).
    pub fn into_outcome(self) -> Outcome {
        let (transport, reply) = match self {
            WuttError::Transport { kind, message } => (
                Some(kind),
                Reply {
                    error: Some(message),
                    ..Reply::default()
                },
            ),
            WuttError::Api {
                http_status,
                envelope,
            } => (
                None,
                Reply {
                    http_status: Some(http_status),
                    envelope: Some(envelope),
                    ..Reply::default()
                },
            ),
            WuttError::NotEnvelope {
                http_status,
                reason,
                excerpt,
            } => (
                None,
                Reply {
                    http_status: Some(http_status),
                    body_excerpt: Some(excerpt),
                    error: Some(reason),
                    ..Reply::default()
                },
            ),
            WuttError::UnexpectedData(reason) => (
                None,
                Reply {
                    http_status: Some(200),
                    error: Some(reason),
                    ..Reply::default()
                },
            ),
            other @ (WuttError::InvalidRequest(_) | WuttError::Media(_)) => {
                return Outcome::not_sent(other.to_string());
            }
        };
        Outcome::classify(transport, reply, None)
    }

    /// What a person should do about it, when the table knows.
    pub fn hint(&self) -> Option<&'static str> {
        self.rule().and_then(|r| r.hint)
    }

    /// The row of the classification table that this answer hits.
    fn rule(&self) -> Option<&'static outcome::Rule> {
        let obs = match self {
            WuttError::InvalidRequest(_) | WuttError::Media(_) => return None,
            WuttError::Transport { kind, .. } => Observation::Transport(*kind),
            WuttError::NotEnvelope { http_status, .. } => Observation::Answer {
                http_status: *http_status,
                envelope: None,
            },
            WuttError::UnexpectedData(_) => Observation::Answer {
                http_status: 200,
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
        Some(outcome::classify(obs))
    }
}

/// The Wutt API client. Cheap to clone (the connection pool and the
/// server's clock are shared).
#[derive(Debug, Clone)]
pub struct Client {
    config: ClientConfig,
    http: reqwest::Client,
    /// The server's clock, from the `Date` of every answer.
    clock: Arc<ServerClock>,
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
        Ok(Client {
            config,
            http,
            clock: Arc::default(),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The server's clock as its answers showed it so far.
    pub fn clock(&self) -> &ServerClock {
        &self.clock
    }

    /// `POST /inbox/send-template-message`.
    pub async fn send_template(&self, req: &SendTemplate) -> Outcome {
        if let Err(e) = req.check() {
            return Outcome::not_sent(e.to_string());
        }
        self.send("/inbox/send-template-message", template_form(req))
            .await
    }

    /// `POST /inbox/send-message`.
    pub async fn send_message(&self, req: &SendMessage) -> Outcome {
        match requests::message_form(req).await {
            Ok(form) => self.send("/inbox/send-message", form).await,
            Err(e) => Outcome::not_sent(e.to_string()),
        }
    }

    /// `GET /inbox/template-list` (one page; `None` leaves the choice to the server).
    pub async fn template_list(
        &self,
        page: Option<u32>,
        paginate: Option<u32>,
    ) -> Result<Envelope, WuttError> {
        check_paging(page, paginate)?;
        self.call(
            Method::GET,
            "/inbox/template-list",
            &paging(page, paginate),
            None,
        )
        .await
        .into_result()
    }

    /// Every template of the account, read page by page.
    pub async fn templates(&self) -> Result<Vec<Template>, WuttError> {
        let items = self
            .every_page("templates", |page| async move {
                self.template_list(Some(page), Some(LIST_PAGE_SIZE)).await
            })
            .await?;
        Ok(items.iter().filter_map(Template::from_value).collect())
    }

    /// Every contact whose mobile or name contains `search`, read page by page.
    pub async fn contacts_matching(&self, search: &str) -> Result<Vec<Value>, WuttError> {
        self.every_page("contacts", |page| async move {
            self.contact_list(&ContactQuery {
                page: Some(page),
                paginate: Some(LIST_PAGE_SIZE),
                search: Some(search.to_owned()),
            })
            .await
        })
        .await
    }

    /// Every conversation whose contact's mobile or name contains `search`,
    /// read page by page.
    pub async fn conversations_matching(&self, search: &str) -> Result<Vec<Value>, WuttError> {
        self.every_page("conversation", |page| async move {
            self.conversation_list(&ConversationQuery {
                page: Some(page),
                paginate: Some(LIST_PAGE_SIZE),
                search: Some(search.to_owned()),
                ..ConversationQuery::default()
            })
            .await
        })
        .await
    }

    /// Reads a paginated list from page 1 to its last page. The next request
    /// is built here, not from `next_page_url` (which drops `paginate` and
    /// `search`). At most [`MAX_PAGES`] pages.
    async fn every_page<F, Fut>(&self, key: &str, fetch: F) -> Result<Vec<Value>, WuttError>
    where
        F: Fn(u32) -> Fut,
        Fut: std::future::Future<Output = Result<Envelope, WuttError>>,
    {
        let mut items = Vec::new();
        for number in 1..=MAX_PAGES {
            let env = fetch(number).await?;
            let page = Page::parse(env.data.as_ref(), key).map_err(WuttError::UnexpectedData)?;
            if page.current_page != u64::from(number) {
                // A server that ignores `page` would hand the same items over
                // and over; stop rather than count them twice.
                return Err(WuttError::UnexpectedData(format!(
                    "asked for page {number} of the {key} list, the server answered page {}",
                    page.current_page
                )));
            }
            let more = page.has_next();
            items.extend(page.items);
            if !more {
                return Ok(items);
            }
        }
        Err(invalid(format!(
            "the {key} list has more than {MAX_PAGES} pages; stopped reading"
        )))
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
        if let Some(s) = &q.search {
            query.push(("search", s.clone()));
        }
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
        let sent_at = chrono::Utc::now();
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
        let date = response.headers().get(DATE).and_then(|v| v.to_str().ok());
        self.clock.observe(sent_at, chrono::Utc::now(), date);
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
                // Scrubbed before the cut too: a secret straddling the end of
                // the excerpt would otherwise leave its first bytes behind.
                body_excerpt: Some(self.scrub(&envelope::excerpt(&self.scrub_bytes(&body)))),
                error: Some(self.scrub(&format!("HTTP {status}: {why}"))),
                transport: None,
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

    /// [`Client::scrub`] on raw bytes (the body before it is cut and decoded).
    fn scrub_bytes<'b>(&self, body: &'b [u8]) -> Cow<'b, [u8]> {
        let secret = self.config.client_secret.expose().as_bytes();
        if secret.len() < 4 || !body.windows(secret.len()).any(|w| w == secret) {
            return Cow::Borrowed(body);
        }
        let mut out = Vec::with_capacity(body.len());
        let mut rest = body;
        while !rest.is_empty() {
            if rest.starts_with(secret) {
                out.extend_from_slice(b"[redacted]");
                rest = &rest[secret.len()..];
            } else {
                out.push(rest[0]);
                rest = &rest[1..];
            }
        }
        Cow::Owned(out)
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
