//! The envelope of a non-send answer as tables for a terminal: status,
//! remark and messages, then `data` — as rows when it holds a list of
//! objects (also nested, e.g. a paginator's `data`), as key/value pairs
//! otherwise. Long cells are cut so a table stays readable. Every table is
//! in the style of every command ([`crate::report::table`]).

use comfy_table::Table;
use serde_json::Value;

use crate::wutt::Envelope;
use crate::wutt::templates::Template;

/// The account's templates: id, name, status in words, language, and how many
/// body and header variables each needs.
pub fn templates_table(templates: &[Template]) -> Table {
    let mut t = new_table();
    t.set_header(vec![
        "id",
        "name",
        "status",
        "language",
        "body variables",
        "header variables",
    ]);
    for tpl in templates {
        t.add_row(vec![
            tpl.id.to_string(),
            tpl.name.clone(),
            tpl.status.word(),
            tpl.language_id.map(|l| l.to_string()).unwrap_or_default(),
            tpl.body_params.to_string(),
            tpl.header_params.to_string(),
        ]);
    }
    crate::report::table::align_right(&mut t, [4, 5]);
    t
}

/// The envelope as tables: status, remark and messages, then `data` — as rows
/// when it holds a list of objects, as key/value pairs otherwise.
pub fn render(env: &Envelope) -> String {
    let mut head = new_table();
    head.add_row(vec!["status", env.status.as_str()]);
    head.add_row(vec!["remark", env.remark.as_str()]);
    head.add_row(vec!["message", &env.message.join("\n")]);
    let mut text = head.to_string();
    let Some(data) = &env.data else {
        return text;
    };
    let body = match find_rows(data, 3) {
        Some(rows) => rows_table(rows),
        None => match data {
            Value::Object(map) if !map.is_empty() => {
                let mut t = new_table();
                t.set_header(vec!["field", "value"]);
                for (k, v) in map {
                    t.add_row(vec![k.clone(), cell(v)]);
                }
                Some(t)
            }
            Value::Object(_) | Value::Null => None,
            other => {
                let mut t = new_table();
                t.add_row(vec![cell(other)]);
                Some(t)
            }
        },
    };
    if let Some(t) = body {
        text.push('\n');
        text.push_str(&t.to_string());
    }
    text
}

fn new_table() -> Table {
    crate::report::table::new()
}

/// The first list of objects in `data` (itself, or nested a few levels down,
/// e.g. a paginator's `data`).
fn find_rows(v: &Value, depth: u8) -> Option<&Vec<Value>> {
    match v {
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            Some(items)
        }
        Value::Object(map) if depth > 0 => map.values().find_map(|v| find_rows(v, depth - 1)),
        _ => None,
    }
}

fn rows_table(rows: &[Value]) -> Option<Table> {
    let mut columns: Vec<&str> = Vec::new();
    for row in rows {
        for key in row.as_object()?.keys() {
            if !columns.contains(&key.as_str()) {
                columns.push(key);
            }
        }
    }
    let mut t = new_table();
    t.set_header(columns.clone());
    for row in rows {
        t.add_row(
            columns
                .iter()
                .map(|c| row.get(*c).map(cell).unwrap_or_default())
                .collect::<Vec<_>>(),
        );
    }
    Some(t)
}

/// One value as a cell: text as is, nested values as compact JSON (cut at 60 chars).
fn cell(v: &Value) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 {
        let cut: String = text.chars().take(59).collect();
        format!("{cut}…")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_in_data_become_rows() {
        let env: Envelope = serde_json::from_value(serde_json::json!({
            "status": "success", "remark": "contact_list", "message": ["Contact list fetched successfully"],
            "data": {"contacts": {"current_page": 1, "data": [
                {"id": 1, "firstname": "Jo", "mobile": "1988123456"},
                {"id": 2, "firstname": "Al", "tags": ["a", "b"]}
            ]}}
        }))
        .unwrap();
        let text = render(&env);
        for needle in [
            "contact_list",
            "firstname",
            "Jo",
            "Al",
            "tags",
            "[\"a\",\"b\"]",
        ] {
            assert!(text.contains(needle), "{needle} missing in\n{text}");
        }
        assert!(!text.contains("current_page"), "{text}");
    }

    #[test]
    fn plain_data_becomes_key_values() {
        let env: Envelope = serde_json::from_value(serde_json::json!({
            "status": "success", "remark": "message_sent", "message": ["Message sent successfully"],
            "data": {"message_id": "wamid.1", "long": "x".repeat(100)}
        }))
        .unwrap();
        let text = render(&env);
        assert!(
            text.contains("message_id") && text.contains("wamid.1"),
            "{text}"
        );
        assert!(
            text.contains('…') && !text.contains(&"x".repeat(61)),
            "{text}"
        );
        let bare = Envelope {
            status: "error".into(),
            remark: "Unauthorized".into(),
            message: vec!["Invalid client credentials".into()],
            data: None,
        };
        assert!(render(&bare).contains("Invalid client credentials"));
    }
}
