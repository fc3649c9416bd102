//! The state of each planned recipient at load time: `invalid` (the planner's
//! verdict, or a per-row template whose placeholders the manifest's variables
//! do not fill), `suppressed` (on the opt-out list), `duplicate` (same
//! canonical number as an earlier row of the campaign; its `error` names the
//! line of that row) or `queued`. Numbers are kept as compact `u64` keys (the
//! E.164 digits), so a million rows cost a few MB.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::Serialize;

use crate::campaign::Problem;
use crate::campaign::phone::PhoneNumber;
use crate::campaign::plan::{PlannedRecipient, Planner, Verdict};

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

/// [`phone_key`] of a parsed number, without formatting its country code.
pub fn number_key(p: &PhoneNumber) -> Option<u64> {
    let code = p.country_code();
    let code_digits = match code {
        0 => return None,
        1..=9 => 1,
        10..=99 => 2,
        100..=999 => 3,
        1000..=9999 => 4,
        _ => 5,
    };
    if code_digits + p.mobile().len() > 19 {
        return None;
    }
    p.mobile().bytes().try_fold(u64::from(code), |k, b| {
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

/// A key aligned to 4 bytes, so that a (key, row number) entry takes 12 bytes
/// instead of 16: the first-row map of a 1,000,000-row campaign is the
/// largest allocation of a load (about 27 MB instead of 36 MB, plus the
/// previous table while it grows).
#[derive(Clone, Copy)]
#[repr(C, packed(4))]
struct PackedKey(u64);

impl PartialEq for PackedKey {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0, other.0);
        a == b
    }
}

impl Eq for PackedKey {}

impl std::fmt::Debug for PackedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let k = self.0;
        write!(f, "{k}")
    }
}

impl std::hash::Hash for PackedKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let k = self.0;
        state.write_u64(k);
    }
}

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
        match number_key(p) {
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
    first_row: HashMap<PackedKey, u32, BuildHasherDefault<KeyHasher>>,
    first_row_other: HashMap<String, u32>,
    pub counts: StateCounts,
    /// Rows that load as `invalid` (not a reason to reject the file).
    pub row_problems: ProblemList,
    /// Rows that load as `duplicate`, each naming the line it repeats.
    pub duplicate_rows: ProblemList,
    /// The line of each row seen, to name the line a duplicate repeats.
    lines: LineIndex,
    /// Problems that reject the file (templates the account cannot send).
    pub file_problems: ProblemList,
    refused_templates: HashSet<i64>,
    /// The manifest's template (its variables are checked with the file).
    manifest_template: Option<i64>,
    /// Body and header variables each template row sends.
    variables: (usize, usize),
    /// Per-row template → why its placeholders do not match the variables.
    mismatches: HashMap<i64, Option<String>>,
}

impl Classifier {
    /// A classifier for the rows of `planner`'s file.
    pub fn new(suppressed: PhoneSet, templates: TemplateCheck, planner: &Planner) -> Classifier {
        Classifier {
            suppressed,
            templates,
            first_row: HashMap::default(),
            first_row_other: HashMap::new(),
            counts: StateCounts::default(),
            row_problems: ProblemList::default(),
            duplicate_rows: ProblemList::default(),
            lines: LineIndex::default(),
            file_problems: ProblemList::default(),
            refused_templates: HashSet::new(),
            manifest_template: planner.manifest_template(),
            variables: planner.variable_counts(),
            mismatches: HashMap::new(),
        }
    }

    pub fn classify(&mut self, p: &PlannedRecipient) -> Classified {
        self.lines.record(p.row_number, p.line_number);
        if let Some(t) = p.template_id {
            self.check_template(t, p.line_number);
        }
        let phone = match &p.verdict {
            Verdict::Invalid(reason) => return self.invalid(p, reason.clone()),
            Verdict::Ready(phone) => phone,
        };
        if let Some(reason) = p.template_id.and_then(|t| self.mismatch(t)) {
            return self.invalid(p, reason);
        }
        if self.suppressed.contains(phone) {
            self.counts.suppressed += 1;
            return classified("suppressed", None, Some("on the opt-out list".into()));
        }
        let first = match number_key(phone) {
            Some(k) => *self.first_row.entry(PackedKey(k)).or_insert(p.row_number),
            None => *self
                .first_row_other
                .entry(phone.e164())
                .or_insert(p.row_number),
        };
        if first != p.row_number {
            self.counts.duplicate += 1;
            let reason = match self.lines.line(first) {
                Some(line) => format!("same number as line {line}"),
                None => format!("same number as data row {first}"),
            };
            self.duplicate_rows.push(Problem {
                manifest: None,
                line: Some(p.line_number),
                column: None,
                value: Some(p.raw_phone.clone()).filter(|s| !s.is_empty()),
                reason: reason.clone(),
            });
            return classified("duplicate", Some(first), Some(reason));
        }
        self.counts.queued += 1;
        classified("queued", None, None)
    }

    fn invalid(&mut self, p: &PlannedRecipient, reason: String) -> Classified {
        self.counts.invalid += 1;
        self.row_problems.push(Problem {
            manifest: None,
            line: Some(p.line_number),
            column: None,
            value: Some(p.raw_phone.clone()).filter(|s| !s.is_empty()),
            reason: reason.clone(),
        });
        classified("invalid", None, Some(reason))
    }

