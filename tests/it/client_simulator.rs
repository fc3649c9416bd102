//! The real Wutt client against the in-process simulator over loopback HTTP.
//!
//! - Every endpoint with the real server's vocabulary: HTTP 200 envelopes,
//!   Laravel paginators, `inbox` / `contact-list` / `contact_created` remarks.
//! - Every row of the classification table ([`RULES`]) that an answer of the
//!   simulator can produce has a test here named `row_…`, which makes the
//!   simulator answer that way and asserts the row's name and class, and what
//!   reached "WhatsApp" (recorded) in that case. The rows the simulator cannot
//!   produce are listed in [`UNREACHABLE`] with the reason, and
//!   `every_row_is_produced_here_or_said_unreachable` keeps the two lists and
//!   the table in step.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use crate::support::http::{CLIENT_ID, SECRET, config};
use serde_json::Value;
use sha2::{Digest, Sha256};
use wutt_campaign::campaign::phone::PhoneNumber;
use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{
    self, AccountSetting, BLOCKED_MOBILE, BLOCKED_MOBILE_CODE, CTA_URL_IDS, Faults,
    INTERACTIVE_LIST_ID, MalformedBody, MessageKind, Plan, RuleEndpoint, SeedContact, SimClock,
    SimConfig, SimHandle, TEMPLATE_DISABLED, TEMPLATE_HEADER_VAR, TEMPLATE_IMAGE_HEADER,
    TEMPLATE_ON_PAGE_3, TEMPLATE_ONE_VAR, TEMPLATE_PENDING, TEMPLATE_REJECTED, TEMPLATE_TWO_VARS,
    WHATSAPP_NUMBER, WhatsAppRule,
};
use wutt_campaign::wutt::outcome::{Observation, RULES, Rule, classify, rule_of};
use wutt_campaign::wutt::templates::TemplateStatus;
use wutt_campaign::wutt::whatsapp::by_code;
use wutt_campaign::wutt::{
    Client, ContactForm, ContactQuery, ConversationQuery, ConversationStatus, Envelope, MediaFile,
    MediaKind, Outcome, OutcomeClass, SendMessage, SendTemplate, WuttError,
};

use OutcomeClass::{
    AccountRefused, Ambiguous, CampaignRefused, RecipientThrottled, Rejected, Success, Throttled,
    Transient,
};

/// How long a test waits for a recorded message before it fails.
const WAIT: Duration = Duration::from_secs(10);

/// The rows of [`RULES`] that the tests of this file produce through the
/// simulator (each has a `row_…` test).
const PRODUCED: &[&str] = &[
    "no-connection",
    "timeout-after-connect",
    "success",
    "template-sent-answer-defect",
    "unauthorized",
    "no-active-plan",
    "api-not-in-plan",
    "whatsapp-not-connected",
    "unknown-from-number",
    "template-not-found",
    "blocked-contact",
    "cta-url-not-found",
    "list-not-found",
    "interactive-not-in-plan",
    "no-such-route",
    "other-not-found",
    "mobile-refused",
    "request-refused",
    "text-to-non-contact",
    "whatsapp-account",
    "whatsapp-campaign",
    "whatsapp-recipient",
    "whatsapp-throughput",
    "whatsapp-pair-rate",
    "whatsapp-transient",
    "unknown-exception",
    "too-many-requests",
    "maintenance",
    "server-error",
    "no-such-endpoint",
    "client-error",
    "contact-limit",
    "unreadable-2xx",
];

/// The rows no answer of the simulator can reach, and why.
const UNREACHABLE: &[(&str, &str)] = &[
    (
        "not-built",
        "the client could not build the request: nothing reaches any server",
    ),
    (
        "connection-dropped",
        "every simulator fault that breaks a connection sends the status line first \
         (the drop fault is `unreadable-2xx`); tests/wutt_client.rs covers it with a raw socket",
    ),
    (
        "remark-unauthorized",
        "the server's refusals with remark `Unauthorized` are all HTTP 401 (row `unauthorized`)",
    ),
    (
        "no-user",
        "`user_error` needs credentials without a user; the middleware refuses those first",
    ),
    (
        "request-timeout",
        "nothing in front of the simulator answers 408",
    ),
    ("forbidden", "nothing in front of the simulator answers 403"),
    ("redirected", "the simulator never redirects"),
    (
        "method-not-supported",
        "the client calls every route with its own method, and no base URL maps one of \
         its paths onto a route that takes another",
    ),
    (
        "anything-else",
        "every answer of the simulator is matched by an earlier row",
    ),
];

// ---------------------------------------------------------------- helpers

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

/// The real client aimed at the simulator's real prefix.
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

fn client_at(base: &str) -> Client {
    Client::new(config(base, Duration::from_secs(10))).expect("client")
}

/// Amina Rahman, a seeded contact whose customer wrote ten minutes ago
/// (conversation 1).
fn amina() -> PhoneNumber {
    PhoneNumber::from_canonical(880, "1988123456")
}

fn blocked() -> PhoneNumber {
    PhoneNumber::from_canonical(BLOCKED_MOBILE_CODE.parse().unwrap(), BLOCKED_MOBILE)
}

/// A number that is not a contact of the account.
fn stranger() -> PhoneNumber {
    PhoneNumber::from_canonical(880, "1700000099")
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
        body_variables: Vec::new(),
        header_variables: Vec::new(),
    }
}

fn with_body(mut t: SendTemplate, vars: &[&str]) -> SendTemplate {
    t.body_variables = vars.iter().map(|v| (*v).to_owned()).collect();
    t
}

fn account(set: impl FnOnce(&mut AccountSetting)) -> AccountSetting {
    let mut a = AccountSetting::default();
    set(&mut a);
    a
}

fn data(env: &Envelope) -> &Value {
    env.data.as_ref().expect("a success envelope has data")
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

/// The row of the table that decided an outcome.
fn row_of(outcome: &Outcome) -> &'static Rule {
    let reply = outcome.reply();
    match reply.transport {
        Some(kind) => classify(Observation::Transport(kind)),
        None => rule_of(reply)
            .unwrap_or_else(|| panic!("no HTTP answer and no transport failure: {outcome:?}")),
    }
}

/// Asserts that `outcome` was decided by the row `name`, whose class is
/// `class`; returns the answer's envelope.
#[track_caller]
fn hit(outcome: &Outcome, name: &str, class: OutcomeClass) -> Option<Envelope> {
    assert!(
        PRODUCED.contains(&name),
        "row {name} is not in PRODUCED (or not in the table)"
    );
    let rule = row_of(outcome);
    assert_eq!(rule.name, name, "{outcome:#?}");
    assert_eq!(rule.class, class, "the table's class of {name}");
    assert_eq!(outcome.class(), class, "{outcome:#?}");
    if matches!(class, AccountRefused | CampaignRefused) {
        assert!(rule.hint.is_some(), "{name} pauses: it must say what to do");
    }
    outcome.reply().envelope.clone()
}

/// [`hit`] for the error of a non-send endpoint; returns its envelope.
#[track_caller]
fn err_hit(err: WuttError, name: &str, class: OutcomeClass) -> Option<Envelope> {
    assert_eq!(err.class(), Some(class), "{err:?}");
    let hint = err.hint();
    let outcome = err.into_outcome();
    let env = hit(&outcome, name, class);
    assert_eq!(hint, row_of(&outcome).hint);
    env
}

