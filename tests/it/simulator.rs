//! The simulator over real HTTP on loopback, answering in the real server's
//! vocabulary (SERVER.md): the middleware's 401s and plan answers, HTTP 200
//! for every controller answer, Laravel's paginators, both send endpoints
//! step by step with the public version's defects and the fixed mode,
//! WhatsApp's refusals, the server's clock, the control API, the transport
//! faults in front of the server, the message record, and the standalone
//! `simulate` command.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{
    self, AccountSetting, BLOCKED_MOBILE, BLOCKED_MOBILE_CODE, Faults, IpRange, MalformedBody,
    MessageKind, Plan, RuleEndpoint, SeedContact, SentMessage, SimClock, SimConfig, SimHandle,
    TEMPLATE_DISABLED, TEMPLATE_HEADER_VAR, TEMPLATE_ON_PAGE_3, TEMPLATE_ONE_VAR, TEMPLATE_PENDING,
    TEMPLATE_REJECTED, TEMPLATE_TWO_VARS, WHATSAPP_NUMBER, WhatsAppRule,
};
use wutt_campaign::wutt::whatsapp::by_code;

const WAIT: Duration = Duration::from_secs(10);

/// Seeded contacts.
const AMINA: (&str, &str) = ("880", "1988123456");
const LENA: (&str, &str) = ("49", "15123456789");
const BLOCKED: (&str, &str) = (BLOCKED_MOBILE_CODE, BLOCKED_MOBILE);
/// A number that is no contact.
const STRANGER: (&str, &str) = ("880", "1999000111");

const UNDEFINED_CONVERSATION_ID: &str = "Undefined variable $conversationId";
const NO_MOBILE_NUMBER: &str = "Attempt to read property \"mobileNumber\" on null";

