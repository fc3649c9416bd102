//! Field rules shared by the handlers, with the exact message texts clients
//! match on (`The mobile field is required.`, …).

use crate::wutt::media::MediaKind;

use super::data::strip_trunk;
use super::form::Form;
use super::state::MediaInfo;

/// Longest text message accepted (WhatsApp's limit).
pub(crate) const MAX_MESSAGE_CHARS: usize = 4096;

pub(crate) const AT_LEAST_ONE: &str = "At least one of message, image, document, video, audio, latitude+longitude, cta_url_id, interactive_list_id is required.";

/// Collected validation messages of one request.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<String>);

fn label(name: &str) -> String {
    name.replace('_', " ")
}

impl Errors {
    pub fn push(&mut self, msg: impl Into<String>) {
        self.0.push(msg.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A required text field.
    pub fn required<'f>(&mut self, form: &'f Form, name: &str) -> Option<&'f str> {
        let v = form.text(name);
        if v.is_none() {
            self.push(format!("The {} field is required.", label(name)));
        }
        v
    }

    /// `mobile_code`: required, 1 to 4 digits.
    pub fn mobile_code<'f>(&mut self, form: &'f Form) -> Option<&'f str> {
        let code = self.required(form, "mobile_code")?;
        if (1..=4).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
            Some(code)
        } else {
            self.push("The mobile code must be 1 to 4 digits.");
            None
        }
    }

    /// An optional integer field.
    pub fn integer(&mut self, form: &Form, name: &str) -> Option<i64> {
        let raw = form.text(name)?;
        match raw.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.push(format!("The {} must be an integer.", label(name)));
                None
            }
        }
    }

    /// An optional number within `-limit..=limit`.
    pub fn coordinate(&mut self, form: &Form, name: &str, limit: f64) -> Option<f64> {
        let raw = form.text(name)?;
        match raw.parse::<f64>() {
            Ok(v) if v.is_finite() && (-limit..=limit).contains(&v) => Some(v),
            Ok(_) => {
                self.push(format!(
                    "The {} must be between -{limit} and {limit}.",
                    label(name)
                ));
                None
            }
            Err(_) => {
                self.push(format!("The {} must be a number.", label(name)));
                None
            }
        }
    }

    /// A media field: a file of an accepted type within the size limit.
    /// Returns the file when it is usable.
    pub fn media(&mut self, form: &Form, kind: MediaKind) -> Option<MediaInfo> {
        let name = kind.field();
        let Some(file) = form.file(name) else {
            if form.text(name).is_some() {
                self.push(format!("The {name} must be a file."));
            }
            return None;
        };
        let mut ok = true;
        // The vendor does not state audio formats; any file name is accepted.
        if kind != MediaKind::Audio && kind.mime_for(&file.file_name).is_none() {
            let types: Vec<&str> = kind.accepted().iter().map(|(ext, _)| *ext).collect();
            self.push(format!(
                "The {name} must be a file of type: {}.",
                types.join(", ")
            ));
            ok = false;
        }
        if file.size == 0 {
            self.push(format!("The {name} must not be empty."));
            ok = false;
        } else if file.size > kind.max_bytes() {
            self.push(format!(
                "The {name} may not be greater than {} MB.",
                kind.max_bytes() / 1_000_000
            ));
            ok = false;
        }
        ok.then(|| file.clone())
    }
}

/// The national number when `mobile` is valid: digits only, 4 to 14 of them
/// after one leading trunk `0` is removed.
pub(crate) fn valid_mobile(mobile: &str) -> Option<&str> {
    let national = strip_trunk(mobile);
    let ok = (4..=14).contains(&national.len()) && national.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(national)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_rules() {
        assert_eq!(valid_mobile("01711000001"), Some("1711000001"));
        assert_eq!(valid_mobile("1988"), Some("1988"));
        assert_eq!(valid_mobile("0198"), None);
        assert_eq!(valid_mobile("12345678901234"), Some("12345678901234"));
        assert_eq!(valid_mobile("123456789012345"), None);
        assert_eq!(valid_mobile("+8801711"), None);
        assert_eq!(valid_mobile("1711-00"), None);
    }

    #[test]
    fn field_messages() {
        let form = Form {
            fields: vec![
                ("mobile_code".into(), "+880".into()),
                ("template_id".into(), "x".into()),
                ("latitude".into(), "91".into()),
            ],
            files: vec![],
        };
        let mut e = Errors::default();
        assert!(e.mobile_code(&form).is_none());
        assert!(e.required(&form, "mobile").is_none());
        assert!(e.integer(&form, "template_id").is_none());
        assert!(e.coordinate(&form, "latitude", 90.0).is_none());
        assert_eq!(
            e.0,
            [
                "The mobile code must be 1 to 4 digits.",
                "The mobile field is required.",
                "The template id must be an integer.",
                "The latitude must be between -90 and 90.",
            ]
        );
    }
}
