//! The Wutt client over real loopback HTTP: what each endpoint sends, how every
//! kind of answer (and non-answer) is classified, media refused before any
//! byte leaves, and the client secret kept out of every log and message.

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::json;
use support::{
    CLIENT_ID, SECRET, USER_AGENT, client, closed_port, config, parts, phone, raw_server,
};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use wutt_campaign::wutt::outcome::MAX_RETRY_AFTER;
use wutt_campaign::wutt::{
    Client, ContactForm, ContactQuery, ConversationQuery, ConversationStatus, MediaFile, MediaKind,
    Outcome, OutcomeClass, SendMessage, SendTemplate, TransportKind, WuttError,
};

fn success(remark: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "status": "success", "remark": remark,
        "message": ["Message sent successfully"],
        "data": {"message_id": "wamid.1"}
    }))
}

fn error(status: u16, remark: &str, messages: &[&str]) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"status": "error", "remark": remark, "message": messages}))
}

fn template() -> SendTemplate {
    SendTemplate {
        to: phone(),
        from_number: None,
        template_id: 12,
    }
}

async fn server_answering(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(answer).mount(&server).await;
    server
}

// ---------------------------------------------------------------- endpoints

#[tokio::test]
async fn every_endpoint_sends_its_method_path_headers_and_fields() {
    let server = server_answering(success("ok")).await;
    // The base keeps its own path; a trailing slash does not double up.
    let c = client(&format!("{}/external-api/", server.uri()));
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("photo.jpg");
    std::fs::write(&img, b"\xff\xd8jpeg-bytes").unwrap();

    c.template_list().await.unwrap();
    c.contact_list(&ContactQuery {
        page: Some(2),
        paginate: Some(50),
        search: Some("Jo Do".into()),
    })
    .await
    .unwrap();
    let mut contact = ContactForm::new("Jo", "Doe", phone());
    contact.city = Some("Dhaka".into());
    contact.profile_image = Some(MediaFile::new(MediaKind::Image, &img).unwrap());
    c.contact_store(&contact).await.unwrap();
    c.contact_update(7, &ContactForm::new("Jo", "Roe", phone()))
        .await
        .unwrap();
    c.contact_delete(5).await.unwrap();
    c.conversation_list(&ConversationQuery {
        status: Some(ConversationStatus::Pending),
        page: None,
        paginate: Some(20),
    })
    .await
    .unwrap();
    c.conversation_details(2).await.unwrap();
    c.change_conversation_status(3, ConversationStatus::Important)
        .await
        .unwrap();
    let o = c
        .send_template(&SendTemplate {
            from_number: Some("8801700000000".into()),
            ..template()
        })
        .await;
    assert_eq!(o.class(), OutcomeClass::Success, "{o:?}");
    let o = c
        .send_message(&SendMessage {
            message: Some("Hello".into()),
            media: vec![MediaFile::new(MediaKind::Image, &img).unwrap()],
            location: Some((23.81, 90.41)),
            cta_url_id: Some(4),
            interactive_list_id: Some(9),
            ..SendMessage::text(phone(), "x")
        })
        .await;
    assert_eq!(o.class(), OutcomeClass::Success, "{o:?}");

    let reqs = server.received_requests().await.unwrap();
    let seen: Vec<(String, String, Option<String>)> = reqs
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.url.path().to_string(),
                r.url.query().map(str::to_string),
            )
        })
        .collect();
    let q = |s: &str| Some(s.to_string());
    assert_eq!(
        seen,
        vec![
            (
                "GET".into(),
                "/external-api/inbox/template-list".into(),
                None
            ),
            (
                "GET".into(),
                "/external-api/contact/list".into(),
                q("page=2&paginate=50&search=Jo+Do")
            ),
            ("POST".into(), "/external-api/contact/store".into(), None),
            ("POST".into(), "/external-api/contact/update/7".into(), None),
            (
                "DELETE".into(),
                "/external-api/contact/delete/5".into(),
                None
            ),
            (
                "GET".into(),
                "/external-api/inbox/conversation-list".into(),
                q("status=2&paginate=20")
            ),
            (
                "GET".into(),
                "/external-api/inbox/conversation-details/2".into(),
                None
            ),
            (
                "POST".into(),
                "/external-api/inbox/change-conversation-status/3".into(),
                None
            ),
            (
                "POST".into(),
                "/external-api/inbox/send-template-message".into(),
                None
            ),
            (
                "POST".into(),
                "/external-api/inbox/send-message".into(),
                None
            ),
        ]
    );

    for r in &reqs {
        let h = |n: &str| r.headers.get(n).and_then(|v| v.to_str().ok());
        assert_eq!(h("client-id"), Some(CLIENT_ID));
        assert_eq!(h("client-secret"), Some(SECRET));
        assert_eq!(h("user-agent"), Some(USER_AGENT));
        if r.method.as_str() == "POST" {
            assert!(
                h("content-type")
                    .unwrap()
                    .starts_with("multipart/form-data; boundary=")
            );
        } else {
            assert!(r.body.is_empty(), "{} {} has a body", r.method, r.url);
            assert_eq!(h("content-type"), None);
        }
    }

    let fields = |i: usize| {
        let r = reqs[i].clone();
        async move {
            parts(&r)
                .await
                .into_iter()
                .map(|p| (p.name.clone(), p))
                .collect::<Vec<_>>()
        }
    };
    let names = |ps: &Vec<(String, support::Part)>| {
        ps.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };

    let store = fields(2).await;
    assert_eq!(
        names(&store),
        "firstname,lastname,mobile_code,mobile,city,profile_image"
    );
    assert_eq!(store[2].1.text(), "880");
    assert_eq!(store[3].1.text(), "1988123456");
    assert_eq!(store[5].1.file_name.as_deref(), Some("photo.jpg"));
    assert_eq!(store[5].1.content_type.as_deref(), Some("image/jpeg"));

    let update = fields(3).await;
    assert_eq!(names(&update), "firstname,lastname,mobile_code,mobile");
    assert_eq!(update[1].1.text(), "Roe");

    let status = fields(7).await;
    assert_eq!(names(&status), "status");
    assert_eq!(status[0].1.text(), "3");

    let tpl = fields(8).await;
    assert_eq!(names(&tpl), "mobile_code,mobile,from_number,template_id");
    assert_eq!(tpl[3].1.text(), "12");

    let msg = fields(9).await;
    assert_eq!(
        names(&msg),
        "mobile_code,mobile,message,image,latitude,longitude,cta_url_id,interactive_list_id"
    );
    assert_eq!(msg[2].1.text(), "Hello");
    assert_eq!(msg[3].1.data, b"\xff\xd8jpeg-bytes");
    assert_eq!(msg[3].1.file_name.as_deref(), Some("photo.jpg"));
    assert_eq!(msg[4].1.text(), "23.81");
    assert_eq!(msg[5].1.text(), "90.41");
    assert_eq!(msg[6].1.text(), "4");
    assert_eq!(msg[7].1.text(), "9");
}

