//! Request input as PHP and Laravel see it: `name` is a scalar (the last
//! one wins), `name[]` / `name[key]` build a list, every string is trimmed
//! and an empty one becomes null (Laravel's `TrimStrings` and
//! `ConvertEmptyStringsToNull`).

/// One input value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    /// A scalar; `None` is null (an empty string after trimming).
    One(Option<String>),
    /// `name[]=…&name[]=…`.
    List(Vec<Option<String>>),
}

/// The input of one request, in the order names first appeared.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Params(Vec<(String, Input)>);

/// Trimmed; empty becomes null.
pub(crate) fn clean(value: &str) -> Option<String> {
    let t = value.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// `name[]` or `name[key]` → `name`.
fn list_name(name: &str) -> Option<&str> {
    let open = name.find('[')?;
    (open > 0 && name.ends_with(']')).then(|| &name[..open])
}

impl Params {
    /// Reads `(name, value)` pairs in order.
    pub fn from_pairs<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut p = Params::default();
        for (name, value) in pairs {
            p.push(name.as_ref(), clean(value.as_ref()));
        }
        p
    }

    /// Adds one value the way PHP fills `$_POST`.
    pub fn push(&mut self, name: &str, value: Option<String>) {
        match list_name(name) {
            Some(base) => match self.slot(base) {
                Some(Input::List(items)) => items.push(value),
                Some(other) => *other = Input::List(vec![value]),
                None => self.0.push((base.to_owned(), Input::List(vec![value]))),
            },
            None => match self.slot(name) {
                Some(other) => *other = Input::One(value),
                None => self.0.push((name.to_owned(), Input::One(value))),
            },
        }
    }

    /// Sets a whole value (JSON bodies).
    pub fn set(&mut self, name: &str, input: Input) {
        match self.slot(name) {
            Some(slot) => *slot = input,
            None => self.0.push((name.to_owned(), input)),
        }
    }

    fn slot(&mut self, name: &str) -> Option<&mut Input> {
        self.0.iter_mut().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Laravel's `$request->all()`: the body's names win over the query's.
    pub fn merge_missing(&mut self, other: Params) {
        for (name, input) in other.0 {
            if self.get(&name).is_none() {
                self.0.push((name, input));
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Input> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A scalar's value (trimmed, never empty).
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name)? {
            Input::One(v) => v.as_deref(),
            Input::List(_) => None,
        }
    }

    /// Whether the name passes Laravel's `required`: a value that is not
    /// null, or a non-empty list.
    pub fn filled(&self, name: &str) -> bool {
        match self.get(name) {
            Some(Input::One(v)) => v.is_some(),
            Some(Input::List(items)) => !items.is_empty(),
            None => false,
        }
    }

    pub fn is_list(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Input::List(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_input_rules() {
        let p = Params::from_pairs([
            ("a", " 1 "),
            ("a", "2"),
            ("v[]", "x"),
            ("v[]", "  "),
            ("v[3]", "z"),
            ("e", "   "),
            ("s[]", "lost"),
            ("s", "kept"),
        ]);
        assert_eq!(p.text("a"), Some("2"));
        assert_eq!(
            p.get("v"),
            Some(&Input::List(vec![Some("x".into()), None, Some("z".into())]))
        );
        assert_eq!(p.text("e"), None);
        assert!(p.get("e").is_some() && !p.filled("e"));
        assert_eq!(p.text("s"), Some("kept"));
        let mut body = Params::from_pairs([("a", "body")]);
        body.merge_missing(Params::from_pairs([("a", "query"), ("b", "q")]));
        assert_eq!((body.text("a"), body.text("b")), (Some("body"), Some("q")));
    }
}
