//! Checking `template_id`s against the account's template list. The shape of
//! the list's `data` is undocumented, so the extractor is tolerant: it looks for
//! an array of objects with an `id` under `data`, `data.templates`,
//! `data.data`, … and reads `status` / `approved` from each.

use std::collections::HashMap;

use serde_json::Value;

use crate::wutt;

/// What the API said about the account's templates.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateCheck {
    /// Template id → approved?
    Known(HashMap<i64, bool>),
    /// The API could not be asked or its answer was not understood.
    Unavailable(String),
}

impl TemplateCheck {
    /// `None` when the list is unknown; else why `id` cannot be sent, if it cannot.
    pub fn refusal(&self, id: i64) -> Option<Option<String>> {
        match self {
            TemplateCheck::Unavailable(_) => None,
            TemplateCheck::Known(map) => Some(match map.get(&id) {
                Some(true) => None,
                Some(false) => Some(format!("template {id} is not approved")),
                None => Some(format!(
                    "template {id} is not in the account's template list"
                )),
            }),
        }
    }
}

/// Asks the API for the template list.
pub async fn fetch(client: &wutt::Client) -> TemplateCheck {
    match client.template_list().await {
        Err(e) => TemplateCheck::Unavailable(format!("template list: {e}")),
        Ok(env) if !env.is_success() => TemplateCheck::Unavailable(format!(
            "template list answered {:?}: {}",
            env.status,
            env.message.join("; ")
        )),
        Ok(env) => match env.data.as_ref().and_then(extract) {
            Some(map) => TemplateCheck::Known(map),
            None => TemplateCheck::Unavailable(
                "the template list answer did not hold a list of templates".into(),
            ),
        },
    }
}

/// Finds the templates in `data`: id → approved.
pub fn extract(data: &Value) -> Option<HashMap<i64, bool>> {
    find_array(data, 0).map(|items| {
        items
            .iter()
            .filter_map(|t| Some((id_of(t)?, approved(t))))
            .collect()
    })
}

fn find_array(v: &Value, depth: u32) -> Option<&Vec<Value>> {
    if depth > 4 {
        return None;
    }
    match v {
        Value::Array(items) if items.iter().any(|t| id_of(t).is_some()) => Some(items),
        Value::Array(items) if items.is_empty() => Some(items),
        Value::Object(map) => {
            for key in ["templates", "data", "items", "list", "results", "records"] {
                if let Some(found) = map.get(key).and_then(|x| find_array(x, depth + 1)) {
                    return Some(found);
                }
            }
            map.values().find_map(|x| find_array(x, depth + 1))
        }
        _ => None,
    }
}

fn id_of(t: &Value) -> Option<i64> {
    let id = t.as_object()?.get("id").or_else(|| t.get("template_id"))?;
    id.as_i64()
        .or_else(|| id.as_str().and_then(|s| s.trim().parse().ok()))
}

fn approved(t: &Value) -> bool {
    let yes = |v: &Value| match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_i64() == Some(1),
        Value::String(s) => ["approved", "active", "true", "1"]
            .iter()
            .any(|ok| s.trim().eq_ignore_ascii_case(ok)),
        _ => false,
    };
    ["status", "approved", "is_approved", "state"]
        .iter()
        .filter_map(|k| t.get(k))
        .any(yes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_templates_in_any_plausible_shape() {
        let shapes = [
            json!([{"id": 1, "status": "APPROVED"}, {"id": 2, "status": "pending"}]),
            json!({"templates": [{"id": "1", "status": "approved"}, {"id": 2, "approved": false}]}),
            json!({"data": [{"id": 1, "approved": true}, {"id": 2, "status": "rejected"}], "total": 2}),
            json!({"current_page": 1, "data": {"data": [{"id": 1, "status": "Active"}, {"id": 2}]}}),
        ];
        for data in shapes {
            let map = extract(&data).unwrap_or_else(|| panic!("{data}"));
            assert_eq!(map.get(&1), Some(&true), "{data}");
            assert_eq!(map.get(&2), Some(&false), "{data}");
        }
        assert!(extract(&json!("nope")).is_none());
        assert!(extract(&json!({"count": 3})).is_none());
        assert_eq!(extract(&json!([])), Some(HashMap::new()));
    }

    #[test]
    fn refusal_says_why() {
        let check = TemplateCheck::Known(HashMap::from([(1, true), (2, false)]));
        assert_eq!(check.refusal(1), Some(None));
        assert!(check.refusal(2).unwrap().unwrap().contains("not approved"));
        assert!(check.refusal(3).unwrap().unwrap().contains("not in"));
        assert_eq!(TemplateCheck::Unavailable("x".into()).refusal(3), None);
    }
}
