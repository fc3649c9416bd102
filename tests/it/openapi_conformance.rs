//! The client's requests conform to `docs/wutt-api/openapi.yaml`: every call is
//! captured on a loopback server and checked against the spec — method and
//! path (templates matched), security headers, content type, and every
//! multipart field and parameter against the subset of JSON Schema the spec
//! uses (type, enum, pattern, minLength/maxLength, minimum/maximum, required,
//! anyOf; a field may repeat only when its schema is an array). And the
//! spec describes the server: the simulator's answers (which follow the real
//! server's source) validate against the response schemas of their status.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::http::{client, parts, phone};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};
use wutt_campaign::campaign::phone::PhoneNumber;
use wutt_campaign::config::Secret;
use wutt_campaign::simulator::{self, AccountSetting, Plan, SimConfig};
use wutt_campaign::wutt::{
    Client, ContactForm, ContactQuery, ConversationQuery, ConversationStatus, Envelope, MediaFile,
    MediaKind, Outcome, OutcomeClass, SendMessage, SendTemplate, WuttError,
};

const BASE_PATH: &str = "/external-api";

/// Path parameters by name, as matched from a path template.
type PathParams = Vec<(String, String)>;

struct Spec {
    root: Value,
}

/// One captured request, reduced to what the spec talks about.
#[derive(Debug, Clone, Default)]
struct Sent {
    method: String,
    /// Path below the base URL.
    path: String,
    query: Vec<(String, String)>,
    headers: BTreeMap<String, String>,
    content_type: Option<String>,
    body_len: usize,
    fields: Vec<Field>,
}

#[derive(Debug, Clone)]
struct Field {
    name: String,
    text: String,
    /// `Some(content type)` for a file part.
    file_type: Option<String>,
}

impl Field {
    fn text(name: &str, text: &str) -> Field {
        Field {
            name: name.into(),
            text: text.into(),
            file_type: None,
        }
    }
}

impl Spec {
    fn load() -> Spec {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/wutt-api/openapi.yaml");
        let text = std::fs::read_to_string(path).expect("docs/wutt-api/openapi.yaml");
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("valid YAML");
        Spec {
            root: serde_json::to_value(yaml).expect("YAML that is JSON-compatible"),
        }
    }

