//! The response envelope (`status`, `remark`, `message[]`, `data`), how a body
//! becomes one, and the bounded excerpt kept of a body that is not one.

use serde::{Deserialize, Deserializer, Serialize};

/// Every Wutt answer that is JSON of the documented shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub status: String,
    #[serde(default, deserialize_with = "text_or_null")]
    pub remark: String,
    /// Human-readable lines. Also accepted on the wire: a single string, or a
    /// Laravel-style object of field → lines (flattened in order).
    #[serde(default, deserialize_with = "lines")]
    pub message: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl Envelope {
    pub fn is_success(&self) -> bool {
        self.status.eq_ignore_ascii_case("success")
    }

    /// Parses a body into the envelope; the error says why it is not one.
    pub fn parse(body: &[u8]) -> Result<Envelope, String> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Err("empty body".into());
        }
        let value: serde_json::Value =
            serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
        if !value.is_object() {
            return Err("JSON but not an object".into());
        }
        serde_json::from_value(value).map_err(|e| format!("JSON but not the envelope: {e}"))
    }

    /// The message lines joined for one-line display.
    pub fn text(&self) -> String {
        self.message.join(" ")
    }
}

fn text_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

fn lines<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error;
    fn collect(v: serde_json::Value, out: &mut Vec<String>) -> Result<(), String> {
        match v {
            serde_json::Value::Null => Ok(()),
            serde_json::Value::String(s) => {
                out.push(s);
                Ok(())
            }
            serde_json::Value::Array(items) => items.into_iter().try_for_each(|i| collect(i, out)),
            serde_json::Value::Object(map) => {
                map.into_iter().try_for_each(|(_, i)| collect(i, out))
            }
            other => Err(format!("message: expected text, found {other}")),
        }
    }
    let mut out = Vec::new();
    collect(serde_json::Value::deserialize(d)?, &mut out).map_err(D::Error::custom)?;
    Ok(out)
}

/// Bytes kept of a body that is not an envelope.
pub const EXCERPT_BYTES: usize = 512;

/// The first [`EXCERPT_BYTES`] of a body as text: cut on a character
/// boundary, invalid bytes replaced.
pub fn excerpt(body: &[u8]) -> String {
    let mut cut = &body[..body.len().min(EXCERPT_BYTES)];
    if let Err(e) = std::str::from_utf8(cut)
        && e.error_len().is_none()
    {
        // An incomplete character at the end: drop it.
        cut = &cut[..e.valid_up_to()];
    }
    String::from_utf8_lossy(cut).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_bodies_parse() {
        let e = Envelope::parse(br#"{"status":"success","remark":"contact_list","message":["Contact list fetched successfully"],"data":{}}"#).unwrap();
        assert!(e.is_success());
        assert_eq!(e.remark, "contact_list");
        let e = Envelope::parse(
            br#"{"remark":"Unauthorized","status":"error","message":["The client secret is required"]}"#,
        )
        .unwrap();
        assert!(!e.is_success());
        assert_eq!(e.data, None);
    }

    #[test]
    fn lenient_message_shapes() {
        let e = Envelope::parse(br#"{"status":"error","message":"one","remark":null}"#).unwrap();
        assert_eq!(e.message, vec!["one"]);
        assert_eq!(e.remark, "");
        let e = Envelope::parse(br#"{"status":"error","message":{"mobile":["a","b"],"x":"c"}}"#)
            .unwrap();
        assert_eq!(e.message, vec!["a", "b", "c"]);
        assert!(Envelope::parse(br#"{"status":"error","message":[1]}"#).is_err());
    }

    #[test]
    fn not_envelopes() {
        for body in [
            &b""[..],
            b"  \n",
            b"<html><body>502 Bad Gateway</body></html>",
            br#"{"status":"succ"#,
            br#"[1,2]"#,
            br#""ok""#,
            br#"{"ok":true}"#,
            br#"{"status":7}"#,
        ] {
            assert!(Envelope::parse(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn excerpt_is_bounded_and_valid_utf8() {
        let long = "é".repeat(600); // 1200 bytes; byte 512 is inside no char? 512 is even: boundary
        assert_eq!(excerpt(long.as_bytes()).len(), 512);
        let odd = format!("a{long}");
        let ex = excerpt(odd.as_bytes());
        assert_eq!(ex.len(), 511);
        assert!(!ex.contains('\u{FFFD}'));
        assert_eq!(excerpt(b"ab\xffcd"), "ab\u{FFFD}cd");
    }
}
