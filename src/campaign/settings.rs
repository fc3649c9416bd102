//! How a campaign is sent, as its manifest says once validated: the one
//! conversion from a [`Manifest`] to the settings a campaign is inserted with
//! (`queue::load::NewCampaign` carries them as they are). Values the database
//! would refuse — attempts out of range, a rate that is not positive, a send
//! window that is not `HH:MM`–`HH:MM` in an IANA timezone — are problems
//! here, each naming its key.

use chrono::{DateTime, NaiveTime, Utc};

use super::Problem;
use super::manifest::Manifest;

/// The most attempts a campaign may allow per recipient.
pub const MAX_ATTEMPTS: u32 = 100;

/// A campaign's sending settings, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CampaignSettings {
    pub template_id: Option<i64>,
    /// The text with `{{column}}` placeholders (`message`).
    pub message_template: Option<String>,
    pub from_number: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub cta_url_id: Option<i64>,
    pub interactive_list_id: Option<i64>,
    /// `None`: now.
    pub start_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Start, end and IANA timezone (checked to exist).
    pub send_window: Option<(NaiveTime, NaiveTime, String)>,
    pub rate_per_second: Option<f64>,
    /// 1 to [`MAX_ATTEMPTS`]; `None`: the default.
    pub max_attempts: Option<i32>,
    /// The manifest's `body_variables` as written (`{{column}}` texts; empty: none).
    pub body_variables: Vec<String>,
    /// The manifest's `header_variables` as written (empty: none).
    pub header_variables: Vec<String>,
    /// Make each recipient a Wutt contact before sending it a text.
    pub create_contacts: bool,
}

impl CampaignSettings {
    /// The settings `m` gives, or every problem with them (keys named, the
    /// manifest's file name left to the caller).
    pub fn from_manifest(m: &Manifest) -> Result<CampaignSettings, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut bad = |key: &str, value: String, reason: &str| {
            problems.push(Problem {
                manifest: None,
                line: None,
                column: Some(key.into()),
                value: Some(value),
                reason: reason.into(),
            })
        };
        if let Some(n) = m.max_attempts.filter(|n| !(1..=MAX_ATTEMPTS).contains(n)) {
            bad(
                "max_attempts",
                n.to_string(),
                &format!("must be between 1 and {MAX_ATTEMPTS}"),
            );
        }
        if let Some(r) = m.rate_per_second.filter(|r| !(r.is_finite() && *r > 0.0)) {
            bad(
                "rate_per_second",
                r.to_string(),
                "must be a positive number",
            );
        }
        let mut send_window = None;
        if let Some(w) = &m.send_window {
            let start = NaiveTime::parse_from_str(w.start.trim(), "%H:%M");
            let end = NaiveTime::parse_from_str(w.end.trim(), "%H:%M");
            let tz_ok = w.timezone.parse::<chrono_tz::Tz>().is_ok();
            if start.is_err() {
                bad("send_window.start", w.start.clone(), "not a time HH:MM");
            }
            if end.is_err() {
                bad("send_window.end", w.end.clone(), "not a time HH:MM");
            }
            if !tz_ok {
                bad(
                    "send_window.timezone",
                    w.timezone.clone(),
                    "not an IANA timezone",
                );
            }
            if let (Ok(s), Ok(e), true) = (start, end, tz_ok) {
                send_window = Some((s, e, w.timezone.clone()));
            }
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CampaignSettings {
            template_id: m.template_id,
            message_template: m.message.clone(),
            from_number: m.from_number.clone(),
            latitude: m.latitude,
            longitude: m.longitude,
            cta_url_id: m.cta_url_id,
            interactive_list_id: m.interactive_list_id,
            start_at: m.start_at,
            expires_at: m.expires_at,
            send_window,
            rate_per_second: m.rate_per_second,
            max_attempts: m.max_attempts.map(|n| n as i32),
            body_variables: m.body_variables.clone().unwrap_or_default(),
            header_variables: m.header_variables.clone().unwrap_or_default(),
            create_contacts: m.create_contacts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(text: &str) -> Result<CampaignSettings, Vec<Problem>> {
        CampaignSettings::from_manifest(&Manifest::parse(text).expect("parses"))
    }

    #[test]
    fn a_valid_manifest_converts_once() {
        let s = settings(
            "message = \"Hi {{firstname}}\"\nmax_attempts = 3\nrate_per_second = 2.5\n\
             [send_window]\nstart = \"09:00\"\nend = \"18:30\"\ntimezone = \"Asia/Dhaka\"\n",
        )
        .unwrap();
        assert_eq!(s.message_template.as_deref(), Some("Hi {{firstname}}"));
        assert_eq!(s.max_attempts, Some(3));
        assert_eq!(s.rate_per_second, Some(2.5));
        let (start, end, tz) = s.send_window.unwrap();
        assert_eq!(
            (start.to_string(), end.to_string()),
            ("09:00:00".into(), "18:30:00".into())
        );
        assert_eq!(tz, "Asia/Dhaka");
    }

    #[test]
    fn values_the_database_would_refuse_are_problems_naming_their_key() {
        use crate::campaign::manifest::SendWindow;
        let m = Manifest {
            message: Some("x".into()),
            max_attempts: Some(101),
            rate_per_second: Some(f64::NAN),
            send_window: Some(SendWindow {
                start: "9".into(),
                end: "18:00".into(),
                timezone: "Mars/Olympus".into(),
            }),
            ..Manifest::default()
        };
        let ps = CampaignSettings::from_manifest(&m).unwrap_err();
        let keys: Vec<_> = ps.iter().filter_map(|p| p.column.as_deref()).collect();
        assert_eq!(
            keys,
            [
                "max_attempts",
                "rate_per_second",
                "send_window.start",
                "send_window.timezone"
            ]
        );
    }
}