    /// Follows local `$ref`s.
    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r.strip_prefix('#').expect("local $ref");
            v = self.root.pointer(pointer).expect("$ref target exists");
        }
        v
    }

    fn operation_ids(&self) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for item in self.root["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    ids.insert(id.to_string());
                }
            }
        }
        ids
    }

    /// Checks one request; on success returns its operationId.
    fn check(&self, sent: &Sent) -> Result<String, Vec<String>> {
        let mut v = Vec::new();
        let Some((template, path_params, item)) = self.match_path(&sent.path) else {
            return Err(vec![format!("path {} is not in the spec", sent.path)]);
        };
        let Some(op) = item.get(sent.method.to_ascii_lowercase()) else {
            return Err(vec![format!(
                "{} {template} is not in the spec",
                sent.method
            )]);
        };
        let id = op["operationId"].as_str().unwrap_or("?").to_string();
        self.check_security(op, sent, &mut v);
        self.check_parameters(item, op, &path_params, sent, &mut v);
        self.check_body(op, sent, &mut v);
        if v.is_empty() {
            Ok(id)
        } else {
            Err(v.into_iter().map(|m| format!("{id}: {m}")).collect())
        }
    }

    fn match_path(&self, path: &str) -> Option<(String, PathParams, &Value)> {
        let segs: Vec<&str> = path.split('/').collect();
        for (template, item) in self.root["paths"].as_object()? {
            let tsegs: Vec<&str> = template.split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut params = Vec::new();
            let ok = tsegs.iter().zip(&segs).all(|(t, s)| {
                match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) if !s.is_empty() => {
                        params.push((name.to_string(), s.to_string()));
                        true
                    }
                    Some(_) => false,
                    None => t == s,
                }
            });
            if ok {
                return Some((template.clone(), params, item));
            }
        }
        None
    }

    fn check_security(&self, op: &Value, sent: &Sent, v: &mut Vec<String>) {
        let reqs = op.get("security").unwrap_or(&self.root["security"]);
        let schemes = &self.root["components"]["securitySchemes"];
        let satisfied = reqs.as_array().unwrap().iter().any(|req| {
            req.as_object().unwrap().keys().all(|name| {
                let scheme = &schemes[name];
                assert_eq!(scheme["in"], "header", "only header schemes are modelled");
                let header = scheme["name"].as_str().unwrap().to_ascii_lowercase();
                sent.headers.get(&header).is_some_and(|h| !h.is_empty())
            })
        });
        if !satisfied {
            v.push("security headers missing".into());
        }
    }

    fn check_parameters(
        &self,
        item: &Value,
        op: &Value,
        path_params: &[(String, String)],
        sent: &Sent,
        v: &mut Vec<String>,
    ) {
        let declared: Vec<&Value> = [item.get("parameters"), op.get("parameters")]
            .into_iter()
            .flatten()
            .flat_map(|p| p.as_array().unwrap())
            .map(|p| self.resolve(p))
            .collect();
        for p in &declared {
            let name = p["name"].as_str().unwrap();
            let values: Vec<&String> = match p["in"].as_str().unwrap() {
                "path" => path_params
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, s)| s)
                    .collect(),
                "query" => sent
                    .query
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, s)| s)
                    .collect(),
                other => panic!("parameters in {other} are not modelled"),
            };
            if values.is_empty() && p["required"] == true {
                v.push(format!("required parameter {name} missing"));
            }
            if values.len() > 1 {
                v.push(format!("parameter {name} given {} times", values.len()));
            }
            for value in values {
                self.check_value(&p["schema"], value, None, &format!("parameter {name}"), v);
            }
        }
        for (name, _) in &sent.query {
            if !declared
                .iter()
                .any(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                v.push(format!("query parameter {name} is not in the spec"));
            }
        }
    }

    fn check_body(&self, op: &Value, sent: &Sent, v: &mut Vec<String>) {
        let Some(body) = op.get("requestBody").map(|b| self.resolve(b)) else {
            if sent.body_len > 0 || sent.content_type.is_some() {
                v.push("a body where the spec has none".into());
            }
            return;
        };
        let Some(media) = body["content"].get("multipart/form-data") else {
            panic!("only multipart bodies are modelled");
        };
        if !sent
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("multipart/form-data; boundary="))
        {
            v.push(format!(
                "content type {:?}, expected multipart/form-data",
                sent.content_type
            ));
            return;
        }
        let schema = self.resolve(&media["schema"]);
        let props = schema["properties"].as_object().unwrap();
        let present: BTreeSet<&str> = sent.fields.iter().map(|f| f.name.as_str()).collect();
        for name in &present {
            let times = sent.fields.iter().filter(|f| f.name == *name).count();
            let repeatable = props
                .get(*name)
                .is_some_and(|p| self.resolve(p)["type"] == "array");
            if times > 1 && !repeatable {
                v.push(format!("field {name} is sent {times} times"));
            }
        }
        let has_all = |req: &Value| {
            req.as_array()
                .unwrap()
                .iter()
                .all(|n| present.contains(n.as_str().unwrap()))
        };
        if let Some(req) = schema.get("required")
            && !has_all(req)
        {
            v.push(format!("required fields {req} not all present"));
        }
        if let Some(any_of) = schema.get("anyOf").and_then(Value::as_array)
            && !any_of.iter().any(|alt| has_all(&alt["required"]))
        {
            v.push("no anyOf alternative is complete".into());
        }
        for f in &sent.fields {
            let Some(prop) = props.get(&f.name) else {
                v.push(format!("field {} is not in the schema", f.name));
                continue;
            };
            let accepted = media
                .get("encoding")
                .and_then(|e| e.get(&f.name))
                .and_then(|e| e["contentType"].as_str());
            let file = f.file_type.as_deref().map(|ct| (ct, accepted));
            let prop = self.resolve(prop);
            // A repeated field: each part is one item.
            let prop = if prop["type"] == "array" {
                &prop["items"]
            } else {
                prop
            };
            self.check_value(prop, &f.text, file, &format!("field {}", f.name), v);
        }
    }

    /// A text value (or a file part) against a schema.
    fn check_value(
        &self,
        schema: &Value,
        text: &str,
        file: Option<(&str, Option<&str>)>,
        at: &str,
        v: &mut Vec<String>,
    ) {
        let schema = self.resolve(schema);
        let binary = schema["format"] == "binary";
        match (binary, file) {
            (true, None) => return v.push(format!("{at}: expected a file part")),
            (false, Some(_)) => return v.push(format!("{at}: a file part where text belongs")),
            (true, Some((ct, accepted))) => {
                if let Some(accepted) = accepted {
                    let ok =
                        accepted
                            .split(',')
                            .map(str::trim)
                            .any(|a| match a.strip_suffix("/*") {
                                Some(major) => ct.starts_with(&format!("{major}/")),
                                None => a == ct,
                            });
                    if !ok {
                        v.push(format!("{at}: content type {ct} not in {accepted}"));
                    }
                }
                return;
            }
            (false, None) => {}
        }
        let value: Value = match schema["type"].as_str() {
            Some("integer") => match text.parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => return v.push(format!("{at}: {text:?} is not an integer")),
            },
            Some("number") => match text.parse::<f64>() {
                Ok(n) if n.is_finite() => json!(n),
                _ => return v.push(format!("{at}: {text:?} is not a number")),
            },
            Some("string") => json!(text),
            other => panic!("{at}: type {other:?} is not modelled"),
        };
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.iter().any(|o| same(o, &value))
        {
            v.push(format!("{at}: {text} is not one of {}", schema["enum"]));
        }
        if let Some(n) = value.as_f64() {
            if schema
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n < m)
            {
                v.push(format!("{at}: {n} is below the minimum"));
            }
            if schema
                .get("maximum")
                .and_then(Value::as_f64)
                .is_some_and(|m| n > m)
            {
                v.push(format!("{at}: {n} is above the maximum"));
            }
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && (text.chars().count() as u64) < min
        {
            v.push(format!("{at}: shorter than {min}"));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && (text.chars().count() as u64) > max
        {
            v.push(format!("{at}: longer than {max}"));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str)
            && !regex::Regex::new(p).expect("spec pattern").is_match(text)
        {
            v.push(format!("{at}: {text:?} does not match {p}"));
        }
    }

    /// The schema of the JSON answer of `method path` with `status`.
    fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        let (_, _, item) = self.match_path(path)?;
        let op = item.get(method.to_ascii_lowercase())?;
        let response = self.resolve(op["responses"].get(status.to_string())?);
        response["content"]["application/json"].get("schema")
    }

    /// A JSON value against a response schema (type, nullable, enum,
    /// required, properties, items, minimum, allOf, anyOf, oneOf).
    fn validate(&self, schema: &Value, value: &Value, at: &str, v: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if value.is_null() && schema["nullable"] == true {
            return;
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            for s in all {
                self.validate(s, value, at, v);
            }
        }
        for (key, exactly_one) in [("anyOf", false), ("oneOf", true)] {
            if let Some(alts) = schema.get(key).and_then(Value::as_array) {
                let mut why = Vec::new();
                let passed = alts
                    .iter()
                    .filter(|alt| {
                        let mut w = Vec::new();
                        self.validate(alt, value, at, &mut w);
                        why.extend(w.iter().cloned());
                        w.is_empty()
                    })
                    .count();
                if passed == 0 || (exactly_one && passed > 1) {
                    v.push(format!(
                        "{at}: {passed} of the {key} alternatives match: {why:?}"
                    ));
                }
            }
        }
        let type_ok = match schema.get("type").and_then(Value::as_str) {
            None => true,
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some(other) => panic!("{at}: type {other} is not modelled"),
        };
        if !type_ok {
            return v.push(format!("{at}: {value} is not of type {}", schema["type"]));
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.iter().any(|o| same(o, value))
        {
            v.push(format!("{at}: {value} is not one of {}", schema["enum"]));
        }
        if let (Some(min), Some(n)) = (
            schema.get("minimum").and_then(Value::as_f64),
            value.as_f64(),
        ) && n < min
        {
            v.push(format!("{at}: {n} is below the minimum {min}"));
        }
        if let Some(required) = schema.get("required").and_then(Value::as_array) {
            for name in required {
                let name = name.as_str().unwrap();
                if value.get(name).is_none() {
                    v.push(format!("{at}: required {name} missing"));
                }
            }
        }
        if let (Some(props), Some(obj)) = (
            schema.get("properties").and_then(Value::as_object),
            value.as_object(),
        ) {
            for (name, sub) in props {
                if let Some(member) = obj.get(name) {
                    self.validate(sub, member, &format!("{at}.{name}"), v);
                }
            }
        }
        if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
            for (i, item) in list.iter().enumerate() {
                self.validate(items, item, &format!("{at}[{i}]"), v);
            }
        }
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

async fn sent(r: &wiremock::Request) -> Sent {
    let headers: BTreeMap<String, String> = r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let content_type = headers.get("content-type").cloned();
    let fields = if content_type
        .as_deref()
        .is_some_and(|c| c.starts_with("multipart/"))
    {
        parts(r)
            .await
            .into_iter()
            .map(|p| Field {
                text: String::from_utf8_lossy(&p.data).into_owned(),
                file_type: p
                    .file_name
                    .as_ref()
                    .map(|_| p.content_type.clone().unwrap_or_default()),
                name: p.name,
            })
            .collect()
    } else {
        Vec::new()
    };
    Sent {
        method: r.method.to_string(),
        path: r
            .url
            .path()
            .strip_prefix(BASE_PATH)
            .expect("base path kept")
            .to_string(),
        query: r.url.query_pairs().into_owned().collect(),
        headers,
        content_type,
        body_len: r.body.len(),
        fields,
    }
}

/// Answers every list with a one-page paginator under its key, every other
/// call with a bare success.
struct Answers;

impl Respond for Answers {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path();
        let key = [
            ("/inbox/template-list", "templates"),
            ("/contact/list", "contacts"),
            ("/inbox/conversation-list", "conversation"),
        ]
        .into_iter()
        .find(|(p, _)| path.ends_with(p))
        .map(|(_, k)| k);
        let data = match key {
            Some(key) => json!({key: {"current_page": 1, "data": [{"id": 1, "status": 1}],
                "last_page": 1, "per_page": 100, "total": 1}}),
            None => json!({}),
        };
        ResponseTemplate::new(200).set_body_json(
            json!({"remark": "ok", "status": "success", "message": ["ok"], "data": data}),
        )
    }
}

