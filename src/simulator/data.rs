//! The account's rows in memory: contacts, conversations (with their notes
//! and message counts), templates, WhatsApp numbers, CTA URLs and
//! interactive lists, and the few queries and updates the endpoints make on
//! them. Times are the server's clock in whole seconds.

use serde_json::Value;

use super::php::mysql_id_eq;

/// The number that is blocked from the start (`880` + `1711000001`).
pub const BLOCKED_MOBILE_CODE: &str = "880";
pub const BLOCKED_MOBILE: &str = "1711000001";
/// The account's one WhatsApp number, stored in WhatsApp's display form:
/// `from_number` must equal it exactly.
pub const WHATSAPP_NUMBER: &str = "+1 555-010-5555";

/// The account owner (`user_id` of every row).
pub(crate) const USER_ID: i64 = 1;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Address {
    pub city: String,
    pub state: String,
    pub post_code: String,
    pub address: String,
    pub country: String,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Contact {
    pub id: i64,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub mobile_code: String,
    pub mobile: String,
    pub email: Option<String>,
    pub image: Option<String>,
    pub address: Address,
    pub blocked: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Contact {
    /// `mobileNumber`: code and number, no `+`.
    pub fn mobile_number(&self) -> String {
        format!("{}{}", self.mobile_code, self.mobile)
    }
}

/// The `fullName` accessor: the names, else `+` and the number.
pub(crate) fn full_name(
    firstname: Option<&str>,
    lastname: Option<&str>,
    mobile_number: &str,
) -> String {
    let t = |v: Option<&str>| super::php::truthy(v);
    if t(firstname) || t(lastname) {
        format!("{} {}", firstname.unwrap_or(""), lastname.unwrap_or(""))
            .trim()
            .to_owned()
    } else {
        format!("+{mobile_number}")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Conversation {
    pub id: i64,
    /// `None`: the one conversation of every number that is not a contact.
    pub contact_id: Option<i64>,
    pub whatsapp_account_id: Option<i64>,
    pub status: i64,
    pub last_message_at: Option<i64>,
    pub needs_human_reply: bool,
    pub created_at: i64,
    pub updated_at: i64,
    /// Messages stored on it, both ways.
    pub messages: u32,
    /// When the customer last wrote (the 24-hour window).
    pub last_customer_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Note {
    pub id: i64,
    pub conversation_id: i64,
    pub note: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Template {
    pub id: i64,
    pub name: String,
    pub category_id: i64,
    pub language_id: i64,
    /// `TEXT`, `IMAGE`, … or none.
    pub header_format: Option<String>,
    /// The stored header: `{"text": …, "example": …}` or `{"handle": …}`.
    pub header: Option<Value>,
    pub header_media: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    pub buttons: Value,
    /// 0 pending, 1 approved, 2 rejected, 3 disabled.
    pub status: u8,
    pub rejected_reason: Option<String>,
    pub whatsapp_template_id: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const TEMPLATE_APPROVED: u8 = 1;

/// How many parameters a template text needs: its highest `{{n}}`.
pub(crate) fn placeholders(text: &str) -> usize {
    let mut highest = 0;
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        rest = &rest[open + 2..];
        let Some(close) = rest.find("}}") else { break };
        if let Ok(n) = rest[..close].trim().parse::<usize>() {
            highest = highest.max(n);
        }
        rest = &rest[close + 2..];
    }
    highest
}

impl Template {
    /// Parameters the header needs (a `TEXT` header only).
    pub fn header_params(&self) -> usize {
        if self.header_format.as_deref() != Some("TEXT") {
            return 0;
        }
        self.header
            .as_ref()
            .and_then(|h| h.get("text"))
            .and_then(Value::as_str)
            .map_or(0, placeholders)
    }

    pub fn body_params(&self) -> usize {
        placeholders(&self.body)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WhatsAppNumber {
    pub id: i64,
    pub phone_number: String,
    pub business_name: String,
    pub is_default: bool,
}

/// The account's data.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    pub contacts: Vec<Contact>,
    pub conversations: Vec<Conversation>,
    pub notes: Vec<Note>,
    pub templates: Vec<Template>,
    pub numbers: Vec<WhatsAppNumber>,
    pub cta_urls: Vec<i64>,
    pub interactive_lists: Vec<i64>,
    pub next_contact_id: i64,
    pub next_conversation_id: i64,
    pub next_message_id: i64,
    /// Lookups by number and by contact: a send looks both up, and scanning
    /// tens of thousands of contacts per send made the simulator, not the
    /// runner, the bottleneck of every benchmark.
    pub index: Index,
}

/// Positions in `contacts` and `conversations`, kept in step by
/// [`Data::insert_contact`] and [`Data::ensure_conversation`], and rebuilt by
/// [`Data::reindex`] after any other change of a number or of the order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    contact_by_number: std::collections::HashMap<(String, String), usize>,
    conversation_by_contact: std::collections::HashMap<Option<i64>, usize>,
}

impl Data {
    /// Rebuilds [`Index`] (after a contact was updated or deleted).
    pub fn reindex(&mut self) {
        let mut index = Index::default();
        for (i, c) in self.contacts.iter().enumerate() {
            index
                .contact_by_number
                .entry((c.mobile_code.clone(), c.mobile.clone()))
                .or_insert(i);
        }
        for (i, c) in self.conversations.iter().enumerate() {
            index
                .conversation_by_contact
                .entry(c.contact_id)
                .or_insert(i);
        }
        self.index = index;
    }

    /// `Contact::where('mobile_code', …)->where('mobile', …)->first()`.
    pub fn contact_by_number(&self, code: &str, mobile: &str) -> Option<&Contact> {
        self.index
            .contact_by_number
            .get(&(code.to_owned(), mobile.to_owned()))
            .and_then(|&i| self.contacts.get(i))
    }

    pub fn contact(&self, id: i64) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.id == id)
    }

    /// `->find($id)` with a raw path value (MySQL casts it).
    pub fn contact_index_raw(&self, raw: &str) -> Option<usize> {
        self.contacts.iter().position(|c| mysql_id_eq(c.id, raw))
    }

    pub fn conversation_index_raw(&self, raw: &str) -> Option<usize> {
        self.conversations
            .iter()
            .position(|c| mysql_id_eq(c.id, raw))
    }

    /// The conversation of a contact; `None` finds the no-contact one.
    pub fn conversation_of(&self, contact_id: Option<i64>) -> Option<usize> {
        self.index.conversation_by_contact.get(&contact_id).copied()
    }

    /// The conversation of a contact, created (empty) when it has none.
    pub fn ensure_conversation(&mut self, contact_id: Option<i64>, now: i64) -> usize {
        if let Some(i) = self.conversation_of(contact_id) {
            return i;
        }
        let id = self.next_conversation_id;
        self.next_conversation_id += 1;
        self.conversations.push(Conversation {
            id,
            contact_id,
            whatsapp_account_id: None,
            status: 0,
            last_message_at: None,
            needs_human_reply: false,
            created_at: now,
            updated_at: now,
            messages: 0,
            last_customer_at: None,
        });
        let i = self.conversations.len() - 1;
        self.index.conversation_by_contact.insert(contact_id, i);
        i
    }

    /// Stores a new contact and returns its index.
    pub fn insert_contact(&mut self, mut contact: Contact) -> usize {
        contact.id = self.next_contact_id;
        self.next_contact_id += 1;
        let key = (contact.mobile_code.clone(), contact.mobile.clone());
        self.contacts.push(contact);
        let i = self.contacts.len() - 1;
        self.index.contact_by_number.entry(key).or_insert(i);
        i
    }

    /// A contact with a conversation in which its customer wrote at `now`
    /// (control API, `all_contacts`). Returns the contact's id.
    pub fn add_talking_contact(
        &mut self,
        firstname: Option<String>,
        lastname: Option<String>,
        code: &str,
        mobile: &str,
        blocked: bool,
        now: i64,
    ) -> i64 {
        if let Some(existing) = self.contact_by_number(code, mobile) {
            return existing.id;
        }
        let i = self.insert_contact(Contact {
            id: 0,
            firstname,
            lastname,
            mobile_code: code.to_owned(),
            mobile: mobile.to_owned(),
            email: None,
            image: None,
            address: Address {
                country: super::countries::country_of(code).to_owned(),
                ..Address::default()
            },
            blocked,
            created_at: now,
            updated_at: now,
        });
        let id = self.contacts[i].id;
        let conv = self.ensure_conversation(Some(id), now);
        self.customer_wrote(conv, now);
        id
    }

    /// A message the customer sent arrives on a conversation.
    pub fn customer_wrote(&mut self, conv: usize, now: i64) {
        if let Some(c) = self.conversations.get_mut(conv) {
            c.messages += 1;
            c.last_message_at = Some(now);
            c.last_customer_at = Some(now);
            c.updated_at = now;
        }
    }

    /// A sent message is stored on a conversation; returns its message id.
    pub fn store_sent(&mut self, conv: usize, now: i64) -> i64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        if let Some(c) = self.conversations.get_mut(conv) {
            c.messages += 1;
            c.last_message_at = Some(now);
            c.needs_human_reply = true;
            c.updated_at = now;
        }
        id
    }

    /// `Template::where('id', …)->approved()->first()`.
    pub fn approved_template(&self, raw_id: &str) -> Option<&Template> {
        self.templates
            .iter()
            .find(|t| mysql_id_eq(t.id, raw_id) && t.status == TEMPLATE_APPROVED)
    }

    pub fn notes_of(&self, conversation_id: i64) -> Vec<&Note> {
        // `->orderBy('id', 'desc')`
        let mut notes: Vec<&Note> = self
            .notes
            .iter()
            .filter(|n| n.conversation_id == conversation_id)
            .collect();
        notes.sort_by_key(|n| std::cmp::Reverse(n.id));
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_counts_and_names() {
        assert_eq!(placeholders("Hi {{1}}, order {{2}} ({{1}})"), 2);
        assert_eq!(placeholders("none"), 0);
        assert_eq!(full_name(Some("Amina"), None, "880"), "Amina");
        assert_eq!(full_name(Some("0"), None, "8801"), "+8801");
        assert_eq!(full_name(None, None, "8801"), "+8801");
    }
}
