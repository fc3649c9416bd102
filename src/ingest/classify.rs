//! The state of each planned recipient at load time: `invalid` (the planner's
//! verdict), `suppressed` (on the opt-out list), `duplicate` (same canonical
//! number as an earlier row of the campaign) or `queued`. Numbers are kept as
//! compact `u64` keys (the E.164 digits), so a million rows cost a few MB.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::campaign::Problem;
use crate::campaign::phone::PhoneNumber;
use crate::campaign::plan::{PlannedRecipient, Verdict};

use super::problems::ProblemList;
use super::templates::TemplateCheck;

/// The E.164 digits as a number (`+880 1988123456` → 8801988123456); country
/// codes are prefix-free, so distinct numbers get distinct keys.
pub fn phone_key(code: &str, national: &str) -> Option<u64> {
    if code.len() + national.len() > 19 || code.starts_with('0') {
        return None;
    }
    code.bytes().chain(national.bytes()).try_fold(0u64, |k, b| {
        b.is_ascii_digit().then(|| k * 10 + u64::from(b - b'0'))
    })
}

/// A multiply-shift hasher: the keys are already well spread numbers.
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29);
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// Numbers on the opt-out list.
#[derive(Debug, Default)]
pub struct PhoneSet {
    keys: KeyMap<()>,
    other: HashSet<String>,
}

impl PhoneSet {
    pub fn insert(&mut self, code: &str, national: &str) {
        match phone_key(code, national) {
            Some(k) => {
                self.keys.insert(k, ());
            }
            None => {
                self.other.insert(format!("{code} {national}"));
            }
        }
    }

    pub fn contains(&self, p: &PhoneNumber) -> bool {
        match phone_key(&p.mobile_code(), p.mobile()) {
            Some(k) => self.keys.contains_key(&k),
            None => self
                .other
                .contains(&format!("{} {}", p.mobile_code(), p.mobile())),
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Recipients per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub queued: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub suppressed: u64,
}

impl StateCounts {
    pub fn total(&self) -> u64 {
        self.queued + self.invalid + self.duplicate + self.suppressed
    }
}

/// The state of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub state: &'static str,
    pub duplicate_of: Option<u32>,
    pub error: Option<String>,
}

/// Decides states row by row, counting them and collecting problems.
#[derive(Debug)]
pub struct Classifier {
    suppressed: PhoneSet,
    templates: TemplateCheck,
    first_row: KeyMap<u32>,
    first_row_other: HashMap<String, u32>,
    pub counts: StateCounts,
    /// Rows that load as `invalid` (not a reason to reject the file).
    pub row_problems: ProblemList,
    /// Problems that reject the file (templates the account cannot send).
    pub file_problems: ProblemList,
    refused_templates: HashSet<i64>,
}

impl Classifier {
    pub fn new(suppressed: PhoneSet, templates: TemplateCheck) -> Classifier {
        Classifier {
            suppressed,
            templates,
            first_row: KeyMap::default(),
            first_row_other: HashMap::new(),
            counts: StateCounts::default(),
            row_problems: ProblemList::default(),
            file_problems: ProblemList::default(),
            refused_templates: HashSet::new(),
        }
    }

    pub fn classify(&mut self, p: &PlannedRecipient) -> Classified {
        if let Some(t) = p.template_id {
            self.check_template(t, p.line_number);
        }
        let phone = match &p.verdict {
            Verdict::Invalid(reason) => {
                self.counts.invalid += 1;
                self.row_problems.push(Problem {
                    line: Some(p.line_number),
                    column: None,
                    value: Some(p.raw_phone.clone()).filter(|s| !s.is_empty()),
                    reason: reason.clone(),
                });
                return classified("invalid", None, Some(reason.clone()));
            }
            Verdict::Ready(phone) => phone,
        };
        if self.suppressed.contains(phone) {
            self.counts.suppressed += 1;
            return classified("suppressed", None, Some("on the opt-out list".into()));
        }
        let first = match phone_key(&phone.mobile_code(), phone.mobile()) {
            Some(k) => *self.first_row.entry(k).or_insert(p.row_number),
            None => *self
                .first_row_other
                .entry(phone.e164())
                .or_insert(p.row_number),
        };
        if first != p.row_number {
            self.counts.duplicate += 1;
            return classified("duplicate", Some(first), None);
        }
        self.counts.queued += 1;
        classified("queued", None, None)
    }

    fn check_template(&mut self, id: i64, line: u64) {
        if self.refused_templates.contains(&id) {
            return;
        }
        if let Some(Some(reason)) = self.templates.refusal(id) {
            self.refused_templates.insert(id);
            self.file_problems.push(Problem {
                line: Some(line),
                column: Some("template_id".into()),
                value: Some(id.to_string()),
                reason,
            });
        }
    }
}

fn classified(state: &'static str, duplicate_of: Option<u32>, error: Option<String>) -> Classified {
    Classified {
        state,
        duplicate_of,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_e164_digits() {
        assert_eq!(phone_key("880", "1988123456"), Some(8_801_988_123_456));
        assert_eq!(phone_key("39", "0612345678"), Some(390_612_345_678));
        assert_eq!(phone_key("1", "2x"), None);
        assert_eq!(phone_key("1", "12345678901234567890"), None);
    }

    #[test]
    fn phone_set_finds_what_it_holds() {
        let mut set = PhoneSet::default();
        set.insert("880", "1988123456");
        assert!(set.contains(&PhoneNumber::from_canonical(880, "1988123456")));
        assert!(!set.contains(&PhoneNumber::from_canonical(880, "1988123457")));
    }
}