async fn sim(config: SimConfig) -> SimHandle {
    simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

async fn default_sim() -> SimHandle {
    sim(SimConfig {
        seed: Some(1),
        ..SimConfig::default()
    })
    .await
}

/// A simulator with seed 1 and the faults `set` turns on.
async fn faulty(set: impl FnOnce(&mut Faults)) -> SimHandle {
    let mut faults = Faults::default();
    set(&mut faults);
    sim(SimConfig {
        faults,
        seed: Some(1),
        ..SimConfig::default()
    })
    .await
}

/// An answer: HTTP status, headers and body (JSON when it is JSON).
#[derive(Debug)]
struct Got {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
    json: Value,
}

async fn got(resp: reqwest::Response) -> Got {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Got {
        status,
        headers,
        text,
        json,
    }
}

impl Got {
    /// Asserts the envelope: HTTP status, `status`, `remark`, and that
    /// `message` is exactly `messages`.
    fn is(&self, http: u16, status: &str, remark: &str, messages: &[&str]) -> &Self {
        assert_eq!(self.status.as_u16(), http, "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        assert_eq!(self.json["remark"], remark, "{}", self.text);
        let expected: Vec<Value> = messages.iter().map(|m| json!(m)).collect();
        assert_eq!(
            self.json.get("message").cloned().unwrap_or(json!([])),
            json!(expected),
            "{}",
            self.text
        );
        self
    }

    /// An HTTP 200 `status: error` answer with one message.
    fn refused(&self, remark: &str, message: &str) -> &Self {
        self.is(200, "error", remark, &[message])
    }

    fn ok(&self, remark: &str, message: &str) -> &Self {
        self.is(200, "success", remark, &[message])
    }

    fn data(&self) -> &Value {
        &self.json["data"]
    }
}

/// A client for one simulator with the demo credentials.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(sim: &SimHandle) -> Self {
        Api {
            base: format!("{}/external-api", sim.base_url()),
            http: reqwest::Client::new(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("client-id", "demo-id")
            .header("client-secret", "demo-secret")
    }

    async fn get(&self, path: &str) -> Got {
        got(call(self.req(reqwest::Method::GET, path)).await).await
    }

    async fn post(&self, path: &str, form: Form) -> Got {
        got(call(self.req(reqwest::Method::POST, path).multipart(form)).await).await
    }

    async fn delete(&self, path: &str) -> Got {
        got(call(self.req(reqwest::Method::DELETE, path)).await).await
    }

    async fn send_text(&self, to: (&str, &str), text: &str) -> Got {
        self.post(
            "/inbox/send-message",
            fields(&[("mobile_code", to.0), ("mobile", to.1), ("message", text)]),
        )
        .await
    }

    async fn send_template(
        &self,
        to: (&str, &str),
        template: i64,
        body: &[&str],
        header: &[&str],
    ) -> Got {
        let id = template.to_string();
        let mut form = fields(&[
            ("mobile_code", to.0),
            ("mobile", to.1),
            ("template_id", &id),
        ]);
        for v in body {
            form = form.text("body_variables[]", (*v).to_owned());
        }
        for v in header {
            form = form.text("header_variables[]", (*v).to_owned());
        }
        self.post("/inbox/send-template-message", form).await
    }

    /// The text send the transport fault tests use (raw response).
    async fn send_raw(&self, text: &str) -> reqwest::Response {
        call(
            self.req(reqwest::Method::POST, "/inbox/send-message")
                .multipart(fields(&[
                    ("mobile_code", AMINA.0),
                    ("mobile", AMINA.1),
                    ("message", text),
                ])),
        )
        .await
    }
}

async fn call(request: reqwest::RequestBuilder) -> reqwest::Response {
    request.send().await.expect("the simulator answers")
}

fn fields(pairs: &[(&str, &str)]) -> Form {
    pairs.iter().fold(Form::new(), |f, (k, v)| {
        f.text((*k).to_owned(), (*v).to_owned())
    })
}

fn file(name: &str, bytes: Vec<u8>) -> Part {
    Part::bytes(bytes).file_name(name.to_owned())
}

/// `PUT`s or `POST`s JSON to a control endpoint.
async fn control(sim: &SimHandle, method: reqwest::Method, path: &str, body: Value) -> Got {
    let http = reqwest::Client::new();
    got(call(
        http.request(method, format!("{}{path}", sim.base_url()))
            .json(&body),
    )
    .await)
    .await
}

fn details(code: u32) -> &'static str {
    by_code(code).expect("a known code").template_form()
}

fn conversation_of(sim: &SimHandle, contact_id: Option<i64>) -> simulator::SimConversation {
    sim.conversations()
        .into_iter()
        .find(|c| c.contact_id == contact_id)
        .expect("the conversation exists")
}

// ---- the middleware -----------------------------------------------------------

#[tokio::test]
async fn credentials_and_ip_are_checked_in_the_servers_order_with_401() {
    let sim = sim(SimConfig {
        allow_ips: vec!["10.0.0.0/8".parse::<IpRange>().unwrap()],
        ..SimConfig::default()
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/external-api/inbox/template-list", sim.base_url());
    let with = |headers: &[(&str, &str)]| {
        headers
            .iter()
            .fold(http.get(&url), |r, (k, v)| r.header(*k, *v))
    };
    let unauthorized = |g: &Got, messages: &[&str]| {
        g.is(401, "error", "Unauthorized", messages);
    };
    unauthorized(
        &got(call(with(&[])).await).await,
        &["The client id is required"],
    );
    unauthorized(
        &got(call(with(&[("client-secret", "demo-secret")])).await).await,
        &["The client id is required"],
    );
    unauthorized(
        &got(call(with(&[
            ("client-id", "0"),
            ("client-secret", "demo-secret"),
        ]))
        .await)
        .await,
        &["The client id is required"],
    );
    unauthorized(
        &got(call(with(&[("client-id", "demo-id")])).await).await,
        &["The client secret is required"],
    );
    // Wrong credentials are refused before the IP is looked at.
    unauthorized(
        &got(call(with(&[("client-id", "demo-id"), ("client-secret", "nope")])).await).await,
        &["Invalid credentials"],
    );
    unauthorized(
        &got(call(with(&[
            ("client-id", "demo-id"),
            ("client-secret", "demo-secret"),
        ]))
        .await)
        .await,
        &[
            "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.",
            "In order to access this API endpoint, please add your IP address (127.0.0.1) to the white list from the user dashboard.",
        ],
    );
    assert!(sim.messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn plan_refusals_are_http_200() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let cases = [
        (
            Plan::None,
            "subscription_required",
            "You cannot proceed without an active plan. Please purchase a plan to continue",
        ),
        (
            Plan::Expired,
            "subscription_required",
            "Your plan has expired. Please renew or purchase a new plan to regain access.",
        ),
        (
            Plan::NoApi,
            "not_available",
            "Your current plan does not support API access. Please upgrade your plan.",
        ),
    ];
    for (plan, remark, message) in cases {
        sim.set_account(AccountSetting {
            plan: Some(plan),
            ..AccountSetting::default()
        });
        api.get("/contact/list").await.refused(remark, message);
        api.send_text(AMINA, "hi").await.refused(remark, message);
    }
    // The same through the control endpoint.
    let put = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/account",
        json!({"plan": "active"}),
    )
    .await;
    assert_eq!(put.json["plan"], "active");
    api.get("/contact/list")
        .await
        .ok("contact-list", "Contact data fetched successfully.");
    assert!(sim.messages().is_empty());
    sim.shutdown().await;
}

// ---- envelope, routing, pages ------------------------------------------------

#[tokio::test]
async fn envelopes_leave_out_empty_parts_and_routing_answers_like_laravel() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let g = api
        .post(
            "/inbox/change-conversation-status/3",
            fields(&[("status", "1")]),
        )
        .await;
    assert_eq!(
        g.text,
        r#"{"remark":"status_updated","status":"success","message":["Status updated successfully"]}"#
    );
    assert!(g.headers.contains_key("date"));

    // An unknown path under /external-api: the app's JSON 404.
    let g = api.get("/inbox/nothing-here").await;
    g.is(
        404,
        "error",
        "not_found",
        &["The route external-api/inbox/nothing-here could not be found."],
    );
    // A wrong method there: Laravel's exception as an HTTP 200 `exception`,
    // before any credential check.
    let g = got(call(reqwest::Client::new().get(format!("{}/inbox/send-message", api.base))).await)
        .await;
    g.refused(
        "exception",
        "The GET method is not supported for route external-api/inbox/send-message. Supported methods: POST.",
    );
    let g = got(call(api.req(reqwest::Method::POST, "/inbox/template-list")).await).await;
    g.refused(
        "exception",
        "The POST method is not supported for route external-api/inbox/template-list. Supported methods: GET, HEAD.",
    );
    // Outside the prefix: HTML pages, JSON for a caller that asks for it.
    let http = reqwest::Client::new();
    let page = got(call(http.get(format!("{}/nowhere", sim.base_url()))).await).await;
    assert_eq!(page.status, 404);
    assert!(page.text.contains("Page not found"), "{}", page.text);
    assert!(page.headers.contains_key("date"));
    let asked = got(call(
        http.get(format!("{}/nowhere", sim.base_url()))
            .header("accept", "application/json"),
    )
    .await)
    .await;
    assert_eq!(asked.status, 404);
    assert_eq!(
        asked.json,
        json!({"message": "The route nowhere could not be found."})
    );
    let wrong = got(call(http.get(format!("{}/inbox/send-message", sim.base_url()))).await).await;
    assert_eq!(wrong.status, 405);
    assert!(wrong.text.contains("Method Not Allowed"), "{}", wrong.text);
    // The documentation's /extern-api and the root serve the API too.
    for base in ["/extern-api", ""] {
        let g = got(call(
            http.get(format!("{}{base}/inbox/template-list", sim.base_url()))
                .header("client-id", "demo-id")
                .header("client-secret", "demo-secret"),
        )
        .await)
        .await;
        g.ok("inbox", "Template data fetched successfully");
    }
    sim.shutdown().await;
}

// ---- lists -------------------------------------------------------------------

#[tokio::test]
async fn the_template_list_is_a_laravel_paginator_over_three_pages() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let g = api.get("/inbox/template-list").await;
    g.ok("inbox", "Template data fetched successfully");
    let p = &g.data()["templates"];
    let path = format!("{}/inbox/template-list", api.base);
    assert_eq!(p["current_page"], 1);
    assert_eq!(p["per_page"], 20);
    assert_eq!(p["from"], 1);
    assert_eq!(p["to"], 20);
    assert_eq!(p["last_page"], 3);
    assert_eq!(p["total"], 45);
    assert_eq!(p["path"], json!(path));
    assert_eq!(p["first_page_url"], json!(format!("{path}?page=1")));
    assert_eq!(p["last_page_url"], json!(format!("{path}?page=3")));
    assert_eq!(p["next_page_url"], json!(format!("{path}?page=2")));
    assert_eq!(p["prev_page_url"], Value::Null);
    let links = p["links"].as_array().unwrap();
    assert_eq!(links.len(), 5);
    assert_eq!(
        links[1],
        json!({"url": format!("{path}?page=1"), "label": "1", "active": true})
    );
    assert!(
        g.text.contains(r#""label":"\u2039""#),
        "PHP escapes the arrow"
    );
    let items = p["data"].as_array().unwrap();
    let ids: Vec<i64> = items.iter().map(|t| t["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>(), "id order");
    for key in [
        "id",
        "name",
        "language_id",
        "category_id",
        "body",
        "header",
        "header_format",
        "footer",
        "buttons",
        "status",
        "whatsapp_template_id",
        "created_at",
        "updated_at",
    ] {
        assert!(items[0].get(key).is_some(), "{key} in {}", items[0]);
    }
    let by_id = |id: i64| items.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!(by_id(1)["name"], "welcome");
    assert_eq!(by_id(1)["status"], 1);
    assert_eq!(by_id(TEMPLATE_PENDING)["status"], 0);
    assert_eq!(by_id(TEMPLATE_REJECTED)["status"], 2);
    assert_eq!(by_id(TEMPLATE_DISABLED)["status"], 3);
    assert_eq!(
        by_id(TEMPLATE_TWO_VARS)["body"],
        "Hi {{1}}, your delivery arrives on {{2}}."
    );
    let header = by_id(TEMPLATE_HEADER_VAR);
    assert_eq!(header["header_format"], "TEXT");
    assert_eq!(header["header"]["text"], "Order {{1}}");
    let stamp = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$").unwrap();
    assert!(stamp.is_match(by_id(1)["created_at"].as_str().unwrap()));

    // Following next_page_url drops everything but the page.
    let g = api.get("/inbox/template-list?page=3").await;
    let p = &g.data()["templates"];
    assert_eq!((p["from"].clone(), p["to"].clone()), (json!(41), json!(45)));
    assert_eq!(p["next_page_url"], Value::Null);
    assert_eq!(p["prev_page_url"], json!(format!("{path}?page=2")));
    let third = p["data"].as_array().unwrap();
    let on_3 = third
        .iter()
        .find(|t| t["id"] == TEMPLATE_ON_PAGE_3)
        .unwrap();
    assert_eq!(on_3["status"], 1);
    assert!(!on_3["body"].as_str().unwrap().contains("{{"));
    sim.shutdown().await;
}

#[tokio::test]
async fn paginate_is_numeric_or_20_and_zero_means_15() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let per_page = |g: &Got| g.data()["templates"]["per_page"].clone();
    for (query, per, count) in [
        ("paginate=0", 15, 15),
        ("paginate=abc", 20, 20),
        ("paginate=7", 7, 7),
        ("paginate=100", 100, 45),
        ("paginate=2.5", 2, 2),
    ] {
        let g = api.get(&format!("/inbox/template-list?{query}")).await;
        assert_eq!(per_page(&g), per, "{query}");
        assert_eq!(
            g.data()["templates"]["data"].as_array().unwrap().len(),
            count,
            "{query}"
        );
    }
    let g = api.get("/inbox/template-list?paginate=7&page=x").await;
    assert_eq!(g.data()["templates"]["current_page"], 1);
    assert_eq!(
        g.data()["templates"]["next_page_url"],
        json!(format!("{}/inbox/template-list?page=2", api.base)),
        "the next URL does not carry paginate"
    );
    let past = api.get("/inbox/template-list?page=9").await;
    let p = &past.data()["templates"];
    assert_eq!(
        (p["from"].clone(), p["to"].clone(), p["data"].clone()),
        (Value::Null, Value::Null, json!([]))
    );
    // A zero that is not "0": PHP divides by it.
    let g = api.get("/inbox/template-list?paginate=0.0").await;
    assert_eq!(g.status, 500);
    assert!(g.text.contains("Internal server error"), "{}", g.text);
    sim.shutdown().await;
}

#[tokio::test]
async fn contact_list_is_newest_first_with_like_search() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let g = api.get("/contact/list").await;
    g.ok("contact-list", "Contact data fetched successfully.");
    let ids: Vec<i64> = g.data()["contacts"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [5, 4, 3, 2, 1]);
    let first = &g.data()["contacts"]["data"][4];
    assert_eq!(first["full_name"], "Amina Rahman");
    assert_eq!(first["address"]["country"], "Bangladesh");
    let names = |g: &Got| -> Vec<String> {
        g.data()["contacts"]["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["firstname"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&api.get("/contact/list?search=FISCH").await),
        ["Lena"]
    );
    assert_eq!(
        names(&api.get("/contact/list?search=8812").await),
        ["Amina"]
    );
    assert_eq!(
        names(&api.get("/contact/list?search=a_ina").await),
        ["Amina"],
        "_ is a wildcard"
    );
    // mobile_code is not searched.
    assert!(names(&api.get("/contact/list?search=971").await).is_empty());
    let g = api.get("/contact/list?paginate=2&page=3").await;
    assert_eq!(g.data()["contacts"]["total"], 5);
    assert_eq!(g.data()["contacts"]["last_page"], 3);
    assert_eq!(names(&g), ["Amina"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn conversation_list_is_latest_first_with_contact_and_notes() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let g = api.get("/inbox/conversation-list").await;
    g.ok("inbox", "Conversation data fetched successfully");
    let convs = g.data()["conversation"]["data"].as_array().unwrap().clone();
    let stamps: Vec<&str> = convs
        .iter()
        .map(|c| c["last_message_at"].as_str().unwrap())
        .collect();
    let mut sorted = stamps.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(stamps, sorted, "latest first");
    let whole = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000000Z$").unwrap();
    assert!(stamps.iter().all(|s| whole.is_match(s)), "{stamps:?}");
    assert_eq!(convs[0]["contact"]["firstname"], "Amina");
    assert_eq!(
        convs[0]["notes"][0]["note"],
        "Prefers a call in the evening"
    );
    assert!(
        convs
            .iter()
            .all(|c| c["notes"].is_array() && c["contact"].is_object())
    );

    let g = api.get("/inbox/conversation-list?status=2").await;
    let statuses: Vec<Value> = g.data()["conversation"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(2), json!(2)]);
    let g = api.get("/inbox/conversation-list?search=15123").await;
    let found = g.data()["conversation"]["data"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["contact"]["lastname"], "Fischer");
    sim.shutdown().await;
}

#[tokio::test]
async fn conversation_status_takes_0_to_3_and_details_have_no_messages() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let set = |status: &'static str| {
        api.post(
            "/inbox/change-conversation-status/2",
            fields(&[("status", status)]),
        )
    };
    set("4")
        .await
        .refused("validation_error", "The selected status is invalid.");
    set("x").await.is(
        200,
        "error",
        "validation_error",
        &[
            "The status must be an integer.",
            "The selected status is invalid.",
        ],
    );
    api.post("/inbox/change-conversation-status/2", Form::new())
        .await
        .refused("validation_error", "The status field is required.");
    set("3")
        .await
        .ok("status_updated", "Status updated successfully");
    api.post(
        "/inbox/change-conversation-status/999",
        fields(&[("status", "1")]),
    )
    .await
    .refused("not_found", "Conversation not found");

    let g = api.get("/inbox/conversation-details/2").await;
    g.ok(
        "conversation_details",
        "Conversation details fetched successfully.",
    );
    let conv = &g.data()["conversation"];
    assert_eq!(conv["status"], 3);
    assert_eq!(conv["contact"]["tags"], json!([]));
    assert_eq!(conv["contact"]["lists"], json!([]));
    assert!(conv.get("messages").is_none());
    api.get("/inbox/conversation-details/999")
        .await
        .refused("not_found", "Conversation not found");
    sim.shutdown().await;
}

// ---- contacts ------------------------------------------------------------------

#[tokio::test]
async fn contacts_are_stored_updated_and_deleted_with_the_servers_texts() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let nadia = |last: &'static str, mobile: &'static str| {
        fields(&[
            ("firstname", "Nadia"),
            ("lastname", last),
            ("mobile_code", "880"),
            ("mobile", mobile),
            ("city", "Sylhet"),
        ])
    };
    let g = api
        .post("/contact/store", nadia("Islam", "1999000222"))
        .await;
    g.ok("contact_created", "Contact created successfully");
    let id = g.data()["contact"]["id"].as_i64().unwrap();
    assert_eq!(g.data()["contact"]["address"]["city"], "Sylhet");

    let g = api
        .post(
            &format!("/contact/update/{id}"),
            nadia("Karim", "1999000222"),
        )
        .await;
    g.ok("contact_created", " Contact updated successfully");
    assert_eq!(g.data()["contact"]["lastname"], "Karim");

    api.post("/contact/store", nadia("Again", "1999000222"))
        .await
        .refused("validation_error", "The mobile has already been taken.");
    api.post("/contact/store", Form::new()).await.is(
        200,
        "error",
        "validation_error",
        &[
            "The firstname field is required.",
            "The lastname field is required.",
            "The mobile code field is required.",
            "The mobile field is required.",
        ],
    );
    api.post("/contact/store", nadia("Plus", "+8801999"))
        .await
        .refused("validation_error", "The mobile format is invalid.");
    let long = "x".repeat(41);
    api.post(
        "/contact/store",
        fields(&[
            ("firstname", &long),
            ("lastname", "L"),
            ("mobile_code", "1"),
            ("mobile", "5"),
        ]),
    )
    .await
    .refused(
        "validation_error",
        "The firstname must not be greater than 40 characters.",
    );
    let picture = nadia("Pic", "1999000333").part("profile_image", file("me.gif", vec![1; 10]));
    api.post("/contact/store", picture).await.refused(
        "validation_error",
        "The profile image must be a file of type: jpg, jpeg, png.",
    );
    api.post("/contact/update/999", nadia("Nobody", "1999000444"))
        .await
        .refused("unknown_contact", "The contact is not found");

    // The plan's contact quota is checked on create.
    sim.set_account(AccountSetting {
        contact_limit: Some(Some(0)),
        ..AccountSetting::default()
    });
    api.post("/contact/store", nadia("Full", "1999000555"))
        .await
        .refused(
            "contact_limit_error",
            "You\u{2019}ve reached your  contact limit. Please upgrade your plan to continue.",
        );
    sim.set_account(AccountSetting {
        contact_limit: Some(None),
        ..AccountSetting::default()
    });

    let g = api.delete(&format!("/contact/delete/{id}")).await;
    g.ok("contact_deleted", "Contact deleted successfully");
    assert!(g.json.get("data").is_none(), "no data: {}", g.text);
    api.delete(&format!("/contact/delete/{id}"))
        .await
        .refused("not_found", "The contact not found");
    // Seeded contacts have messages.
    api.delete("/contact/delete/1")
        .await
        .refused("contact_error", "Unable to delete contact with messages");
    sim.shutdown().await;
}

// ---- send-template-message ---------------------------------------------------------

#[tokio::test]
async fn a_template_send_is_recorded_and_answered_with_the_defect_or_template_sent() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let before = conversation_of(&sim, Some(1));
    api.send_template(AMINA, 1, &[], &[])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    let sent = sim.messages();
    assert_eq!(sent.len(), 1, "the defective answer WAS a send");
    assert_eq!(sent[0].kind, MessageKind::Template);
    assert_eq!(sent[0].template_id, Some(1));
    assert_eq!(sent[0].contact_id, Some(1));
    let after = conversation_of(&sim, Some(1));
    assert!(after.last_message_at >= before.last_message_at);
    assert_eq!(after.messages, before.messages + 1);

    sim.set_account(AccountSetting {
        fixed: Some(true),
        ..AccountSetting::default()
    });
    let g = api.send_template(AMINA, 1, &[], &[]).await;
    g.ok("template_sent", "Message sent successfully");
    assert_eq!(g.data()["conversation_id"], after.id);
    assert_eq!(sim.messages().len(), 2);

    // `testmplate_id`, as the documentation's example sends it, is no template_id.
    api.post(
        "/inbox/send-template-message",
        fields(&[
            ("mobile_code", AMINA.0),
            ("mobile", AMINA.1),
            ("testmplate_id", "1"),
        ]),
    )
    .await
    .refused("validation_error", "The template id field is required.");
    assert_eq!(sim.messages().len(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn template_variables_must_match_the_template() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let mismatch = details(132000);
    api.send_template(AMINA, TEMPLATE_ONE_VAR, &[], &[])
        .await
        .refused("exception", mismatch);
    api.send_template(AMINA, TEMPLATE_TWO_VARS, &["Amina"], &[])
        .await
        .refused("exception", mismatch);
    api.send_template(AMINA, 1, &["extra"], &[])
        .await
        .refused("exception", mismatch);
    api.send_template(AMINA, TEMPLATE_HEADER_VAR, &["Amina"], &[])
        .await
        .refused("exception", mismatch);
    api.send_template(AMINA, TEMPLATE_ONE_VAR, &["a\nb"], &[])
        .await
        .refused("exception", details(132018));
    // An empty field is null to Laravel, then "" to WhatsApp.
    api.send_template(AMINA, TEMPLATE_ONE_VAR, &["   "], &[])
        .await
        .refused("exception", details(132018));
    // {{ userName }}: no logged-in user in an API call; nothing is sent.
    api.send_template(AMINA, TEMPLATE_ONE_VAR, &["{{ userName }}"], &[])
        .await
        .refused("exception", "Attempt to read property \"fullName\" on null");
    // A plain body_variables (no []) is a string to PHP's foreach.
    api.post(
        "/inbox/send-template-message",
        fields(&[
            ("mobile_code", AMINA.0),
            ("mobile", AMINA.1),
            ("template_id", &TEMPLATE_ONE_VAR.to_string()),
            ("body_variables", "Amina"),
        ]),
    )
    .await
    .refused(
        "exception",
        "foreach() argument must be of type array|object, string given",
    );
    assert!(sim.messages().is_empty(), "{:?}", sim.messages());

    api.send_template(
        AMINA,
        TEMPLATE_TWO_VARS,
        &["{{ contactName }}", "Friday"],
        &[],
    )
    .await
    .refused("exception", UNDEFINED_CONVERSATION_ID);
    api.send_template(AMINA, TEMPLATE_HEADER_VAR, &["Amina"], &["#1042"])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    let sent = sim.messages();
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].body_variables,
        ["{{ contactName }}", "Friday"],
        "as sent"
    );
    assert_eq!(sent[1].header_variables, ["#1042"]);
    assert_eq!(sent[1].template_id, Some(TEMPLATE_HEADER_VAR));
    sim.shutdown().await;
}

