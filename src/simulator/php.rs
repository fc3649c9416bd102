//! The small pieces of PHP and MySQL semantics the server's answers depend
//! on: `is_numeric`, `FILTER_VALIDATE_INT`, PHP 8's loose `==` and
//! truthiness, MySQL's cast of a string compared with a number, and `LIKE`
//! under a case-insensitive collation.

/// The length of the numeric prefix of `s` (PHP / MySQL grammar: sign,
/// digits with an optional fraction, optional exponent), 0 when none.
fn numeric_prefix(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i > int_start;
    if b.get(i) == Some(&b'.') {
        let frac_start = i + 1;
        let mut j = frac_start;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if digits || j > frac_start {
            digits = true;
            i = j;
        }
    }
    if !digits {
        return 0;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_start = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j > exp_start {
            i = j;
        }
    }
    i
}

/// PHP 8 `is_numeric` (surrounding whitespace allowed).
pub(crate) fn is_numeric(s: &str) -> bool {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    !t.is_empty() && numeric_prefix(t) == t.len()
}

/// The value of a PHP numeric string.
pub(crate) fn numeric_value(s: &str) -> Option<f64> {
    if !is_numeric(s) {
        return None;
    }
    s.trim_matches(|c: char| c.is_ascii_whitespace())
        .parse()
        .ok()
}

/// PHP `filter_var($s, FILTER_VALIDATE_INT)`: an optional sign, no leading
/// zeros, within 64 bits.
pub(crate) fn filter_int(s: &str) -> Option<i64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !ok {
        return None;
    }
    t.strip_prefix('+').unwrap_or(t).parse().ok()
}

/// PHP 8 `==` between two strings: numerically when both are numeric.
pub(crate) fn loose_eq(a: &str, b: &str) -> bool {
    match (numeric_value(a), numeric_value(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// PHP truthiness of a request value: absent, `""` and `"0"` are false.
pub(crate) fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|s| !s.is_empty() && s != "0")
}

/// MySQL's reading of a string compared with a number: its leading
/// number (after leading spaces), 0 when it has none (`'3abc'` is 3, `'abc'` is 0).
pub(crate) fn mysql_number(s: &str) -> f64 {
    let t = s.trim_start();
    let n = numeric_prefix(t);
    t[..n].parse().unwrap_or(0.0)
}

/// Whether the integer column `id` equals the request value `raw` in MySQL.
pub(crate) fn mysql_id_eq(id: i64, raw: &str) -> bool {
    mysql_number(raw) == id as f64
}

/// `haystack LIKE pattern` under a case-insensitive collation: `%` any
/// run, `_` one character, `\` escapes the next one.
pub(crate) fn like(haystack: &str, pattern: &str) -> bool {
    enum Tok {
        Lit(char),
        Any,
        One,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars().flat_map(char::to_lowercase);
    while let Some(c) = chars.next() {
        toks.push(match c {
            '%' => Tok::Any,
            '_' => Tok::One,
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            c => Tok::Lit(c),
        });
    }
    let text: Vec<char> = haystack.chars().flat_map(char::to_lowercase).collect();
    // reach[i]: the pattern so far can end just before text[i].
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for tok in &toks {
        let mut next = vec![false; text.len() + 1];
        match tok {
            Tok::Any => {
                let mut on = false;
                for i in 0..=text.len() {
                    on |= reach[i];
                    next[i] = on;
                }
            }
            Tok::One => next[1..].copy_from_slice(&reach[..text.len()]),
            Tok::Lit(c) => {
                for i in 0..text.len() {
                    next[i + 1] = reach[i] && text[i] == *c;
                }
            }
        }
        reach = next;
    }
    reach[text.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_php_reads_them() {
        for yes in ["0", "15", "-3", "+4", "2.5", ".5", "5.", "1e3", " 7 "] {
            assert!(is_numeric(yes), "{yes}");
        }
        for no in ["", "abc", "1a", "0x1A", "inf", "NaN", ".", "e5", "1e"] {
            assert!(!is_numeric(no), "{no}");
        }
        assert_eq!(numeric_value("1e2"), Some(100.0));
        assert_eq!(filter_int("12"), Some(12));
        assert_eq!(filter_int("-0"), Some(0));
        assert_eq!(filter_int("012"), None);
        assert_eq!(filter_int("1.0"), None);
        assert_eq!(filter_int("99999999999999999999"), None);
        assert!(loose_eq("+880", "880"));
        assert!(loose_eq("1.0", "1"));
        assert!(!loose_eq("abc", "0"));
        assert!(!truthy(Some("0")) && !truthy(None) && truthy(Some("00")));
        assert_eq!(mysql_number("3abc"), 3.0);
        assert_eq!(mysql_number("abc"), 0.0);
        assert!(mysql_id_eq(0, "abc") && mysql_id_eq(7, " 7.0"));
    }

    #[test]
    fn like_patterns() {
        assert!(like("Amina", "%MIN%"));
        assert!(like("1988123456", "%8812%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_d"));
        assert!(like("a%c", "a\\%c"));
        assert!(!like("abc", "a\\%c"));
        assert!(like("", "%"));
        assert!(!like("", "_"));
        assert!(like("anything", "%%"));
    }
}