/// The message lines of an error envelope answered with HTTP `status`.
#[track_caller]
fn refusal(env: Option<Envelope>, status: u16, outcome_status: Option<u16>) -> Vec<String> {
    let env = env.expect("an envelope");
    assert_eq!(env.status, "error", "{env:?}");
    assert_eq!(outcome_status, Some(status), "{env:?}");
    env.message
}

/// The message lines of `outcome`'s error envelope, which came with HTTP 200.
#[track_caller]
fn said(outcome: &Outcome, name: &str, class: OutcomeClass) -> Vec<String> {
    let env = hit(outcome, name, class);
    refusal(env, 200, outcome.reply().http_status)
}

#[track_caller]
fn nothing_recorded(sim: &SimHandle) {
    let got = sim.messages();
    assert!(got.is_empty(), "nothing may reach WhatsApp: {got:#?}");
}

// ---------------------------------------------------- the table and this file

#[test]
fn every_row_is_produced_here_or_said_unreachable() {
    let table: BTreeSet<&str> = RULES.iter().map(|r| r.name).collect();
    assert_eq!(table.len(), RULES.len(), "row names are unique");
    let produced: BTreeSet<&str> = PRODUCED.iter().copied().collect();
    let unreachable: BTreeSet<&str> = UNREACHABLE.iter().map(|(n, _)| *n).collect();
    assert!(
        produced.is_disjoint(&unreachable),
        "{:?}",
        produced.intersection(&unreachable).collect::<Vec<_>>()
    );
    let listed: BTreeSet<&str> = produced.union(&unreachable).copied().collect();
    assert_eq!(
        listed, table,
        "a row of the table has no simulator test here and no reason why not (or the reverse)"
    );
}

// -------------------------------------------------------------- endpoints

#[tokio::test]
async fn the_template_list_is_a_paginator_of_every_template_with_numeric_statuses() {
    let sim = sim().await;
    let c = client_for(&sim);
    let env = c.template_list(None, None).await.unwrap();
    assert_eq!(
        (env.status.as_str(), env.remark.as_str()),
        ("success", "inbox")
    );
    assert_eq!(env.message, ["Template data fetched successfully"]);
    let page = &data(&env)["templates"];
    assert_eq!(page["current_page"], 1);
    assert_eq!(page["per_page"], 20, "the site's page size");
    assert_eq!(page["last_page"], 3);
    let total = page["total"].as_i64().unwrap();
    assert!(total > 40, "{total}");
    assert_eq!(ids(&page["data"]), (1..=20).collect::<Vec<i64>>());
    assert_eq!(page["data"][0]["name"], "welcome");
    assert_eq!(page["data"][0]["status"], 1, "statuses are numbers");
    assert_eq!(
        page["data"][(TEMPLATE_PENDING - 1) as usize]["status"],
        0,
        "pending"
    );
    let next = page["next_page_url"].as_str().unwrap();
    assert!(
        next.ends_with("/external-api/inbox/template-list?page=2"),
        "the page links carry only ?page=N: {next}"
    );
    assert!(
        !ids(&page["data"]).contains(&TEMPLATE_ON_PAGE_3),
        "a client that reads one page misses templates"
    );

    let third = c.template_list(Some(3), None).await.unwrap();
    assert!(ids(&data(&third)["templates"]["data"]).contains(&TEMPLATE_ON_PAGE_3));
    let all = c.template_list(Some(1), Some(50)).await.unwrap();
    let page = &data(&all)["templates"];
    assert_eq!(
        (page["last_page"].as_i64(), page["per_page"].as_i64()),
        (Some(1), Some(50))
    );
    assert_eq!(page["data"].as_array().unwrap().len() as i64, total);
    sim.shutdown().await;
}

#[tokio::test]
async fn templates_reads_every_template_with_its_status_and_variable_counts() {
    let sim = sim().await;
    let c = client_for(&sim);
    let before = sim.stats().requests;
    let list = c.templates().await.unwrap();
    assert!(list.len() > 40, "{}", list.len());
    let listed: Vec<i64> = list.iter().map(|t| t.id).collect();
    assert_eq!(listed, (1..=list.len() as i64).collect::<Vec<_>>());
    let requests = sim.stats().requests - before;
    assert!(
        requests as usize <= list.len().div_ceil(20),
        "{requests} requests for {} templates",
        list.len()
    );

    let t = |id: i64| list.iter().find(|t| t.id == id).expect("listed");
    assert_eq!(t(1).name, "welcome");
    assert_eq!(t(1).status, TemplateStatus::Approved);
    assert_eq!(t(TEMPLATE_PENDING).status, TemplateStatus::Pending);
    assert_eq!(t(TEMPLATE_REJECTED).status, TemplateStatus::Rejected);
    assert_eq!(t(TEMPLATE_DISABLED).status, TemplateStatus::Disabled);
    assert_eq!(t(TEMPLATE_DISABLED).status.word(), "disabled");
    assert!(t(TEMPLATE_ON_PAGE_3).is_approved());
    assert_eq!(t(1).language_id, Some(1));
    let counts = |id: i64| (t(id).body_params, t(id).header_params);
    assert_eq!(counts(1), (0, 0));
    assert_eq!(counts(TEMPLATE_ONE_VAR), (1, 0));
    assert_eq!(counts(TEMPLATE_TWO_VARS), (2, 0));
    assert_eq!(
        counts(TEMPLATE_HEADER_VAR),
        (1, 1),
        "the header is {{\"text\": …}}: {:?}",
        t(TEMPLATE_HEADER_VAR)
    );
    assert_eq!(
        t(TEMPLATE_HEADER_VAR).header.as_deref(),
        Some("Order {{1}}")
    );
    assert_eq!(counts(TEMPLATE_IMAGE_HEADER), (0, 0));
    assert_eq!(
        t(TEMPLATE_IMAGE_HEADER).header,
        None,
        "a media header has no text"
    );

    // The list follows the account's changes.
    assert!(sim.set_template_status(TEMPLATE_PENDING, 1));
    assert!(sim.remove_template(TEMPLATE_DISABLED));
    let again = c.templates().await.unwrap();
    assert_eq!(again.len(), list.len() - 1);
    assert!(
        again
            .iter()
            .any(|t| t.id == TEMPLATE_PENDING && t.is_approved())
    );
    assert!(again.iter().all(|t| t.id != TEMPLATE_DISABLED));
    sim.shutdown().await;
}