#[tokio::test]
async fn only_approved_templates_of_a_connected_account_are_sent() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    for id in [TEMPLATE_PENDING, TEMPLATE_REJECTED, TEMPLATE_DISABLED, 999] {
        api.send_template(AMINA, id, &[], &[])
            .await
            .refused("not_found", "The template is not found");
    }
    // Review states change at run time.
    assert!(sim.set_template_status(TEMPLATE_PENDING, 1));
    api.send_template(AMINA, TEMPLATE_PENDING, &[], &[])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    let put = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/templates/1",
        json!({"status": 3}),
    )
    .await;
    assert_eq!(put.json["status"], 3);
    api.send_template(AMINA, 1, &[], &[])
        .await
        .refused("not_found", "The template is not found");
    let del = control(
        &sim,
        reqwest::Method::DELETE,
        "/__sim/templates/2",
        Value::Null,
    )
    .await;
    assert_eq!(del.status, 204);
    assert!(!sim.remove_template(2));
    api.send_template(AMINA, 2, &[], &[])
        .await
        .refused("not_found", "The template is not found");

    sim.set_account(AccountSetting {
        whatsapp_connected: Some(false),
        ..AccountSetting::default()
    });
    api.send_template(AMINA, 3, &[], &[])
        .await
        .refused("not_found", "Please connect your whatsapp account first");
    api.send_text(AMINA, "hi")
        .await
        .refused("not_found", "The whatsapp account is not found");
    assert_eq!(sim.messages().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn template_sends_to_non_contacts_share_one_conversation() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    for mobile in ["1999000111", "1999000112"] {
        api.send_template(
            ("880", mobile),
            TEMPLATE_ONE_VAR,
            &["{{ contactName }}"],
            &[],
        )
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    }
    let sent = sim.messages();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| m.contact_id.is_none()));
    let shared = conversation_of(&sim, None);
    assert_eq!(shared.messages, 2);
    let g = Api::new(&sim).get("/inbox/conversation-list").await;
    let first = &g.data()["conversation"]["data"][0];
    assert_eq!(
        first["id"], shared.id,
        "the shared conversation moved to the top"
    );
    assert_eq!(first["contact"], Value::Null);
    // It cannot be found by number.
    let g = api.get("/inbox/conversation-list?search=1999000111").await;
    assert_eq!(g.data()["conversation"]["total"], 0);
    sim.shutdown().await;
}

