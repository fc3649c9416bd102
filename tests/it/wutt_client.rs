//! The Wutt client over real loopback HTTP: what each endpoint sends (template
//! variables as repeated fields), how it reads every page of a list, how every
//! kind of answer (and non-answer) is classified — the real server answers its
//! refusals with HTTP 200 envelopes and only authentication with 401 —, media
//! refused before any byte leaves, and the client secret kept out of every log
//! and message.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::support::http::{
    CLIENT_ID, SECRET, USER_AGENT, client, closed_port, config, parts, phone, raw_server,
};
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wutt_campaign::wutt::outcome::{MAX_RETRY_AFTER, rule_of};
use wutt_campaign::wutt::templates::TemplateStatus;
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
        .set_body_json(json!({"remark": remark, "status": "error", "message": messages}))
}

/// A controller's refusal as the real server sends it: HTTP 200.
fn refused(remark: &str, messages: &[&str]) -> ResponseTemplate {
    error(200, remark, messages)
}

/// An HTML page with its status (a web server's, a proxy's, Laravel's).
fn page(status: u16, html: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_string(html)
}

fn template() -> SendTemplate {
    SendTemplate {
        to: phone(),
        from_number: None,
        template_id: 12,
        body_variables: vec!["Ana".into(), "A-1".into()],
        header_variables: vec!["Spring".into()],
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

    c.template_list(None, None).await.unwrap();
    c.contact_list(&ContactQuery {
        page: Some(2),
        paginate: Some(50),
        search: Some("Jo Do".into()),
    })
    .await
    .unwrap();
    let mut contact = ContactForm::new("Jo", "Doe", phone());
    contact.city = Some("Dhaka".into());
    contact.zip = Some("1207".into());
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
        search: Some("1988".into()),
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
                q("status=2&paginate=20&search=1988")
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
    let names = |ps: &Vec<(String, crate::support::http::Part)>| {
        ps.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };

    let store = fields(2).await;
    assert_eq!(
        names(&store),
        "firstname,lastname,mobile_code,mobile,city,post_code,profile_image",
        "the postal code is the server's post_code"
    );
    assert_eq!(store[2].1.text(), "880");
    assert_eq!(store[3].1.text(), "1988123456");
    assert_eq!(store[5].1.text(), "1207");
    assert_eq!(store[6].1.file_name.as_deref(), Some("photo.jpg"));
    assert_eq!(store[6].1.content_type.as_deref(), Some("image/jpeg"));

    let update = fields(3).await;
    assert_eq!(names(&update), "firstname,lastname,mobile_code,mobile");
    assert_eq!(update[1].1.text(), "Roe");

    let status = fields(7).await;
    assert_eq!(names(&status), "status");
    assert_eq!(status[0].1.text(), "3");

    let tpl = fields(8).await;
    assert_eq!(
        names(&tpl),
        "mobile_code,mobile,from_number,template_id,body_variables[],body_variables[],header_variables[]"
    );
    assert_eq!(tpl[3].1.text(), "12");
    let values: Vec<&str> = tpl[4..].iter().map(|(_, p)| p.text()).collect();
    assert_eq!(values, ["Ana", "A-1", "Spring"]);

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
    let env = client(&server.uri())
        .template_list(None, None)
        .await
        .unwrap();
    assert_eq!(env.remark, "template_list");
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs[0].url.path(), "/inbox/template-list");
}

