//! [`PhoneNumber`]: a phone number that is already normalised.

use std::fmt;

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

impl PhoneNumber {
    /// Parses a number in international form (`+880 1988-123456`, `00880…`).
    pub fn parse_international(raw: &str) -> Result<PhoneNumber, PhoneError> {
        Err(PhoneError(format!("cannot parse {raw:?} yet")))
    }

    /// Parses a country calling code and a number in national form (a trunk
    /// prefix such as the leading `0` is removed).
    pub fn parse_parts(mobile_code: &str, mobile: &str) -> Result<PhoneNumber, PhoneError> {
        Err(PhoneError(format!(
            "cannot parse {mobile_code:?} {mobile:?} yet"
        )))
    }
}