#[tokio::test]
async fn every_client_call_conforms_to_the_spec() {
    let spec = Spec::load();
    let servers: Vec<&str> = spec.root["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert!(servers.iter().any(|s| s.ends_with(BASE_PATH)));

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(Answers)
        .mount(&server)
        .await;
    let c = client(&format!("{}{BASE_PATH}", server.uri()));

    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, kind| {
        let p = dir.path().join(name);
        std::fs::write(&p, b"bytes").unwrap();
        MediaFile::new(kind, p).unwrap()
    };
    let media = [
        file("a.png", MediaKind::Image),
        file("b.JPG", MediaKind::Image),
        file("c.pdf", MediaKind::Document),
        file("d.docx", MediaKind::Document),
        file("e.mp4", MediaKind::Video),
        file("f.ogg", MediaKind::Audio),
    ];

    c.template_list(None, None).await.unwrap();
    c.template_list(Some(2), Some(50)).await.unwrap();
    assert_eq!(c.templates().await.unwrap().len(), 1);
    c.contact_list(&ContactQuery::default()).await.unwrap();
    c.contact_list(&ContactQuery {
        page: Some(1),
        paginate: Some(100),
        search: Some("Doe".into()),
    })
    .await
    .unwrap();
    assert_eq!(c.contacts_matching("1988").await.unwrap().len(), 1);
    let mut full = ContactForm::new("Jo", "Doe", phone());
    full.city = Some("Dhaka".into());
    full.state = Some("Dhaka".into());
    full.zip = Some("1207".into());
    full.address = Some("Road 1".into());
    full.profile_image = Some(media[0].clone());
    c.contact_store(&full).await.unwrap();
    c.contact_store(&ContactForm::new("A", "B", phone()))
        .await
        .unwrap();
    c.contact_update(1, &full).await.unwrap();
    c.contact_delete(9).await.unwrap();
    c.conversation_list(&ConversationQuery::default())
        .await
        .unwrap();
    c.conversation_list(&ConversationQuery {
        search: Some("1988123456".into()),
        ..ConversationQuery::default()
    })
    .await
    .unwrap();
    assert_eq!(c.conversations_matching("1988").await.unwrap().len(), 1);
    // Every status the client can name, for the filter and the change.
    for status in [
        ConversationStatus::Done,
        ConversationStatus::Pending,
        ConversationStatus::Important,
        ConversationStatus::NoStatus,
    ] {
        c.conversation_list(&ConversationQuery {
            status: Some(status),
            page: Some(3),
            paginate: Some(10),
            search: None,
        })
        .await
        .unwrap();
        c.change_conversation_status(4, status).await.unwrap();
    }
    c.conversation_details(4).await.unwrap();

    let to = || Some(phone());
    let mut sends = vec![
        SendMessage::text(phone(), "Hello"),
        SendMessage {
            from_number: Some("+1 555-010-5555".into()),
            ..SendMessage::text(phone(), "Hi")
        },
        SendMessage {
            to: to(),
            location: Some((-90.0, 180.0)),
            ..SendMessage::default()
        },
        SendMessage {
            to: to(),
            cta_url_id: Some(3),
            ..SendMessage::default()
        },
        SendMessage {
            to: to(),
            interactive_list_id: Some(5),
            ..SendMessage::default()
        },
    ];
    for m in &media {
        sends.push(SendMessage {
            to: to(),
            media: vec![m.clone()],
            ..SendMessage::default()
        });
    }
    for s in &sends {
        assert_eq!(c.send_message(s).await.class(), OutcomeClass::Success);
    }
    let templates = [
        (None, vec![], vec![]),
        (Some("8801700000000".to_string()), vec!["Amina"], vec![]),
        (None, vec!["Amina", "Tuesday"], vec!["#1042"]),
    ];
    for (from_number, body, header) in templates {
        let t = SendTemplate {
            to: phone(),
            from_number,
            template_id: 1,
            body_variables: body.into_iter().map(String::from).collect(),
            header_variables: header.into_iter().map(String::from).collect(),
        };
        assert_eq!(c.send_template(&t).await.class(), OutcomeClass::Success);
    }

    let mut covered = BTreeSet::new();
    let mut violations = Vec::new();
    for r in server.received_requests().await.unwrap() {
        let s = sent(&r).await;
        match spec.check(&s) {
            Ok(id) => {
                covered.insert(id);
            }
            Err(v) => violations.extend(v),
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    assert_eq!(covered, spec.operation_ids(), "every operation exercised");
}

/// One answer of the simulator: the operation's method and path, the HTTP
/// status and the body as JSON.
type Answered = (&'static str, String, u16, Value);

fn envelope_json(env: &Envelope) -> Value {
    serde_json::to_value(env).expect("an envelope is JSON")
}

/// What a non-send call got back.
fn answered(
    method: &'static str,
    path: impl Into<String>,
    got: Result<Envelope, WuttError>,
) -> Answered {
    match got {
        Ok(env) => (method, path.into(), 200, envelope_json(&env)),
        Err(WuttError::Api {
            http_status,
            envelope,
        }) => (method, path.into(), http_status, envelope_json(&envelope)),
        Err(other) => panic!("{method} no envelope: {other:?}"),
    }
}

/// What a send got back.
fn sent_answer(path: &str, o: &Outcome) -> Answered {
    let reply = o.reply();
    let env = reply
        .envelope
        .as_ref()
        .unwrap_or_else(|| panic!("no envelope: {o:?}"));
    (
        "POST",
        path.into(),
        reply.http_status.unwrap(),
        envelope_json(env),
    )
}

#[tokio::test]
async fn the_simulators_answers_conform_to_the_response_schemas() {
    let spec = Spec::load();
    let sim = simulator::start(
        SimConfig {
            client_id: crate::support::http::CLIENT_ID.into(),
            client_secret: Secret::new(crate::support::http::SECRET),
            seed: Some(1),
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let c = client(&format!("{}{BASE_PATH}", sim.base_url()));
    let amina = phone();
    let stranger = PhoneNumber::from_canonical(880, "1700000099");
    let template = |to: PhoneNumber, id: i64, body: &[&str]| SendTemplate {
        to,
        from_number: None,
        template_id: id,
        body_variables: body.iter().map(|b| (*b).to_owned()).collect(),
        header_variables: Vec::new(),
    };
    let send_tpl = "/inbox/send-template-message";
    let send_msg = "/inbox/send-message";
    let mut got: Vec<Answered> = vec![
        answered(
            "GET",
            "/inbox/template-list",
            c.template_list(None, None).await,
        ),
        answered(
            "GET",
            "/inbox/template-list",
            c.template_list(Some(3), Some(20)).await,
        ),
        answered(
            "GET",
            "/contact/list",
            c.contact_list(&ContactQuery::default()).await,
        ),
        answered(
            "GET",
            "/contact/list",
            c.contact_list(&ContactQuery {
                search: Some("rahman".into()),
                ..ContactQuery::default()
            })
            .await,
        ),
        answered(
            "GET",
            "/inbox/conversation-list",
            c.conversation_list(&ConversationQuery::default()).await,
        ),
        answered(
            "GET",
            "/inbox/conversation-details/1",
            c.conversation_details(1).await,
        ),
        answered(
            "GET",
            "/inbox/conversation-details/99",
            c.conversation_details(99).await,
        ),
        answered(
            "POST",
            "/inbox/change-conversation-status/2",
            c.change_conversation_status(2, ConversationStatus::Important)
                .await,
        ),
        answered(
            "POST",
            "/inbox/change-conversation-status/2",
            c.change_conversation_status(2, ConversationStatus::NoStatus)
                .await,
        ),
    ];
    let mut form = ContactForm::new("Jo", "Doe", PhoneNumber::from_canonical(880, "1812345678"));
    form.zip = Some("1207".into());
    got.push(answered(
        "POST",
        "/contact/store",
        c.contact_store(&form).await,
    ));
    got.push(answered(
        "POST",
        "/contact/store",
        c.contact_store(&form).await,
    ));
    got.push(answered(
        "POST",
        "/contact/update/6",
        c.contact_update(6, &form).await,
    ));
    got.push(answered(
        "DELETE",
        "/contact/delete/6",
        c.contact_delete(6).await,
    ));
    got.push(answered(
        "DELETE",
        "/contact/delete/1",
        c.contact_delete(1).await,
    ));

    let o = c
        .send_message(&SendMessage::text(amina.clone(), "Hi"))
        .await;
    assert_eq!(o.class(), OutcomeClass::Success);
    got.push(sent_answer(send_msg, &o));
    got.push(sent_answer(
        send_msg,
        &c.send_message(&SendMessage::text(stranger.clone(), "Hi"))
            .await,
    ));
    got.push(sent_answer(
        send_tpl,
        &c.send_template(&template(amina.clone(), 1, &[])).await,
    ));
    got.push(sent_answer(
        send_tpl,
        &c.send_template(&template(amina.clone(), 4, &[])).await,
    ));
    got.push(sent_answer(
        send_tpl,
        &c.send_template(&template(stranger, 6, &["x"])).await,
    ));
    sim.set_account(AccountSetting {
        fixed: Some(true),
        ..AccountSetting::default()
    });
    let o = c
        .send_template(&template(amina.clone(), 5, &["Amina"]))
        .await;
    assert_eq!(o.reply().envelope.as_ref().unwrap().remark, "template_sent");
    got.push(sent_answer(send_tpl, &o));
    sim.set_account(AccountSetting {
        plan: Some(Plan::Expired),
        ..AccountSetting::default()
    });
    got.push(answered(
        "GET",
        "/inbox/template-list",
        c.template_list(None, None).await,
    ));
    got.push(sent_answer(
        send_msg,
        &c.send_message(&SendMessage::text(amina.clone(), "Hi"))
            .await,
    ));
    let wrong = crate::support::http::config(
        &format!("{}{BASE_PATH}", sim.base_url()),
        std::time::Duration::from_secs(10),
    );
    let wrong = Client::new(wutt_campaign::wutt::ClientConfig {
        client_secret: Secret::new("not-the-secret"),
        ..wrong
    })
    .unwrap();
    got.push(sent_answer(
        send_tpl,
        &wrong.send_template(&template(amina, 1, &[])).await,
    ));
    got.push(answered(
        "GET",
        "/contact/list",
        wrong.contact_list(&ContactQuery::default()).await,
    ));
    sim.shutdown().await;

    let statuses: BTreeSet<u16> = got.iter().map(|(_, _, s, _)| *s).collect();
    assert_eq!(
        statuses,
        BTreeSet::from([200, 401]),
        "the server's only two statuses"
    );
    let mut violations = Vec::new();
    for (method, path, status, body) in &got {
        match spec.response_schema(method, path, *status) {
            Some(schema) => spec.validate(
                schema,
                body,
                &format!("{method} {path} {status}"),
                &mut violations,
            ),
            None => violations.push(format!("{method} {path}: no response {status} in the spec")),
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
}

/// Every example of the spec is valid against the schema it illustrates.
#[test]
fn the_examples_match_their_schemas() {
    let spec = Spec::load();
    let mut checked = 0;
    let mut violations = Vec::new();
    let mut check = |media: &Value, at: &str| {
        let Some(schema) = media.get("schema") else {
            return;
        };
        for (name, example) in media
            .get("examples")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let value = &spec.resolve(example)["value"];
            spec.validate(
                schema,
                value,
                &format!("{at} example {name}"),
                &mut violations,
            );
            checked += 1;
        }
    };
    for (path, item) in spec.root["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                let response = spec.resolve(response);
                if let Some(media) = response["content"].get("application/json") {
                    check(media, &format!("{method} {path} {status}"));
                }
            }
        }
    }
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(checked >= 20, "{checked} examples");
}

/// The checker itself finds what Prism finds (CHECK.md's probes).
#[test]
fn the_checker_catches_nonconforming_requests() {
    let spec = Spec::load();
    let auth: BTreeMap<String, String> = [("client-id", "a"), ("client-secret", "b")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let post = |path: &str, fields: Vec<Field>| Sent {
        method: "POST".into(),
        path: path.into(),
        headers: auth.clone(),
        content_type: Some("multipart/form-data; boundary=x".into()),
        body_len: 1,
        fields,
        ..Sent::default()
    };
    let phone_fields = || {
        vec![
            Field::text("mobile_code", "880"),
            Field::text("mobile", "1988"),
        ]
    };
    let with = |mut base: Vec<Field>, extra: Field| {
        base.push(extra);
        base
    };

    let good = post(
        "/inbox/send-message",
        with(phone_fields(), Field::text("message", "hi")),
    );
    assert_eq!(spec.check(&good), Ok("sendMessage".to_string()));

    let mut no_secret = good.clone();
    no_secret.headers.remove("client-secret");
    let mut json_body = good.clone();
    json_body.content_type = Some("application/json".into());
    let mut get_with_body = good.clone();
    get_with_body.method = "GET".into();
    get_with_body.path = "/inbox/template-list".into();
    let mut bad_query = get_with_body.clone();
    bad_query.content_type = None;
    bad_query.body_len = 0;
    bad_query.fields.clear();
    bad_query.path = "/inbox/conversation-list".into();
    bad_query.query = vec![("status".into(), "7".into())];
    let mut unknown_query = bad_query.clone();
    unknown_query.query = vec![("q".into(), "x".into())];
    let mut unread_filter = bad_query.clone();
    unread_filter.query = vec![("status".into(), "4".into())];
    let mut search = bad_query.clone();
    search.query = vec![
        ("search".into(), "1988".into()),
        ("status".into(), "0".into()),
    ];
    assert_eq!(spec.check(&search), Ok("listConversations".to_string()));
    let mut bad_id = bad_query.clone();
    bad_id.query.clear();
    bad_id.path = "/inbox/conversation-details/abc".into();
    let image_as_text = post(
        "/inbox/send-message",
        with(phone_fields(), Field::text("image", "bytes")),
    );
    let wrong_image_type = post(
        "/inbox/send-message",
        with(
            phone_fields(),
            Field {
                name: "image".into(),
                text: "x".into(),
                file_type: Some("image/gif".into()),
            },
        ),
    );

    let template_fields = |extra: Vec<Field>| {
        let mut f = phone_fields();
        f.push(Field::text("template_id", "5"));
        f.extend(extra);
        post("/inbox/send-template-message", f)
    };
    let variables = template_fields(vec![
        Field::text("body_variables[]", "Amina"),
        Field::text("body_variables[]", "Tuesday"),
        Field::text("header_variables[]", "#1042"),
    ]);
    assert_eq!(
        spec.check(&variables),
        Ok("sendTemplateMessage".to_string())
    );
    let contact = |extra: Field| {
        let mut f = phone_fields();
        f.push(Field::text("firstname", "A"));
        f.push(Field::text("lastname", "B"));
        f.push(extra);
        post("/contact/store", f)
    };
    assert_eq!(
        spec.check(&contact(Field::text("post_code", "1207"))),
        Ok("storeContact".to_string())
    );

    let bad = vec![
        ("no secret header", no_secret),
        ("status 4 as a filter", unread_filter),
        (
            "status 4 to change",
            post(
                "/inbox/change-conversation-status/1",
                vec![Field::text("status", "4")],
            ),
        ),
        (
            "body_variables without []",
            template_fields(vec![Field::text("body_variables", "Amina")]),
        ),
        (
            "template_id twice",
            template_fields(vec![Field::text("template_id", "6")]),
        ),
        ("zip, not post_code", contact(Field::text("zip", "1207"))),
        (
            "first name over 40",
            post(
                "/contact/store",
                vec![
                    Field::text("mobile_code", "880"),
                    Field::text("mobile", "1988"),
                    Field::text("firstname", &"N".repeat(41)),
                    Field::text("lastname", "B"),
                ],
            ),
        ),
        (
            "mobile with a plus",
            post(
                "/inbox/send-message",
                vec![
                    Field::text("mobile_code", "880"),
                    Field::text("mobile", "+1988"),
                    Field::text("message", "m"),
                ],
            ),
        ),
        ("JSON body", json_body),
        ("GET with a body", get_with_body),
        ("status 7", bad_query),
        ("undeclared query", unknown_query),
        ("non-integer id", bad_id),
        ("image as text", image_as_text),
        ("gif image", wrong_image_type),
        (
            "nothing to send",
            post("/inbox/send-message", phone_fields()),
        ),
        (
            "plus in mobile_code",
            post(
                "/inbox/send-message",
                vec![
                    Field::text("mobile_code", "+880"),
                    Field::text("mobile", "1"),
                    Field::text("message", "m"),
                ],
            ),
        ),
        (
            "vendor typo testmplate_id",
            post(
                "/inbox/send-template-message",
                with(phone_fields(), Field::text("testmplate_id", "1")),
            ),
        ),
        (
            "template_id not an integer",
            post(
                "/inbox/send-template-message",
                with(phone_fields(), Field::text("template_id", "abc")),
            ),
        ),
        (
            "status 5",
            post(
                "/inbox/change-conversation-status/1",
                vec![Field::text("status", "5")],
            ),
        ),
        (
            "latitude out of range",
            post(
                "/inbox/send-message",
                with(
                    with(phone_fields(), Field::text("latitude", "91")),
                    Field::text("longitude", "0"),
                ),
            ),
        ),
        (
            "empty first name",
            post(
                "/contact/store",
                with(
                    with(phone_fields(), Field::text("firstname", "")),
                    Field::text("lastname", "B"),
                ),
            ),
        ),
        (
            "unknown path",
            post("/extern-api/inbox/send-message", vec![]),
        ),
    ];
    for (name, s) in bad {
        assert!(spec.check(&s).is_err(), "{name} passed the checker");
    }
}