#[tokio::test]
async fn the_template_send_repeats_its_variable_fields_in_order() {
    let server = server_answering(refused(
        "exception",
        &["Undefined variable $conversationId"],
    ))
    .await;
    let c = client(&server.uri());
    let t = SendTemplate {
        body_variables: vec![
            "first".into(),
            "".into(),
            "{{ contactName }}".into(),
            "fourth, with a comma".into(),
        ],
        header_variables: vec!["H1".into(), "H2".into()],
        ..template()
    };
    let o = c.send_template(&t).await;
    assert_eq!(o.class(), OutcomeClass::Success, "{o:?}");
    let none = SendTemplate {
        body_variables: Vec::new(),
        header_variables: Vec::new(),
        ..template()
    };
    c.send_template(&none).await;

    let reqs = server.received_requests().await.unwrap();
    let fields: Vec<(String, String)> = parts(&reqs[0])
        .await
        .into_iter()
        .map(|p| (p.name.clone(), p.text().to_owned()))
        .collect();
    let of = |name: &str| -> Vec<&str> {
        fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(
        of("body_variables[]"),
        ["first", "", "{{ contactName }}", "fourth, with a comma"],
        "one repeated field per value, in order, sent as given"
    );
    assert_eq!(of("header_variables[]"), ["H1", "H2"]);
    assert!(of("body_variables").is_empty() && of("header_variables").is_empty());
    assert_eq!(of("template_id"), ["12"]);
    assert!(
        of("testmplate_id").is_empty(),
        "not the vendor example's typo"
    );

    let bare: Vec<String> = parts(&reqs[1]).await.into_iter().map(|p| p.name).collect();
    assert_eq!(
        bare,
        ["mobile_code", "mobile", "template_id"],
        "no empty variable fields"
    );
}

/// Serves `total` items of `key` as Laravel's paginator at `per_page` a
/// page, whatever `paginate` the client asks for, with page links that lead
/// elsewhere (following them would fail). Pages past the last are served too,
/// so reading too far would show.
struct Paginator {
    key: &'static str,
    total: u64,
    per_page: u64,
}

impl Respond for Paginator {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let page: u64 = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1);
        let last = self.total.div_ceil(self.per_page).max(1);
        let first_id = (page - 1) * self.per_page + 1;
        let items: Vec<Value> = (first_id..first_id + self.per_page)
            .map(|id| {
                json!({"id": id, "name": format!("t{id}"), "status": id % 4, "language_id": 1,
                    "body": if id % 2 == 0 { "Hi {{1}}" } else { "Hello" }, "header": null,
                    "contact": {"mobile": "1988"}})
            })
            .filter(|v| v["id"].as_u64().unwrap() <= self.total || page > last)
            .collect();
        let elsewhere = |p: u64| format!("http://elsewhere.invalid/list?page={p}");
        ResponseTemplate::new(200).set_body_json(json!({
            "remark": "inbox", "status": "success", "message": ["fetched"],
            "data": {self.key: {
                "current_page": page, "data": items, "first_page_url": elsewhere(1),
                "from": first_id, "last_page": last, "last_page_url": elsewhere(last),
                "links": [], "next_page_url": (page < last).then(|| elsewhere(page + 1)),
                "path": "http://elsewhere.invalid/list", "per_page": self.per_page,
                "prev_page_url": null, "to": first_id + self.per_page - 1, "total": self.total,
            }}
        }))
    }
}

/// The query of every request `server` received, in order.
async fn queries(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{}?{}", r.url.path(), r.url.query().unwrap_or("")))
        .collect()
}

#[tokio::test]
async fn templates_builds_each_page_request_itself_and_stops_at_the_last_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/external-api/inbox/template-list"))
        .respond_with(Paginator {
            key: "templates",
            total: 45,
            per_page: 20,
        })
        .mount(&server)
        .await;
    let c = client(&format!("{}/external-api", server.uri()));
    let list = c.templates().await.unwrap();
    assert_eq!(
        list.len(),
        45,
        "every page, whatever page size the server picked"
    );
    let ids: Vec<i64> = list.iter().map(|t| t.id).collect();
    assert_eq!(ids, (1..=45).collect::<Vec<_>>());
    assert_eq!(list[3].status, TemplateStatus::Pending, "status 0");
    assert_eq!(list[0].status, TemplateStatus::Approved, "status 1");
    assert_eq!((list[1].body_params, list[0].body_params), (1, 0));
    let asked = queries(&server).await;
    let p = |n: u32| format!("/external-api/inbox/template-list?page={n}&paginate=100");
    assert_eq!(
        asked,
        [p(1), p(2), p(3)],
        "built here, not from next_page_url, and no page 4"
    );
}

