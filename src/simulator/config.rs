//! The simulator's settings: credentials, IP allow-list, rate limit, the
//! fault profile ([`Faults`], which can also be replaced at run time) and
//! the two modes that depart from the public server (`fixed`,
//! `all_contacts`).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Secret;

/// Everything [`super::start`] needs. `Default` gives the demo account
/// (`demo-id` / `demo-secret`), no allow-list, no rate limit, no faults and
/// the public server's behaviour, defects included.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Expected `client-id` header.
    pub client_id: String,
    /// Expected `client-secret` header.
    pub client_secret: Secret,
    /// Callers allowed in; empty allows every caller.
    pub allow_ips: Vec<IpRange>,
    /// Requests per second per account (`None`: unlimited).
    pub rate_per_second: Option<f64>,
    /// Bucket size of the rate limit; 0 means one second's worth (at least 1).
    pub burst: u32,
    /// Fault profile of the send endpoints.
    pub faults: Faults,
    /// Seed of the fault generator; `None` picks one (logged, so a run can be replayed).
    pub seed: Option<u64>,
    /// Append every message that reached WhatsApp as one JSON line to this file.
    pub record: Option<PathBuf>,
    /// Answer as a corrected server would (texts reach numbers that are not
    /// contacts; a template send answers `template_sent`); `false` keeps the
    /// public version's defects.
    pub fixed: bool,
    /// Rehearsal convenience, NOT what the server does: every number counts
    /// as an existing contact whose customer just wrote.
    pub all_contacts: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            client_id: "demo-id".into(),
            client_secret: Secret::new("demo-secret"),
            allow_ips: Vec::new(),
            rate_per_second: None,
            burst: 0,
            faults: Faults::default(),
            seed: None,
            record: None,
            fixed: false,
            all_contacts: false,
        }
    }
}

/// Fault injection for `send-message` and `send-template-message`. Every
/// request draws once: at most one of error / throttle / timeout / drop /
/// malformed (their rates must add up to at most 1), plus latency and a slow
/// answer independently.
///
/// - `error_rate`: answer `error_status` with an HTML page (500 the app's
///   error page, 502 nginx's, 503 Laravel's "Service Unavailable") without
///   acting — the message is NOT recorded. A 504 (the proxy's gateway
///   timeout) is ambiguous instead: the request is processed and recorded,
///   then nginx's page is the answer.
/// - `throttle_rate`: a proxy's 429 page with `Retry-After: 1` — NOT recorded.
/// - `timeout_rate`, `drop_rate`, `malformed_rate` are *ambiguous*: the request
///   is processed (a valid message IS recorded, as a real server would have
///   delivered it), then the answer is withheld, cut mid-body, or replaced by a
///   non-JSON 200. A client must treat these as "maybe sent".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    pub error_rate: f64,
    /// HTTP status of the error fault (500..=599, default 500).
    pub error_status: u16,
    pub throttle_rate: f64,
    /// Probability of an extra `slow_ms` delay.
    pub slow_rate: f64,
    pub slow_ms: u64,
    pub timeout_rate: f64,
    pub drop_rate: f64,
    pub malformed_rate: f64,
    /// What a malformed answer looks like.
    pub malformed_body: MalformedBody,
    /// Latency added to every answer, uniform in `min..=max` milliseconds.
    pub latency_ms: LatencyRange,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            error_rate: 0.0,
            error_status: 500,
            throttle_rate: 0.0,
            slow_rate: 0.0,
            slow_ms: 3000,
            timeout_rate: 0.0,
            drop_rate: 0.0,
            malformed_rate: 0.0,
            malformed_body: MalformedBody::Html,
            latency_ms: LatencyRange::default(),
        }
    }
}

/// The longest delay the simulator agrees to add (10 minutes).
pub const MAX_DELAY_MS: u64 = 600_000;

