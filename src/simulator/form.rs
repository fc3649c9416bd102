//! Reading a request's input as Laravel's `$request->all()` does: the body
//! (multipart/form-data — files hashed as they stream in, never held —,
//! urlencoded or JSON) merged over the query string. A body PHP cannot read
//! is simply no input; only an oversized one is refused, with the 413 page
//! of the web server in front.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::params::{Input, Params, clean};
use super::reply;
use super::state::MediaInfo;

/// Longest text field accepted.
const MAX_TEXT: usize = 64 * 1024;
/// Most parts accepted in one body (PHP's `max_input_vars`).
const MAX_PARTS: usize = 1000;
/// Largest urlencoded or JSON body.
const MAX_PLAIN: usize = 1 << 20;

/// The input of a request and its uploaded files.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub params: Params,
    pub files: Vec<MediaInfo>,
}

impl Form {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.params.text(name)
    }

    /// The uploaded file of a field (the last one wins, as in `$_FILES`).
    pub fn file(&self, name: &str) -> Option<&MediaInfo> {
        self.files.iter().rev().find(|f| f.field == name)
    }

    /// Laravel's `required`: a value or a file.
    pub fn filled(&self, name: &str) -> bool {
        self.params.filled(name) || self.file(name).is_some()
    }
}

/// The query string's parameters.
pub(crate) fn query(raw: Option<&str>) -> Params {
    Params::from_pairs(url::form_urlencoded::parse(raw.unwrap_or("").as_bytes()))
}

fn too_large() -> Response {
    reply::nginx_page(StatusCode::PAYLOAD_TOO_LARGE)
}

/// Reads the body and merges the query string under it.
pub(crate) async fn read(req: Request) -> Result<Form, Response> {
    let query = query(req.uri().query());
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut form = if content_type.starts_with("multipart/form-data") {
        read_multipart(req).await?
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let body = plain_body(req).await?;
        Form {
            params: Params::from_pairs(url::form_urlencoded::parse(&body)),
            files: Vec::new(),
        }
    } else if content_type.contains("/json") || content_type.contains("+json") {
        let body = plain_body(req).await?;
        Form {
            params: json_params(&body),
            files: Vec::new(),
        }
    } else {
        Form::default()
    };
    form.params.merge_missing(query);
    Ok(form)
}

async fn plain_body(req: Request) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(req.into_body(), MAX_PLAIN)
        .await
        .map_err(|_| too_large())
}

/// A JSON object's members as input (scalars as PHP would print them).
fn json_params(body: &[u8]) -> Params {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => clean(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(true) => Some("1".into()),
            Value::Bool(false) => Some("0".into()),
            _ => None,
        }
    }
    let mut params = Params::default();
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        for (name, v) in &map {
            let input = match v {
                Value::Array(items) => Input::List(items.iter().map(scalar).collect()),
                Value::Object(members) => Input::List(members.values().map(scalar).collect()),
                v => Input::One(scalar(v)),
            };
            params.set(name, input);
        }
    }
    params
}

async fn read_multipart(req: Request) -> Result<Form, Response> {
    let mut form = Form::default();
    let Ok(mut multipart) = Multipart::from_request(req, &()).await else {
        return Ok(form);
    };
    let mut parts = 0;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large()),
            // PHP keeps what it could read of a broken body.
            Err(_) => break,
        };
        parts += 1;
        if parts > MAX_PARTS {
            break;
        }
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        match file_name {
            Some(file_name) => {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            size += chunk.len() as u64;
                            hasher.update(&chunk);
                        }
                        Ok(None) => break,
                        Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                            return Err(too_large());
                        }
                        Err(_) => return Ok(form),
                    }
                }
                // A file input left empty arrives without a name: no file.
                if !file_name.is_empty() {
                    form.files.push(MediaInfo {
                        field: name,
                        file_name,
                        content_type,
                        size,
                        sha256: hex::encode(hasher.finalize()),
                    });
                }
            }
            None => {
                let mut text = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            if text.len() + chunk.len() > MAX_TEXT {
                                return Err(too_large());
                            }
                            text.extend_from_slice(&chunk);
                        }
                        Ok(None) => break,
                        Err(err) if err.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                            return Err(too_large());
                        }
                        Err(_) => return Ok(form),
                    }
                }
                form.params
                    .push(&name, clean(&String::from_utf8_lossy(&text)));
            }
        }
    }
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_become_input() {
        let p = json_params(
            br#"{"mobile": 1988, "body_variables": ["a", " "], "x": null, "ok": true}"#,
        );
        assert_eq!(p.text("mobile"), Some("1988"));
        assert_eq!(
            p.get("body_variables"),
            Some(&Input::List(vec![Some("a".into()), None]))
        );
        assert!(!p.filled("x"));
        assert_eq!(p.text("ok"), Some("1"));
        assert_eq!(json_params(b"[1,2]"), Params::default());
    }
}
