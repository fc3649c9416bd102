//! The account's templates as `inbox/template-list` gives them, and the
//! Laravel paginator that every list of the API answers with (SERVER.md
//! sections 3 and 4). This is the one parser of the template list: the
//! load-time check, the pre-send check and `templates list` all read
//! [`Template`]s from here.

use serde::Deserialize;
use serde_json::Value;

/// A template's review state: the server's `status` number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TemplateStatus {
    /// 0: waiting for WhatsApp's review.
    Pending,
    /// 1: the only state that can be sent.
    Approved,
    /// 2: refused by WhatsApp.
    Rejected,
    /// 3: disabled.
    Disabled,
    /// A number the server does not use today.
    Other(i64),
}

impl TemplateStatus {
    pub fn from_code(code: i64) -> TemplateStatus {
        match code {
            0 => TemplateStatus::Pending,
            1 => TemplateStatus::Approved,
            2 => TemplateStatus::Rejected,
            3 => TemplateStatus::Disabled,
            other => TemplateStatus::Other(other),
        }
    }

    pub fn word(self) -> String {
        match self {
            TemplateStatus::Pending => "pending".into(),
            TemplateStatus::Approved => "approved".into(),
            TemplateStatus::Rejected => "rejected".into(),
            TemplateStatus::Disabled => "disabled".into(),
            TemplateStatus::Other(n) => format!("status {n}"),
        }
    }
}

/// One template of the account.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub language_id: Option<i64>,
    pub status: TemplateStatus,
    pub body: String,
    /// The header text (`None` for media headers and templates without one).
    pub header: Option<String>,
    /// How many `{{n}}` the body needs (`body_variables[]`).
    pub body_params: usize,
    /// How many `{{n}}` the header needs (`header_variables[]`).
    pub header_params: usize,
}

impl Template {
    /// Reads one item of `data.templates.data`. `None` when it has no id.
    pub fn from_value(v: &Value) -> Option<Template> {
        let id = integer(v.get("id")?)?;
        let text = |key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let body = text("body").unwrap_or_default();
        // The server keeps a text header as `{"text": "…", "example": …}`.
        let header = text("header")
            .or_else(|| Some(v.get("header")?.get("text")?.as_str()?.to_owned()))
            .filter(|h| !h.trim().is_empty());
        let status = v
            .get("status")
            .and_then(integer)
            .map_or(TemplateStatus::Other(-1), TemplateStatus::from_code);
        Some(Template {
            id,
            name: text("name").unwrap_or_default(),
            language_id: v.get("language_id").and_then(integer),
            status,
            body_params: placeholders(&body),
            header_params: header.as_deref().map_or(0, placeholders),
            body,
            header,
        })
    }

    pub fn is_approved(&self) -> bool {
        self.status == TemplateStatus::Approved
    }
}

/// Numbers arrive as JSON numbers or as digit strings (PHP).
fn integer(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// How many parameters a template text needs: the highest `{{n}}` in it
/// (WhatsApp numbers them 1, 2, 3, … without gaps).
pub fn placeholders(text: &str) -> usize {
    let mut highest = 0;
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        rest = &rest[open + 2..];
        let Some(close) = rest.find("}}") else { break };
        if let Ok(n) = rest[..close].trim().parse::<usize>() {
            highest = highest.max(n);
        }
        rest = &rest[close + 2..];
    }
    highest
}

/// One page of a Laravel paginator: `data.<key>` of a list answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Value>,
    pub current_page: u64,
    pub last_page: u64,
    pub total: Option<u64>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default)]
    current_page: Option<Value>,
    #[serde(default)]
    last_page: Option<Value>,
    #[serde(default)]
    total: Option<Value>,
    data: Vec<Value>,
}

impl Page {
    /// Reads `data.<key>` of a list answer. A bare array is taken as a
    /// single page (a server that does not paginate).
    pub fn parse(data: Option<&Value>, key: &str) -> Result<Page, String> {
        let list = data
            .and_then(|d| d.get(key))
            .ok_or_else(|| format!("the answer has no data.{key}"))?;
        if let Value::Array(items) = list {
            return Ok(Page {
                items: items.clone(),
                current_page: 1,
                last_page: 1,
                total: Some(items.len() as u64),
            });
        }
        let raw: RawPage = serde_json::from_value(list.clone())
            .map_err(|e| format!("data.{key} is not a page of a list: {e}"))?;
        let num = |v: Option<Value>| v.as_ref().and_then(integer).map(|n| n.max(0) as u64);
        let current_page = num(raw.current_page).unwrap_or(1).max(1);
        Ok(Page {
            items: raw.data,
            current_page,
            last_page: num(raw.last_page).unwrap_or(current_page).max(1),
            total: num(raw.total),
        })
    }

    /// Whether another page follows this one.
    pub fn has_next(&self) -> bool {
        self.current_page < self.last_page && !self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_placeholders() {
        assert_eq!(placeholders("Hello"), 0);
        assert_eq!(placeholders("Hi {{1}}"), 1);
        assert_eq!(placeholders("Hi {{1}}, order {{2}} ships {{1}}"), 2);
        assert_eq!(placeholders("{{ 3 }} {{name}} {{"), 3);
        assert_eq!(placeholders("}}{{"), 0);
    }

    #[test]
    fn reads_a_template_of_the_real_list() {
        let v = json!({"id": 7, "name": "order", "language_id": 1, "category_id": 2,
            "body": "Hi {{1}}, order {{2}}", "header": "For {{1}}", "header_format": "TEXT",
            "footer": null, "buttons": null, "status": 1, "whatsapp_template_id": "99"});
        let t = Template::from_value(&v).unwrap();
        assert_eq!((t.id, t.body_params, t.header_params), (7, 2, 1));
        assert!(t.is_approved());
        let object_header = Template::from_value(&json!({"id": 7, "status": 1, "body": "{{1}}",
            "header": {"text": "Order {{1}}", "example": {"header_text": ["#1042"]}}}))
        .unwrap();
        assert_eq!(
            (object_header.body_params, object_header.header_params),
            (1, 1)
        );
        let pending = Template::from_value(&json!({"id": "8", "status": "0"})).unwrap();
        assert_eq!(pending.status, TemplateStatus::Pending);
        assert_eq!(
            Template::from_value(&json!({"id": 9, "status": 3}))
                .unwrap()
                .status
                .word(),
            "disabled"
        );
        assert!(Template::from_value(&json!({"name": "no id"})).is_none());
    }

    #[test]
    fn reads_the_paginator() {
        let data = json!({"templates": {"current_page": 2, "data": [{"id": 1}], "last_page": 3,
            "per_page": 20, "total": 41, "next_page_url": "https://x/?page=3"}});
        let p = Page::parse(Some(&data), "templates").unwrap();
        assert_eq!((p.current_page, p.last_page, p.total), (2, 3, Some(41)));
        assert!(p.has_next());
        let bare = Page::parse(Some(&json!({"templates": [{"id": 1}]})), "templates").unwrap();
        assert!(!bare.has_next());
        assert!(Page::parse(Some(&json!({"other": 1})), "templates").is_err());
        assert!(Page::parse(Some(&json!({"templates": {"x": 1}})), "templates").is_err());
        assert!(Page::parse(None, "templates").is_err());
    }
}