#[tokio::test]
async fn contacts_and_conversations_matching_keep_search_on_every_page() {
    let server = MockServer::start().await;
    Mock::given(path("/contact/list"))
        .respond_with(Paginator {
            key: "contacts",
            total: 7,
            per_page: 3,
        })
        .mount(&server)
        .await;
    Mock::given(path("/inbox/conversation-list"))
        .respond_with(Paginator {
            key: "conversation",
            total: 2,
            per_page: 3,
        })
        .mount(&server)
        .await;
    let c = client(&server.uri());
    assert_eq!(c.contacts_matching("1988 12").await.unwrap().len(), 7);
    assert_eq!(c.conversations_matching("1988").await.unwrap().len(), 2);
    let asked = queries(&server).await;
    assert_eq!(
        asked,
        [
            "/contact/list?page=1&paginate=100&search=1988+12",
            "/contact/list?page=2&paginate=100&search=1988+12",
            "/contact/list?page=3&paginate=100&search=1988+12",
            "/inbox/conversation-list?page=1&paginate=100&search=1988",
        ]
    );
}

/// `data.templates` that is not a paginator, for each way it can be wrong.
fn not_paginators() -> Vec<(&'static str, ResponseTemplate)> {
    let with = |data: Value| {
        ResponseTemplate::new(200).set_body_json(
            json!({"remark": "inbox", "status": "success", "message": ["ok"], "data": data}),
        )
    };
    vec![
        ("no data", success_without_data()),
        ("no templates", with(json!({"contacts": []}))),
        ("a string", with(json!({"templates": "none"}))),
        ("a number", with(json!({"templates": 3}))),
        ("null", with(json!({"templates": null}))),
        (
            "an object without data",
            with(json!({"templates": {"current_page": 1}})),
        ),
        (
            "data not a list",
            with(json!({"templates": {"data": {"id": 1}}})),
        ),
        (
            "data a string",
            with(json!({"templates": {"data": "x", "last_page": 2}})),
        ),
    ]
}

fn success_without_data() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(json!({"remark": "inbox", "status": "success", "message": ["ok"]}))
}

#[tokio::test]
async fn a_list_answer_that_is_not_a_paginator_is_an_error_not_a_panic() {
    let server = MockServer::start().await;
    let c = client(&server.uri());
    for (name, answer) in not_paginators() {
        server.reset().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let err = c.templates().await.expect_err(name);
        match &err {
            WuttError::UnexpectedData(reason) => {
                assert!(reason.contains("data.templates"), "{name}: {reason}");
            }
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(err.class(), Some(OutcomeClass::Ambiguous), "{name}");
        assert_eq!(
            queries(&server).await.len(),
            1,
            "{name}: one page asked, then stopped"
        );
    }
    // A bare list is taken as a list of one page.
    server.reset().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"remark": "inbox",
            "status": "success", "data": {"templates": [{"id": 4, "status": 1}]}})),
        )
        .mount(&server)
        .await;
    let list = c.templates().await.unwrap();
    assert_eq!(list.iter().map(|t| t.id).collect::<Vec<_>>(), [4]);
}

#[tokio::test]
async fn a_list_that_is_not_a_paginator_says_so_in_its_error_message() {
    let server = MockServer::start().await;
    let c = client(&server.uri());
    for (name, answer) in not_paginators() {
        server.reset().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let shown = c.templates().await.expect_err(name).to_string();
        assert!(
            shown.contains("data.templates") && !shown.contains("empty body"),
            "{name}: the message hides why the list was refused: {shown:?}"
        );
    }
}

// ---------------------------------------------------------------- outcomes

