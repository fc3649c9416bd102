//! The load-time check of templates: whether each `template_id` is one the
//! account can send, and whether the manifest gives as many variables as the
//! template has placeholders. A thin layer over [`wutt::Client::templates`]
//! (every page of the list; the one parser of the list is
//! [`crate::wutt::templates`]).

use std::collections::HashMap;

use crate::wutt;
use crate::wutt::templates::Template;

/// What the API said about the account's templates.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateCheck {
    /// Every template of the account, by id.
    Known(HashMap<i64, Template>),
    /// The API could not be asked or its answer was not understood.
    Unavailable(String),
}

impl TemplateCheck {
    /// The check over a whole template list.
    pub fn known(list: impl IntoIterator<Item = Template>) -> TemplateCheck {
        TemplateCheck::Known(list.into_iter().map(|t| (t.id, t)).collect())
    }

    /// Whether the list was read.
    pub fn is_known(&self) -> bool {
        matches!(self, TemplateCheck::Known(_))
    }

    /// The template `id`, when the list was read and holds it.
    pub fn get(&self, id: i64) -> Option<&Template> {
        match self {
            TemplateCheck::Known(map) => map.get(&id),
            TemplateCheck::Unavailable(_) => None,
        }
    }

    /// `None` when the list is unknown; else why `id` cannot be sent, if it cannot.
    pub fn refusal(&self, id: i64) -> Option<Option<String>> {
        match self {
            TemplateCheck::Unavailable(_) => None,
            TemplateCheck::Known(map) => Some(match map.get(&id) {
                Some(t) if t.is_approved() => None,
                Some(t) => Some(format!(
                    "template {id} {:?} is not approved (its status is {}); only approved templates can be sent",
                    t.name,
                    t.status.word()
                )),
                None => Some(format!(
                    "template {id} is not in the account's template list"
                )),
            }),
        }
    }

    /// Where the variables given (`body`, `header`) do not match the
    /// placeholders of template `id`: the manifest key and why, quoting the
    /// template's text. Empty when they match, or when the template is unknown.
    pub fn variable_mismatches(
        &self,
        id: i64,
        body: usize,
        header: usize,
    ) -> Vec<(&'static str, String)> {
        let Some(t) = self.get(id) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        if t.body_params != body {
            found.push((
                "body_variables",
                format!(
                    "template {id} {:?} needs {}, the manifest gives {body} — its body is: {:?}",
                    t.name,
                    count(t.body_params, "body variable"),
                    t.body
                ),
            ));
        }
        if t.header_params != header {
            let text = match &t.header {
                Some(h) => format!("its header is: {h:?}"),
                None => "it has no text header".into(),
            };
            found.push((
                "header_variables",
                format!(
                    "template {id} {:?} needs {}, the manifest gives {header} — {text}",
                    t.name,
                    count(t.header_params, "header variable"),
                ),
            ));
        }
        found
    }
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Reads every page of the account's template list.
pub async fn fetch(client: &wutt::Client) -> TemplateCheck {
    match client.templates().await {
        Ok(list) => TemplateCheck::known(list),
        Err(e) => TemplateCheck::Unavailable(format!("template list: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wutt::templates::TemplateStatus;

    fn template(id: i64, status: TemplateStatus, body: &str, header: Option<&str>) -> Template {
        Template {
            id,
            name: format!("t{id}"),
            language_id: Some(1),
            status,
            body: body.into(),
            header: header.map(str::to_string),
            body_params: crate::wutt::templates::placeholders(body),
            header_params: header.map_or(0, crate::wutt::templates::placeholders),
        }
    }

    fn check() -> TemplateCheck {
        TemplateCheck::known([
            template(1, TemplateStatus::Approved, "Hi {{1}}, order {{2}}", None),
            template(2, TemplateStatus::Pending, "Draft", None),
            template(3, TemplateStatus::Approved, "Hello", Some("For {{1}}")),
        ])
    }

    #[test]
    fn refusal_says_why() {
        let check = check();
        assert_eq!(check.refusal(1), Some(None));
        let pending = check.refusal(2).unwrap().unwrap();
        assert!(
            pending.contains("not approved") && pending.contains("pending"),
            "{pending}"
        );
        assert!(check.refusal(9).unwrap().unwrap().contains("not in"));
        assert_eq!(TemplateCheck::Unavailable("x".into()).refusal(3), None);
    }

    #[test]
    fn variable_counts_must_match_the_placeholders() {
        let check = check();
        assert!(check.variable_mismatches(1, 2, 0).is_empty());
        let m = check.variable_mismatches(1, 1, 0);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].0, "body_variables");
        assert_eq!(
            m[0].1,
            "template 1 \"t1\" needs 2 body variables, the manifest gives 1 — its body is: \"Hi {{1}}, order {{2}}\""
        );
        let m = check.variable_mismatches(3, 0, 0);
        assert_eq!(m[0].0, "header_variables");
        assert!(
            m[0].1.contains(
                "needs 1 header variable, the manifest gives 0 — its header is: \"For {{1}}\""
            ),
            "{}",
            m[0].1
        );
        let m = check.variable_mismatches(2, 1, 1);
        assert_eq!(m.len(), 2);
        assert!(m[1].1.contains("it has no text header"), "{}", m[1].1);
        assert!(check.variable_mismatches(9, 5, 5).is_empty());
        assert!(
            TemplateCheck::Unavailable("x".into())
                .variable_mismatches(1, 0, 0)
                .is_empty()
        );
    }
}