// ---- send-message -------------------------------------------------------------------

#[tokio::test]
async fn a_text_send_answers_success_with_the_message_and_moves_the_conversation() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let g = api.send_text(LENA, "Hello Lena").await;
    g.ok("success", "Message sent successfully");
    let sent = sim.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.as_deref(), Some("Hello Lena"));
    assert_eq!(sent[0].contact_id, Some(3));
    let message = &g.data()["message"];
    assert_eq!(message["whatsapp_message_id"], json!(sent[0].message_id));
    assert_eq!(message["status"], 1);
    assert_eq!(message["message"], "Hello Lena");
    let conv = conversation_of(&sim, Some(3));
    assert_eq!(g.data()["conversation_id"], conv.id);
    let list = api.get("/inbox/conversation-list").await;
    assert_eq!(list.data()["conversation"]["data"][0]["id"], conv.id);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_text_to_a_non_contact_fails_before_sending_unless_fixed() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    api.send_text(STRANGER, "hi")
        .await
        .refused("exception", NO_MOBILE_NUMBER);
    assert!(sim.messages().is_empty(), "nothing reached WhatsApp");
    let shared = conversation_of(&sim, None);
    assert_eq!(
        (shared.messages, shared.last_message_at),
        (0, None),
        "created, empty"
    );

    sim.set_account(AccountSetting {
        fixed: Some(true),
        ..AccountSetting::default()
    });
    let g = api.send_text(STRANGER, "hi").await;
    g.ok("success", "Message sent successfully");
    assert_eq!(g.data()["conversation_id"], shared.id);
    let sent = sim.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].contact_id, None);
    assert_eq!(conversation_of(&sim, None).messages, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn all_contacts_mode_takes_every_number_as_a_talking_contact() {
    let sim = sim(SimConfig {
        all_contacts: true,
        ..SimConfig::default()
    })
    .await;
    sim.set_account(AccountSetting {
        enforce_24h_window: Some(true),
        ..AccountSetting::default()
    });
    let api = Api::new(&sim);
    api.send_text(STRANGER, "hi")
        .await
        .ok("success", "Message sent successfully");
    let contact = sim
        .contacts()
        .into_iter()
        .find(|c| c.mobile == STRANGER.1)
        .expect("a contact was made");
    assert_eq!(sim.messages()[0].contact_id, Some(contact.id));
    // Blocked stays blocked.
    api.send_text(BLOCKED, "hi").await.refused(
        "not_found",
        "You cannot send or receive messages with this contact because they have been blocked.",
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn blocked_contacts_are_refused_on_both_endpoints() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let text =
        "You cannot send or receive messages with this contact because they have been blocked.";
    api.send_text(BLOCKED, "hi")
        .await
        .refused("not_found", text);
    api.send_template(BLOCKED, 1, &[], &[])
        .await
        .refused("not_found", text);
    let ids = sim.add_contacts(&[SeedContact {
        firstname: "Bo".into(),
        lastname: "Locked".into(),
        mobile_code: "44".into(),
        mobile: "7700900123".into(),
        blocked: true,
    }]);
    api.send_text(("44", "7700900123"), "hi")
        .await
        .refused("not_found", text);
    assert_eq!(ids.len(), 1);
    assert!(sim.messages().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn from_number_must_equal_the_stored_display_form() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let send = |from: &'static str| {
        api.post(
            "/inbox/send-message",
            fields(&[
                ("mobile_code", AMINA.0),
                ("mobile", AMINA.1),
                ("message", "hi"),
                ("from_number", from),
            ]),
        )
    };
    send(WHATSAPP_NUMBER)
        .await
        .ok("success", "Message sent successfully");
    send("0").await.ok("success", "Message sent successfully");
    send("+15550105555")
        .await
        .refused("not_found", "The whatsapp account is not found");
    // The template endpoint looks it up and ignores it.
    let g = api
        .post(
            "/inbox/send-template-message",
            fields(&[
                ("mobile_code", AMINA.0),
                ("mobile", AMINA.1),
                ("template_id", "1"),
                ("from_number", "nope"),
            ]),
        )
        .await;
    g.refused("exception", UNDEFINED_CONVERSATION_ID);
    assert_eq!(sim.messages().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn send_message_checks_fields_cta_and_lists_like_the_server() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    api.post("/inbox/send-message", Form::new()).await.is(
        200,
        "error",
        "validation_error",
        &[
            "The message should not be empty.",
            "The mobile code field is required.",
            "The mobile field is required.",
        ],
    );
    api.post(
        "/inbox/send-message",
        fields(&[
            ("mobile_code", "880"),
            ("mobile", "+8801"),
            ("message", "x"),
            ("cta_url_id", "one"),
        ]),
    )
    .await
    .is(
        200,
        "error",
        "validation_error",
        &[
            "The cta url id must be an integer.",
            "The mobile format is invalid.",
        ],
    );
    let gif = fields(&[("mobile_code", AMINA.0), ("mobile", AMINA.1)])
        .part("image", file("a.gif", vec![1; 10]));
    api.post("/inbox/send-message", gif).await.refused(
        "validation_error",
        "The image must be a file of type: jpg, jpeg, png.",
    );
    let to = |extra: (&'static str, &'static str)| {
        fields(&[("mobile_code", AMINA.0), ("mobile", AMINA.1), extra])
    };
    api.post("/inbox/send-message", to(("cta_url_id", "99")))
        .await
        .refused("not_found", "The cta url is not found");
    api.post("/inbox/send-message", to(("interactive_list_id", "99")))
        .await
        .refused("not_found", "The interactive list is not found");
    sim.set_account(AccountSetting {
        interactive: Some(false),
        ..AccountSetting::default()
    });
    api.post("/inbox/send-message", to(("cta_url_id", "1")))
        .await
        .refused(
            "not_found",
            "Your current plan does not support interactive messages. Please upgrade your plan.",
        );
    assert!(sim.messages().is_empty());
    sim.set_account(AccountSetting {
        interactive: Some(true),
        ..AccountSetting::default()
    });
    api.post("/inbox/send-message", to(("cta_url_id", "1")))
        .await
        .ok("success", "Message sent successfully");
    let image = fields(&[
        ("mobile_code", AMINA.0),
        ("mobile", AMINA.1),
        ("message", "caption"),
    ])
    .part("image", file("a.jpg", vec![7; 2048]));
    let g = api.post("/inbox/send-message", image).await;
    g.ok("success", "Message sent successfully");
    assert_eq!(g.data()["message"]["media_type"], "image");
    let sent = sim.messages();
    assert_eq!(sent[0].cta_url_id, Some(1));
    assert_eq!(
        sent[0].message, None,
        "a CTA message carries the CTA's text"
    );
    assert_eq!(sent[1].media.len(), 1);
    assert_eq!(sent[1].message.as_deref(), Some("caption"));
    // A JSON body is input too.
    let json_body = call(
        api.req(reqwest::Method::POST, "/inbox/send-message")
            .json(&json!({"mobile_code": AMINA.0, "mobile": AMINA.1, "message": "from json"})),
    )
    .await;
    got(json_body)
        .await
        .ok("success", "Message sent successfully");
    sim.shutdown().await;
}

// ---- WhatsApp's refusals -----------------------------------------------------------------

#[tokio::test]
async fn whatsapp_refusals_arrive_in_both_forms() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    for code in [
        130429, 131056, 131026, 131047, 131048, 132000, 132001, 132015, 190, 131000,
    ] {
        sim.set_whatsapp_rules(vec![WhatsAppRule::code(code)]);
        let err = by_code(code).unwrap();
        let g = api.send_text(AMINA, "hi").await;
        let text = g.json["message"][0].as_str().unwrap().to_owned();
        g.is(200, "error", "exception", &[&text]);
        if code == 190 {
            assert!(
                text.starts_with("Error validating access token: Session has expired"),
                "{text}"
            );
            assert!(!text.contains("(#190)"));
        } else {
            assert_eq!(text, err.text_form());
        }
        api.send_template(AMINA, 1, &[], &[])
            .await
            .refused("exception", err.template_form());
    }
    assert!(sim.messages().is_empty(), "a refusal is not a send");
    sim.shutdown().await;
}

#[tokio::test]
async fn refusal_rules_apply_per_number_endpoint_and_times() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let rules = json!([{
        "code": 131056, "numbers": ["+49 151 23456789"], "times": 1, "endpoint": "template"
    }]);
    let put = control(&sim, reqwest::Method::PUT, "/__sim/whatsapp", rules).await;
    assert_eq!(put.status, 200, "{}", put.text);
    api.send_text(LENA, "text is not covered")
        .await
        .ok("success", "Message sent successfully");
    api.send_template(LENA, 1, &[], &[])
        .await
        .refused("exception", details(131056));
    api.send_template(LENA, 1, &[], &[])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    api.send_template(AMINA, 1, &[], &[])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    assert_eq!(sim.messages().len(), 3);
    let listed = control(&sim, reqwest::Method::GET, "/__sim/whatsapp", Value::Null).await;
    assert_eq!(listed.json[0]["endpoint"], "template");
    for bad in [
        json!([{"code": 999999}]),
        json!([{}]),
        json!([{"code": 130429, "rate": 2}]),
    ] {
        let g = control(&sim, reqwest::Method::PUT, "/__sim/whatsapp", bad).await;
        assert_eq!(g.status, 400, "{}", g.text);
    }
    // A rate below 1 draws from the seeded generator.
    sim.set_whatsapp_rules(vec![WhatsAppRule {
        rate: 0.5,
        endpoint: RuleEndpoint::Text,
        ..WhatsAppRule::code(130429)
    }]);
    let mut refused = 0;
    for _ in 0..40 {
        if api.send_text(AMINA, "maybe").await.json["remark"] == "exception" {
            refused += 1;
        }
    }
    assert!((5..=35).contains(&refused), "{refused} of 40");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_whatsapp_timeout_after_sending_is_recorded() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    sim.set_whatsapp_rules(vec![WhatsAppRule {
        timeout: true,
        ..WhatsAppRule::default()
    }]);
    let timeout =
        "cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received";
    let before = conversation_of(&sim, Some(1));
    api.send_text(AMINA, "slow")
        .await
        .refused("exception", timeout);
    api.send_template(AMINA, 1, &[], &[])
        .await
        .refused("exception", timeout);
    let sent = sim.messages();
    assert_eq!(sent.len(), 2, "WhatsApp took both");
    // The server's call gave up before it stored the message.
    assert_eq!(conversation_of(&sim, Some(1)), before);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_24_hour_window_and_customer_replies() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    sim.set_account(AccountSetting {
        enforce_24h_window: Some(true),
        ..AccountSetting::default()
    });
    api.send_text(AMINA, "within")
        .await
        .ok("success", "Message sent successfully");
    // A day later on the server's clock the window is shut for texts only.
    sim.set_clock(SimClock {
        offset_secs: 25 * 3600,
        date_header: true,
    });
    api.send_text(AMINA, "too late")
        .await
        .refused("exception", &by_code(131047).unwrap().text_form());
    api.send_template(AMINA, 1, &[], &[])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    // The customer writes: the conversation moves and the window opens.
    let reply = control(
        &sim,
        reqwest::Method::POST,
        "/__sim/reply",
        json!({"mobile_code": AMINA.0, "mobile": AMINA.1}),
    )
    .await;
    let conv = conversation_of(&sim, Some(1));
    assert_eq!(reply.json["conversation_id"], conv.id);
    assert_eq!(conv.last_customer_message_at, conv.last_message_at);
    api.send_text(AMINA, "again")
        .await
        .ok("success", "Message sent successfully");
    // The latest conversation is first, its time on the server's clock.
    let before = conversation_of(&sim, Some(3)).last_message_at.unwrap();
    let id = sim.customer_reply(LENA.0, LENA.1);
    let list = api.get("/inbox/conversation-list").await;
    assert_eq!(list.data()["conversation"]["data"][0]["id"], id);
    let moved = conversation_of(&sim, Some(3)).last_message_at.unwrap();
    assert!(moved - before >= 25 * 3600 - 60, "{before} -> {moved}");
    sim.shutdown().await;
}

// ---- the clock ------------------------------------------------------------------------

#[tokio::test]
async fn the_servers_clock_moves_the_date_header_and_can_drop_it() {
    let sim = default_sim().await;
    let api = Api::new(&sim);
    let date = |g: &Got| {
        let raw = g
            .headers
            .get("date")
            .expect("a Date header")
            .to_str()
            .unwrap()
            .to_owned();
        chrono::DateTime::parse_from_rfc2822(&raw)
            .unwrap()
            .timestamp()
    };
    let now = chrono::Utc::now().timestamp();
    let g = api.get("/contact/list").await;
    assert!((date(&g) - now).abs() <= 5);
    let put = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/clock",
        json!({"offset_secs": 7200}),
    )
    .await;
    assert_eq!(put.json, json!({"offset_secs": 7200, "date_header": true}));
    let g = api.get("/contact/list").await;
    assert!(
        (date(&g) - now - 7200).abs() <= 5,
        "{:?}",
        g.headers.get("date")
    );
    control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/clock",
        json!({"date_header": false}),
    )
    .await;
    for g in [
        api.get("/contact/list").await,
        api.send_text(AMINA, "no date").await,
    ] {
        assert!(g.headers.get("date").is_none(), "{:?}", g.headers);
        assert_eq!(g.json["status"], "success", "{}", g.text);
    }
    assert_eq!(
        sim.clock(),
        SimClock {
            offset_secs: 7200,
            date_header: false
        }
    );
    sim.shutdown().await;
}

