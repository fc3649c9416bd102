//! The pre-send template check: before the first send of a campaign whose
//! template was not confirmed at load time, ask the template list whether the
//! template exists and is approved. The answer's shape is undocumented, so the
//! parse is tolerant: any object under `data` with an `id` and a `status`.

use serde_json::Value;

/// What the template list says about one template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateStatus {
    Approved,
    /// Listed with another status (pending, rejected, …).
    NotApproved(String),
    Missing,
}

fn id_matches(v: &Value, id: i64) -> bool {
    match v {
        Value::Number(n) => n.as_i64() == Some(id),
        Value::String(s) => s.trim().parse::<i64>().ok() == Some(id),
        _ => false,
    }
}

fn find(v: &Value, id: i64, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match v {
        Value::Object(map) => {
            if let (Some(vid), Some(status)) = (map.get("id"), map.get("status"))
                && id_matches(vid, id)
            {
                return Some(match status {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                });
            }
            map.values().find_map(|x| find(x, id, depth + 1))
        }
        Value::Array(items) => items.iter().find_map(|x| find(x, id, depth + 1)),
        _ => None,
    }
}

/// Looks template `id` up in the `data` of a template-list answer.
pub fn status_of(data: Option<&Value>, id: i64) -> TemplateStatus {
    match data.and_then(|d| find(d, id, 0)) {
        None => TemplateStatus::Missing,
        Some(s) if s.trim().eq_ignore_ascii_case("approved") => TemplateStatus::Approved,
        Some(s) => TemplateStatus::NotApproved(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_templates_in_any_shape() {
        let data = json!({"templates": [
            {"id": 1, "name": "welcome", "status": "approved"},
            {"id": "4", "status": "pending"}
        ]});
        assert_eq!(status_of(Some(&data), 1), TemplateStatus::Approved);
        assert_eq!(
            status_of(Some(&data), 4),
            TemplateStatus::NotApproved("pending".into())
        );
        assert_eq!(status_of(Some(&data), 9), TemplateStatus::Missing);
        let flat = json!([{"id": 7, "status": "APPROVED"}]);
        assert_eq!(status_of(Some(&flat), 7), TemplateStatus::Approved);
        assert_eq!(status_of(None, 7), TemplateStatus::Missing);
        assert_eq!(
            status_of(Some(&json!("nonsense")), 7),
            TemplateStatus::Missing
        );
    }
}
