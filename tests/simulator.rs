//! The simulator over real HTTP on loopback: every endpoint, the refusals
//! (401, 403, 422, 429), each fault, seeded determinism, the message record,
//! and the standalone `simulate` command.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{
    self, Faults, IpRange, MalformedBody, MessageKind, SentMessage, SimConfig, SimHandle,
};

const AT_LEAST_ONE: &str = "At least one of message, image, document, video, audio, latitude+longitude, cta_url_id, interactive_list_id is required.";

/// A generated file: (field, file name, size).
type Upload = (&'static str, &'static str, usize);

const WAIT: Duration = Duration::from_secs(10);

async fn sim(config: SimConfig) -> SimHandle {
    simulator::start(config, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
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

/// A client for one simulator with the demo credentials.
struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    fn new(sim: &SimHandle) -> Self {
        Api {
            base: sim.base_url(),
            http: reqwest::Client::new(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header("client-id", "demo-id")
            .header("client-secret", "demo-secret")
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        envelope(self.req(reqwest::Method::GET, path).send().await.unwrap()).await
    }

    async fn post(&self, path: &str, form: Form) -> (StatusCode, Value) {
        let resp = call(self.req(reqwest::Method::POST, path).multipart(form)).await;
        envelope(resp).await
    }

    async fn send_text(&self, mobile: &str, text: &str) -> reqwest::Response {
        self.req(reqwest::Method::POST, "/inbox/send-message")
            .multipart(fields(&[
                ("mobile_code", "880"),
                ("mobile", mobile),
                ("message", text),
            ]))
            .send()
            .await
            .unwrap()
    }
}

async fn envelope(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let body = resp.text().await.unwrap();
    let value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, value)
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

fn assert_error(got: &(StatusCode, Value), status: u16, remark: &str, message: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["status"], "error", "{}", got.1);
    assert_eq!(got.1["remark"], remark, "{}", got.1);
    let messages = got.1["message"].as_array().expect("message[]");
    assert!(
        messages.iter().any(|m| m == message),
        "{message:?} not in {messages:?}"
    );
}

fn assert_invalid(got: &(StatusCode, Value), message: &str) {
    assert_error(got, 422, "validation_error", message);
}

#[tokio::test]
async fn every_endpoint_answers_with_the_envelope() {
    let sim = sim(SimConfig::default()).await;
    let api = Api::new(&sim);

    let (s, v) = api.get("/inbox/template-list").await;
    assert_eq!(s, 200);
    assert_eq!(v["remark"], "template_list");
    let templates = v["data"]["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 4);
    assert_eq!(templates[3]["name"], "promo_draft");
    assert_ne!(templates[3]["status"], "approved");

    let (s, v) = api.get("/contact/list?paginate=2&page=3").await;
    assert_eq!(s, 200);
    assert_eq!(v["remark"], "contact_list");
    assert_eq!(v["data"]["total"], 5);
    assert_eq!(v["data"]["last_page"], 3);
    assert_eq!(v["data"]["contacts"].as_array().unwrap().len(), 1);
    let (_, v) = api.get("/contact/list?search=fischer").await;
    assert_eq!(v["data"]["contacts"][0]["firstname"], "Lena");

    let new = fields(&[
        ("firstname", "Nadia"),
        ("lastname", "Islam"),
        ("mobile_code", "880"),
        ("mobile", "01999000111"),
        ("city", "Sylhet"),
    ]);
    let (s, v) = api.post("/contact/store", new).await;
    assert_eq!(s, 200, "{v}");
    let id = v["data"]["contact"]["id"].as_i64().unwrap();
    let changed = fields(&[
        ("firstname", "Nadia"),
        ("lastname", "Karim"),
        ("mobile_code", "880"),
        ("mobile", "01999000111"),
    ]);
    let (s, v) = api.post(&format!("/contact/update/{id}"), changed).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["contact"]["lastname"], "Karim");
    let (_, v) = api.get("/contact/list?search=karim").await;
    assert_eq!(v["data"]["total"], 2, "{v}");
    let delete = |id: String| {
        api.req(reqwest::Method::DELETE, &format!("/contact/delete/{id}"))
            .send()
    };
    let (s, v) = envelope(delete(id.to_string()).await.unwrap()).await;
    assert_eq!(
        (s.as_u16(), v["remark"].as_str()),
        (200, Some("contact_deleted"))
    );
    let (s, _) = envelope(delete(id.to_string()).await.unwrap()).await;
    assert_eq!(s, 404);
    let got = envelope(delete("abc".into()).await.unwrap()).await;
    assert_invalid(&got, "The contact id must be an integer.");

    let (s, v) = api.get("/inbox/conversation-list?status=2").await;
    assert_eq!(s, 200);
    let convs = v["data"]["conversations"].as_array().unwrap();
    assert!(
        !convs.is_empty() && convs.iter().all(|c| c["status"] == 2),
        "{v}"
    );
    let got = api.get("/inbox/conversation-list?status=7").await;
    assert_invalid(&got, "The selected status is invalid.");
    let (s, v) = api.get("/inbox/conversation-details/3").await;
    assert_eq!(s, 200);
    assert_eq!(v["data"]["conversation"]["id"], 3);
    let (s, v) = api
        .post(
            "/inbox/change-conversation-status/3",
            fields(&[("status", "1")]),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["data"]["conversation"]["status"], 1);
    let got = api
        .post("/inbox/change-conversation-status/3", Form::new())
        .await;
    assert_invalid(&got, "The status field is required.");

    // Sends, also under both vendor prefixes.
    for prefix in ["", "/external-api", "/extern-api"] {
        let (s, v) = api
            .post(
                &format!("{prefix}/inbox/send-template-message"),
                fields(&[
                    ("mobile_code", "880"),
                    ("mobile", "01988123456"),
                    ("template_id", "2"),
                ]),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["remark"], "message_sent");
        assert!(
            v["data"]["message_id"]
                .as_str()
                .unwrap()
                .starts_with("sim-")
        );
    }
    let with_media = fields(&[
        ("mobile_code", "49"),
        ("mobile", "15123456789"),
        ("from_number", "8801000000000"),
        ("message", "Your invoice "),
        ("latitude", "23.8"),
        ("longitude", "90.4"),
    ])
    .part("image", file("photo.PNG", vec![7; 1000]))
    .part("document", file("invoice.pdf", b"%PDF-1.4".to_vec()));
    let (s, v) = api.post("/inbox/send-message", with_media).await;
    assert_eq!(s, 200, "{v}");

    let messages = sim.messages();
    assert_eq!(messages.len(), 4);
    assert_eq!(
        messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(messages[0].kind, MessageKind::Template);
    assert_eq!(messages[0].template_id, Some(2));
    let last = &messages[3];
    assert_eq!(last.kind, MessageKind::Text);
    assert_eq!(last.message.as_deref(), Some("Your invoice "));
    assert_eq!(last.from_number.as_deref(), Some("8801000000000"));
    assert_eq!((last.latitude, last.longitude), (Some(23.8), Some(90.4)));
    assert_eq!(last.media.len(), 2);
    assert_eq!(last.media[0].field, "image");
    assert_eq!(last.media[0].size, 1000);
    assert_eq!(last.media[1].file_name, "invoice.pdf");
    assert_eq!(last.message_id, v["data"]["message_id"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn missing_or_wrong_credentials_get_401() {
    let sim = sim(SimConfig::default()).await;
    let http = reqwest::Client::new();
    let url = format!("{}/inbox/template-list", sim.base_url());
    let bare = envelope(http.get(&url).send().await.unwrap()).await;
    assert_eq!(
        bare,
        (
            StatusCode::UNAUTHORIZED,
            json!({"remark":"Unauthorized","status":"error","message":["The client secret is required"]})
        )
    );
    let wrong = call(
        http.get(&url)
            .header("client-id", "demo-id")
            .header("client-secret", "guess"),
    )
    .await;
    assert_error(
        &envelope(wrong).await,
        401,
        "Unauthorized",
        "Invalid client credentials",
    );
    let wrong_id = call(
        http.get(&url)
            .header("client-id", "someone")
            .header("client-secret", "demo-secret"),
    )
    .await;
    assert_eq!(wrong_id.status(), 401);
    sim.shutdown().await;
}

#[tokio::test]
async fn callers_outside_the_allow_list_get_the_whitelist_403() {
    let config = SimConfig {
        allow_ips: vec!["10.0.0.0/8".parse().unwrap()],
        ..SimConfig::default()
    };
    let sim = sim(config).await;
    let got = Api::new(&sim).get("/inbox/template-list").await;
    assert_eq!(
        got,
        (
            StatusCode::FORBIDDEN,
            json!({"remark":"Unauthorized","status":"error","message":[
                "Access to this API endpoint is restricted to IP addresses that have been explicitly whitelisted.",
                "In order to access this API endpoint, please add your IP address (127.0.0.1) to the white list from the user dashboard."
            ]})
        )
    );
    sim.shutdown().await;

    let allowed = SimConfig {
        allow_ips: vec![IpRange::from(std::net::IpAddr::from(
            std::net::Ipv4Addr::LOCALHOST,
        ))],
        ..SimConfig::default()
    };
    let sim = self::sim(allowed).await;
    assert_eq!(Api::new(&sim).get("/inbox/template-list").await.0, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn invalid_sends_get_the_422_vocabulary_and_are_not_recorded() {
    let sim = sim(SimConfig::default()).await;
    let api = Api::new(&sim);
    let text = "/inbox/send-message";
    let template = "/inbox/send-template-message";
    // (endpoint, fields as a query string, file (field, name, size), remark, message)
    let to = "mobile_code=880&mobile=1988123456";
    #[rustfmt::skip]
    let cases: Vec<(&str, String, Option<Upload>, &str, &str)> = vec![
        (text, "mobile_code=880&message=hi".into(), None, "validation_error", "The mobile field is required."),
        (text, "mobile=1988123456&message=hi".into(), None, "validation_error", "The mobile code field is required."),
        (text, "mobile_code=%2B880&mobile=1988123456&message=hi".into(), None, "validation_error", "The mobile code must be 1 to 4 digits."),
        (text, to.into(), None, "validation_error", AT_LEAST_ONE),
        (text, to.into(), Some(("image", "big.jpg", 5_000_001)), "validation_error", "The image may not be greater than 5 MB."),
        (text, to.into(), Some(("image", "anim.gif", 10)), "validation_error", "The image must be a file of type: jpg, jpeg, png."),
        (text, to.into(), Some(("video", "clip.mov", 10)), "validation_error", "The video must be a file of type: mp4."),
        (text, format!("{to}&latitude=23.8"), None, "validation_error", "The longitude field is required when latitude is present."),
        (text, "mobile_code=880&mobile=19881x3456&message=hi".into(), None, "invalid_number", "The mobile number is not valid"),
        (text, "mobile_code=880&mobile=0123&message=hi".into(), None, "invalid_number", "The mobile number is not valid"),
        (text, "mobile_code=880&mobile=01711000001&message=hi".into(), None, "blocked_contact", "This contact is blocked"),
        (template, "mobile_code=880&mobile=1711000001&template_id=1".into(), None, "blocked_contact", "This contact is blocked"),
        (template, format!("{to}&testmplate_id=1"), None, "validation_error", "The template id field is required."),
        (template, format!("{to}&template_id=one"), None, "validation_error", "The template id must be an integer."),
        (template, format!("{to}&template_id=4"), None, "template_not_approved", "The selected template is not approved"),
        (template, format!("{to}&template_id=99"), None, "template_not_found", "The selected template does not exist"),
    ];
    for (path, query, upload, remark, message) in cases {
        let mut form = url::form_urlencoded::parse(query.as_bytes())
            .fold(Form::new(), |f, (k, v)| {
                f.text(k.into_owned(), v.into_owned())
            });
        if let Some((field, name, size)) = upload {
            form = form.part(field.to_owned(), file(name, vec![1; size]));
        }
        let got = api.post(path, form).await;
        assert_error(&got, 422, remark, message);
    }
    assert!(sim.messages().is_empty());

    // Bodies that are not forms get an envelope too, never a crash.
    let garbage = api
        .req(reqwest::Method::POST, text)
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("--xyz\r\nno headers here")
        .send()
        .await
        .unwrap();
    assert_eq!(envelope(garbage).await.0, 400);
    let json_body = call(
        api.req(reqwest::Method::POST, text)
            .json(&json!({"mobile": "1"})),
    )
    .await;
    assert_eq!(envelope(json_body).await.0, 415);
    let huge = fields(&[("firstname", "A"), ("lastname", "B")])
        .part("profile_image", file("me.png", vec![0; 9_000_000]));
    let (s, _) = api.post("/contact/store", huge).await;
    assert_eq!(s, 413);

    // A urlencoded body is accepted like multipart.
    let urlencoded = call(
        api.req(reqwest::Method::POST, template)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("mobile_code=880&mobile=01988123456&template_id=3"),
    )
    .await;
    assert_eq!(envelope(urlencoded).await.0, 200);
    assert_eq!(sim.messages().len(), 1);
    sim.shutdown().await;
}

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
            let got = envelope(resp).await;
            assert_error(&got, 429, "too_many_requests", "Too many requests");
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
    assert_eq!(api.get("/inbox/template-list").await.0, 200);
    let http = reqwest::Client::new();
    let put = call(
        http.put(format!("{}/__sim/rate", sim.base_url()))
            .json(&json!({"rate_per_second": 0.001, "burst": 1})),
    )
    .await;
    assert_eq!(put.status(), 200);
    assert_eq!(api.get("/inbox/template-list").await.0, 200);
    let (s, _) = api.get("/inbox/template-list").await;
    assert_eq!(s, 429);
    sim.shutdown().await;
}

#[tokio::test]
async fn error_and_throttle_faults_answer_without_acting() {
    let sim = faulty(|f| f.error_rate = 1.0).await;
    let api = Api::new(&sim);
    let got = envelope(api.send_text("1988123456", "hi").await).await;
    assert_error(&got, 500, "server_error", "Internal server error");
    // Non-send endpoints are not affected.
    assert_eq!(api.get("/inbox/template-list").await.0, 200);

    sim.set_faults(Faults {
        error_rate: 1.0,
        error_status: 502,
        ..Faults::default()
    });
    let resp = api.send_text("1988123456", "hi").await;
    assert_eq!(resp.status(), 502);
    assert!(resp.text().await.unwrap().contains("<html>"));

    sim.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let resp = api.send_text("1988123456", "hi").await;
    assert_eq!(resp.headers()["retry-after"], "1");
    assert_error(
        &envelope(resp).await,
        429,
        "too_many_requests",
        "Too many requests",
    );

    assert!(
        sim.messages().is_empty(),
        "500 and 429 faults do not deliver"
    );
    let stats = sim.stats();
    assert_eq!(stats.faults.get("error"), Some(&2));
    assert_eq!(stats.faults.get("throttle"), Some(&1));
    assert_eq!(stats.throttled, 1);
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
            ("mobile_code", "880"),
            ("mobile", "1988123456"),
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
    let resp = Api::new(&sim).send_text("1988123456", "cut").await;
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
        let resp = api.send_text("1988123456", "garbled").await;
        assert_eq!(resp.status(), 200);
        let body = resp.text().await.unwrap();
        assert!(body.contains(looks), "{kind:?}: {body}");
        assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    }
    assert_eq!(sim.messages().len(), 3);
    let bad = call(
        reqwest::Client::new()
            .put(format!("{}/__sim/faults", sim.base_url()))
            .json(&json!({"error_rate": 2})),
    )
    .await;
    assert_eq!(bad.status(), 400);
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
            let resp = api.send_text("1988123456", &format!("n{i}")).await;
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

#[tokio::test]
async fn accepted_messages_are_served_and_recorded_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sent.jsonl");
    let sim = sim(SimConfig {
        record: Some(path.clone()),
        ..SimConfig::default()
    })
    .await;
    let api = Api::new(&sim);
    for text in ["first", "second"] {
        assert_eq!(api.send_text("1988123456", text).await.status(), 200);
    }
    let http = reqwest::Client::new();
    let control = format!("{}/__sim/messages", sim.base_url());
    let served: Vec<SentMessage> = http
        .get(&control)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, sim.messages());
    assert_eq!(served[1].message.as_deref(), Some("second"));
    assert_eq!(served[1].message_id, "sim-2");

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
    assert_eq!(stats["by_status"]["200"], 2);

    assert_eq!(http.delete(&control).send().await.unwrap().status(), 204);
    assert!(sim.messages().is_empty());
    assert_eq!(api.send_text("1988123456", "third").await.status(), 200);
    assert_eq!(sim.messages()[0].seq, 3, "sequence numbers keep counting");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_simulate_command_serves_until_sigterm() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};

    let secret = Secret::new("bin-secret-7f3a9c");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_wutt-campaign"))
        .args(["simulate", "--listen", "127.0.0.1:0", "--seed", "5"])
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
    let ok = call(
        http.get(format!("{base}/external-api/inbox/template-list"))
            .header("client-id", "bin-id")
            .header("client-secret", secret.expose()),
    )
    .await;
    assert_eq!(ok.status(), 200);
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
