//! The account's in-memory data: contacts, conversations, templates and the
//! blocked numbers, seeded with a small fixed set.

use serde::Serialize;
use serde_json::{Value, json};

/// The number that is blocked from the start (`880` + `1711000001`).
pub const BLOCKED_MOBILE_CODE: &str = "880";
pub const BLOCKED_MOBILE: &str = "1711000001";

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Contact {
    pub id: i64,
    pub firstname: String,
    pub lastname: String,
    pub mobile_code: String,
    pub mobile: String,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
    pub address: Option<String>,
    pub profile_image: Option<String>,
    pub blocked: bool,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Conversation {
    pub id: i64,
    pub contact_id: i64,
    pub status: u8,
    pub last_message: String,
    pub unread: u32,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Template {
    pub id: i64,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub body: String,
}

impl Template {
    pub fn approved(&self) -> bool {
        self.status == "approved"
    }
}

/// The account.
#[derive(Debug)]
pub(crate) struct Data {
    pub contacts: Vec<Contact>,
    pub next_contact_id: i64,
    pub conversations: Vec<Conversation>,
    pub templates: Vec<Template>,
    /// Blocked numbers as (mobile_code, national number without trunk 0).
    pub blocked: Vec<(String, String)>,
}

/// The national number without one leading trunk `0`.
pub(crate) fn strip_trunk(mobile: &str) -> &str {
    mobile.strip_prefix('0').unwrap_or(mobile)
}

pub(crate) fn status_name(status: u8) -> &'static str {
    match status {
        1 => "done",
        2 => "pending",
        3 => "important",
        _ => "unread",
    }
}

impl Data {
    pub fn seeded() -> Self {
        let people = [
            ("Amina", "Rahman", "880", "1988123456", "Dhaka"),
            ("Karim", "Hossain", "880", "1711000001", "Chittagong"),
            ("Lena", "Fischer", "49", "15123456789", "Berlin"),
            ("Omar", "Haddad", "971", "501234567", "Dubai"),
            ("Sara", "Costa", "351", "912345678", "Lisbon"),
        ];
        let contacts: Vec<Contact> = people
            .iter()
            .enumerate()
            .map(|(i, (first, last, code, mobile, city))| Contact {
                id: i as i64 + 1,
                firstname: (*first).into(),
                lastname: (*last).into(),
                mobile_code: (*code).into(),
                mobile: (*mobile).into(),
                city: Some((*city).into()),
                state: None,
                zip: None,
                address: None,
                profile_image: None,
                blocked: false,
            })
            .collect();
        let conversations = [
            (1, 1, 1, "Thanks, received!"),
            (2, 2, 2, "When will it ship?"),
            (3, 3, 3, "Please call me back"),
            (4, 4, 4, "Hello?"),
            (5, 5, 2, "Is the offer still valid?"),
            (6, 1, 4, "One more question"),
        ]
        .into_iter()
        .map(|(id, contact_id, status, text)| Conversation {
            id,
            contact_id,
            status,
            last_message: text.into(),
            unread: if status == 4 { 1 } else { 0 },
        })
        .collect();
        let templates = [
            (
                1,
                "welcome",
                "UTILITY",
                "approved",
                "Welcome to our service!",
            ),
            (
                2,
                "order_update",
                "UTILITY",
                "approved",
                "Your order has an update.",
            ),
            (
                3,
                "offer",
                "MARKETING",
                "approved",
                "A special offer just for you.",
            ),
            (4, "promo_draft", "MARKETING", "pending", "Draft promotion."),
        ]
        .into_iter()
        .map(|(id, name, category, status, body)| Template {
            id,
            name: name.into(),
            language: "en".into(),
            category: category.into(),
            status: status.into(),
            body: body.into(),
        })
        .collect();
        let mut data = Data {
            next_contact_id: contacts.len() as i64 + 1,
            contacts,
            conversations,
            templates,
            blocked: vec![(BLOCKED_MOBILE_CODE.into(), BLOCKED_MOBILE.into())],
        };
        data.refresh_blocked();
        data
    }

    pub fn is_blocked(&self, mobile_code: &str, mobile: &str) -> bool {
        let national = strip_trunk(mobile);
        self.blocked
            .iter()
            .any(|(c, m)| c == mobile_code && m == national)
    }

    /// Marks contacts whose number is blocked.
    pub fn refresh_blocked(&mut self) {
        let blocked = self.blocked.clone();
        for c in &mut self.contacts {
            let national = strip_trunk(&c.mobile);
            c.blocked = blocked
                .iter()
                .any(|(code, m)| *code == c.mobile_code && m == national);
        }
    }

    pub fn contact_with_number(&self, mobile_code: &str, mobile: &str, except: i64) -> bool {
        let national = strip_trunk(mobile);
        self.contacts.iter().any(|c| {
            c.id != except && c.mobile_code == mobile_code && strip_trunk(&c.mobile) == national
        })
    }

    pub fn conversation_json(&self, conv: &Conversation, with_messages: bool) -> Value {
        let contact = self
            .contacts
            .iter()
            .find(|c| c.id == conv.contact_id)
            .map(|c| {
                json!({"id": c.id, "firstname": c.firstname, "lastname": c.lastname,
                       "mobile_code": c.mobile_code, "mobile": c.mobile})
            })
            .unwrap_or(Value::Null);
        let mut v = json!({
            "id": conv.id,
            "status": conv.status,
            "status_name": status_name(conv.status),
            "contact": contact,
            "last_message": conv.last_message,
            "unread": conv.unread,
        });
        if with_messages {
            v["messages"] = json!([
                {"id": conv.id * 10 + 1, "direction": "outgoing", "message": "Hello from the business"},
                {"id": conv.id * 10 + 2, "direction": "incoming", "message": conv.last_message},
            ]);
        }
        v
    }
}

/// One page of a list: `(items, current_page, per_page, total, last_page)`.
pub(crate) fn paginate<T: Clone>(items: &[T], page: u64, per_page: u64) -> (Vec<T>, Value) {
    let total = items.len() as u64;
    let last_page = total.div_ceil(per_page).max(1);
    let start = page.saturating_sub(1).saturating_mul(per_page);
    let slice: Vec<T> = items
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(per_page).unwrap_or(usize::MAX))
        .cloned()
        .collect();
    let meta =
        json!({"current_page": page, "per_page": per_page, "total": total, "last_page": last_page});
    (slice, meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_number_matches_with_or_without_trunk_zero() {
        let d = Data::seeded();
        assert!(d.is_blocked("880", "1711000001"));
        assert!(d.is_blocked("880", "01711000001"));
        assert!(!d.is_blocked("881", "1711000001"));
        assert!(d.contacts.iter().any(|c| c.blocked));
    }

    #[test]
    fn pages() {
        let items: Vec<u32> = (0..45).collect();
        let (page, meta) = paginate(&items, 3, 20);
        assert_eq!(page, (40..45).collect::<Vec<_>>());
        assert_eq!(meta["last_page"], 3);
        let (empty, _) = paginate(&items, u64::MAX, u64::MAX);
        assert!(empty.is_empty());
    }
}