// ---- the control API --------------------------------------------------------------------

#[tokio::test]
async fn the_control_api_shapes_the_account() {
    let sim = default_sim().await;
    let get = control(&sim, reqwest::Method::GET, "/__sim/account", Value::Null).await;
    assert_eq!(
        get.json,
        json!({"plan": "active", "whatsapp_connected": true, "interactive": true, "fixed": false,
               "all_contacts": false, "enforce_24h_window": false, "contact_limit": null})
    );
    let put = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/account",
        json!({"contact_limit": 3, "fixed": true}),
    )
    .await;
    assert_eq!(
        (put.json["contact_limit"].clone(), put.json["fixed"].clone()),
        (json!(3), json!(true))
    );
    assert_eq!(sim.account().contact_limit, Some(3));
    let bad = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/account",
        json!({"plan": "gold"}),
    )
    .await;
    assert_eq!(bad.status, 400);

    let added = control(
        &sim,
        reqwest::Method::POST,
        "/__sim/contacts",
        json!([{"firstname": "Ana", "lastname": "Lima", "mobile_code": "55", "mobile": "11987654321"},
               {"firstname": "Bo", "lastname": "Blocked", "mobile_code": "55", "mobile": "11900000000", "blocked": true}]),
    )
    .await;
    assert_eq!(added.json, json!([6, 7]));
    let listed = control(&sim, reqwest::Method::GET, "/__sim/contacts", Value::Null).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 7);
    let ana = sim.contacts().into_iter().find(|c| c.id == 6).unwrap();
    assert!(ana.conversation_id.is_some() && !ana.blocked);
    let conv = conversation_of(&sim, Some(6));
    assert!(conv.last_customer_message_at.is_some() && conv.messages == 1);
    let convs = control(
        &sim,
        reqwest::Method::GET,
        "/__sim/conversations",
        Value::Null,
    )
    .await;
    assert_eq!(convs.json.as_array().unwrap().len(), 7);
    let api = Api::new(&sim);
    api.send_text(("55", "11987654321"), "olá")
        .await
        .ok("success", "Message sent successfully");
    let bad_template = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/templates/1",
        json!({"status": 4}),
    )
    .await;
    assert_eq!(bad_template.status, 400);
    let missing = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/templates/999",
        json!({"status": 1}),
    )
    .await;
    assert_eq!(missing.status, 404);
    sim.shutdown().await;
}