impl Faults {
    /// Checks ranges; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let rates = [
            ("error_rate", self.error_rate),
            ("throttle_rate", self.throttle_rate),
            ("slow_rate", self.slow_rate),
            ("timeout_rate", self.timeout_rate),
            ("drop_rate", self.drop_rate),
            ("malformed_rate", self.malformed_rate),
        ];
        for (name, rate) in rates {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1"));
            }
        }
        let exclusive = self.error_rate
            + self.throttle_rate
            + self.timeout_rate
            + self.drop_rate
            + self.malformed_rate;
        if exclusive > 1.0 + 1e-9 {
            return Err(
                "error_rate + throttle_rate + timeout_rate + drop_rate + malformed_rate must not exceed 1"
                    .into(),
            );
        }
        if !(500..=599).contains(&self.error_status) {
            return Err("error_status must be between 500 and 599".into());
        }
        if self.slow_ms > MAX_DELAY_MS {
            return Err(format!("slow_ms must be at most {MAX_DELAY_MS}"));
        }
        let LatencyRange { min, max } = self.latency_ms;
        if min > max || max > MAX_DELAY_MS {
            return Err(format!(
                "latency_ms needs min <= max <= {MAX_DELAY_MS} (got {min}..{max})"
            ));
        }
        Ok(())
    }
}

/// The body of a malformed answer (always HTTP 200).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MalformedBody {
    /// An HTML error page from a "proxy".
    Html,
    /// An empty body.
    Empty,
    /// The start of a JSON envelope, cut off.
    TruncatedJson,
    /// One of the above, drawn from the seeded generator.
    Mixed,
}

/// Uniform latency in milliseconds; parses from `MIN` or `MIN-MAX`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyRange {
    pub min: u64,
    pub max: u64,
}

impl FromStr for LatencyRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let num = |t: &str| {
            t.trim()
                .parse::<u64>()
                .map_err(|_| format!("{t:?} is not a whole number of milliseconds"))
        };
        let range = match s.split_once('-') {
            Some((a, b)) => LatencyRange {
                min: num(a)?,
                max: num(b)?,
            },
            None => {
                let v = num(s)?;
                LatencyRange { min: v, max: v }
            }
        };
        if range.min > range.max || range.max > MAX_DELAY_MS {
            return Err(format!("latency needs MIN <= MAX <= {MAX_DELAY_MS}"));
        }
        Ok(range)
    }
}

/// One address or a CIDR block of the allow-list (`127.0.0.1`, `10.0.0.0/8`, `::1`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl From<IpAddr> for IpRange {
    fn from(addr: IpAddr) -> Self {
        let addr = addr.to_canonical();
        let prefix = if addr.is_ipv4() { 32 } else { 128 };
        IpRange { addr, prefix }
    }
}

impl FromStr for IpRange {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not an IP address or CIDR block");
        let (ip, prefix) = match s.trim().split_once('/') {
            Some((ip, p)) => (ip, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = ip.parse().map_err(|_| bad())?;
        let mut range = IpRange::from(addr);
        if let Some(p) = prefix {
            if p > range.prefix {
                return Err(bad());
            }
            range.prefix = p;
        }
        Ok(range)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl fmt::Debug for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_ranges() {
        let r: IpRange = "10.0.0.0/8".parse().unwrap();
        assert!(r.contains("10.1.2.3".parse().unwrap()));
        assert!(!r.contains("11.0.0.1".parse().unwrap()));
        let one: IpRange = "127.0.0.1".parse().unwrap();
        assert!(one.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let all: IpRange = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        assert!(
            "::1"
                .parse::<IpRange>()
                .unwrap()
                .contains("::1".parse().unwrap())
        );
        assert!("10.0.0.0/33".parse::<IpRange>().is_err());
        assert!("nope".parse::<IpRange>().is_err());
    }

    #[test]
    fn latency_and_fault_checks() {
        assert_eq!(
            "5-20".parse::<LatencyRange>().unwrap(),
            LatencyRange { min: 5, max: 20 }
        );
        assert_eq!("7".parse::<LatencyRange>().unwrap().max, 7);
        assert!("20-5".parse::<LatencyRange>().is_err());
        assert!(Faults::default().validate().is_ok());
        let too_much = Faults {
            error_rate: 0.6,
            drop_rate: 0.6,
            ..Faults::default()
        };
        assert!(too_much.validate().is_err());
        let parsed: Faults = serde_json::from_str(r#"{"error_rate":0.5}"#).unwrap();
        assert_eq!(parsed.error_rate, 0.5);
        assert!(serde_json::from_str::<Faults>(r#"{"eror_rate":0.5}"#).is_err());
    }
}
