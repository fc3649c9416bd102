//! [`PhoneNumber`]: a phone number that is already normalised.
//!
//! Parsing is deliberately strict about *form* and pragmatic about *ranges*:
//!
//! - Accepted separators: spaces (also no-break), `-`, `.`, `/`, `(`, `)` and
//!   Unicode dashes. Unicode decimal digits (Arabic-Indic, Bengali, Devanagari,
//!   full-width…) count as digits. Anything else (letters, `*`, `#`, an
//!   extension) is an error, and so is a number a spreadsheet turned into
//!   scientific notation (`8.80199E+12`): its digits are lost.
//! - International form needs `+` or `00` in front. Digits without a prefix
//!   are refused rather than guessed: `4155552671` read as international would
//!   be a Swiss number, and a guess could message a stranger.
//! - `mobile_code` + `mobile`: the national form's trunk prefix (the `0` of
//!   `01988…`) is removed using the country's metadata; a `mobile` that repeats
//!   the country code (`8801988…`) is accepted when the rest is a valid number.
//!
//! Which numbers count as mobile (libphonenumber metadata, which lags new
//! ranges by a few months):
//! - valid and of type mobile, fixed-line-or-mobile, VoIP or personal → accepted;
//! - valid and of a type that cannot hold WhatsApp (fixed line, toll free,
//!   premium rate, shared cost, pager, UAN, voicemail…) → refused, naming the type;
//! - not matched by any known range but of a possible length for the country
//!   → accepted (a new range must not block a campaign; the API refuses it if
//!   it really does not exist, which costs one failed call, never a stranger);
//! - impossible length or unknown country code → refused.
//!
//! The metadata is compiled into the `phonenumber` crate and loaded lazily on
//! the first parse (a fraction of a second), once per process; [`classify`]
//! compiles each region's patterns once, on first use.

use std::fmt;

use phonenumber::{Type, metadata::DATABASE};

use self::classify::Length;

/// A canonical phone number: country calling code and national significant
/// number (E.164 split in two, no trunk prefix). Only constructed by parsing
/// or from canonical parts stored by this program, so holding one means the
/// number is normalised.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber {
    code: u16,
    national: String,
}

impl PhoneNumber {
    /// Rebuilds a number from the canonical parts this program stored.
    pub fn from_canonical(code: u16, national: impl Into<String>) -> Self {
        PhoneNumber {
            code,
            national: national.into(),
        }
    }

    /// Country calling code as sent in `mobile_code` (digits, no `+`).
    pub fn mobile_code(&self) -> String {
        self.code.to_string()
    }

    pub fn country_code(&self) -> u16 {
        self.code
    }

    /// National significant number as sent in `mobile`.
    pub fn mobile(&self) -> &str {
        &self.national
    }

    /// `+<code><national>`.
    pub fn e164(&self) -> String {
        format!("+{}{}", self.code, self.national)
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}{}", self.code, self.national)
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber(+{} {})", self.code, self.national)
    }
}

/// Why a string is not a usable mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PhoneError(pub String);

fn err<T>(reason: impl Into<String>) -> Result<T, PhoneError> {
    Err(PhoneError(reason.into()))
}

/// No real number has more digits than this (E.164 allows 15; some slack for
/// a repeated country code or trunk prefix). Longer input is refused before
/// libphonenumber sees it.
const MAX_DIGITS: usize = 20;

/// No international number (country code included) has fewer digits.
const MIN_DIGITS: usize = 7;

/// A number as written, reduced to its digits.
struct Digits {
    /// Written with `+` (or `(+…)`) in front.
    plus: bool,
    digits: String,
}

/// Keeps digits and drops separators; refuses everything else.
fn digits_of(raw: &str) -> Result<Digits, PhoneError> {
    let text = raw.trim();
    if text.is_empty() {
        return err("empty");
    }
    let mut plus = false;
    let mut digits = String::with_capacity(text.len());
    for c in text.chars() {
        if let Some(d) = unicode_digit(c) {
            digits.push(d);
        } else if c == '+' {
            if plus || !digits.is_empty() {
                return err("'+' may only appear once, at the start");
            }
            plus = true;
        } else if is_separator(c) {
            continue;
        } else if matches!(c, 'e' | 'E') && text.contains(['.', ',']) && text.contains('+') {
            return err(
                "a spreadsheet turned this number into scientific notation and lost its \
                 digits; format the column as text",
            );
        } else if c.is_alphabetic() {
            return err("contains letters");
        } else {
            return err(format!(
                "contains {c:?}, which is not part of a phone number"
            ));
        }
        if digits.len() > MAX_DIGITS {
            return err("too long");
        }
    }
    if digits.is_empty() {
        return err("no digits");
    }
    Ok(Digits { plus, digits })
}

fn is_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '-' | '.' | '/' | '(' | ')' | '\u{a0}' | '\u{2010}'..='\u{2015}' | '\u{2212}'
    )
}

/// ASCII value of a decimal digit from the scripts phone lists are written in.
fn unicode_digit(c: char) -> Option<char> {
    const ZEROS: [u32; 8] = [
        0x30, 0x660, 0x6F0, 0x966, 0x9E6, 0xE50, 0x1040, 0xFF10, // ASCII, Arabic-Indic,
    ]; // Extended Arabic-Indic, Devanagari, Bengali, Thai, Myanmar, full-width
    let n = c as u32;
    ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&n))
        .and_then(|&zero| char::from_digit(n - zero, 10))
}