// ---- the proxy in front: rate limit and transport faults ---------------------------------------

#[tokio::test]
async fn bursting_over_the_rate_limit_gets_429_with_retry_after() {
    let config = SimConfig {
        rate_per_second: Some(1.0),
        burst: 2,
        ..SimConfig::default()
    };
    let sim = sim(config).await;
    let api = Api::new(&sim);
    let answers = futures::future::join_all(
        (0..30).map(|_| api.req(reqwest::Method::GET, "/inbox/template-list").send()),
    )
    .await;
    let mut ok = 0;
    let mut throttled = 0;
    for resp in answers {
        let resp = resp.unwrap();
        if resp.status() == 429 {
            let retry: u64 = resp.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!(retry >= 1);
            let body = resp.text().await.unwrap();
            assert!(body.contains("429 Too Many Requests"), "{body}");
            throttled += 1;
        } else {
            assert_eq!(resp.status(), 200);
            ok += 1;
        }
    }
    assert!(ok >= 2, "the burst passes");
    assert!(
        throttled >= 10,
        "most of a 30-request burst at 1/s is refused"
    );
    assert_eq!(sim.stats().rate_limited, throttled);

    // Lifted at run time, through the handle and the control endpoint.
    sim.set_rate(None);
    assert_eq!(api.get("/inbox/template-list").await.status, 200);
    let put = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/rate",
        json!({"rate_per_second": 0.001, "burst": 1}),
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(api.get("/inbox/template-list").await.status, 200);
    assert_eq!(api.get("/inbox/template-list").await.status, 429);
    sim.shutdown().await;
}