    /// Why a row's own template does not take the manifest's variables (the
    /// manifest's template is checked once, with the file).
    fn mismatch(&mut self, id: i64) -> Option<String> {
        if Some(id) == self.manifest_template {
            return None;
        }
        let (body, header) = self.variables;
        let templates = &self.templates;
        self.mismatches
            .entry(id)
            .or_insert_with(|| {
                let found = templates.variable_mismatches(id, body, header);
                (!found.is_empty()).then(|| {
                    found
                        .iter()
                        .map(|(key, reason)| format!("{key}: {reason}"))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
            })
            .clone()
    }

    fn check_template(&mut self, id: i64, line: u64) {
        if self.refused_templates.contains(&id) {
            return;
        }
        if let Some(Some(reason)) = self.templates.refusal(id) {
            self.refused_templates.insert(id);
            self.file_problems.push(Problem {
                manifest: None,
                line: Some(line),
                column: Some("template_id".into()),
                value: Some(id.to_string()),
                reason,
            });
        }
    }
}

/// The physical line of each data row, kept as the rows where the distance
/// between row number and line changes (blank lines, fields with line
/// breaks): a few entries for a usual file, never more than one per row.
/// Rows must be recorded in order.
#[derive(Debug, Default)]
struct LineIndex {
    /// From this row on, line = row + offset.
    changes: Vec<(u32, u64)>,
}

impl LineIndex {
    fn record(&mut self, row: u32, line: u64) {
        let offset = line.saturating_sub(u64::from(row));
        if self.changes.last().map(|&(_, o)| o) != Some(offset) {
            self.changes.push((row, offset));
        }
    }

    fn line(&self, row: u32) -> Option<u64> {
        let i = self.changes.partition_point(|&(r, _)| r <= row);
        let (_, offset) = self.changes.get(i.checked_sub(1)?)?;
        Some(u64::from(row) + offset)
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
        for (code, national) in [(880, "1988123456"), (39, "0612345678"), (1, "2x")] {
            assert_eq!(
                number_key(&PhoneNumber::from_canonical(code, national)),
                phone_key(&code.to_string(), national)
            );
        }
    }

    #[test]
    fn a_row_whose_own_template_needs_other_variables_is_invalid() {
        use crate::campaign::csv::CsvRow;
        use crate::campaign::manifest::Manifest;
        use crate::wutt::templates::{Template, TemplateStatus};
        let t = |id: i64, body: &str| Template {
            id,
            name: format!("t{id}"),
            language_id: None,
            status: TemplateStatus::Approved,
            body: body.into(),
            header: None,
            body_params: crate::wutt::templates::placeholders(body),
            header_params: 0,
        };
        let manifest = Manifest {
            template_id: Some(1),
            body_variables: Some(vec!["{{name}}".into()]),
            ..Manifest::default()
        };
        let headers: Vec<String> = ["phone", "name", "template_id"].map(String::from).to_vec();
        let planner = Planner::new(&manifest, &headers).unwrap();
        let templates =
            TemplateCheck::known([t(1, "Hi {{1}}"), t(2, "Hi {{1}}, {{2}}"), t(3, "Hey {{1}}")]);
        let mut c = Classifier::new(PhoneSet::default(), templates, &planner);
        let mut states = Vec::new();
        for (i, id) in ["", "2", "3", "2", "9"].into_iter().enumerate() {
            let row = CsvRow {
                row_number: i as u32 + 1,
                line_number: i as u64 + 2,
                fields: vec![format!("+88017110000{i:02}"), "Ann".into(), id.into()],
            };
            let got = c.classify(&planner.plan(&row));
            states.push((got.state, got.error));
        }
        let mismatch = "body_variables: template 2 \"t2\" needs 2 body variables, the manifest gives 1 — its body is: \"Hi {{1}}, {{2}}\"";
        assert_eq!(
            states,
            [
                ("queued", None),
                ("invalid", Some(mismatch.to_string())),
                ("queued", None),
                ("invalid", Some(mismatch.to_string())),
                // Not in the list: the file is rejected instead.
                ("queued", None),
            ]
        );
        assert_eq!(c.counts.invalid, 2);
        assert_eq!(c.row_problems.total(), 2);
        assert_eq!(c.file_problems.total(), 1);
        assert!(c.file_problems.listed[0].reason.contains("template 9"));
    }

    #[test]
    fn the_line_index_follows_blank_lines_and_multi_line_fields() {
        let mut index = LineIndex::default();
        // Header on line 1; a blank line 4; row 4 spans lines 6 and 7.
        for (row, line) in [(1, 2), (2, 3), (3, 5), (4, 6), (5, 8), (6, 9)] {
            index.record(row, line);
        }
        assert_eq!(index.changes.len(), 3);
        let lines: Vec<_> = (1..=6).map(|r| index.line(r)).collect();
        assert_eq!(lines, [2, 3, 5, 6, 8, 9].map(Some));
        assert_eq!(index.line(0), None);
    }

    #[test]
    fn phone_set_finds_what_it_holds() {
        let mut set = PhoneSet::default();
        set.insert("880", "1988123456");
        assert!(set.contains(&PhoneNumber::from_canonical(880, "1988123456")));
        assert!(!set.contains(&PhoneNumber::from_canonical(880, "1988123457")));
    }
}
