//! Reading POST bodies: multipart/form-data (files are hashed as they stream
//! in, never held in memory) or application/x-www-form-urlencoded. Bad or
//! oversized bodies become envelopes (400 / 413 / 415), never a panic.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::reply;
use super::state::MediaInfo;

/// Longest text field accepted.
const MAX_TEXT: usize = 64 * 1024;
/// Most parts accepted in one body.
const MAX_PARTS: usize = 64;
/// Largest urlencoded body.
const MAX_URLENCODED: usize = 1 << 20;

/// Text fields (first value of a name wins) and uploaded files.
#[derive(Debug, Default)]
pub(crate) struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<MediaInfo>,
}

impl Form {
    /// The trimmed value of a field; empty counts as absent.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The value of a field exactly as sent (not trimmed), when not blank.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.text(name)?;
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn file(&self, name: &str) -> Option<&MediaInfo> {
        self.files.iter().find(|f| f.field == name)
    }
}

fn too_large() -> Response {
    reply::error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        ["The request body is too large"],
    )
}

fn bad_body(what: &str) -> Response {
    reply::error(
        StatusCode::BAD_REQUEST,
        "bad_request",
        [format!("The request body is not valid {what}")],
    )
}

/// Reads the body of a POST. No content type (or an empty body) is an empty form.
pub(crate) async fn read(req: Request) -> Result<Form, Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let empty = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0");
    if empty {
        // An empty multipart form (no parts at all) arrives as an empty body.
        Ok(Form::default())
    } else if content_type.starts_with("multipart/form-data") {
        read_multipart(req).await
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let body = axum::body::to_bytes(req.into_body(), MAX_URLENCODED)
            .await
            .map_err(|_| too_large())?;
        let fields = url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .take(MAX_PARTS)
            .collect();
        Ok(Form {
            fields,
            files: Vec::new(),
        })
    } else if content_type.is_empty() {
        let body = axum::body::to_bytes(req.into_body(), MAX_URLENCODED)
            .await
            .map_err(|_| too_large())?;
        if body.iter().all(u8::is_ascii_whitespace) {
            Ok(Form::default())
        } else {
            Err(unsupported())
        }
    } else {
        Err(unsupported())
    }
}

fn unsupported() -> Response {
    reply::error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        ["Send the body as multipart/form-data or application/x-www-form-urlencoded"],
    )
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> Response {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        bad_body("multipart/form-data")
    }
}

async fn read_multipart(req: Request) -> Result<Form, Response> {
    let mut multipart = Multipart::from_request(req, &())
        .await
        .map_err(|_| bad_body("multipart/form-data"))?;
    let mut form = Form::default();
    let mut parts = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        parts += 1;
        if parts > MAX_PARTS {
            return Err(bad_body("multipart/form-data (too many parts)"));
        }
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        match file_name {
            Some(file_name) => {
                let mut hasher = Sha256::new();
                let mut size = 0u64;
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    size += chunk.len() as u64;
                    hasher.update(&chunk);
                }
                form.files.push(MediaInfo {
                    field: name,
                    file_name,
                    content_type,
                    size,
                    sha256: hex::encode(hasher.finalize()),
                });
            }
            None => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    if text.len() + chunk.len() > MAX_TEXT {
                        return Err(too_large());
                    }
                    text.extend_from_slice(&chunk);
                }
                form.fields
                    .push((name, String::from_utf8_lossy(&text).into_owned()));
            }
        }
    }
    Ok(form)
}