impl PhoneNumber {
    /// Parses a number in international form (`+880 1988-123456`, `00880…`).
    pub fn parse_international(raw: &str) -> Result<PhoneNumber, PhoneError> {
        let Digits { plus, digits } = digits_of(raw)?;
        let international = if plus {
            digits.as_str()
        } else if let Some(rest) = digits.strip_prefix("00") {
            rest
        } else {
            return err("not in international form: write +<country code> <number>");
        };
        if international.starts_with('0') {
            return err("a country code never starts with 0");
        }
        if international.len() < MIN_DIGITS {
            return err("too short");
        }
        validate(international)
    }

    /// Parses a country calling code and a number in national form (a trunk
    /// prefix such as the leading `0` is removed).
    pub fn parse_parts(mobile_code: &str, mobile: &str) -> Result<PhoneNumber, PhoneError> {
        let code = digits_of(mobile_code).map_err(|e| PhoneError(format!("mobile_code: {e}")))?;
        let code = code.digits.strip_prefix("00").unwrap_or(&code.digits);
        let known = code.len() <= 3
            && code
                .parse::<u16>()
                .is_ok_and(|c| DATABASE.region(&c).is_some());
        if !known {
            return err(format!(
                "mobile_code {code:?} is not a country calling code"
            ));
        }
        let number = digits_of(mobile)?;
        if number.plus || number.digits.starts_with("00") {
            // Written in international form after all: it must agree with mobile_code.
            let parsed = PhoneNumber::parse_international(mobile)?;
            if parsed.mobile_code() != code {
                return err(format!(
                    "mobile is {parsed} but mobile_code is {code}; they disagree"
                ));
            }
            return Ok(parsed);
        }
        let first = validate(&format!("{code}{}", number.digits));
        match number.digits.strip_prefix(code) {
            Some(rest) if first.is_err() && rest.len() >= 4 => {
                validate(&format!("{code}{rest}")).or(first)
            }
            _ => first,
        }
    }
}

/// Checks `<country code><national number>` (digits only) against the metadata.
fn validate(international: &str) -> Result<PhoneNumber, PhoneError> {
    let (code, national) = match split_canonical(international) {
        Some((code, national)) => (code, national.to_string()),
        None => split_by_libphonenumber(international)?,
    };
    classified(code, national)
}

/// The split libphonenumber makes of `international` (ASCII digits, no
/// leading `0`, at least [`MIN_DIGITS`] of them), computed directly when the
/// number is already canonical: the country code is found as libphonenumber
/// finds it (the shortest known prefix) and none of the code's regions would
/// strip a national prefix from the rest. `None` when libphonenumber could do
/// anything else (strip a prefix, refuse the length, read an all-zero number),
/// so the caller asks it. Loading a file is mostly canonical `+<digits>`
/// numbers, and skipping the full parse for them takes loading 1M such rows
/// from 3.8 to 2.1 CPU-seconds.
fn split_canonical(international: &str) -> Option<(u16, &str)> {
    let (len, code, metas) = (1..=3).find_map(|len| {
        let code: u16 = international.get(..len)?.parse().ok()?;
        Some((len, code, DATABASE.by_code(&code)?))
    })?;
    let national = &international[len..];
    // libphonenumber's bounds are 2..=17 digits and a value below 2^56.
    if !(2..=16).contains(&national.len()) || national.bytes().all(|b| b == b'0') {
        return None;
    }
    let strips = |meta: &phonenumber::metadata::Metadata| {
        meta.national_prefix()
            .is_some_and(|p| national.starts_with(p))
            || meta
                .national_prefix_for_parsing()
                .and_then(|re| re.find(national))
                .is_some_and(|m| m.start() == 0)
    };
    (!metas.into_iter().any(strips)).then_some((code, national))
}

fn split_by_libphonenumber(international: &str) -> Result<(u16, String), PhoneError> {
    let parsed = phonenumber::parse(None, format!("+{international}")).map_err(|e| {
        PhoneError(match e {
            phonenumber::ParseError::InvalidCountryCode => "unknown country code".into(),
            phonenumber::ParseError::TooLong => "too long".into(),
            phonenumber::ParseError::NoNumber
            | phonenumber::ParseError::TooShortNsn
            | phonenumber::ParseError::TooShortAfterIdd => "too short".into(),
            other => format!("not a phone number ({other})"),
        })
    })?;
    Ok((parsed.code().value(), parsed.national().to_string()))
}

fn classified(code: u16, national: String) -> Result<PhoneNumber, PhoneError> {
    let refused = |what: &str| err(format!("{what} for country code {code}"));
    let Some(classified) = classify::classify(code, &national) else {
        return err("unknown country code");
    };
    match (classified.kind, classified.length) {
        (Type::Mobile | Type::FixedLineOrMobile | Type::Voip | Type::PersonalNumber, _) => {}
        (Type::Unknown, Length::Possible) => {}
        (Type::Unknown, Length::TooShort) => return refused("too short"),
        (Type::Unknown, Length::TooLong) => return refused("too long"),
        (Type::Unknown, Length::Invalid) => return refused("not a valid number"),
        (Type::FixedLine, _) => return refused("a fixed-line number, not a mobile"),
        (other, _) => return refused(&format!("a {} number, not a mobile", type_name(other))),
    }
    Ok(PhoneNumber { code, national })
}

fn type_name(kind: Type) -> &'static str {
    match kind {
        Type::TollFree => "toll-free",
        Type::PremiumRate => "premium-rate",
        Type::SharedCost => "shared-cost",
        Type::Pager => "pager",
        Type::Uan => "UAN (company)",
        Type::Emergency => "emergency",
        Type::Voicemail => "voicemail",
        Type::ShortCode => "short-code",
        _ => "special-service",
    }
}

mod classify;
#[cfg(test)]
mod tests;