#[tokio::test]
async fn contacts_list_search_paginate_store_update_delete() {
    let sim = sim().await;
    let c = client_for(&sim);

    let all = c.contact_list(&ContactQuery::default()).await.unwrap();
    assert_eq!(all.remark, "contact-list");
    let page = &data(&all)["contacts"];
    assert_eq!(
        (page["total"].as_i64(), page["per_page"].as_i64()),
        (Some(5), Some(20))
    );
    assert_eq!(ids(&page["data"]), [5, 4, 3, 2, 1], "newest first");

    let search = |s: &str| ContactQuery {
        search: Some(s.into()),
        ..ContactQuery::default()
    };
    let by_name = c.contact_list(&search("fischer")).await.unwrap();
    let page = &data(&by_name)["contacts"];
    assert_eq!(page["data"][0]["firstname"], "Lena");
    assert_eq!(page["total"], 1);
    let by_number = c.contact_list(&search("1988123456")).await.unwrap();
    assert_eq!(ids(&data(&by_number)["contacts"]["data"]), [1]);
    let blocked = c.contact_list(&search(BLOCKED_MOBILE)).await.unwrap();
    assert_eq!(data(&blocked)["contacts"]["data"][0]["is_blocked"], 1);

    let page2 = ContactQuery {
        page: Some(2),
        paginate: Some(2),
        search: None,
    };
    let p = c.contact_list(&page2).await.unwrap();
    let page = &data(&p)["contacts"];
    assert_eq!(ids(&page["data"]), [3, 2]);
    assert_eq!(
        (page["current_page"].as_i64(), page["last_page"].as_i64()),
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
    assert_eq!(created.message, ["Contact created successfully"]);
    let contact = &data(&created)["contact"];
    assert_eq!(contact["id"], 6);
    assert_eq!(
        (&contact["mobile_code"], &contact["mobile"]),
        (&Value::from("880"), &Value::from("1812345678"))
    );
    assert_eq!(contact["address"]["city"], "Sylhet");
    assert_eq!(
        contact["address"]["post_code"], "3100",
        "the postal code is the server's post_code"
    );
    assert_eq!(contact["address"]["country"], "Bangladesh");
    assert!(
        contact["image"]
            .as_str()
            .is_some_and(|i| i.ends_with(".png")),
        "{contact}"
    );

    form.city = Some("Khulna".into());
    form.profile_image = None;
    let updated = c.contact_update(6, &form).await.unwrap();
    assert_eq!(
        updated.remark, "contact_created",
        "the server's remark for an update too"
    );
    assert_eq!(updated.message, [" Contact updated successfully"]);
    let found = c.contact_list(&search("nadia")).await.unwrap();
    assert_eq!(
        data(&found)["contacts"]["data"][0]["address"]["city"],
        "Khulna"
    );

    let deleted = c.contact_delete(6).await.unwrap();
    assert_eq!(deleted.remark, "contact_deleted");
    assert_eq!(deleted.data, None);
    let after = c.contact_list(&ContactQuery::default()).await.unwrap();
    assert_eq!(data(&after)["contacts"]["total"], 5);

    // A contact with messages stays.
    let err = c.contact_delete(1).await.unwrap_err();
    let WuttError::Api {
        http_status,
        envelope,
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (http_status, envelope.remark.as_str()),
        (200, "contact_error")
    );
    assert_eq!(envelope.message, ["Unable to delete contact with messages"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn contacts_matching_and_conversations_matching_read_every_page() {
    let sim = sim().await;
    let c = client_for(&sim);
    let many: Vec<SeedContact> = (0..250)
        .map(|i| SeedContact {
            firstname: format!("Guest{i}"),
            lastname: "Bulkmann".into(),
            mobile_code: "880".into(),
            mobile: format!("{}", 1_600_000_000 + i),
            blocked: false,
        })
        .collect();
    let added = sim.add_contacts(&many);
    assert_eq!(added.len(), 250);

    let before = sim.stats().requests;
    let contacts = c.contacts_matching("bulkmann").await.unwrap();
    let pages = sim.stats().requests - before;
    assert_eq!(contacts.len(), 250, "every page is read");
    assert!(pages >= 3, "250 contacts need more than one page: {pages}");
    let seen: BTreeSet<i64> = contacts.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(seen, added.iter().copied().collect(), "each once");

    let before = sim.stats().requests;
    let conversations = c.conversations_matching("bulkmann").await.unwrap();
    assert!(sim.stats().requests - before >= 3);
    assert_eq!(conversations.len(), 250);
    assert!(
        conversations
            .iter()
            .all(|v| v["contact"]["lastname"] == "Bulkmann"),
        "the search holds on every page"
    );

    // The search matches the number too (not its country code).
    let one = c.contacts_matching("1988123456").await.unwrap();
    assert_eq!(ids(&Value::from(one)), [1]);
    let conv = c.conversations_matching("1988123456").await.unwrap();
    assert_eq!(ids(&Value::from(conv)), [1]);
    assert!(
        c.contacts_matching("nobody-by-this-name")
            .await
            .unwrap()
            .is_empty()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn conversations_list_filter_search_details_and_change_status() {
    let sim = sim().await;
    let c = client_for(&sim);
    let listed = |q: ConversationQuery| {
        let c = c.clone();
        async move {
            let env = c.conversation_list(&q).await.unwrap();
            assert_eq!(env.remark, "inbox");
            ids(&data(&env)["conversation"]["data"])
        }
    };
    let by_status = |status| ConversationQuery {
        status,
        ..ConversationQuery::default()
    };

    assert_eq!(
        listed(by_status(None)).await,
        [1, 3, 5, 2, 4],
        "latest message first"
    );
    assert_eq!(
        listed(by_status(Some(ConversationStatus::Pending))).await,
        [1, 5]
    );
    assert_eq!(listed(by_status(Some(ConversationStatus::Done))).await, [4]);
    let paged = ConversationQuery {
        page: Some(2),
        paginate: Some(2),
        ..ConversationQuery::default()
    };
    assert_eq!(listed(paged).await, [5, 2]);
    let searched = ConversationQuery {
        search: Some("fischer".into()),
        ..ConversationQuery::default()
    };
    assert_eq!(listed(searched).await, [3]);

    let details = c.conversation_details(1).await.unwrap();
    assert_eq!(details.remark, "conversation_details");
    let conv = &data(&details)["conversation"];
    assert_eq!(
        (conv["id"].as_i64(), conv["status"].as_i64()),
        (Some(1), Some(2))
    );
    assert_eq!(conv["contact"]["firstname"], "Amina");
    assert_eq!(conv["contact"]["tags"], Value::Array(vec![]));
    assert_eq!(conv["notes"][0]["note"], "Prefers a call in the evening");
    assert!(conv.get("messages").is_none(), "no messages: {conv}");

    let changed = c
        .change_conversation_status(2, ConversationStatus::Important)
        .await
        .unwrap();
    assert_eq!(changed.remark, "status_updated");
    assert_eq!(changed.message, ["Status updated successfully"]);
    assert_eq!(
        listed(by_status(Some(ConversationStatus::Important))).await,
        [3, 2]
    );

    // 0 clears the status (4, "unread" on the vendor's page, is refused by
    // the server and cannot be named by the client).
    let cleared = c
        .change_conversation_status(2, ConversationStatus::NoStatus)
        .await
        .unwrap();
    assert_eq!(cleared.remark, "status_updated");

    let err = c.conversation_details(99).await.unwrap_err();
    let env = err_hit(err, "other-not-found", CampaignRefused).unwrap();
    assert_eq!(env.message, ["Conversation not found"]);
    let err = c
        .change_conversation_status(99, ConversationStatus::Done)
        .await
        .unwrap_err();
    err_hit(err, "other-not-found", CampaignRefused);
    sim.shutdown().await;
}

#[tokio::test]
async fn text_media_location_and_interactive_sends_are_delivered_as_sent() {
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
    let ogg = write(dir.path(), "hello.ogg", b"OggS-voice");

    let text = c
        .send_message(&SendMessage::text(
            amina(),
            "Hello Amina, your order shipped.",
        ))
        .await;
    let env = hit(&text, "success", Success).unwrap();
    assert_eq!(env.remark, "success");
    assert_eq!(env.message, ["Message sent successfully"]);
    assert_eq!(data(&env)["conversation_id"], 1);
    let message = &data(&env)["message"];
    assert_eq!(message["whatsapp_message_id"], "wamid.sim-1");
    assert_eq!(
        (message["status"].as_i64(), message["message_type"].as_i64()),
        (Some(1), Some(1))
    );

    let captioned = SendMessage {
        media: vec![MediaFile::new(MediaKind::Image, &image).unwrap()],
        ..SendMessage::text(amina(), "Spring offer inside")
    };
    let env = hit(&c.send_message(&captioned).await, "success", Success).unwrap();
    assert_eq!(data(&env)["message"]["message_type"], 2);
    assert_eq!(
        data(&env)["message"]["media_caption"],
        "Spring offer inside"
    );

    let doc = SendMessage {
        media: vec![MediaFile::new(MediaKind::Document, &document).unwrap()],
        ..SendMessage::text(amina(), "Terms")
    };
    hit(&c.send_message(&doc).await, "success", Success);

    // The server sends one file per message: the image, of image and document.
    let both = SendMessage {
        media: vec![
            MediaFile::new(MediaKind::Image, &image).unwrap(),
            MediaFile::new(MediaKind::Document, &document).unwrap(),
        ],
        ..SendMessage::text(amina(), "Both")
    };
    hit(&c.send_message(&both).await, "success", Success);

    let voice = SendMessage {
        to: Some(amina()),
        media: vec![MediaFile::new(MediaKind::Audio, &ogg).unwrap()],
        ..SendMessage::default()
    };
    hit(&c.send_message(&voice).await, "success", Success);

    let location = SendMessage {
        to: Some(PhoneNumber::from_canonical(49, "15123456789")),
        location: Some((23.8103, -90.4125)),
        ..SendMessage::default()
    };
    let env = hit(&c.send_message(&location).await, "success", Success).unwrap();
    assert_eq!(data(&env)["conversation_id"], 3);
    assert_eq!(data(&env)["message"]["message_type"], 8);

    let cta = SendMessage {
        to: Some(amina()),
        cta_url_id: Some(CTA_URL_IDS[1]),
        ..SendMessage::default()
    };
    hit(&c.send_message(&cta).await, "success", Success);
    let list = SendMessage {
        to: Some(amina()),
        interactive_list_id: Some(INTERACTIVE_LIST_ID),
        ..SendMessage::default()
    };
    hit(&c.send_message(&list).await, "success", Success);

    let got = sim.messages();
    assert_eq!(got.len(), 8, "{got:#?}");
    let wamids: Vec<String> = got.iter().map(|m| m.message_id.clone()).collect();
    assert_eq!(
        wamids,
        (1..=8)
            .map(|i| format!("wamid.sim-{i}"))
            .collect::<Vec<_>>()
    );
    assert!(got.iter().all(|m| m.kind == MessageKind::Text));

    assert_eq!(
        got[0].message.as_deref(),
        Some("Hello Amina, your order shipped.")
    );
    assert_eq!(got[0].contact_id, Some(1));
    assert_eq!(got[0].from_number, None);

    let sha = |b: &[u8]| hex::encode(Sha256::digest(b));
    let file = |i: usize| {
        got[i]
            .media
            .iter()
            .map(|m| {
                (
                    m.field.clone(),
                    m.file_name.clone(),
                    m.content_type.clone(),
                    m.size,
                    m.sha256.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let the_image = (
        "image".to_owned(),
        "offer.png".to_owned(),
        Some("image/png".to_owned()),
        png.len() as u64,
        sha(&png),
    );
    assert_eq!(
        file(1),
        std::slice::from_ref(&the_image),
        "the bytes that arrived are the file's"
    );
    assert_eq!(got[1].message.as_deref(), Some("Spring offer inside"));
    assert_eq!(
        file(2),
        [(
            "document".to_owned(),
            "terms.pdf".to_owned(),
            Some("application/pdf".to_owned()),
            pdf.len() as u64,
            sha(pdf)
        )]
    );
    assert_eq!(file(3), [the_image], "of two files only the image was sent");
    assert_eq!(got[4].media[0].field, "audio");
    assert_eq!(got[4].message, None);

    assert_eq!(
        (got[5].mobile_code.as_str(), got[5].mobile.as_str()),
        ("49", "15123456789")
    );
    assert_eq!(
        (got[5].latitude, got[5].longitude),
        (Some(23.8103), Some(-90.4125))
    );
    assert_eq!(got[5].message, None);
    assert_eq!(got[6].cta_url_id, Some(CTA_URL_IDS[1]));
    assert_eq!(got[7].interactive_list_id, Some(INTERACTIVE_LIST_ID));
    sim.shutdown().await;
}

// ------------------------------------------------------------- sent rows

#[tokio::test]
async fn row_success_for_a_text_to_a_contact_and_a_template_of_a_fixed_server() {
    let sim = sim().await;
    let c = client_for(&sim);
    let o = c.send_message(&SendMessage::text(amina(), "Hi")).await;
    let env = hit(&o, "success", Success).unwrap();
    assert_eq!(
        (env.status.as_str(), env.remark.as_str()),
        ("success", "success")
    );
    assert_eq!(o.reply().http_status, Some(200));

    sim.set_account(account(|a| a.fixed = Some(true)));
    let o = c
        .send_template(&with_body(template(amina(), TEMPLATE_ONE_VAR), &["Amina"]))
        .await;
    let env = hit(&o, "success", Success).unwrap();
    assert_eq!(env.remark, "template_sent");
    assert_eq!(env.message, ["Message sent successfully"]);
    assert_eq!(data(&env)["conversation_id"], 1);
    // A fixed server also texts a number that is not a contact.
    let o = c.send_message(&SendMessage::text(stranger(), "Hi")).await;
    hit(&o, "success", Success);

    let got = sim.messages();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!(
        (got[0].kind, got[0].contact_id),
        (MessageKind::Text, Some(1))
    );
    assert_eq!(got[1].kind, MessageKind::Template);
    assert_eq!(got[1].template_id, Some(TEMPLATE_ONE_VAR));
    assert_eq!(got[1].body_variables, ["Amina"]);
    assert_eq!(
        (got[2].mobile.as_str(), got[2].contact_id),
        ("1700000099", None)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn row_template_sent_answer_defect_means_the_template_was_sent() {
    let sim = sim().await;
    let c = client_for(&sim);
    let o = c.send_template(&template(amina(), 1)).await;
    let env = hit(&o, "template-sent-answer-defect", Success).unwrap();
    assert_eq!(
        (env.status.as_str(), env.remark.as_str()),
        ("error", "exception")
    );
    assert_eq!(env.message, ["Undefined variable $conversationId"]);
    assert_eq!(o.reply().http_status, Some(200));

    // Variables go out in order, body and header apart.
    let two = with_body(template(amina(), TEMPLATE_TWO_VARS), &["Amina", "Tuesday"]);
    hit(
        &c.send_template(&two).await,
        "template-sent-answer-defect",
        Success,
    );
    let header = SendTemplate {
        header_variables: vec!["#1042".into()],
        ..with_body(template(amina(), TEMPLATE_HEADER_VAR), &["Amina"])
    };
    hit(
        &c.send_template(&header).await,
        "template-sent-answer-defect",
        Success,
    );
    let far = template(amina(), TEMPLATE_ON_PAGE_3);
    hit(
        &c.send_template(&far).await,
        "template-sent-answer-defect",
        Success,
    );
    // from_number is looked up and ignored: the default number sends.
    let from = SendTemplate {
        from_number: Some("8801700000000".into()),
        ..template(amina(), 1)
    };
    hit(
        &c.send_template(&from).await,
        "template-sent-answer-defect",
        Success,
    );
    // Numbers that are not contacts get templates, all on one shared conversation.
    hit(
        &c.send_template(&template(stranger(), 1)).await,
        "template-sent-answer-defect",
        Success,
    );
    let other = PhoneNumber::from_canonical(44, "7700900123");
    hit(
        &c.send_template(&template(other, 2)).await,
        "template-sent-answer-defect",
        Success,
    );

    let got = sim.messages();
    assert_eq!(got.len(), 7, "{got:#?}");
    assert!(got.iter().all(|m| m.kind == MessageKind::Template));
    let sent: Vec<Option<i64>> = got.iter().map(|m| m.template_id).collect();
    assert_eq!(
        sent,
        [
            1,
            TEMPLATE_TWO_VARS,
            TEMPLATE_HEADER_VAR,
            TEMPLATE_ON_PAGE_3,
            1,
            1,
            2
        ]
        .map(Some)
    );
    assert_eq!(got[1].body_variables, ["Amina", "Tuesday"]);
    assert_eq!(
        (
            got[2].header_variables.clone(),
            got[2].body_variables.clone()
        ),
        (vec!["#1042".to_owned()], vec!["Amina".to_owned()])
    );
    assert_eq!(got[4].from_number.as_deref(), Some("8801700000000"));
    assert_eq!((got[5].contact_id, got[6].contact_id), (None, None));
    let shared: Vec<_> = sim
        .conversations()
        .into_iter()
        .filter(|c| c.contact_id.is_none())
        .collect();
    assert_eq!(shared.len(), 1, "{shared:#?}");
    assert_eq!(shared[0].messages, 2, "both strangers' templates are on it");
    sim.shutdown().await;
}

// ------------------------------------------------------ the account refused

#[tokio::test]
async fn row_unauthorized_every_authentication_failure_is_http_401() {
    let sim = sim().await;
    let cases: Vec<(&str, Client, Vec<&str>)> = vec![
        (
            "no client id",
            client_with(&sim, |c| c.client_id = String::new()),
            vec!["The client id is required"],
        ),
        (
            "no secret",
            client_with(&sim, |c| c.client_secret = Secret::new("")),
            vec!["The client secret is required"],
        ),
        (
            "wrong secret",
            client_with(&sim, |c| c.client_secret = Secret::new("not-the-secret")),
            vec!["Invalid credentials"],
        ),
        (
            "unknown id",
            client_with(&sim, |c| c.client_id = "someone-else".into()),
            vec!["Invalid credentials"],
        ),
    ];
    for (case, c, lines) in cases {
        let o = c.send_template(&template(amina(), 1)).await;
        let env = hit(&o, "unauthorized", AccountRefused).unwrap();
        assert_eq!(env.remark, "Unauthorized", "{case}");
        assert_eq!(
            refusal(Some(env), 401, o.reply().http_status),
            lines,
            "{case}"
        );
        let o = c.send_message(&SendMessage::text(amina(), "hi")).await;
        hit(&o, "unauthorized", AccountRefused);
        let err = c.template_list(None, None).await.unwrap_err();
        assert!(err.hint().unwrap().contains("WUTT_CLIENT_SECRET"), "{case}");
        err_hit(err, "unauthorized", AccountRefused);
    }
    nothing_recorded(&sim);
    sim.shutdown().await;

    // Loopback is not on this account's whitelist.
    let fenced = sim_with(|s| s.allow_ips = vec!["10.0.0.0/8".parse().unwrap()]).await;
    let c = client_for(&fenced);
    let o = c.send_template(&template(amina(), 1)).await;
    let env = hit(&o, "unauthorized", AccountRefused);
    let lines = refusal(env, 401, o.reply().http_status);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("explicitly whitelisted"), "{lines:?}");
    assert!(lines[1].contains("(127.0.0.1)"), "{lines:?}");
    let err = c.contact_list(&ContactQuery::default()).await.unwrap_err();
    err_hit(err, "unauthorized", AccountRefused);
    nothing_recorded(&fenced);
    fenced.shutdown().await;
}

#[tokio::test]
async fn row_no_active_plan_without_a_plan_or_with_an_expired_one() {
    let sim = sim().await;
    let c = client_for(&sim);
    for (plan, line) in [
        (
            Plan::None,
            "You cannot proceed without an active plan. Please purchase a plan to continue",
        ),
        (
            Plan::Expired,
            "Your plan has expired. Please renew or purchase a new plan to regain access.",
        ),
    ] {
        sim.set_account(account(|a| a.plan = Some(plan)));
        let o = c.send_template(&template(amina(), 1)).await;
        assert_eq!(said(&o, "no-active-plan", AccountRefused), [line]);
        assert_eq!(
            o.reply().envelope.as_ref().unwrap().remark,
            "subscription_required"
        );
        let o = c.send_message(&SendMessage::text(amina(), "hi")).await;
        said(&o, "no-active-plan", AccountRefused);
        let err = c.templates().await.unwrap_err();
        err_hit(err, "no-active-plan", AccountRefused);
    }
    nothing_recorded(&sim);
    sim.set_account(account(|a| a.plan = Some(Plan::Active)));
    let o = c.send_template(&template(amina(), 1)).await;
    assert_eq!(o.class(), Success, "renewed");
    sim.shutdown().await;
}

#[tokio::test]
async fn row_api_not_in_plan() {
    let sim = sim().await;
    let c = client_for(&sim);
    sim.set_account(account(|a| a.plan = Some(Plan::NoApi)));
    let o = c.send_template(&template(amina(), 1)).await;
    assert_eq!(
        said(&o, "api-not-in-plan", AccountRefused),
        ["Your current plan does not support API access. Please upgrade your plan."]
    );
    assert_eq!(o.reply().envelope.as_ref().unwrap().remark, "not_available");
    let err = c.contact_list(&ContactQuery::default()).await.unwrap_err();
    err_hit(err, "api-not-in-plan", AccountRefused);
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_whatsapp_not_connected_refuses_template_sends() {
    let sim = sim().await;
    let c = client_for(&sim);
    sim.set_account(account(|a| a.whatsapp_connected = Some(false)));
    let o = c.send_template(&template(amina(), 1)).await;
    assert_eq!(
        said(&o, "whatsapp-not-connected", AccountRefused),
        ["Please connect your whatsapp account first"]
    );
    // The template is checked first.
    let o = c.send_template(&template(amina(), TEMPLATE_PENDING)).await;
    said(&o, "template-not-found", CampaignRefused);
    // A text looks up a number and finds none: the same words as a wrong from_number.
    let o = c.send_message(&SendMessage::text(amina(), "hi")).await;
    assert_eq!(
        said(&o, "unknown-from-number", CampaignRefused),
        ["The whatsapp account is not found"]
    );
    nothing_recorded(&sim);
    sim.shutdown().await;
}

// ------------------------------------------------------ the campaign refused

#[tokio::test]
async fn row_unknown_from_number_unless_it_is_the_number_as_stored() {
    let sim = sim().await;
    let c = client_for(&sim);
    for from in ["8801700000000", "15550105555", "+1 555 010 5555"] {
        let m = SendMessage {
            from_number: Some(from.into()),
            ..SendMessage::text(amina(), "hi")
        };
        let o = c.send_message(&m).await;
        assert_eq!(
            said(&o, "unknown-from-number", CampaignRefused),
            ["The whatsapp account is not found"],
            "{from}"
        );
    }
    nothing_recorded(&sim);
    let m = SendMessage {
        from_number: Some(WHATSAPP_NUMBER.into()),
        ..SendMessage::text(amina(), "hi")
    };
    hit(&c.send_message(&m).await, "success", Success);
    assert_eq!(
        sim.messages()[0].from_number.as_deref(),
        Some(WHATSAPP_NUMBER)
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn row_template_not_found_when_unapproved_missing_or_removed() {
    let sim = sim().await;
    let c = client_for(&sim);
    let refused = |id: i64| {
        let c = c.clone();
        async move {
            let o = c.send_template(&template(amina(), id)).await;
            assert_eq!(
                said(&o, "template-not-found", CampaignRefused),
                ["The template is not found"],
                "template {id}"
            );
            assert!(row_of(&o).hint.unwrap().contains("templates list"));
        }
    };
    for id in [TEMPLATE_PENDING, TEMPLATE_REJECTED, TEMPLATE_DISABLED, 9999] {
        refused(id).await;
    }
    assert!(sim.remove_template(TEMPLATE_ONE_VAR));
    refused(TEMPLATE_ONE_VAR).await;
    assert!(sim.set_template_status(1, 0));
    refused(1).await;
    nothing_recorded(&sim);
    assert!(sim.set_template_status(1, 1));
    let o = c.send_template(&template(amina(), 1)).await;
    assert_eq!(o.class(), Success, "approved again");
    sim.shutdown().await;
}

#[tokio::test]
async fn row_blocked_contact_on_both_endpoints() {
    let sim = sim().await;
    let c = client_for(&sim);
    let line =
        "You cannot send or receive messages with this contact because they have been blocked.";
    let o = c.send_template(&template(blocked(), 1)).await;
    assert_eq!(said(&o, "blocked-contact", Rejected), [line]);
    let o = c.send_message(&SendMessage::text(blocked(), "hi")).await;
    assert_eq!(said(&o, "blocked-contact", Rejected), [line]);
    nothing_recorded(&sim);
    // Only this recipient: the next one goes through.
    hit(
        &c.send_template(&template(amina(), 1)).await,
        "template-sent-answer-defect",
        Success,
    );
    assert_eq!(sim.messages().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_cta_url_not_found() {
    let sim = sim().await;
    let c = client_for(&sim);
    let m = SendMessage {
        to: Some(amina()),
        cta_url_id: Some(99),
        ..SendMessage::default()
    };
    let o = c.send_message(&m).await;
    assert_eq!(
        said(&o, "cta-url-not-found", CampaignRefused),
        ["The cta url is not found"]
    );
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_list_not_found() {
    let sim = sim().await;
    let c = client_for(&sim);
    let m = SendMessage {
        to: Some(amina()),
        interactive_list_id: Some(99),
        ..SendMessage::default()
    };
    let o = c.send_message(&m).await;
    assert_eq!(
        said(&o, "list-not-found", CampaignRefused),
        ["The interactive list is not found"]
    );
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_interactive_not_in_plan() {
    let sim = sim().await;
    let c = client_for(&sim);
    sim.set_account(account(|a| a.interactive = Some(false)));
    for m in [
        SendMessage {
            to: Some(amina()),
            cta_url_id: Some(CTA_URL_IDS[0]),
            ..SendMessage::default()
        },
        SendMessage {
            to: Some(amina()),
            interactive_list_id: Some(INTERACTIVE_LIST_ID),
            ..SendMessage::default()
        },
    ] {
        let o = c.send_message(&m).await;
        assert_eq!(
            said(&o, "interactive-not-in-plan", CampaignRefused),
            ["Your current plan does not support interactive messages. Please upgrade your plan."]
        );
    }
    nothing_recorded(&sim);
    // Plain text is still in the plan.
    hit(
        &c.send_message(&SendMessage::text(amina(), "hi")).await,
        "success",
        Success,
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn row_request_refused_when_the_server_refuses_a_field_of_the_campaign() {
    // The client refuses every field problem it can see before sending, so
    // the request is made by hand: the vendor page's own example, with its
    // `testmplate_id` typo.
    let sim = sim().await;
    let form = reqwest::multipart::Form::new()
        .text("mobile_code", "880")
        .text("mobile", "1988123456")
        .text("testmplate_id", "1");
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/external-api/inbox/send-template-message",
            sim.base_url()
        ))
        .header("client-id", CLIENT_ID)
        .header("client-secret", SECRET)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let http_status = resp.status().as_u16();
    let envelope = wutt_campaign::wutt::Envelope::parse(&resp.bytes().await.unwrap()).unwrap();
    let o = Outcome::classify(
        None,
        wutt_campaign::wutt::Reply {
            http_status: Some(http_status),
            envelope: Some(envelope),
            ..Default::default()
        },
        None,
    );
    let lines = said(&o, "request-refused", CampaignRefused);
    assert_eq!(lines, ["The template id field is required."]);
    assert!(sim.messages().is_empty());
}

#[tokio::test]
async fn row_mobile_refused_when_the_server_refuses_the_number() {
    let sim = sim().await;
    let c = client_for(&sim);
    // The client sends only digits, so a send never meets this row; the
    // contact form does: Amina's number is taken.
    let err = c
        .contact_store(&ContactForm::new("Amina", "Again", amina()))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            WuttError::Api {
                http_status: 200,
                ..
            }
        ),
        "{err:?}"
    );
    let env = err_hit(err, "mobile-refused", Rejected).unwrap();
    assert_eq!(env.remark, "validation_error");
    assert_eq!(env.message, ["The mobile has already been taken."]);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_text_to_non_contact_fails_before_whatsapp_until_the_number_is_a_contact() {
    let sim = sim().await;
    let c = client_for(&sim);
    let o = c.send_message(&SendMessage::text(stranger(), "hi")).await;
    assert_eq!(
        said(&o, "text-to-non-contact", Rejected),
        ["Attempt to read property \"mobileNumber\" on null"]
    );
    nothing_recorded(&sim);
    // Once the customer has written, the number is a contact.
    sim.customer_reply("880", "1700000099");
    hit(
        &c.send_message(&SendMessage::text(stranger(), "hi")).await,
        "success",
        Success,
    );
    let got = sim.messages();
    assert_eq!(got.len(), 1);
    assert!(got[0].contact_id.is_some());
    sim.shutdown().await;
}

#[tokio::test]
async fn row_other_not_found_and_contact_limit_on_the_contact_endpoints() {
    let sim = sim().await;
    let c = client_for(&sim);
    let err = c.contact_delete(999).await.unwrap_err();
    let env = err_hit(err, "other-not-found", CampaignRefused).unwrap();
    assert_eq!(env.message, ["The contact not found"]);

    sim.set_account(account(|a| a.contact_limit = Some(Some(0))));
    let form = ContactForm::new(
        "Nadia",
        "Islam",
        PhoneNumber::from_canonical(880, "1812345678"),
    );
    let err = c.contact_store(&form).await.unwrap_err();
    let env = err_hit(err, "contact-limit", CampaignRefused).unwrap();
    assert_eq!(env.remark, "contact_limit_error");
    assert_eq!(
        env.message,
        ["You\u{2019}ve reached your  contact limit. Please upgrade your plan to continue."]
    );
    sim.shutdown().await;
}

// ---------------------------------------------------------- WhatsApp's errors

/// Makes WhatsApp refuse every send with `code`; sends a text and a template
/// to Amina; checks both forms of the error and that nothing was sent.
async fn both_forms(sim: &SimHandle, c: &Client, code: u32, row: &str, class: OutcomeClass) {
    let err = by_code(code).expect("in WhatsApp's table");
    sim.set_whatsapp_rules(vec![WhatsAppRule::code(code)]);
    let text = c.send_message(&SendMessage::text(amina(), "hi")).await;
    let lines = said(&text, row, class);
    if code == 190 {
        assert!(lines[0].starts_with(err.template_form()), "{lines:?}");
        assert!(!lines[0].contains("(#190)"), "{lines:?}");
    } else {
        assert_eq!(lines, [err.text_form()], "the text form of {code}");
    }
    let tpl = c.send_template(&template(amina(), 1)).await;
    let lines = said(&tpl, row, class);
    assert_eq!(lines, [err.template_form()], "the template form of {code}");
    assert!(!lines[0].contains("(#"), "{lines:?}");
    sim.set_whatsapp_rules(Vec::new());
    nothing_recorded(sim);
}

#[tokio::test]
async fn row_whatsapp_throughput_in_both_forms() {
    let sim = sim().await;
    let c = client_for(&sim);
    both_forms(&sim, &c, 130429, "whatsapp-throughput", Throttled).await;
    sim.set_whatsapp_rules(vec![WhatsAppRule::code(130429)]);
    let o = c.send_template(&template(amina(), 1)).await;
    assert!(
        matches!(
            o,
            Outcome::Throttled {
                retry_after: None,
                ..
            }
        ),
        "WhatsApp says no Retry-After: {o:?}"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn row_whatsapp_pair_rate_in_both_forms_then_the_recipient_goes_through() {
    let sim = sim().await;
    let c = client_for(&sim);
    both_forms(&sim, &c, 131056, "whatsapp-pair-rate", RecipientThrottled).await;
    // Twice too many to Amina; others are not held back, and later she is reached.
    sim.set_whatsapp_rules(vec![WhatsAppRule {
        numbers: vec!["8801988123456".into()],
        times: Some(2),
        endpoint: RuleEndpoint::Template,
        ..WhatsAppRule::code(131056)
    }]);
    for _ in 0..2 {
        let o = c.send_template(&template(amina(), 1)).await;
        hit(&o, "whatsapp-pair-rate", RecipientThrottled);
    }
    let lena = PhoneNumber::from_canonical(49, "15123456789");
    hit(
        &c.send_template(&template(lena, 1)).await,
        "template-sent-answer-defect",
        Success,
    );
    hit(
        &c.send_template(&template(amina(), 1)).await,
        "template-sent-answer-defect",
        Success,
    );
    let got: Vec<String> = sim.messages().iter().map(|m| m.mobile.clone()).collect();
    assert_eq!(got, ["15123456789", "1988123456"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_whatsapp_recipient_in_both_forms_and_from_the_window_and_parameters() {
    let sim = sim().await;
    let c = client_for(&sim);
    for code in [131026, 131047] {
        both_forms(&sim, &c, code, "whatsapp-recipient", Rejected).await;
    }

    // A text longer than WhatsApp takes: (#100) Invalid parameter.
    let o = c
        .send_message(&SendMessage::text(amina(), "x".repeat(5000)))
        .await;
    assert_eq!(
        said(&o, "whatsapp-recipient", Rejected),
        [by_code(100).unwrap().text_form()]
    );
    // An empty or badly spaced parameter: 132018.
    for value in ["", "too     many spaces"] {
        let t = with_body(template(amina(), TEMPLATE_ONE_VAR), &[value]);
        let o = c.send_template(&t).await;
        assert_eq!(
            said(&o, "whatsapp-recipient", Rejected),
            [by_code(132018).unwrap().template_form()],
            "{value:?}"
        );
    }
    nothing_recorded(&sim);

    // More than 24 hours since the customer wrote: texts are refused, templates are not.
    sim.set_account(account(|a| a.enforce_24h_window = Some(true)));
    sim.set_clock(SimClock {
        offset_secs: 25 * 3600,
        ..SimClock::default()
    });
    let o = c.send_message(&SendMessage::text(amina(), "hi")).await;
    assert_eq!(
        said(&o, "whatsapp-recipient", Rejected),
        ["(#131047) Re-engagement message"]
    );
    nothing_recorded(&sim);
    hit(
        &c.send_template(&template(amina(), 1)).await,
        "template-sent-answer-defect",
        Success,
    );
    sim.customer_reply("880", "1988123456");
    hit(
        &c.send_message(&SendMessage::text(amina(), "hi")).await,
        "success",
        Success,
    );
    let kinds: Vec<MessageKind> = sim.messages().iter().map(|m| m.kind).collect();
    assert_eq!(kinds, [MessageKind::Template, MessageKind::Text]);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_whatsapp_campaign_in_both_forms_and_from_a_variable_count_mismatch() {
    let sim = sim().await;
    let c = client_for(&sim);
    for code in [131048, 132000, 132001, 132015] {
        both_forms(&sim, &c, code, "whatsapp-campaign", CampaignRefused).await;
    }
    let mismatch = by_code(132000).unwrap().template_form();
    for t in [
        with_body(template(amina(), TEMPLATE_TWO_VARS), &["Amina"]),
        template(amina(), TEMPLATE_ONE_VAR),
        with_body(template(amina(), 1), &["extra"]),
        with_body(template(amina(), TEMPLATE_HEADER_VAR), &["Amina"]),
    ] {
        let o = c.send_template(&t).await;
        assert_eq!(
            said(&o, "whatsapp-campaign", CampaignRefused),
            [mismatch],
            "{t:?}"
        );
    }
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_whatsapp_account_in_both_forms() {
    let sim = sim().await;
    let c = client_for(&sim);
    both_forms(&sim, &c, 190, "whatsapp-account", AccountRefused).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn row_whatsapp_transient_in_both_forms() {
    let sim = sim().await;
    let c = client_for(&sim);
    both_forms(&sim, &c, 131000, "whatsapp-transient", Transient).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn row_unknown_exception_when_whatsapp_took_the_message_but_timed_out() {
    let sim = sim().await;
    let c = client_for(&sim);
    sim.set_whatsapp_rules(vec![WhatsAppRule {
        timeout: true,
        ..WhatsAppRule::default()
    }]);
    let text = c.send_message(&SendMessage::text(amina(), "hi")).await;
    let lines = said(&text, "unknown-exception", Ambiguous);
    assert!(lines[0].starts_with("cURL error 28"), "{lines:?}");
    let tpl = c.send_template(&template(amina(), 1)).await;
    said(&tpl, "unknown-exception", Ambiguous);
    assert_eq!(sim.messages().len(), 2, "WhatsApp took both");

    // The same row for an exception before WhatsApp: nothing was sent.
    sim.set_whatsapp_rules(Vec::new());
    sim.clear_messages();
    let t = with_body(template(amina(), TEMPLATE_ONE_VAR), &["{{ userName }}"]);
    let o = c.send_template(&t).await;
    assert_eq!(
        said(&o, "unknown-exception", Ambiguous),
        ["Attempt to read property \"fullName\" on null"]
    );
    nothing_recorded(&sim);
    sim.shutdown().await;
}

// ------------------------------------------------- in front of the server

#[tokio::test]
async fn row_too_many_requests_from_the_throttle_fault_and_a_rate_limit() {
    let sim = sim_with(|s| s.faults.throttle_rate = 1.0).await;
    let c = client_for(&sim);
    let o = c.send_message(&SendMessage::text(amina(), "later")).await;
    assert!(
        hit(&o, "too-many-requests", Throttled).is_none(),
        "an nginx page"
    );
    assert_eq!(o.reply().http_status, Some(429));
    assert!(
        matches!(o, Outcome::Throttled { retry_after: Some(d), .. } if d == Duration::from_secs(1)),
        "{o:?}"
    );
    nothing_recorded(&sim);
    sim.shutdown().await;

    // One request per 100 s: the second is over the limit however slow the machine.
    let sim = sim_with(|s| {
        s.rate_per_second = Some(0.01);
        s.burst = 1;
    })
    .await;
    let c = client_for(&sim);
    hit(
        &c.send_template(&template(amina(), 1)).await,
        "template-sent-answer-defect",
        Success,
    );
    let o = c.send_template(&template(amina(), 2)).await;
    hit(&o, "too-many-requests", Throttled);
    let Outcome::Throttled { retry_after, .. } = o else {
        unreachable!()
    };
    let wait = retry_after.expect("the rate limit says when to retry");
    assert!(wait >= Duration::from_secs(50), "{wait:?}");
    let err = c.template_list(None, None).await.unwrap_err();
    assert_eq!(
        err.class(),
        Some(Throttled),
        "the other endpoints share the limit"
    );
    assert_eq!(sim.messages().len(), 1);
    let stats = sim.stats();
    assert_eq!((stats.throttled, stats.rate_limited), (2, 2));
    sim.shutdown().await;
}

#[tokio::test]
async fn row_maintenance_for_a_503_which_sends_nothing() {
    let sim = sim_with(|s| {
        s.faults.error_rate = 1.0;
        s.faults.error_status = 503;
    })
    .await;
    let c = client_for(&sim);
    let o = c.send_template(&template(amina(), 1)).await;
    hit(&o, "maintenance", Transient);
    assert_eq!(o.reply().http_status, Some(503));
    assert!(
        o.reply()
            .body_excerpt
            .as_deref()
            .unwrap()
            .contains("Service Unavailable")
    );
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_server_error_for_500_502_and_504_which_may_have_sent() {
    let sim = sim().await;
    let c = client_for(&sim);
    for (status, page, recorded) in [
        (500, "Internal server error", 0),
        (502, "<h1>502 Bad Gateway</h1>", 0),
        // The gateway gave up waiting; the server behind it sent.
        (504, "504 Gateway Time", 1),
    ] {
        sim.set_faults(faults(|f| {
            f.error_rate = 1.0;
            f.error_status = status;
        }));
        let o = c
            .send_message(&SendMessage::text(amina(), format!("{status}")))
            .await;
        hit(&o, "server-error", Ambiguous);
        assert_eq!(o.reply().http_status, Some(status));
        let excerpt = o.reply().body_excerpt.as_deref().unwrap_or_default();
        assert!(excerpt.contains(page), "{status}: {excerpt}");
        let got = sim.messages();
        assert_eq!(got.len(), recorded, "{status}: {got:#?}");
        sim.clear_messages();
    }
    sim.set_faults(Faults::default());
    assert!(
        c.template_list(None, None).await.is_ok(),
        "faults touch only the sends"
    );
    assert_eq!(sim.stats().faults.get("error"), Some(&3));
    sim.shutdown().await;
}

#[tokio::test]
async fn row_timeout_after_connect_and_the_message_was_sent() {
    let sim = sim_with(|s| s.faults.timeout_rate = 1.0).await;
    let impatient = client_with(&sim, |c| c.timeout = Duration::from_millis(400));
    let o = impatient
        .send_message(&SendMessage::text(amina(), "timeout"))
        .await;
    assert!(hit(&o, "timeout-after-connect", Ambiguous).is_none());
    assert_eq!(o.reply().http_status, None);
    assert!(o.reply().error.is_some(), "{o:?}");
    let got = sim.wait_for_messages(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message.as_deref(), Some("timeout"));
    sim.shutdown().await;
}

#[tokio::test]
async fn drops_and_malformed_answers_are_row_unreadable_2xx_and_were_sent() {
    let sim = sim_with(|s| s.faults.drop_rate = 1.0).await;
    let c = client_for(&sim);
    let o = c.send_message(&SendMessage::text(amina(), "drop")).await;
    hit(&o, "unreadable-2xx", Ambiguous);
    assert_eq!(o.reply().http_status, Some(200));
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
        hit(&o, "unreadable-2xx", Ambiguous);
        let excerpt = o.reply().body_excerpt.as_deref().unwrap_or_default();
        assert!(excerpt.contains(looks), "{kind:?}: {excerpt:?}");
        if kind == MalformedBody::Empty {
            assert_eq!(excerpt, "");
        }
    }
    let got = sim.messages();
    let texts: Vec<Option<&str>> = got.iter().map(|m| m.message.as_deref()).collect();
    assert_eq!(
        texts,
        [Some("drop"), None, None, None],
        "every one was sent"
    );
    assert!(got[1..].iter().all(|m| m.template_id == Some(2)));
    sim.shutdown().await;
}

/// The simulator's front refuses a text field over 64 KB with nginx's 413
/// (`src/simulator/form.rs`, `MAX_TEXT`); nothing else it answers is a 4xx
/// other than 401 and 429.
#[tokio::test]
async fn row_client_error_for_a_body_the_server_will_not_take() {
    let sim = sim().await;
    let c = client_for(&sim);
    let o = c
        .send_message(&SendMessage::text(amina(), "x".repeat(70_000)))
        .await;
    hit(&o, "client-error", Rejected);
    assert_eq!(o.reply().http_status, Some(413));
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_no_such_endpoint_for_a_wrong_base_path() {
    let sim = sim().await;
    // `/extrnal-api` is a typo of the prefix: Laravel's HTML 404 page.
    let typo = client_at(&format!("{}/extrnal-api", sim.base_url()));
    let o = typo.send_template(&template(amina(), 1)).await;
    assert!(hit(&o, "no-such-endpoint", AccountRefused).is_none());
    assert_eq!(o.reply().http_status, Some(404));
    assert!(o.reply().body_excerpt.as_deref().unwrap().contains("<html"));
    let err = typo.template_list(None, None).await.unwrap_err();
    assert!(err.hint().unwrap().contains("WUTT_BASE_URL"), "{err}");
    err_hit(err, "no-such-endpoint", AccountRefused);
    nothing_recorded(&sim);
    sim.shutdown().await;
}

/// Under the real prefix an unknown route is the application's own JSON 404
/// (`exceptionShowApi`: remark `not_found`, HTTP 404, "The route … could not
/// be found."): the base URL is wrong for every campaign.
#[tokio::test]
async fn row_no_such_route_for_an_unknown_route_under_the_api_prefix() {
    let sim = sim().await;
    let wrong = client_at(&format!("{}/external-api/v2", sim.base_url()));
    let o = wrong.send_template(&template(amina(), 1)).await;
    let env = hit(&o, "no-such-route", AccountRefused);
    assert_eq!(
        refusal(env, 404, o.reply().http_status),
        ["The route external-api/v2/inbox/send-template-message could not be found."]
    );
    assert!(row_of(&o).hint.unwrap().contains("WUTT_BASE_URL"));
    let err = wrong
        .contact_list(&ContactQuery::default())
        .await
        .unwrap_err();
    err_hit(err, "no-such-route", AccountRefused);
    nothing_recorded(&sim);
    sim.shutdown().await;
}

#[tokio::test]
async fn row_no_connection_when_the_server_is_gone() {
    let sim = sim().await;
    let c = client_for(&sim);
    sim.shutdown().await;
    let o = c.send_template(&template(amina(), 1)).await;
    assert!(hit(&o, "no-connection", Transient).is_none());
    assert_eq!(o.reply().http_status, None);
    let err = c.templates().await.unwrap_err();
    err_hit(err, "no-connection", Transient);
}
