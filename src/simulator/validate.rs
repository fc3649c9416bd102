//! Laravel's validation rules as the endpoints use them, with the app's
//! English lines (`resources/lang/en/validation.php`): `The mobile field is
//! required.`, `The mobile format is invalid.`, … One line per failed rule,
//! in the order of the controller's rule list.

use super::form::Form;
use super::php::filter_int;
use super::state::MediaInfo;

/// Collected validation lines of one request.
#[derive(Debug, Default)]
pub(crate) struct Errors(pub Vec<String>);

/// `:attribute`: the field name with spaces for underscores.
pub(crate) fn label(name: &str) -> String {
    name.replace('_', " ")
}

/// Extensions Laravel's `image` rule takes.
const IMAGE_EXTS: &[&str] = &["jpg", "jpeg", "png", "gif", "bmp", "svg", "webp"];

/// The rules of a file field (`nullable` is implied).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileRule {
    /// `image`
    pub image: bool,
    /// `file`
    pub file: bool,
    /// `mimes:…`
    pub mimes: Option<&'static [&'static str]>,
    /// `max:…` in kilobytes.
    pub max_kb: Option<u64>,
}

/// The extension the type rules judge by (the client's file name: the
/// simulator does not sniff contents as PHP's `guessExtension` does).
fn extension(file: &MediaInfo) -> Option<String> {
    if file.size == 0 {
        return None;
    }
    file.file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
}

impl Errors {
    pub fn push(&mut self, msg: impl Into<String>) {
        self.0.push(msg.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `required`; returns whether it passed.
    pub fn required(&mut self, form: &Form, name: &str) -> bool {
        let ok = form.filled(name);
        if !ok {
            self.push(format!("The {} field is required.", label(name)));
        }
        ok
    }

    /// `regex:/^([0-9]*)$/` on a present value.
    pub fn digits(&mut self, form: &Form, name: &str) {
        let bad = match form.text(name) {
            Some(v) => !v.bytes().all(|b| b.is_ascii_digit()),
            None => form.params.is_list(name),
        };
        if bad {
            self.push(format!("The {} format is invalid.", label(name)));
        }
    }

    /// `string|max:N` on a present value.
    pub fn string_max(&mut self, form: &Form, name: &str, max: usize) {
        if form.params.is_list(name) && form.filled(name) {
            self.push(format!("The {} must be a string.", label(name)));
        } else if form.text(name).is_some_and(|v| v.chars().count() > max) {
            self.push(format!(
                "The {} must not be greater than {max} characters.",
                label(name)
            ));
        }
    }

    /// `nullable|int`.
    pub fn integer(&mut self, form: &Form, name: &str) {
        let bad = match form.text(name) {
            Some(v) => filter_int(v).is_none(),
            None => form.params.is_list(name) && form.filled(name),
        };
        if bad {
            self.push(format!("The {} must be an integer.", label(name)));
        }
    }

    /// The rules of a file field, when a value or file is there.
    pub fn file(&mut self, form: &Form, name: &str, rule: FileRule) {
        let l = label(name);
        let file = form.file(name);
        if file.is_none() && !form.params.filled(name) {
            return;
        }
        let ext = file.and_then(extension);
        let ext_in = |list: &[&str]| {
            ext.as_deref().is_some_and(|e| {
                list.contains(&e)
                    || (matches!(e, "jpg" | "jpeg")
                        && (list.contains(&"jpg") || list.contains(&"jpeg")))
            })
        };
        if rule.image && !ext_in(IMAGE_EXTS) {
            self.push(format!("The {l} must be an image."));
        }
        if rule.file && file.is_none() {
            self.push(format!("The {l} must be a file."));
        }
        if let Some(mimes) = rule.mimes
            && !ext_in(mimes)
        {
            self.push(format!(
                "The {l} must be a file of type: {}.",
                mimes.join(", ")
            ));
        }
        if let Some(max) = rule.max_kb {
            match file {
                Some(f) if f.size as f64 / 1024.0 > max as f64 => {
                    self.push(format!("The {l} must not be greater than {max} kilobytes."))
                }
                None if form
                    .text(name)
                    .is_some_and(|v| v.chars().count() as u64 > max) =>
                {
                    self.push(format!(
                        "The {l} must not be greater than {max} characters."
                    ))
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::params::Params;
    use super::*;

    fn form(pairs: &[(&str, &str)], files: Vec<MediaInfo>) -> Form {
        Form {
            params: Params::from_pairs(pairs.iter().copied()),
            files,
        }
    }

    fn upload(field: &str, name: &str, size: u64) -> MediaInfo {
        MediaInfo {
            field: field.into(),
            file_name: name.into(),
            content_type: None,
            size,
            sha256: String::new(),
        }
    }

    #[test]
    fn laravel_lines() {
        let f = form(
            &[("mobile", "+880"), ("cta_url_id", "1.5"), ("image", "text")],
            vec![upload("document", "a.gif", 200 * 1024 * 1024)],
        );
        let mut e = Errors::default();
        e.required(&f, "mobile_code");
        e.digits(&f, "mobile");
        e.integer(&f, "cta_url_id");
        let image = FileRule {
            image: true,
            file: false,
            mimes: Some(&["jpg", "jpeg", "png"]),
            max_kb: Some(5120),
        };
        e.file(&f, "image", image);
        let document = FileRule {
            image: false,
            file: true,
            mimes: Some(&["pdf", "doc", "docx"]),
            max_kb: Some(102_400),
        };
        e.file(&f, "document", document);
        e.file(&f, "video", document);
        assert_eq!(
            e.0,
            [
                "The mobile code field is required.",
                "The mobile format is invalid.",
                "The cta url id must be an integer.",
                "The image must be an image.",
                "The image must be a file of type: jpg, jpeg, png.",
                "The document must be a file of type: pdf, doc, docx.",
                "The document must not be greater than 102400 kilobytes.",
            ]
        );
        let mut ok = Errors::default();
        let fine = form(&[], vec![upload("image", "Me.JPEG", 10)]);
        ok.file(&fine, "image", image);
        assert!(ok.is_empty(), "{:?}", ok.0);
    }
}
