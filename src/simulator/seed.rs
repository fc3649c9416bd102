//! The account a simulator starts with: five contacts (one blocked), a
//! conversation each in which the customer wrote within the last hours,
//! 45 templates — more than two pages at 20 a page, in every state, with
//! and without `{{n}}` variables —, one WhatsApp number, two CTA URLs and
//! one interactive list.

use serde_json::{Value, json};

use super::countries::country_of;
use super::data::{
    Address, BLOCKED_MOBILE, BLOCKED_MOBILE_CODE, Contact, Conversation, Data, Note, Template,
    WHATSAPP_NUMBER, WhatsAppNumber,
};

/// Approved, one body variable.
pub const TEMPLATE_ONE_VAR: i64 = 5;
/// Approved, two body variables.
pub const TEMPLATE_TWO_VARS: i64 = 6;
/// Approved, a `TEXT` header with one variable and one body variable.
pub const TEMPLATE_HEADER_VAR: i64 = 7;
/// Pending (not sendable).
pub const TEMPLATE_PENDING: i64 = 4;
/// Rejected.
pub const TEMPLATE_REJECTED: i64 = 8;
/// Disabled.
pub const TEMPLATE_DISABLED: i64 = 9;
/// Approved, an `IMAGE` header (no variables).
pub const TEMPLATE_IMAGE_HEADER: i64 = 10;
/// Approved, no variables, on page 3 at 20 a page.
pub const TEMPLATE_ON_PAGE_3: i64 = 42;
/// The seeded CTA URLs and interactive list.
pub const CTA_URL_IDS: [i64; 2] = [1, 2];
pub const INTERACTIVE_LIST_ID: i64 = 1;

const PENDING: u8 = 0;
const APPROVED: u8 = 1;
const REJECTED: u8 = 2;
const DISABLED: u8 = 3;

const MARKETING: i64 = 1;
const UTILITY: i64 = 2;

const DAY: i64 = 86_400;