#[tokio::test]
async fn a_base_url_without_a_path_works_too() {
    let server = server_answering(success("template_list")).await;
    let env = client(&server.uri()).template_list().await.unwrap();
    assert_eq!(env.remark, "template_list");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[0].url.path(), "/inbox/template-list");
}

// ---------------------------------------------------------------- outcomes

#[tokio::test]
async fn every_http_answer_gets_its_class() {
    use OutcomeClass::*;
    let whitelist = [
        "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.",
        "In order to access this API endpoint, please add your IP address (1.2.3.4) to the white list from the user dashboard.",
    ];
    let cases: Vec<(&str, ResponseTemplate, OutcomeClass)> = vec![
        ("success", success("message_sent"), Success),
        (
            "secret required",
            error(401, "Unauthorized", &["The client secret is required"]),
            AccountRefused,
        ),
        (
            "bad credentials",
            error(401, "Unauthorized", &["Invalid client credentials"]),
            AccountRefused,
        ),
        (
            "401 html",
            ResponseTemplate::new(401).set_body_string("<h1>no</h1>"),
            AccountRefused,
        ),
        (
            "ip whitelist",
            error(403, "Unauthorized", &whitelist),
            AccountRefused,
        ),
        (
            "not connected",
            error(
                403,
                "whatsapp_not_connected",
                &["WhatsApp account is not connected"],
            ),
            AccountRefused,
        ),
        (
            "plan",
            error(403, "plan_inactive", &["Your plan is inactive"]),
            AccountRefused,
        ),
        (
            "template missing",
            error(
                422,
                "template_not_found",
                &["The selected template does not exist"],
            ),
            AccountRefused,
        ),
        (
            "template unapproved",
            error(
                422,
                "template_not_approved",
                &["The selected template is not approved"],
            ),
            AccountRefused,
        ),
        (
            "validation",
            error(422, "validation_error", &["The mobile field is required."]),
            Rejected,
        ),
        (
            "invalid number",
            error(422, "invalid_number", &["The mobile number is invalid"]),
            Rejected,
        ),
        (
            "blocked",
            error(422, "blocked_contact", &["This contact is blocked"]),
            Rejected,
        ),
        ("400", error(400, "bad_request", &["Bad request"]), Rejected),
        (
            "404 envelope",
            error(404, "not_found", &["Contact not found"]),
            Rejected,
        ),
        (
            "404 html: wrong base URL",
            ResponseTemplate::new(404).set_body_string("<html>Not Found</html>"),
            AccountRefused,
        ),
        ("200 error envelope", error(200, "odd", &["no"]), Rejected),
        (
            "500 json",
            error(500, "server_error", &["Server error"]),
            Transient,
        ),
        (
            "502 html",
            ResponseTemplate::new(502)
                .set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>"),
            Transient,
        ),
        ("503 empty", ResponseTemplate::new(503), Transient),
        (
            "504",
            ResponseTemplate::new(504).set_body_string("gateway timeout"),
            Ambiguous,
        ),
        ("empty 200", ResponseTemplate::new(200), Ambiguous),
        (
            "html 200",
            ResponseTemplate::new(200).set_body_string("<html>ok</html>"),
            Ambiguous,
        ),
        (
            "truncated json 200",
            ResponseTemplate::new(200).set_body_string(r#"{"status":"success","remark":"mess"#),
            Ambiguous,
        ),
        (
            "other json 200",
            ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
            Ambiguous,
        ),
        (
            "json array 200",
            ResponseTemplate::new(200).set_body_json(json!([1, 2])),
            Ambiguous,
        ),
    ];
    let server = MockServer::start().await;
    let c = client(&server.uri());
    for (name, answer, expected) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/inbox/send-template-message"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let o = c.send_template(&template()).await;
        assert_eq!(o.class(), expected, "{name}: {o:?}");
        assert!(o.reply().http_status.is_some(), "{name}");
        if o.reply().envelope.is_none() {
            let err = o.reply().error.as_deref().unwrap_or_default();
            assert!(err.starts_with("HTTP "), "{name}: {err}");
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn success_keeps_the_envelope() {
    let server = server_answering(success("message_sent")).await;
    let o = client(&server.uri())
        .send_message(&SendMessage::text(phone(), "hi"))
        .await;
    let Outcome::Success(reply) = o else {
        panic!("{o:?}")
    };
    assert_eq!(reply.http_status, Some(200));
    let env = reply.envelope.unwrap();
    assert_eq!(env.remark, "message_sent");
    assert_eq!(env.data.unwrap()["message_id"], "wamid.1");
}

#[tokio::test]
async fn throttled_carries_retry_after_in_seconds_or_as_a_date() {
    let server = MockServer::start().await;
    let c = client(&server.uri());
    let too_many = || error(429, "too_many_requests", &["Too many requests"]);
    Mock::given(any())
        .respond_with(too_many().insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let o = c.send_template(&template()).await;
    assert!(
        matches!(o, Outcome::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{o:?}"
    );

    server.reset().await;
    let date = httpdate_in(Duration::from_secs(3600));
    Mock::given(any())
        .respond_with(too_many().insert_header("Retry-After", date.as_str()))
        .mount(&server)
        .await;
    let o = c.send_template(&template()).await;
    let Outcome::Throttled {
        retry_after: Some(d),
        ..
    } = o
    else {
        panic!("{o:?}")
    };
    assert!(
        d > Duration::from_secs(3000) && d <= Duration::from_secs(3600),
        "{d:?}"
    );

    server.reset().await;
    Mock::given(any())
        .respond_with(too_many())
        .mount(&server)
        .await;
    let o = c.send_template(&template()).await;
    assert!(
        matches!(
            o,
            Outcome::Throttled {
                retry_after: None,
                ..
            }
        ),
        "{o:?}"
    );
}

fn httpdate_in(d: Duration) -> String {
    let at = chrono::Utc::now() + chrono::Duration::from_std(d).unwrap();
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test]
async fn connection_dropped_mid_body_is_ambiguous_after_a_200_and_transient_after_a_503() {
    let head = |status: &str| {
        format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"status\":\"succ")
            .into_bytes()
    };
    let addr = raw_server(Some(head("200 OK"))).await;
    let o = client(&format!("http://{addr}"))
        .send_template(&template())
        .await;
    assert_eq!(o.class(), OutcomeClass::Ambiguous, "{o:?}");
    assert_eq!(o.reply().http_status, Some(200));
    assert!(
        o.reply().error.as_deref().unwrap().contains("broke off"),
        "{o:?}"
    );

    let addr = raw_server(Some(head("503 Service Unavailable"))).await;
    let o = client(&format!("http://{addr}"))
        .send_template(&template())
        .await;
    assert_eq!(o.class(), OutcomeClass::Transient, "{o:?}");
}

#[tokio::test]
async fn connection_closed_without_an_answer_is_ambiguous() {
    let addr = raw_server(Some(Vec::new())).await;
    let o = client(&format!("http://{addr}"))
        .send_template(&template())
        .await;
    assert_eq!(o.class(), OutcomeClass::Ambiguous, "{o:?}");
    assert_eq!(o.reply().http_status, None);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_as_ambiguous() {
    let addr = raw_server(None).await;
    let c = Client::new(config(
        &format!("http://{addr}"),
        Duration::from_millis(300),
    ))
    .unwrap();
    let o = c.send_template(&template()).await;
    assert_eq!(o.class(), OutcomeClass::Ambiguous, "{o:?}");
    assert_eq!(o.reply().http_status, None);
    let err = c.template_list().await.unwrap_err();
    assert!(
        matches!(
            err,
            WuttError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), Some(OutcomeClass::Ambiguous));
}

#[tokio::test]
async fn connection_refused_is_transient() {
    let addr = closed_port().await;
    let c = client(&format!("http://{addr}"));
    let o = c.send_message(&SendMessage::text(phone(), "hi")).await;
    assert_eq!(o.class(), OutcomeClass::Transient, "{o:?}");
    let err = c.template_list().await.unwrap_err();
    assert!(
        matches!(
            err,
            WuttError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_failed_tls_handshake_is_transient() {
    let addr = raw_server(Some(b"HTTP/1.1 400 Bad Request\r\n\r\nnot tls".to_vec())).await;
    let o = client(&format!("https://{addr}"))
        .send_template(&template())
        .await;
    assert_eq!(o.class(), OutcomeClass::Transient, "{o:?}");
}

#[tokio::test]
async fn an_unknown_host_is_transient() {
    let o = client("http://wutt-campaign-test.invalid/external-api")
        .send_template(&template())
        .await;
    assert_eq!(o.class(), OutcomeClass::Transient, "{o:?}");
}

#[tokio::test]
async fn an_answer_over_the_cap_is_not_read_whole() {
    let huge = "a".repeat(wutt_campaign::wutt::BODY_CAP * 2);
    let server = server_answering(ResponseTemplate::new(200).set_body_string(huge)).await;
    let c = client(&server.uri());
    let o = c.send_template(&template()).await;
    assert_eq!(o.class(), OutcomeClass::Ambiguous, "{o:?}");
    assert!(o.reply().error.as_deref().unwrap().contains("larger than"));
    assert_eq!(o.reply().body_excerpt.as_deref().unwrap().len(), 512);
    let err = c.template_list().await.unwrap_err();
    assert!(
        matches!(&err, WuttError::NotEnvelope { http_status: 200, excerpt, .. } if excerpt.len() == 512),
        "{err}"
    );
}

#[tokio::test]
async fn non_send_endpoints_give_meaningful_errors() {
    let server = MockServer::start().await;
    let c = client(&server.uri());
    Mock::given(any())
        .respond_with(error(401, "Unauthorized", &["Invalid client credentials"]))
        .mount(&server)
        .await;
    let err = c.contact_list(&ContactQuery::default()).await.unwrap_err();
    assert!(
        matches!(&err, WuttError::Api { http_status: 401, envelope } if envelope.remark == "Unauthorized"),
        "{err:?}"
    );
    assert_eq!(err.class(), Some(OutcomeClass::AccountRefused));
    assert!(err.to_string().contains("Invalid client credentials"));

    server.reset().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>"))
        .mount(&server)
        .await;
    let err = c.conversation_details(1).await.unwrap_err();
    assert!(
        matches!(&err, WuttError::NotEnvelope { http_status: 502, excerpt, .. } if excerpt.contains("Bad Gateway")),
        "{err:?}"
    );
    assert_eq!(err.class(), Some(OutcomeClass::Transient));

    // Refused by the client itself: nothing sent.
    server.reset().await;
    assert!(matches!(
        c.contact_delete(0).await,
        Err(WuttError::InvalidRequest(_))
    ));
    assert!(matches!(
        c.contact_list(&ContactQuery {
            page: Some(0),
            ..Default::default()
        })
        .await,
        Err(WuttError::InvalidRequest(_))
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- refused before sending

#[tokio::test]
async fn bad_media_and_bad_requests_never_reach_the_api() {
    let server = server_answering(success("message_sent")).await;
    let c = client(&server.uri());
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.png");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(MediaKind::Image.max_bytes() + 1)
        .unwrap();
    let gif = dir.path().join("anim.gif");
    std::fs::write(&gif, b"GIF89a").unwrap();
    let described = |path: &std::path::Path, mime: &str| MediaFile {
        kind: MediaKind::Image,
        path: path.to_path_buf(),
        file_name: path.file_name().unwrap().to_string_lossy().into_owned(),
        mime_type: mime.into(),
    };
    let with_media = |m: MediaFile| SendMessage {
        media: vec![m],
        ..SendMessage::text(phone(), "caption")
    };

    let cases = vec![
        (
            "too large",
            with_media(described(&big, "image/png")),
            "over the limit",
        ),
        (
            "wrong type",
            with_media(described(&gif, "image/gif")),
            "type not accepted",
        ),
        (
            "missing file",
            with_media(described(&dir.path().join("gone.png"), "image/png")),
            "gone.png",
        ),
        (
            "no recipient",
            SendMessage {
                to: None,
                ..SendMessage::text(phone(), "x")
            },
            "no recipient",
        ),
        (
            "nothing to send",
            SendMessage {
                message: None,
                ..SendMessage::text(phone(), "x")
            },
            "nothing to send",
        ),
        ("empty text", SendMessage::text(phone(), "  "), "empty"),
        (
            "bad location",
            SendMessage {
                location: Some((91.0, 0.0)),
                message: None,
                ..SendMessage::text(phone(), "x")
            },
            "out of range",
        ),
    ];
    for (name, req, why) in cases {
        let o = c.send_message(&req).await;
        assert_eq!(o.class(), OutcomeClass::Rejected, "{name}");
        assert_eq!(o.reply().http_status, None, "{name}");
        let err = o.reply().error.clone().unwrap();
        assert!(
            err.starts_with("not sent:") && err.contains(why),
            "{name}: {err}"
        );
    }
    let o = c
        .send_template(&SendTemplate {
            template_id: 0,
            ..template()
        })
        .await;
    assert_eq!(o.class(), OutcomeClass::Rejected);
    let mut contact = ContactForm::new("A", "B", phone());
    contact.profile_image = Some(described(&big, "image/png"));
    assert!(matches!(
        c.contact_store(&contact).await,
        Err(WuttError::Media(_))
    ));

    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- secrets

#[derive(Clone)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, at TRACE, from `tracing` and `log`.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::util::SubscriberInitExt;
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Captured(buf.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .try_init()
            .expect("the only global subscriber of this test binary");
        buf
    })
    .clone()
}

#[tokio::test]
async fn the_secret_appears_in_no_log_error_or_debug_output() {
    let logs = capture_logs();
    let mut said: Vec<String> = Vec::new();

    let server = MockServer::start().await;
    let c = client(&format!("{}/external-api", server.uri()));
    said.push(format!("{:?}", c.config()));
    said.push(format!("{c:?}"));
    let answers = vec![
        success("message_sent"),
        error(401, "Unauthorized", &["Invalid client credentials"]),
        // A server that echoes the secret back must not get it into our records.
        error(422, "validation_error", &[&format!("bad secret {SECRET}")]),
        ResponseTemplate::new(502).set_body_string(format!("<html>{SECRET}</html>")),
        ResponseTemplate::new(200).set_body_string(format!("{{\"secret\":\"{SECRET}\"")),
        // The secret straddles the end of the 512-byte excerpt kept of the body.
        ResponseTemplate::new(502).set_body_string(format!("{}{SECRET}", "x".repeat(505))),
    ];
    for answer in answers {
        server.reset().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let o = c.send_template(&template()).await;
        said.push(format!("{o:?}"));
        said.push(format!(
            "{:?}",
            c.send_message(&SendMessage::text(phone(), "hi")).await
        ));
        match c.template_list().await {
            Ok(env) => said.push(format!("{env:?}")),
            Err(e) => said.push(format!("{e} {e:?}")),
        }
    }
    let refused = client(&format!("http://{}", closed_port().await));
    let o = refused.send_template(&template()).await;
    said.push(format!("{o:?}"));
    let e = refused.template_list().await.unwrap_err();
    said.push(format!("{e} {e:?}"));
    let o = refused.send_message(&SendMessage::default()).await;
    said.push(format!("{o:?}"));

    assert!(
        said.iter()
            .any(|s| s.contains("Invalid client credentials"))
    );
    for s in &said {
        assert!(!s.contains(SECRET), "secret leaked in: {s}");
        assert!(
            !s.contains(&SECRET[..7]),
            "part of the secret leaked in: {s}"
        );
    }
    let logs = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logs.contains("wutt request"), "logs were not captured");
    assert!(!logs.contains(SECRET), "secret leaked into the logs");
}

#[tokio::test]
async fn a_retry_after_that_is_junk_or_huge_never_panics() {
    let server = MockServer::start().await;
    let c = client(&server.uri());
    let cases = [
        ("1e30", None),
        ("-5", None),
        ("NaN", None),
        ("", None),
        ("18446744073709551616", Some(MAX_RETRY_AFTER)),
        ("99999999999", Some(MAX_RETRY_AFTER)),
    ];
    for (value, expected) in cases {
        server.reset().await;
        Mock::given(any())
            .respond_with(
                error(429, "too_many_requests", &["Too many requests"])
                    .insert_header("Retry-After", value),
            )
            .mount(&server)
            .await;
        let o = c.send_template(&template()).await;
        let Outcome::Throttled { retry_after, .. } = o else {
            panic!("{value:?}: {o:?}")
        };
        assert_eq!(retry_after, expected, "Retry-After: {value:?}");
    }
}
