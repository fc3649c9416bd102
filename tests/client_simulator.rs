//! The real Wutt client against the in-process simulator over loopback HTTP:
//! every endpoint with its envelope and data, every outcome class provoked
//! through the simulator's refusals and faults, and what reached "WhatsApp"
//! in each case (ambiguous answers were delivered; throttled, transient and
//! refused ones were not).

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{CLIENT_ID, SECRET, config};
use wutt_campaign::campaign::phone::PhoneNumber;
use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{
    self, BLOCKED_MOBILE, BLOCKED_MOBILE_CODE, Faults, MalformedBody, MessageKind, SimConfig,
    SimHandle,
};
use wutt_campaign::wutt::{
    Client, ContactForm, ContactQuery, ConversationQuery, ConversationStatus, Envelope, MediaFile,
    MediaKind, Outcome, OutcomeClass, SendMessage, SendTemplate, WuttError,
};

/// How long a test waits for a recorded message before it fails.
const WAIT: Duration = Duration::from_secs(10);

/// A simulator that expects the test credentials, with seed 1 and no faults.
async fn sim_with(set: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut cfg = SimConfig {
        client_id: CLIENT_ID.into(),
        client_secret: Secret::new(SECRET),
        seed: Some(1),
        ..SimConfig::default()
    };
    set(&mut cfg);
    simulator::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

async fn sim() -> SimHandle {
    sim_with(|_| {}).await
}

/// The real client aimed at the simulator's documented prefix.
fn client_for(sim: &SimHandle) -> Client {
    client_with(sim, |_| {})
}

fn client_with(
    sim: &SimHandle,
    set: impl FnOnce(&mut wutt_campaign::wutt::ClientConfig),
) -> Client {
    let mut cfg = config(
        &format!("{}/external-api", sim.base_url()),
        Duration::from_secs(10),
    );
    set(&mut cfg);
    Client::new(cfg).expect("client")
}

fn amina() -> PhoneNumber {
    PhoneNumber::from_canonical(880, "1988123456")
}

fn faults(set: impl FnOnce(&mut Faults)) -> Faults {
    let mut f = Faults::default();
    set(&mut f);
    f
}

fn template(to: PhoneNumber, template_id: i64) -> SendTemplate {
    SendTemplate {
        to,
        from_number: None,
        template_id,
    }
}

fn data(env: &Envelope) -> &Value {
    env.data.as_ref().expect("a success envelope has data")
}

/// The ids of the conversations `c` lists for `query`.
async fn conversation_ids(c: &Client, query: ConversationQuery) -> Vec<i64> {
    let listed = c.conversation_list(&query).await.unwrap();
    assert_eq!(listed.remark, "conversation_list");
    ids(&data(&listed)["conversations"])
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| i["id"].as_i64().expect("an id"))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts the class, HTTP status and remark of an outcome; returns its reply's envelope.
#[track_caller]
fn expect(
    outcome: &Outcome,
    class: OutcomeClass,
    status: Option<u16>,
    remark: Option<&str>,
) -> Option<Envelope> {
    let reply = outcome.reply();
    assert_eq!(outcome.class(), class, "{outcome:?}");
    assert_eq!(reply.http_status, status, "{outcome:?}");
    assert_eq!(
        reply.envelope.as_ref().map(|e| e.remark.as_str()),
        remark,
        "{outcome:?}"
    );
    reply.envelope.clone()
}

#[track_caller]
fn api_error(err: WuttError, status: u16, remark: &str) -> Envelope {
    match err {
        WuttError::Api {
            http_status,
            envelope,
        } => {
            assert_eq!(http_status, status, "{envelope:?}");
            assert_eq!(envelope.remark, remark);
            assert_eq!(envelope.status, "error");
            envelope
        }
        other => panic!("expected an error envelope, got {other:?}"),
    }
}

// ------------------------------------------------------------ the endpoints

#[tokio::test]
async fn templates_are_listed_with_their_approval() {
    let sim = sim().await;
    let env = client_for(&sim).template_list().await.unwrap();
    assert_eq!(
        (env.status.as_str(), env.remark.as_str()),
        ("success", "template_list")
    );
    assert_eq!(env.message, ["Template list fetched successfully"]);
    let templates = &data(&env)["templates"];
    assert_eq!(ids(templates), [1, 2, 3, 4]);
    assert_eq!(templates[0]["name"], "welcome");
    assert_eq!(templates[0]["status"], "approved");
    assert_eq!(
        templates[3]["status"], "pending",
        "template 4 is not approved"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn contacts_list_search_paginate_store_update_delete() {
    let sim = sim().await;
    let c = client_for(&sim);

    let all = c.contact_list(&ContactQuery::default()).await.unwrap();
    assert_eq!(all.remark, "contact_list");
    let d = data(&all);
    assert_eq!(
        (d["total"].as_i64(), d["per_page"].as_i64()),
        (Some(5), Some(20))
    );
    assert_eq!(ids(&d["contacts"]), [1, 2, 3, 4, 5]);

    let search = |s: &str| ContactQuery {
        search: Some(s.into()),
        ..ContactQuery::default()
    };
    let by_name = c.contact_list(&search("fischer")).await.unwrap();
    assert_eq!(data(&by_name)["contacts"][0]["firstname"], "Lena");
    assert_eq!(data(&by_name)["total"], 1);
    let by_number = c.contact_list(&search("1988123456")).await.unwrap();
    assert_eq!(ids(&data(&by_number)["contacts"]), [1]);
    let blocked = c.contact_list(&search(BLOCKED_MOBILE)).await.unwrap();
    assert_eq!(data(&blocked)["contacts"][0]["blocked"], true);

    let page2 = ContactQuery {
        page: Some(2),
        paginate: Some(2),
        search: None,
    };
    let p = c.contact_list(&page2).await.unwrap();
    let d = data(&p);
    assert_eq!(ids(&d["contacts"]), [3, 4]);
    assert_eq!(
        (d["current_page"].as_i64(), d["last_page"].as_i64()),
        (Some(2), Some(3))
    );

    let dir = tempfile::tempdir().unwrap();
    let face = write(dir.path(), "nadia.png", b"\x89PNG\r\n\x1a\nnot-really");
    let mut form = ContactForm::new(
        "Nadia",
        "Islam",
        PhoneNumber::from_canonical(880, "1812345678"),
    );
    form.city = Some("Sylhet".into());
    form.zip = Some("3100".into());
    form.profile_image = Some(MediaFile::new(MediaKind::Image, &face).unwrap());
    let created = c.contact_store(&form).await.unwrap();
    assert_eq!(created.remark, "contact_created");
    let contact = &data(&created)["contact"];
    assert_eq!(contact["id"], 6);
    assert_eq!(
        (&contact["mobile_code"], &contact["mobile"]),
        (&Value::from("880"), &Value::from("1812345678"))
    );
    assert_eq!(contact["zip"], "3100");
    assert_eq!(contact["profile_image"], "nadia.png");

    // The same number again is refused: a validation error, not an account problem.
    let err = c.contact_store(&form).await.unwrap_err();
    assert_eq!(err.class(), Some(OutcomeClass::Rejected));
    let env = api_error(err, 422, "validation_error");
    assert_eq!(env.message, ["The mobile has already been taken."]);

    form.city = Some("Khulna".into());
    form.profile_image = None;
    let updated = c.contact_update(6, &form).await.unwrap();
    assert_eq!(updated.remark, "contact_updated");
    let found = c.contact_list(&search("nadia")).await.unwrap();
    assert_eq!(data(&found)["contacts"][0]["city"], "Khulna");

    let deleted = c.contact_delete(6).await.unwrap();
    assert_eq!(deleted.remark, "contact_deleted");
    assert_eq!(data(&deleted)["id"], 6);
    let after = c.contact_list(&ContactQuery::default()).await.unwrap();
    assert_eq!(data(&after)["total"], 5);
    let err = c.contact_delete(6).await.unwrap_err();
    assert_eq!(err.class(), Some(OutcomeClass::Rejected));
    api_error(err, 404, "contact_not_found");
    let err = c.contact_update(6, &form).await.unwrap_err();
    api_error(err, 404, "contact_not_found");
    sim.shutdown().await;
}

#[tokio::test]
async fn conversations_list_filter_details_and_change_status() {
    let sim = sim().await;
    let c = client_for(&sim);
    let list = |status| ConversationQuery {
        status,
        ..ConversationQuery::default()
    };

    let listed = |q: ConversationQuery| conversation_ids(&c, q);
    assert_eq!(listed(list(None)).await, [1, 2, 3, 4, 5, 6]);
    let pending = Some(ConversationStatus::Pending);
    assert_eq!(listed(list(pending)).await, [2, 5]);
    let unread = Some(ConversationStatus::Unread);
    assert_eq!(listed(list(unread)).await, [4, 6]);
    let paged = ConversationQuery {
        status: None,
        page: Some(2),
        paginate: Some(4),
    };
    assert_eq!(listed(paged).await, [5, 6]);

    let details = c.conversation_details(3).await.unwrap();
    assert_eq!(details.remark, "conversation_details");
    let conv = &data(&details)["conversation"];
    assert_eq!(
        (conv["id"].as_i64(), conv["status"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(conv["contact"]["firstname"], "Lena");
    assert_eq!(conv["messages"].as_array().map(Vec::len), Some(2));

    let changed = c
        .change_conversation_status(4, ConversationStatus::Done)
        .await
        .unwrap();
    assert_eq!(changed.remark, "conversation_status_changed");
    assert_eq!(data(&changed)["conversation"]["status_name"], "done");
    assert_eq!(listed(list(unread)).await, [6]);

    let err = c.conversation_details(99).await.unwrap_err();
    api_error(err, 404, "conversation_not_found");
    let err = c
        .change_conversation_status(99, ConversationStatus::Important)
        .await
        .unwrap_err();
    api_error(err, 404, "conversation_not_found");
    sim.shutdown().await;
}

#[tokio::test]
async fn template_text_media_and_location_sends_are_delivered_as_sent() {
    let sim = sim().await;
    let c = client_for(&sim);
    let dir = tempfile::tempdir().unwrap();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..40_000u32).map(|i| (i % 251) as u8))
        .collect();
    let image = write(dir.path(), "offer.png", &png);
    let pdf = b"%PDF-1.4\n% terms and conditions\n%%EOF\n";
    let document = write(dir.path(), "terms.pdf", pdf);

    let t = c
        .send_template(&SendTemplate {
            from_number: Some("8801700000000".into()),
            ..template(amina(), 1)
        })
        .await;
    let env = expect(&t, OutcomeClass::Success, Some(200), Some("message_sent")).unwrap();
    assert_eq!(env.message, ["Message sent successfully"]);
    assert_eq!(data(&env)["message_id"], "sim-1");
    assert_eq!(data(&env)["mobile"], "1988123456");

    let text = c
        .send_message(&SendMessage::text(
            amina(),
            "Hello Amina, your order shipped.",
        ))
        .await;
    expect(
        &text,
        OutcomeClass::Success,
        Some(200),
        Some("message_sent"),
    );

    let media = SendMessage {
        message: Some("Spring offer inside".into()),
        media: vec![
            MediaFile::new(MediaKind::Image, &image).unwrap(),
            MediaFile::new(MediaKind::Document, &document).unwrap(),
        ],
        ..SendMessage::text(amina(), "")
    };
    let sent = c.send_message(&media).await;
    expect(
        &sent,
        OutcomeClass::Success,
        Some(200),
        Some("message_sent"),
    );

    let location = SendMessage {
        to: Some(PhoneNumber::from_canonical(49, "15123456789")),
        location: Some((23.8103, -90.4125)),
        ..SendMessage::default()
    };
    let here = c.send_message(&location).await;
    expect(
        &here,
        OutcomeClass::Success,
        Some(200),
        Some("message_sent"),
    );

    let got = sim.messages();
    assert_eq!(got.len(), 4, "{got:#?}");
    let ids: Vec<&str> = got.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids, ["sim-1", "sim-2", "sim-3", "sim-4"]);

    assert_eq!(got[0].kind, MessageKind::Template);
    assert_eq!(got[0].template_id, Some(1));
    assert_eq!(
        (got[0].mobile_code.as_str(), got[0].mobile.as_str()),
        ("880", "1988123456")
    );
    assert_eq!(got[0].from_number.as_deref(), Some("8801700000000"));

    assert_eq!(got[1].kind, MessageKind::Text);
    assert_eq!(
        got[1].message.as_deref(),
        Some("Hello Amina, your order shipped.")
    );
    assert_eq!(got[1].from_number, None);

    assert_eq!(got[2].message.as_deref(), Some("Spring offer inside"));
    let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
    let files: Vec<_> = got[2]
        .media
        .iter()
        .map(|m| {
            (
                m.field.as_str(),
                m.file_name.as_str(),
                m.content_type.as_deref(),
                m.size,
                m.sha256.clone(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            (
                "image",
                "offer.png",
                Some("image/png"),
                png.len() as u64,
                sha(&png)
            ),
            (
                "document",
                "terms.pdf",
                Some("application/pdf"),
                pdf.len() as u64,
                sha(pdf)
            ),
        ],
        "the bytes that arrived are the bytes of the files"
    );

    assert_eq!(
        (got[3].mobile_code.as_str(), got[3].mobile.as_str()),
        ("49", "15123456789")
    );
    assert_eq!(
        (got[3].latitude, got[3].longitude),
        (Some(23.8103), Some(-90.4125))
    );
    assert_eq!(got[3].message, None);
    sim.shutdown().await;
}

// -------------------------------------------------------- the outcome classes

#[tokio::test]
async fn the_rate_limit_and_the_throttle_fault_are_throttled_with_retry_after() {
    // One request per 100 s: the second request is over the limit however slow the machine.
    let sim = sim_with(|s| {
        s.rate_per_second = Some(0.01);
        s.burst = 1;
    })
    .await;
    let c = client_for(&sim);
    let first = c.send_template(&template(amina(), 1)).await;
    expect(
        &first,
        OutcomeClass::Success,
        Some(200),
        Some("message_sent"),
    );
    let second = c.send_template(&template(amina(), 2)).await;
    expect(
        &second,
        OutcomeClass::Throttled,
        Some(429),
        Some("too_many_requests"),
    );
    let Outcome::Throttled { retry_after, .. } = second else {
        unreachable!()
    };
    let wait = retry_after.expect("the rate limit says when to retry");
    assert!(wait >= Duration::from_secs(50), "{wait:?}");
    // The other endpoints share the account's limit.
    let err = c.template_list().await.unwrap_err();
    assert_eq!(err.class(), Some(OutcomeClass::Throttled));

    sim.set_rate(None);
    sim.set_faults(faults(|f| f.throttle_rate = 1.0));
    let faulted = c.send_message(&SendMessage::text(amina(), "later")).await;
    expect(
        &faulted,
        OutcomeClass::Throttled,
        Some(429),
        Some("too_many_requests"),
    );
    assert!(matches!(
        faulted,
        Outcome::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(1)
    ));

    let recorded = sim.messages();
    assert_eq!(recorded.len(), 1, "throttled requests deliver nothing");
    assert_eq!(recorded[0].template_id, Some(1));
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.rate_limited), (3, 2));
    sim.shutdown().await;
}

#[tokio::test]
async fn server_errors_and_gateway_pages_are_transient_and_deliver_nothing() {
    let sim = sim_with(|s| s.faults.error_rate = 1.0).await;
    let c = client_for(&sim);
    let o = c.send_template(&template(amina(), 1)).await;
    let env = expect(&o, OutcomeClass::Transient, Some(500), Some("server_error")).unwrap();
    assert_eq!(env.message, ["Internal server error"]);

    sim.set_faults(faults(|f| {
        f.error_rate = 1.0;
        f.error_status = 502;
    }));
    let o = c.send_message(&SendMessage::text(amina(), "hi")).await;
    expect(&o, OutcomeClass::Transient, Some(502), None);
    let reply = o.reply();
    let page = reply
        .body_excerpt
        .as_deref()
        .expect("the HTML page is kept");
    assert!(page.contains("<h1>502 Bad Gateway</h1>"), "{page}");
    assert!(
        reply
            .error
            .as_deref()
            .is_some_and(|e| e.contains("HTTP 502")),
        "{reply:?}"
    );

    sim.set_faults(faults(|f| {
        f.error_rate = 1.0;
        f.error_status = 503;
    }));
    let o = c.send_template(&template(amina(), 1)).await;
    expect(&o, OutcomeClass::Transient, Some(503), None);

    sim.set_faults(Faults::default());
    assert!(
        c.template_list().await.is_ok(),
        "faults touch only the sends"
    );
    assert!(
        sim.messages().is_empty(),
        "transient failures deliver nothing"
    );
    assert_eq!(sim.stats().faults.get("error"), Some(&3));
    sim.shutdown().await;
}

#[tokio::test]
async fn timeouts_drops_and_unreadable_answers_are_ambiguous_and_were_delivered() {
    let sim = sim_with(|s| s.faults.timeout_rate = 1.0).await;
    let impatient = client_with(&sim, |c| c.timeout = Duration::from_millis(400));
    let o = impatient
        .send_message(&SendMessage::text(amina(), "timeout"))
        .await;
    expect(&o, OutcomeClass::Ambiguous, None, None);
    assert!(o.reply().error.is_some(), "{o:?}");
    assert_eq!(sim.wait_for_messages(1, WAIT).await.len(), 1);

    let c = client_for(&sim);
    sim.set_faults(faults(|f| f.drop_rate = 1.0));
    let o = c.send_message(&SendMessage::text(amina(), "drop")).await;
    expect(&o, OutcomeClass::Ambiguous, Some(200), None);
    assert!(
        o.reply()
            .error
            .as_deref()
            .is_some_and(|e| e.contains("broke off")),
        "{o:?}"
    );

    for (kind, looks) in [
        (MalformedBody::Html, "Something went wrong"),
        (MalformedBody::Empty, ""),
        (
            MalformedBody::TruncatedJson,
            r#"{"status":"success","remark":"messa"#,
        ),
    ] {
        sim.set_faults(faults(|f| {
            f.malformed_rate = 1.0;
            f.malformed_body = kind;
        }));
        let o = c.send_template(&template(amina(), 2)).await;
        expect(&o, OutcomeClass::Ambiguous, Some(200), None);
        let excerpt = o.reply().body_excerpt.as_deref().unwrap_or_default();
        assert!(excerpt.contains(looks), "{kind:?}: {excerpt:?}");
        if kind == MalformedBody::Empty {
            assert_eq!(excerpt, "");
        }
    }

    // A gateway timeout: the API behind the proxy may have acted.
    sim.set_faults(faults(|f| {
        f.error_rate = 1.0;
        f.error_status = 504;
    }));
    let o = c.send_message(&SendMessage::text(amina(), "gateway")).await;
    expect(&o, OutcomeClass::Ambiguous, Some(504), None);
    assert!(
        o.reply()
            .body_excerpt
            .as_deref()
            .is_some_and(|p| p.contains("504 Gateway Time"))
    );

    let got = sim.messages();
    let texts: Vec<Option<&str>> = got.iter().map(|m| m.message.as_deref()).collect();
    assert_eq!(
        texts,
        [
            Some("timeout"),
            Some("drop"),
            None,
            None,
            None,
            Some("gateway")
        ],
        "every ambiguous answer hid a delivered message"
    );
    assert!(got[2..5].iter().all(|m| m.template_id == Some(2)));
    sim.shutdown().await;
}

#[tokio::test]
async fn credentials_allow_list_and_templates_refuse_the_account() {
    let sim = sim().await;
    let wrong = client_with(&sim, |c| c.client_secret = Secret::new("not-the-secret"));
    let o = wrong.send_template(&template(amina(), 1)).await;
    let env = expect(
        &o,
        OutcomeClass::AccountRefused,
        Some(401),
        Some("Unauthorized"),
    )
    .unwrap();
    assert_eq!(env.message, ["Invalid client credentials"]);
    let err = wrong.template_list().await.unwrap_err();
    assert_eq!(err.class(), Some(OutcomeClass::AccountRefused));
    api_error(err, 401, "Unauthorized");

    let missing = client_with(&sim, |c| c.client_secret = Secret::new(""));
    let o = missing
        .send_message(&SendMessage::text(amina(), "no secret"))
        .await;
    let env = expect(
        &o,
        OutcomeClass::AccountRefused,
        Some(401),
        Some("Unauthorized"),
    )
    .unwrap();
    assert_eq!(env.message, ["The client secret is required"]);

    let other_id = client_with(&sim, |c| c.client_id = "someone-else".into());
    let o = other_id.send_template(&template(amina(), 1)).await;
    expect(
        &o,
        OutcomeClass::AccountRefused,
        Some(401),
        Some("Unauthorized"),
    );

    let c = client_for(&sim);
    let o = c.send_template(&template(amina(), 4)).await;
    let env = expect(
        &o,
        OutcomeClass::AccountRefused,
        Some(422),
        Some("template_not_approved"),
    )
    .unwrap();
    assert_eq!(env.message, ["The selected template is not approved"]);
    let o = c.send_template(&template(amina(), 99)).await;
    expect(
        &o,
        OutcomeClass::AccountRefused,
        Some(422),
        Some("template_not_found"),
    );
    assert!(sim.messages().is_empty(), "refused sends deliver nothing");
    sim.shutdown().await;

    // Loopback is not on this account's allow-list.
    let fenced = sim_with(|s| s.allow_ips = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let c = client_for(&fenced);
    let o = c.send_template(&template(amina(), 1)).await;
    let env = expect(
        &o,
        OutcomeClass::AccountRefused,
        Some(403),
        Some("Unauthorized"),
    )
    .unwrap();
    assert!(env.text().contains("whitelisted"), "{env:?}");
    assert!(env.text().contains("(127.0.0.1)"), "{env:?}");
    let err = c.contact_list(&ContactQuery::default()).await.unwrap_err();
    assert_eq!(err.class(), Some(OutcomeClass::AccountRefused));
    assert!(fenced.messages().is_empty());
    fenced.shutdown().await;
}

#[tokio::test]
async fn blocked_invalid_and_malformed_recipients_are_rejected() {
    let sim = sim().await;
    let c = client_for(&sim);
    let code: u16 = BLOCKED_MOBILE_CODE.parse().unwrap();
    let blocked = PhoneNumber::from_canonical(code, BLOCKED_MOBILE);
    let o = c.send_template(&template(blocked.clone(), 1)).await;
    let env = expect(
        &o,
        OutcomeClass::Rejected,
        Some(422),
        Some("blocked_contact"),
    )
    .unwrap();
    assert_eq!(env.message, ["This contact is blocked"]);
    let o = c.send_message(&SendMessage::text(blocked, "hi")).await;
    expect(
        &o,
        OutcomeClass::Rejected,
        Some(422),
        Some("blocked_contact"),
    );
    // The national trunk 0 does not hide a blocked number.
    let with_trunk = PhoneNumber::from_canonical(code, format!("0{BLOCKED_MOBILE}"));
    let o = c.send_template(&template(with_trunk, 1)).await;
    expect(
        &o,
        OutcomeClass::Rejected,
        Some(422),
        Some("blocked_contact"),
    );

    let short = PhoneNumber::from_canonical(880, "123");
    let o = c.send_template(&template(short, 1)).await;
    let env = expect(
        &o,
        OutcomeClass::Rejected,
        Some(422),
        Some("invalid_number"),
    )
    .unwrap();
    assert_eq!(env.message, ["The mobile number is not valid"]);

    let too_long = "x".repeat(4097);
    let o = c.send_message(&SendMessage::text(amina(), too_long)).await;
    let env = expect(
        &o,
        OutcomeClass::Rejected,
        Some(422),
        Some("validation_error"),
    )
    .unwrap();
    assert_eq!(
        env.message,
        ["The message may not be greater than 4096 characters."]
    );

    // A blocked recipient is not an account problem: the next one goes through.
    let o = c.send_template(&template(amina(), 1)).await;
    expect(&o, OutcomeClass::Success, Some(200), Some("message_sent"));
    let got = sim.messages();
    assert_eq!(got.len(), 1, "only the good recipient was delivered");
    assert_eq!(got[0].mobile, "1988123456");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_wrong_base_url_refuses_the_account_instead_of_failing_each_recipient() {
    let sim = sim().await;
    // `/extrnal-api` is a typo of the documented prefix: no endpoint lives there.
    let typo = Client::new(config(
        &format!("{}/extrnal-api", sim.base_url()),
        Duration::from_secs(10),
    ))
    .unwrap();
    let o = typo.send_template(&template(amina(), 1)).await;
    expect(&o, OutcomeClass::AccountRefused, Some(404), None);
    let err = typo.template_list().await.unwrap_err();
    assert_eq!(err.class(), Some(OutcomeClass::AccountRefused), "{err}");
    assert!(sim.messages().is_empty());
    sim.shutdown().await;
}