/// One template before ids and times are given.
struct Seed {
    name: String,
    category: i64,
    status: u8,
    header: Option<(&'static str, Value)>,
    body: String,
    footer: Option<&'static str>,
    buttons: Value,
}

fn seed(name: &str, category: i64, status: u8, body: &str) -> Seed {
    Seed {
        name: name.to_owned(),
        category,
        status,
        header: None,
        body: body.to_owned(),
        footer: None,
        buttons: json!([]),
    }
}

fn templates() -> Vec<Seed> {
    let mut list = vec![
        seed("welcome", UTILITY, APPROVED, "Welcome to our service!"),
        seed(
            "order_update",
            UTILITY,
            APPROVED,
            "Your order has an update.",
        ),
        Seed {
            footer: Some("Reply STOP to opt out"),
            buttons: json!([{"type": "URL", "text": "Shop now", "url": "https://example.com/offer"}]),
            ..seed(
                "offer",
                MARKETING,
                APPROVED,
                "A special offer just for you.",
            )
        },
        seed("promo_draft", MARKETING, PENDING, "Draft promotion."),
        seed(
            "greeting_name",
            MARKETING,
            APPROVED,
            "Hello {{1}}, thanks for choosing us!",
        ),
        seed(
            "delivery_slot",
            UTILITY,
            APPROVED,
            "Hi {{1}}, your delivery arrives on {{2}}.",
        ),
        Seed {
            header: Some((
                "TEXT",
                json!({"text": "Order {{1}}", "example": {"header_text": ["#1042"]}}),
            )),
            ..seed(
                "order_shipped",
                UTILITY,
                APPROVED,
                "Hi {{1}}, your parcel is on its way.",
            )
        },
        seed(
            "flash_sale",
            MARKETING,
            REJECTED,
            "FLASH SALE!!! Click now!!!",
        ),
        seed(
            "old_newsletter",
            MARKETING,
            DISABLED,
            "Our monthly newsletter is here.",
        ),
        Seed {
            header: Some((
                "IMAGE",
                json!({"handle": "4::aW1hZ2UvanBlZw==:ARb-sim-handle"}),
            )),
            ..seed(
                "product_launch",
                MARKETING,
                APPROVED,
                "Meet our newest product.",
            )
        },
    ];
    let fillers = [
        "spring_collection",
        "back_in_stock",
        "price_drop",
        "cart_reminder",
        "review_request",
        "store_opening",
        "holiday_hours",
        "referral_bonus",
        "birthday_wish",
        "vip_access",
        "payment_received",
        "invoice_ready",
        "subscription_renewal",
        "plan_upgrade",
        "feedback_thanks",
        "event_invite",
        "webinar_reminder",
        "new_arrivals",
        "clearance_sale",
        "gift_card",
        "loyalty_tier",
        "shipping_delay",
        "return_received",
        "refund_issued",
        "account_update",
        "password_hint",
        "weekly_digest",
        "flash_deal",
        "early_bird",
        "restock_alert",
    ];
    for (i, name) in fillers.iter().enumerate() {
        let s = match i % 6 {
            0 | 3 => seed(
                name,
                MARKETING,
                APPROVED,
                "Something new is waiting for you.",
            ),
            1 => seed(name, UTILITY, APPROVED, "Hello {{1}}, here is your update."),
            2 => seed(name, MARKETING, PENDING, "Coming soon to your inbox."),
            4 => seed(name, MARKETING, REJECTED, "Limited offer, act now."),
            _ => seed(name, UTILITY, DISABLED, "This notice is no longer used."),
        };
        list.push(s);
    }
    list.extend([
        seed(
            "loyalty_points",
            MARKETING,
            APPROVED,
            "You have {{1}} loyalty points.",
        ),
        seed(
            "thank_you",
            UTILITY,
            APPROVED,
            "Thank you for your purchase!",
        ),
        seed("survey_invite", MARKETING, PENDING, "Tell us how we did."),
        seed(
            "appointment_reminder",
            UTILITY,
            APPROVED,
            "Reminder: {{1}} on {{2}}.",
        ),
        seed(
            "seasonal_greeting",
            MARKETING,
            DISABLED,
            "Season's greetings!",
        ),
    ]);
    list
}

/// The seeded account, its times relative to `now` (the server's clock).
pub(crate) fn seeded(now: i64) -> Data {
    let people = [
        ("Amina", "Rahman", "880", "1988123456", "Dhaka"),
        (
            "Karim",
            "Hossain",
            BLOCKED_MOBILE_CODE,
            BLOCKED_MOBILE,
            "Chittagong",
        ),
        ("Lena", "Fischer", "49", "15123456789", "Berlin"),
        ("Omar", "Haddad", "971", "501234567", "Dubai"),
        ("Sara", "Costa", "351", "912345678", "Lisbon"),
    ];
    let contacts: Vec<Contact> = people
        .iter()
        .zip(1i64..)
        .map(|((first, last, code, mobile, city), id)| Contact {
            id,
            firstname: Some((*first).into()),
            lastname: Some((*last).into()),
            mobile_code: (*code).into(),
            mobile: (*mobile).into(),
            email: None,
            image: None,
            address: Address {
                city: (*city).into(),
                country: country_of(code).into(),
                ..Address::default()
            },
            blocked: *mobile == BLOCKED_MOBILE && *code == BLOCKED_MOBILE_CODE,
            created_at: now - (40 - id) * DAY,
            updated_at: now - (40 - id) * DAY,
        })
        .collect();
    // (status, seconds since the customer's last message)
    let talk = [(2, 600), (0, 3 * 3600), (3, 1800), (1, 5 * 3600), (2, 3600)];
    let conversations: Vec<Conversation> = talk
        .iter()
        .zip(1i64..)
        .map(|((status, ago), id)| Conversation {
            id,
            contact_id: Some(id),
            whatsapp_account_id: Some(1),
            status: *status,
            last_message_at: Some(now - ago),
            needs_human_reply: false,
            created_at: now - (30 - id) * DAY,
            updated_at: now - ago,
            messages: 3,
            last_customer_at: Some(now - ago),
        })
        .collect();
    let templates = templates()
        .into_iter()
        .zip(1i64..)
        .map(|(s, id)| Template {
            id,
            name: s.name,
            category_id: s.category,
            language_id: 1,
            header_format: s.header.as_ref().map(|(f, _)| (*f).to_owned()),
            header_media: s
                .header
                .as_ref()
                .filter(|(f, _)| *f == "IMAGE")
                .map(|_| format!("{id}_header.jpg")),
            header: s.header.map(|(_, h)| h),
            body: s.body,
            footer: s.footer.map(str::to_owned),
            buttons: s.buttons,
            status: s.status,
            rejected_reason: (s.status == REJECTED).then(|| "INVALID_FORMAT".to_owned()),
            whatsapp_template_id: (1_209_384_756_000_000 + id * 7_919).to_string(),
            created_at: now - (90 - id) * DAY,
            updated_at: now - (90 - id) * DAY,
        })
        .collect();
    let mut data = Data {
        next_contact_id: contacts.len() as i64 + 1,
        next_conversation_id: conversations.len() as i64 + 1,
        next_message_id: conversations
            .iter()
            .map(|c| i64::from(c.messages))
            .sum::<i64>()
            + 1,
        contacts,
        conversations,
        notes: vec![Note {
            id: 1,
            conversation_id: 1,
            note: "Prefers a call in the evening".into(),
            created_at: now - 2 * DAY,
        }],
        templates,
        numbers: vec![WhatsAppNumber {
            id: 1,
            phone_number: WHATSAPP_NUMBER.into(),
            business_name: "Wutt Demo".into(),
            is_default: true,
        }],
        cta_urls: CTA_URL_IDS.to_vec(),
        interactive_lists: vec![INTERACTIVE_LIST_ID],
        index: Default::default(),
    };
    data.reindex();
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_promised_templates() {
        let d = seeded(1_800_000_000);
        assert!(d.templates.len() > 40);
        let t = |id: i64| d.templates.iter().find(|t| t.id == id).unwrap();
        for id in 1..=3 {
            assert_eq!((t(id).status, t(id).body_params()), (APPROVED, 0));
        }
        assert_eq!(t(TEMPLATE_PENDING).name, "promo_draft");
        assert_eq!(t(TEMPLATE_PENDING).status, PENDING);
        assert_eq!(t(TEMPLATE_ONE_VAR).body_params(), 1);
        assert_eq!(t(TEMPLATE_TWO_VARS).body_params(), 2);
        let h = t(TEMPLATE_HEADER_VAR);
        assert_eq!((h.header_params(), h.body_params()), (1, 1));
        assert_eq!(t(TEMPLATE_REJECTED).status, REJECTED);
        assert_eq!(t(TEMPLATE_DISABLED).status, DISABLED);
        assert_eq!(t(TEMPLATE_IMAGE_HEADER).header_params(), 0);
        let p3 = t(TEMPLATE_ON_PAGE_3);
        assert!(p3.id > 40 && p3.status == APPROVED && p3.body_params() == 0);
        for status in [PENDING, APPROVED, REJECTED, DISABLED] {
            assert!(d.templates.iter().any(|t| t.status == status));
        }
        let ids: Vec<i64> = d.templates.iter().map(|t| t.id).collect();
        assert_eq!(ids, (1..=d.templates.len() as i64).collect::<Vec<_>>());
        let blocked: Vec<_> = d.contacts.iter().filter(|c| c.blocked).collect();
        assert_eq!(blocked.len(), 1);
        assert_eq!(blocked[0].mobile, BLOCKED_MOBILE);
        assert!(
            d.conversations
                .iter()
                .all(|c| c.last_customer_at > Some(1_800_000_000 - DAY))
        );
    }
}
