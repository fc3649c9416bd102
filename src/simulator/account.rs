//! The account's switches: its plan (and so the middleware's
//! `subscription_required` / `not_available` answers), the WhatsApp
//! connection, interactive messages, the contact quota, and the
//! simulator's own modes (`fixed`, `all_contacts`, `enforce_24h_window`).

use serde::{Deserialize, Deserializer, Serialize};

/// The account owner's plan, as the middleware sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// A current plan with API access.
    Active,
    /// No plan: `subscription_required`.
    None,
    /// The plan has expired: `subscription_required`.
    Expired,
    /// A plan without API access: `not_available`.
    NoApi,
}

/// The account as `GET /__sim/account` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimAccount {
    pub plan: Plan,
    /// A default WhatsApp number is connected (else both sends refuse).
    pub whatsapp_connected: bool,
    /// The plan includes interactive (CTA URL, list) messages.
    pub interactive: bool,
    /// Answer as a corrected server would: a text to a number that is not a
    /// contact is sent, and a template send answers `template_sent`.
    /// `false` (the default) keeps the public version's defects.
    pub fixed: bool,
    /// Rehearsal convenience, NOT what the server does: every number is
    /// taken as an existing contact (created on first use) whose customer
    /// wrote just now.
    pub all_contacts: bool,
    /// Free-form messages to a contact whose customer has not written in
    /// the last 24 hours are refused with WhatsApp's 131047.
    pub enforce_24h_window: bool,
    /// Contacts the plan still allows (`None`: unlimited; the server's -1
    /// means unlimited too).
    pub contact_limit: Option<i64>,
}

impl Default for SimAccount {
    fn default() -> Self {
        SimAccount {
            plan: Plan::Active,
            whatsapp_connected: true,
            interactive: true,
            fixed: false,
            all_contacts: false,
            enforce_24h_window: false,
            contact_limit: None,
        }
    }
}

/// A change of the account (`PUT /__sim/account`): the keys given replace
/// the current ones; `"contact_limit": null` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountSetting {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Plan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whatsapp_connected: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub all_contacts: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_24h_window: Option<bool>,
    /// `Some(None)`: unlimited; `None`: unchanged.
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub contact_limit: Option<Option<i64>>,
}

/// A key that is present, even as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl SimAccount {
    pub fn apply(&mut self, s: AccountSetting) {
        let AccountSetting {
            plan,
            whatsapp_connected,
            interactive,
            fixed,
            all_contacts,
            enforce_24h_window,
            contact_limit,
        } = s;
        self.plan = plan.unwrap_or(self.plan);
        self.whatsapp_connected = whatsapp_connected.unwrap_or(self.whatsapp_connected);
        self.interactive = interactive.unwrap_or(self.interactive);
        self.fixed = fixed.unwrap_or(self.fixed);
        self.all_contacts = all_contacts.unwrap_or(self.all_contacts);
        self.enforce_24h_window = enforce_24h_window.unwrap_or(self.enforce_24h_window);
        if let Some(limit) = contact_limit {
            self.contact_limit = limit;
        }
    }

    /// `featureAccessLimitCheck($user->contact_limit)`: -1 is unlimited.
    pub(crate) fn may_add_contact(&self) -> bool {
        self.contact_limit.is_none_or(|n| n == -1 || n >= 1)
    }

    /// `decrementFeature($user, 'contact_limit')`.
    pub(crate) fn use_contact(&mut self) {
        if let Some(n) = self.contact_limit.as_mut()
            && *n != -1
        {
            *n -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_merge() {
        let mut a = SimAccount::default();
        let s: AccountSetting =
            serde_json::from_str(r#"{"plan":"no_api","contact_limit":2}"#).unwrap();
        a.apply(s);
        assert_eq!(
            (a.plan, a.contact_limit, a.fixed),
            (Plan::NoApi, Some(2), false)
        );
        a.apply(serde_json::from_str(r#"{"fixed":true}"#).unwrap());
        assert_eq!(a.contact_limit, Some(2));
        a.apply(serde_json::from_str(r#"{"contact_limit":null}"#).unwrap());
        assert_eq!(a.contact_limit, None);
        assert!(serde_json::from_str::<AccountSetting>(r#"{"plan":"gold"}"#).is_err());
        a.contact_limit = Some(0);
        assert!(!a.may_add_contact());
        a.use_contact();
        assert_eq!(a.contact_limit, Some(-1));
        assert!(a.may_add_contact(), "the server's -1 means unlimited");
    }
}