#[tokio::test]
async fn every_http_answer_gets_its_row_and_class() {
    use OutcomeClass::*;
    let whitelist = [
        "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.",
        "In order to access this API endpoint, please add your IP address (1.2.3.4) to the white list from the user dashboard.",
    ];
    let wa = |code: u32, template_form: bool| {
        let e = wutt_campaign::wutt::whatsapp::by_code(code).unwrap();
        let text = if template_form {
            e.template_form().to_owned()
        } else {
            e.text_form()
        };
        refused("exception", &[&text])
    };
    let nginx = |code: u16, reason: &str| {
        page(
            code,
            &format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            ),
        )
    };
    let cases: Vec<(&str, ResponseTemplate, &str, OutcomeClass)> = vec![
        // Sent.
        ("text sent", success("success"), "success", Success),
        (
            "template sent, fixed server",
            success("template_sent"),
            "success",
            Success,
        ),
        (
            "template sent, public server",
            refused("exception", &["Undefined variable $conversationId"]),
            "template-sent-answer-defect",
            Success,
        ),
        // The middleware: 401 for every authentication failure.
        (
            "no client id",
            error(401, "Unauthorized", &["The client id is required"]),
            "unauthorized",
            AccountRefused,
        ),
        (
            "bad credentials",
            error(401, "Unauthorized", &["Invalid credentials"]),
            "unauthorized",
            AccountRefused,
        ),
        (
            "ip whitelist",
            error(401, "Unauthorized", &whitelist),
            "unauthorized",
            AccountRefused,
        ),
        (
            "401 html",
            page(401, "<h1>no</h1>"),
            "unauthorized",
            AccountRefused,
        ),
        (
            "Unauthorized with 200",
            refused("Unauthorized", &["Invalid credentials"]),
            "remark-unauthorized",
            AccountRefused,
        ),
        (
            "no plan",
            refused(
                "subscription_required",
                &["You cannot proceed without an active plan. Please purchase a plan to continue"],
            ),
            "no-active-plan",
            AccountRefused,
        ),
        (
            "plan expired",
            refused(
                "subscription_required",
                &["Your plan has expired. Please renew or purchase a new plan to regain access."],
            ),
            "no-active-plan",
            AccountRefused,
        ),
        (
            "no API in the plan",
            refused(
                "not_available",
                &["Your current plan does not support API access. Please upgrade your plan."],
            ),
            "api-not-in-plan",
            AccountRefused,
        ),
        (
            "no user",
            refused("user_error", &["No user found for provided credentials"]),
            "no-user",
            AccountRefused,
        ),
        // The controllers: HTTP 200 envelopes.
        (
            "not connected",
            refused("not_found", &["Please connect your whatsapp account first"]),
            "whatsapp-not-connected",
            AccountRefused,
        ),
        (
            "from_number",
            refused("not_found", &["The whatsapp account is not found"]),
            "unknown-from-number",
            CampaignRefused,
        ),
        (
            "template",
            refused("not_found", &["The template is not found"]),
            "template-not-found",
            CampaignRefused,
        ),
        (
            "blocked",
            refused(
                "not_found",
                &[
                    "You cannot send or receive messages with this contact because they have been blocked.",
                ],
            ),
            "blocked-contact",
            Rejected,
        ),
        (
            "cta",
            refused("not_found", &["The cta url is not found"]),
            "cta-url-not-found",
            CampaignRefused,
        ),
        (
            "list",
            refused("not_found", &["The interactive list is not found"]),
            "list-not-found",
            CampaignRefused,
        ),
        (
            "interactive",
            refused(
                "not_found",
                &[
                    "Your current plan does not support interactive messages. Please upgrade your plan.",
                ],
            ),
            "interactive-not-in-plan",
            CampaignRefused,
        ),
        (
            "unknown route under the prefix",
            error(
                404,
                "not_found",
                &["The route external-api/v2/inbox/send-template-message could not be found."],
            ),
            "no-such-route",
            AccountRefused,
        ),
        (
            "other not found",
            refused("not_found", &["The conversation is not found"]),
            "other-not-found",
            CampaignRefused,
        ),
        (
            "mobile",
            refused("validation_error", &["The mobile format is invalid."]),
            "mobile-refused",
            Rejected,
        ),
        (
            "template id",
            refused("validation_error", &["The template id field is required."]),
            "request-refused",
            CampaignRefused,
        ),
        (
            "wrong method",
            refused(
                "exception",
                &[
                    "The GET method is not supported for route external-api/inbox/send-message. Supported methods: POST.",
                ],
            ),
            "method-not-supported",
            AccountRefused,
        ),
        (
            "text to a non-contact",
            refused(
                "exception",
                &["Attempt to read property \"mobileNumber\" on null"],
            ),
            "text-to-non-contact",
            Rejected,
        ),
        // WhatsApp's own errors, in the text and the template form.
        (
            "130429 text",
            wa(130429, false),
            "whatsapp-throughput",
            Throttled,
        ),
        (
            "130429 template",
            wa(130429, true),
            "whatsapp-throughput",
            Throttled,
        ),
        (
            "131056 text",
            wa(131056, false),
            "whatsapp-pair-rate",
            RecipientThrottled,
        ),
        (
            "131056 template",
            wa(131056, true),
            "whatsapp-pair-rate",
            RecipientThrottled,
        ),
        (
            "131047 text",
            wa(131047, false),
            "whatsapp-recipient",
            Rejected,
        ),
        (
            "131026 template",
            wa(131026, true),
            "whatsapp-recipient",
            Rejected,
        ),
        (
            "132000 template",
            wa(132000, true),
            "whatsapp-campaign",
            CampaignRefused,
        ),
        (
            "132015 text",
            wa(132015, false),
            "whatsapp-campaign",
            CampaignRefused,
        ),
        (
            "190 text",
            refused(
                "exception",
                &[
                    "Error validating access token: Session has expired on Tuesday, 01-Dec-26 10:00:00 UTC. The current time is Tuesday, 01-Dec-26 11:00:00 UTC.",
                ],
            ),
            "whatsapp-account",
            AccountRefused,
        ),
        (
            "190 template",
            wa(190, true),
            "whatsapp-account",
            AccountRefused,
        ),
        (
            "131000 text",
            wa(131000, false),
            "whatsapp-transient",
            Transient,
        ),
        // Exceptions that do not say whether WhatsApp was called.
        (
            "bare something went wrong",
            refused("exception", &["Something went wrong"]),
            "unknown-exception",
            Ambiguous,
        ),
        (
            "curl timeout",
            refused(
                "exception",
                &[
                    "cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received",
                ],
            ),
            "unknown-exception",
            Ambiguous,
        ),
        // In front of the application.
        (
            "proxy 429",
            nginx(429, "Too Many Requests"),
            "too-many-requests",
            Throttled,
        ),
        (
            "maintenance",
            page(503, "<title>Service Unavailable</title>"),
            "maintenance",
            Transient,
        ),
        (
            "503 empty",
            ResponseTemplate::new(503),
            "maintenance",
            Transient,
        ),
        (
            "500 page",
            page(500, "<title> Wutt - 500</title>"),
            "server-error",
            Ambiguous,
        ),
        ("502", nginx(502, "Bad Gateway"), "server-error", Ambiguous),
        (
            "504",
            nginx(504, "Gateway Time-out"),
            "server-error",
            Ambiguous,
        ),
        (
            "408",
            nginx(408, "Request Timeout"),
            "request-timeout",
            Transient,
        ),
        (
            "403 firewall",
            nginx(403, "Forbidden"),
            "forbidden",
            AccountRefused,
        ),
        (
            "redirect",
            ResponseTemplate::new(302).insert_header("location", "https://www.wutt.net/login"),
            "redirected",
            AccountRefused,
        ),
        (
            "404 page: wrong base URL",
            page(404, "<html>Not Found</html>"),
            "no-such-endpoint",
            AccountRefused,
        ),
        (
            "405 page",
            page(405, "<title>Method Not Allowed</title>"),
            "no-such-endpoint",
            AccountRefused,
        ),
        (
            "400 envelope",
            error(400, "bad_request", &["Bad request"]),
            "client-error",
            Rejected,
        ),
        (
            "413 page",
            nginx(413, "Request Entity Too Large"),
            "client-error",
            Rejected,
        ),
        (
            "contact limit",
            refused(
                "contact_limit_error",
                &[
                    "You\u{2019}ve reached your  contact limit. Please upgrade your plan to continue.",
                ],
            ),
            "contact-limit",
            CampaignRefused,
        ),
        // A yes we cannot read.
        (
            "unknown remark",
            refused("contact_error", &["Unable to delete contact with messages"]),
            "unreadable-2xx",
            Ambiguous,
        ),
        (
            "empty 200",
            ResponseTemplate::new(200),
            "unreadable-2xx",
            Ambiguous,
        ),
        (
            "html 200",
            page(200, "<html>ok</html>"),
            "unreadable-2xx",
            Ambiguous,
        ),
        (
            "truncated json 200",
            ResponseTemplate::new(200).set_body_string(r#"{"status":"success","remark":"mess"#),
            "unreadable-2xx",
            Ambiguous,
        ),
        (
            "other json 200",
            ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
            "unreadable-2xx",
            Ambiguous,
        ),
        (
            "json array 200",
            ResponseTemplate::new(200).set_body_json(json!([1, 2])),
            "unreadable-2xx",
            Ambiguous,
        ),
    ];
    let server = MockServer::start().await;
    let c = client(&server.uri());
    for (name, answer, row, expected) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .and(path("/inbox/send-template-message"))
            .respond_with(answer)
            .expect(1)
            .mount(&server)
            .await;
        let o = c.send_template(&template()).await;
        let decided = rule_of(o.reply()).map(|r| r.name);
        assert_eq!(decided, Some(row), "{name}: {o:?}");
        assert_eq!(o.class(), expected, "{name}: {o:?}");
        if o.reply().envelope.is_none() {
            let err = o.reply().error.as_deref().unwrap_or_default();
            assert!(err.starts_with("HTTP "), "{name}: {err}");
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn success_keeps_the_envelope() {
    let server = server_answering(success("success")).await;
    let o = client(&server.uri())
        .send_message(&SendMessage::text(phone(), "hi"))
        .await;
    let Outcome::Success(reply) = o else {
        panic!("{o:?}")
    };
    assert_eq!(reply.http_status, Some(200));
    let env = reply.envelope.unwrap();
    assert_eq!(env.remark, "success");
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
    let err = c.template_list(None, None).await.unwrap_err();
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
    let err = c.template_list(None, None).await.unwrap_err();
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
    let err = c.template_list(None, None).await.unwrap_err();
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
        .respond_with(error(401, "Unauthorized", &["Invalid credentials"]))
        .mount(&server)
        .await;
    let err = c.contact_list(&ContactQuery::default()).await.unwrap_err();
    assert!(
        matches!(&err, WuttError::Api { http_status: 401, envelope } if envelope.remark == "Unauthorized"),
        "{err:?}"
    );
    assert_eq!(err.class(), Some(OutcomeClass::AccountRefused));
    assert!(err.to_string().contains("Invalid credentials"));
    assert!(err.hint().unwrap().contains("WUTT_CLIENT_SECRET"));

    // A refusal is an error even though it came with HTTP 200.
    server.reset().await;
    Mock::given(any())
        .respond_with(refused("not_found", &["Conversation not found"]))
        .mount(&server)
        .await;
    let err = c.conversation_details(9).await.unwrap_err();
    assert!(
        matches!(&err, WuttError::Api { http_status: 200, envelope } if envelope.remark == "not_found"),
        "{err:?}"
    );
    assert_eq!(err.class(), Some(OutcomeClass::CampaignRefused));
    assert!(err.to_string().contains("Conversation not found"), "{err}");

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
    // A proxy that lost the application mid-request: the server may have acted.
    assert_eq!(err.class(), Some(OutcomeClass::Ambiguous));

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
    let server = server_answering(success("success")).await;
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

thread_local! {
    /// Set on the thread whose log lines are captured.
    static CAPTURING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Every log line, at TRACE, from `tracing` and `log`, written on this thread
/// from now on. The test binary holds every suite, so the one global
/// subscriber keeps only the lines of the thread that asked for them (a
/// `#[tokio::test]` runs its tasks on its own thread) and the other suites
/// pay for a thread-local look-up, not for TRACE output.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    CAPTURING.with(|c| c.set(true));
    LOGS.get_or_init(|| {
        use tracing_subscriber::Layer;
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Captured(buf.clone());
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .with_filter(tracing_subscriber::filter::filter_fn(|_| {
                CAPTURING.with(|c| c.get())
            }));
        tracing_subscriber::registry()
            .with(layer)
            .try_init()
            .expect("the only global subscriber of the test binary");
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
        success("success"),
        error(401, "Unauthorized", &["Invalid credentials"]),
        // A server that echoes the secret back must not get it into our records.
        refused("validation_error", &[&format!("bad secret {SECRET}")]),
        refused("exception", &[&format!("cURL error 6: {SECRET}")]),
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
        match c.template_list(None, None).await {
            Ok(env) => said.push(format!("{env:?}")),
            Err(e) => said.push(format!("{e} {e:?}")),
        }
    }
    let refused = client(&format!("http://{}", closed_port().await));
    let o = refused.send_template(&template()).await;
    said.push(format!("{o:?}"));
    let e = refused.template_list(None, None).await.unwrap_err();
    said.push(format!("{e} {e:?}"));
    let o = refused.send_message(&SendMessage::default()).await;
    said.push(format!("{o:?}"));

    assert!(said.iter().any(|s| s.contains("Invalid credentials")));
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
