//! Template variables as the server handles them: repeated
//! `body_variables[]` / `header_variables[]` fields become the template's
//! parameters in order (`parseTemplateParams`); a value holding `{{…}}` is
//! replaced as a whole (`setCodeValue`); and WhatsApp refuses a count that
//! does not match the template (132000) or an empty or badly spaced value
//! (132018).

use super::data::Template;
use super::params::{Input, Params};

/// The variables of one send, as the client sent them (trimmed by Laravel,
/// a null one read as "").
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Variables {
    pub body: Vec<String>,
    pub header: Vec<String>,
}

fn list(params: &Params, name: &str) -> Result<Vec<String>, String> {
    match params.get(name) {
        None | Some(Input::One(None)) => Ok(Vec::new()),
        // foreach over a string: PHP's warning, made an exception by Laravel.
        Some(Input::One(Some(_))) => {
            Err("foreach() argument must be of type array|object, string given".into())
        }
        Some(Input::List(items)) => Ok(items
            .iter()
            .map(|v| v.clone().unwrap_or_default())
            .collect()),
    }
}

/// Reads both lists (the body's first, as the server loops).
pub(crate) fn read(params: &Params) -> Result<Variables, String> {
    let body = list(params, "body_variables")?;
    let header = list(params, "header_variables")?;
    Ok(Variables { body, header })
}

/// `preg_match('/\{\{.*\}\}/', $text)`: `{{` then `}}` on one line.
fn has_code(text: &str) -> bool {
    text.split('\n').any(|line| {
        line.find("{{")
            .is_some_and(|open| line[open + 2..].contains("}}"))
    })
}

/// The contact a template goes to, as `setCodeValue` reads it.
pub(crate) struct Addressee<'a> {
    /// `fullName`.
    pub name: &'a str,
    /// `mobileNumber`.
    pub mobile_number: &'a str,
}

fn replace(values: &[String], to: &Addressee<'_>) -> Result<Vec<String>, String> {
    values
        .iter()
        .map(|v| {
            if !has_code(v) {
                return Ok(v.clone());
            }
            match v.as_str() {
                "{{ contactName }}" => Ok(to.name.to_owned()),
                "{{ contactMobile }}" => Ok(to.mobile_number.to_owned()),
                // No logged-in user in an API call.
                "{{ userName }}" => Err("Attempt to read property \"fullName\" on null".to_owned()),
                "{{ userMobile }}" => {
                    Err("Attempt to read property \"mobileNumber\" on null".to_owned())
                }
                _ => Ok(" ".to_owned()),
            }
        })
        .collect()
}

/// The parameters WhatsApp gets (header, body), or the exception text of a
/// value that cannot be replaced (nothing is sent then).
pub(crate) fn resolve(
    vars: &Variables,
    to: &Addressee<'_>,
) -> Result<(Vec<String>, Vec<String>), String> {
    let header = replace(&vars.header, to)?;
    let body = replace(&vars.body, to)?;
    Ok((header, body))
}

/// Whether WhatsApp refuses a parameter text (132018): empty, or with a
/// new line, a tab or more than four spaces in a row.
fn badly_spaced(text: &str) -> bool {
    text.is_empty() || text.contains(['\n', '\t']) || text.contains("     ")
}

/// The code WhatsApp refuses these parameters with, if any.
pub(crate) fn whatsapp_check(
    template: &Template,
    header: &[String],
    body: &[String],
) -> Option<u32> {
    if header.len() != template.header_params() || body.len() != template.body_params() {
        return Some(132000);
    }
    header
        .iter()
        .chain(body)
        .any(|p| badly_spaced(p))
        .then_some(132018)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_and_replacing() {
        let p = Params::from_pairs([
            ("body_variables[]", "Amina"),
            ("body_variables[]", "{{ contactName }}"),
            ("body_variables[]", "Hi {{ contactName }}"),
            ("body_variables[]", "{{contactMobile}}"),
            ("header_variables[]", "{{ contactMobile }}"),
        ]);
        let vars = read(&p).unwrap();
        let to = Addressee {
            name: "+8801",
            mobile_number: "8801",
        };
        let (header, body) = resolve(&vars, &to).unwrap();
        assert_eq!(header, ["8801"]);
        assert_eq!(body, ["Amina", "+8801", " ", " "]);
        let user = Variables {
            body: vec!["{{ userName }}".into()],
            header: vec![],
        };
        assert_eq!(
            resolve(&user, &to).unwrap_err(),
            "Attempt to read property \"fullName\" on null"
        );
        let scalar = Params::from_pairs([("body_variables", "x")]);
        assert!(read(&scalar).unwrap_err().starts_with("foreach()"));
        assert!(!has_code("{{\n}}"));
        assert!(badly_spaced("a\tb") && badly_spaced("a     b") && badly_spaced(""));
        assert!(!badly_spaced(" ") && !badly_spaced("a    b"));
    }
}
