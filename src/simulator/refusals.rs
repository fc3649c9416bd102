//! WhatsApp's refusals, injected on request: rules that make WhatsApp
//! refuse a send with one of its error codes (or time out after taking it),
//! per endpoint, per number, at a rate, a limited number of times. The
//! texts come from the one table of WhatsApp's errors
//! ([`crate::wutt::whatsapp`]): `send-message` shows WhatsApp's
//! `error.message` (`(#130429) Rate limit hit`), `send-template-message` its
//! `error_data.details` sentence.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::wutt::whatsapp::{WhatsAppError, by_code};

/// What the server's HTTP client says when WhatsApp took the message but
/// its answer did not come back within 30 seconds.
pub(crate) const CURL_TIMEOUT: &str =
    "cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received";

/// Which send endpoint a rule applies to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleEndpoint {
    /// `send-message`.
    Text,
    /// `send-template-message`.
    Template,
    #[default]
    Any,
}

/// One refusal rule (`GET/PUT /__sim/whatsapp` holds a list of them; the
/// first that applies to a send decides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WhatsAppRule {
    /// WhatsApp's error code (one of `crate::wutt::whatsapp::ERRORS`).
    pub code: Option<u32>,
    /// Instead of a code: WhatsApp takes the message (it is recorded) and
    /// the server's call times out.
    pub timeout: bool,
    /// Probability that an applicable send is refused (seeded draw).
    pub rate: f64,
    /// `mobile_code` + `mobile` digits this rule is for; empty: every number.
    pub numbers: Vec<String>,
    /// Refuse each number at most this many times, then let it through.
    pub times: Option<u32>,
    pub endpoint: RuleEndpoint,
}

impl Default for WhatsAppRule {
    fn default() -> Self {
        WhatsAppRule {
            code: None,
            timeout: false,
            rate: 1.0,
            numbers: Vec::new(),
            times: None,
            endpoint: RuleEndpoint::Any,
        }
    }
}

impl WhatsAppRule {
    /// A rule refusing every send with `code`.
    pub fn code(code: u32) -> WhatsAppRule {
        WhatsAppRule {
            code: Some(code),
            ..WhatsAppRule::default()
        }
    }

    /// Checks the rule; the message names the problem.
    pub fn validate(&self) -> Result<(), String> {
        match (self.code, self.timeout) {
            (Some(_), true) => {
                return Err("a rule has either a code or timeout: true, not both".into());
            }
            (None, false) => return Err("a rule needs a code or timeout: true".into()),
            (Some(code), false) if by_code(code).is_none() => {
                return Err(format!("{code} is not in WhatsApp's error table"));
            }
            _ => {}
        }
        if !(0.0..=1.0).contains(&self.rate) {
            return Err("rate must be between 0 and 1".into());
        }
        Ok(())
    }
}

/// The endpoint a send comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Text,
    Template,
}

/// What WhatsApp does with one send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Pass,
    /// Refused with this code of WhatsApp's error table.
    Refuse(u32),
    Timeout,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The rules and what they have used up.
pub(crate) struct Refusals {
    rules: Vec<(WhatsAppRule, HashMap<String, u32>)>,
    rng: StdRng,
}

impl Refusals {
    pub fn new(seed: u64) -> Self {
        Refusals {
            rules: Vec::new(),
            // Its own stream: refusals never shift the transport faults' draws.
            rng: StdRng::seed_from_u64(seed ^ 0x5a17_c0de_0000_0131),
        }
    }

    pub fn rules(&self) -> Vec<WhatsAppRule> {
        self.rules.iter().map(|(r, _)| r.clone()).collect()
    }

    /// Replaces the rules (their counts start again).
    pub fn replace(&mut self, rules: Vec<WhatsAppRule>) -> Result<(), String> {
        for (i, rule) in rules.iter().enumerate() {
            rule.validate().map_err(|e| format!("rule {i}: {e}"))?;
        }
        self.rules = rules.into_iter().map(|r| (r, HashMap::new())).collect();
        Ok(())
    }

