//! The client's requests conform to `docs/wutt-api/openapi.yaml`: every call is
//! captured on a loopback server and checked against the spec — method and
//! path (templates matched), security headers, content type, and every
//! multipart field and parameter against the subset of JSON Schema the spec
//! uses (type, enum, pattern, minLength, minimum/maximum, required, anyOf).

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use support::{client, parts, phone};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};
use wutt_campaign::wutt::{
    ContactForm, ContactQuery, ConversationQuery, ConversationStatus, MediaFile, MediaKind,
    OutcomeClass, SendMessage, SendTemplate,
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
        if present.len() != sent.fields.len() {
            v.push("a field is sent twice".into());
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
        if let Some(p) = schema.get("pattern").and_then(Value::as_str)
            && !regex::Regex::new(p).expect("spec pattern").is_match(text)
        {
            v.push(format!("{at}: {text:?} does not match {p}"));
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
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"status": "success", "remark": "ok", "message": ["ok"], "data": {}}),
        ))
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

    c.template_list().await.unwrap();
    c.contact_list(&ContactQuery::default()).await.unwrap();
    c.contact_list(&ContactQuery {
        page: Some(1),
        paginate: Some(100),
        search: Some("Doe".into()),
    })
    .await
    .unwrap();
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
    for status in [
        ConversationStatus::Done,
        ConversationStatus::Pending,
        ConversationStatus::Important,
        ConversationStatus::Unread,
    ] {
        c.conversation_list(&ConversationQuery {
            status: Some(status),
            page: Some(3),
            paginate: Some(10),
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
            from_number: Some("8801700000000".into()),
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
    for from_number in [None, Some("8801700000000".to_string())] {
        let t = SendTemplate {
            to: phone(),
            from_number,
            template_id: 1,
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
    unknown_query.query = vec![("search".into(), "x".into())];
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

    let bad = vec![
        ("no secret header", no_secret),
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