#[tokio::test]
async fn error_and_throttle_faults_answer_html_without_acting() {
    let sim = faulty(|f| f.error_rate = 1.0).await;
    let api = Api::new(&sim);
    let resp = api.send_raw("hi").await;
    assert_eq!(resp.status(), 500);
    assert!(resp.text().await.unwrap().contains("Internal server error"));
    // Non-send endpoints are not affected.
    assert_eq!(api.get("/inbox/template-list").await.status, 200);

    for (status, looks) in [
        (502, "<center>nginx</center>"),
        (503, "Service Unavailable"),
    ] {
        sim.set_faults(Faults {
            error_rate: 1.0,
            error_status: status,
            ..Faults::default()
        });
        let resp = api.send_raw("hi").await;
        assert_eq!(resp.status(), status);
        assert!(resp.text().await.unwrap().contains(looks));
    }

    sim.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let resp = api.send_raw("hi").await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");

    assert!(
        sim.messages().is_empty(),
        "500, 502, 503 and 429 faults do not deliver"
    );
    let stats = sim.stats();
    assert_eq!(stats.faults.get("error"), Some(&3));
    assert_eq!(stats.faults.get("throttle"), Some(&1));
    assert_eq!(stats.throttled, 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_gateway_timeout_fault_delivers_first() {
    let sim = faulty(|f| {
        f.error_rate = 1.0;
        f.error_status = 504;
    })
    .await;
    let resp = Api::new(&sim).send_raw("behind the proxy").await;
    assert_eq!(resp.status(), 504);
    assert!(resp.text().await.unwrap().contains("nginx"));
    assert_eq!(sim.messages().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn timeout_fault_delivers_but_never_answers() {
    let sim = faulty(|f| f.timeout_rate = 1.0).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = http
        .post(format!("{}/inbox/send-message", sim.base_url()))
        .header("client-id", "demo-id")
        .header("client-secret", "demo-secret")
        .multipart(fields(&[
            ("mobile_code", AMINA.0),
            ("mobile", AMINA.1),
            ("message", "maybe"),
        ]))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err}");
    let messages = sim.wait_for_messages(1, WAIT).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].message.as_deref(), Some("maybe"));
    // Shutting down does not wait for the held request.
    tokio::time::timeout(WAIT, sim.shutdown())
        .await
        .expect("shutdown is prompt");
}

#[tokio::test]
async fn drop_fault_delivers_then_cuts_the_body() {
    let sim = faulty(|f| f.drop_rate = 1.0).await;
    let resp = Api::new(&sim).send_raw("cut").await;
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err(), "the body breaks off");
    assert_eq!(sim.wait_for_messages(1, WAIT).await.len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_fault_delivers_then_answers_non_json() {
    let sim = faulty(|_| {}).await;
    let api = Api::new(&sim);
    for (kind, looks) in [
        (MalformedBody::Html, "<html>"),
        (MalformedBody::TruncatedJson, "{\"status\""),
        (MalformedBody::Empty, ""),
    ] {
        // Set through the control endpoint, as a user would.
        let faults = Faults {
            malformed_rate: 1.0,
            malformed_body: kind,
            ..Faults::default()
        };
        let put = call(
            reqwest::Client::new()
                .put(format!("{}/__sim/faults", sim.base_url()))
                .json(&faults),
        )
        .await;
        assert_eq!(put.status(), 200);
        let resp = api.send_raw("garbled").await;
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.unwrap();
        assert!(body.contains(looks), "{kind:?}: {body}");
        assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    }
    assert_eq!(sim.messages().len(), 3);
    let bad = control(
        &sim,
        reqwest::Method::PUT,
        "/__sim/faults",
        json!({"error_rate": 2}),
    )
    .await;
    assert_eq!(bad.status, 400);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_faults() {
    let faults = Faults {
        error_rate: 0.25,
        throttle_rate: 0.25,
        malformed_rate: 0.25,
        slow_rate: 0.5,
        slow_ms: 1,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sim = sim(SimConfig {
            faults: faults.clone(),
            seed: Some(42),
            ..SimConfig::default()
        })
        .await;
        let api = Api::new(&sim);
        let mut seen = Vec::new();
        for i in 0..30 {
            let resp = api.send_raw(&format!("n{i}")).await;
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            seen.push((status, serde_json::from_str::<Value>(&body).is_ok()));
        }
        let stats = sim.stats();
        sim.shutdown().await;
        runs.push((seen, stats.faults));
    }
    assert_eq!(runs[0], runs[1]);
    let kinds: std::collections::BTreeSet<_> = runs[0].0.iter().collect();
    assert!(kinds.len() >= 3, "a mix of answers: {kinds:?}");
}

// ---- the record ------------------------------------------------------------------------

#[tokio::test]
async fn what_reached_whatsapp_is_served_and_recorded_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sent.jsonl");
    let sim = sim(SimConfig {
        record: Some(path.clone()),
        ..SimConfig::default()
    })
    .await;
    let api = Api::new(&sim);
    api.send_text(AMINA, "first")
        .await
        .ok("success", "Message sent successfully");
    // The defective template answer was a send; the non-contact text was not.
    api.send_template(STRANGER, TEMPLATE_ONE_VAR, &["{{ contactName }}"], &[])
        .await
        .refused("exception", UNDEFINED_CONVERSATION_ID);
    api.send_text(STRANGER, "lost")
        .await
        .refused("exception", NO_MOBILE_NUMBER);
    let http = reqwest::Client::new();
    let control_url = format!("{}/__sim/messages", sim.base_url());
    let served: Vec<SentMessage> = http
        .get(&control_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, sim.messages());
    assert_eq!(served.len(), 2);
    assert_eq!(served[0].message.as_deref(), Some("first"));
    assert_eq!(served[1].message_id, "wamid.sim-2");
    assert_eq!(served[1].body_variables, ["{{ contactName }}"]);
    assert_eq!(served[1].contact_id, None);

    let lines: Vec<SentMessage> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, served);

    let stats: Value = http
        .get(format!("{}/__sim/stats", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["accepted"], 2);
    assert_eq!(stats["by_status"]["200"], 3);

    assert_eq!(
        http.delete(&control_url).send().await.unwrap().status(),
        204
    );
    assert!(sim.messages().is_empty());
    api.send_text(AMINA, "third")
        .await
        .ok("success", "Message sent successfully");
    assert_eq!(sim.messages()[0].seq, 3, "sequence numbers keep counting");
    sim.shutdown().await;
}

// ---- the command ------------------------------------------------------------------------

#[tokio::test]
async fn the_simulate_command_serves_until_sigterm() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let secret = Secret::new("bin-secret-7f3a9c");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--seed",
            "5",
            "--fixed",
        ])
        .env("WUTT_CLIENT_ID", "bin-id")
        .env("WUTT_CLIENT_SECRET", secret.expose())
        .env_remove("WUTT_CLIENT_SECRET_FILE")
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(WAIT, async {
        while let Some(line) = stdout.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("listening on ") {
                return url.to_owned();
            }
        }
        panic!("the simulator exited before listening");
    })
    .await
    .expect("the simulator prints its address");

    let http = reqwest::Client::new();
    let ok = got(call(
        http.post(format!("{base}/external-api/inbox/send-template-message"))
            .header("client-id", "bin-id")
            .header("client-secret", secret.expose())
            .multipart(fields(&[
                ("mobile_code", AMINA.0),
                ("mobile", AMINA.1),
                ("template_id", "1"),
            ])),
    )
    .await)
    .await;
    ok.ok("template_sent", "Message sent successfully");
    let demo = call(
        http.get(format!("{base}/inbox/template-list"))
            .header("client-id", "demo-id")
            .header("client-secret", "demo-secret"),
    )
    .await;
    assert_eq!(demo.status(), 401);

    let pid = child.id().expect("running") as i32;
    // SAFETY: signalling the child this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("exits on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .await
        .unwrap();
    assert!(logs.contains("bin-id"), "{logs}");
    assert!(!logs.contains(secret.expose()), "the secret leaked: {logs}");
}