    /// WhatsApp's verdict on a send to `number` (code and mobile digits).
    pub fn decide(&mut self, endpoint: Endpoint, number: &str) -> Verdict {
        let number = digits(number);
        for (rule, used) in &mut self.rules {
            let endpoint_ok = match rule.endpoint {
                RuleEndpoint::Any => true,
                RuleEndpoint::Text => endpoint == Endpoint::Text,
                RuleEndpoint::Template => endpoint == Endpoint::Template,
            };
            let number_ok =
                rule.numbers.is_empty() || rule.numbers.iter().any(|n| digits(n) == number);
            let spent = used.get(&number).copied().unwrap_or(0);
            if !endpoint_ok || !number_ok || rule.times.is_some_and(|t| spent >= t) {
                continue;
            }
            let roll: f64 = self.rng.random();
            if roll >= rule.rate {
                continue;
            }
            *used.entry(number.clone()).or_default() += 1;
            if rule.timeout {
                return Verdict::Timeout;
            }
            if let Some(code) = rule.code {
                return Verdict::Refuse(code);
            }
        }
        Verdict::Pass
    }
}

/// The `exception` text of a refusal with `code` on `endpoint`.
pub(crate) fn exception_text(code: u32, endpoint: Endpoint, now: DateTime<Utc>) -> String {
    match by_code(code) {
        Some(err) => error_text(err, endpoint, now),
        // Not in the table (rules are checked against it): the bare code.
        None => format!("(#{code}) Unknown error"),
    }
}

/// The text form of 190 is Meta's own sentence, which has no `(#190)`.
fn error_text(err: &WhatsAppError, endpoint: Endpoint, now: DateTime<Utc>) -> String {
    match endpoint {
        Endpoint::Template => err.template_form().to_owned(),
        Endpoint::Text if err.code == 190 => {
            let at = |t: DateTime<Utc>| t.format("%A, %d-%b-%y %H:%M:%S UTC").to_string();
            format!(
                "{} on {}. The current time is {}.",
                err.template_form(),
                at(now - chrono::Duration::hours(1)),
                at(now)
            )
        }
        Endpoint::Text => err.text_form(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_per_number_and_times() {
        let mut r = Refusals::new(1);
        r.replace(vec![WhatsAppRule {
            code: Some(131056),
            numbers: vec!["+880 1711-000002".into()],
            times: Some(2),
            endpoint: RuleEndpoint::Template,
            ..WhatsAppRule::default()
        }])
        .unwrap();
        let refused = |v: Verdict| v == Verdict::Refuse(131056);
        assert_eq!(r.decide(Endpoint::Text, "8801711000002"), Verdict::Pass);
        assert_eq!(r.decide(Endpoint::Template, "8801988123456"), Verdict::Pass);
        assert!(refused(r.decide(Endpoint::Template, "8801711000002")));
        assert!(refused(r.decide(Endpoint::Template, "8801711000002")));
        assert_eq!(r.decide(Endpoint::Template, "8801711000002"), Verdict::Pass);
    }

    #[test]
    fn rules_are_checked() {
        let mut r = Refusals::new(1);
        assert!(r.replace(vec![WhatsAppRule::default()]).is_err());
        assert!(r.replace(vec![WhatsAppRule::code(999_999)]).is_err());
        let both = WhatsAppRule {
            timeout: true,
            ..WhatsAppRule::code(130429)
        };
        assert!(r.replace(vec![both]).is_err());
        let parsed: WhatsAppRule = serde_json::from_str(r#"{"timeout": true}"#).unwrap();
        assert_eq!(parsed.rate, 1.0);
        r.replace(vec![parsed]).unwrap();
        assert_eq!(r.decide(Endpoint::Text, "1"), Verdict::Timeout);
        let never = WhatsAppRule {
            rate: 0.0,
            ..WhatsAppRule::code(130429)
        };
        r.replace(vec![never]).unwrap();
        assert!((0..50).all(|_| r.decide(Endpoint::Text, "1") == Verdict::Pass));
    }

    #[test]
    fn both_forms() {
        let now = Utc::now();
        assert_eq!(
            exception_text(130429, Endpoint::Text, now),
            "(#130429) Rate limit hit"
        );
        assert!(
            exception_text(130429, Endpoint::Template, now).starts_with("Message failed to send")
        );
        let token = exception_text(190, Endpoint::Text, now);
        assert!(token.starts_with("Error validating access token: Session has expired on "));
        assert!(!token.contains("(#190)"));
    }
}