/// Runs `simulate` with `args` (and no credentials), expecting it to refuse
/// to start: returns its exit code and standard error.
async fn simulate_refusal(args: &[&str]) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
        .arg("simulate")
        .args(args)
        .env_remove("WUTT_CLIENT_ID")
        .env_remove("WUTT_CLIENT_SECRET")
        .env_remove("WUTT_CLIENT_SECRET_FILE")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(WAIT, out)
        .await
        .unwrap_or_else(|_| panic!("simulate {args:?} started instead of refusing"))
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_simulate_command_refuses_a_public_listen_address() {
    let (code, stderr) = simulate_refusal(&["--listen", "0.0.0.0:0"]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("loopback"), "{stderr}");
}

#[tokio::test]
async fn the_simulate_command_refuses_unusable_fault_settings() {
    let cases: [(&[&str], &str); 9] = [
        (&["--latency-ms", "5-1"], "MIN <= MAX"),
        (&["--latency-ms=-5"], "--latency-ms"),
        (&["--latency-ms", "1-99999999999999999999"], "whole number"),
        (&["--latency-ms", "0-700000"], "MIN <= MAX"),
        (&["--slow-ms", "18446744073709551615"], "slow_ms"),
        (&["--rate-limit", "nan"], "positive number"),
        (&["--rate=-1"], "positive number"),
        (&["--error-rate", "NaN"], "between 0 and 1"),
        (
            &["--error-rate", "0.7", "--drop-rate", "0.7"],
            "must not exceed 1",
        ),
    ];
    for (args, expected) in cases {
        let (code, stderr) = simulate_refusal(args).await;
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn simulate_help_describes_the_switches_and_control_endpoints() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
        .args(["simulate", "--help"])
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--fixed",
        "--all-contacts",
        "/__sim/whatsapp",
        "/__sim/clock",
        "thank_you",
    ] {
        assert!(help.contains(needle), "{needle} in {help}");
    }
}
