//! Making a recipient a Wutt contact before its first text (`create_contacts`
//! campaigns): free-form text reaches only existing contacts (SERVER.md §5).
//! The contact list is searched by the number (every page, matched exactly);
//! a number not found is created with the row's first and last name. Each
//! call takes a token of the account's throttle, and what was learnt is kept
//! in `wutt_contacts`, so a number is never looked up or created twice.

use serde_json::Value;

use super::shared::{Shared, with_db_retry};
use crate::queue::claim::Claimed;
use crate::queue::contacts::{self, KnownContact};
use crate::wutt::{ContactForm, Outcome, WuttError};

/// Where a recipient stands before its text.
pub enum Ready {
    /// A contact: send.
    Yes,
    /// The contact step ended the attempt with this outcome (nothing was sent).
    No(Outcome),
    /// Stopped (pause or shutdown) before finishing: give the claim back.
    Stopped,
}

/// The id of the contact in `items` with exactly this number.
fn exact(items: &[Value], code: &str, mobile: &str) -> Option<Option<i64>> {
    items
        .iter()
        .find(|c| {
            let text = |k: &str| match c.get(k) {
                Some(Value::String(s)) => s.trim().to_owned(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            // Exactly as the server matches a send to its contact (§5 step 3).
            text("mobile_code") == code && text("mobile") == mobile
        })
        .map(|c| c.get("id").and_then(Value::as_i64))
}

/// Makes sure `r`'s number is a Wutt contact of the account.
pub async fn ensure(
    shared: &Shared,
    campaign_id: i64,
    r: &Claimed,
    stop: &tokio_util::sync::CancellationToken,
) -> Ready {
    let code = r.phone.mobile_code();
    let mobile = r.phone.mobile().to_string();
    let known = with_db_retry(shared, stop, "looking up a contact", || {
        contacts::is_known(&shared.pool, &code, &mobile)
    })
    .await;
    match known {
        None => return Ready::Stopped,
        Some(true) => return Ready::Yes,
        Some(false) => {}
    }
    if !shared.throttle.acquire_account(stop).await {
        return Ready::Stopped;
    }
    let found = match shared.client.contacts_matching(&mobile).await {
        Ok(items) => exact(&items, &code, &mobile),
        Err(err) => return Ready::No(err.into_outcome()),
    };
    let learnt = match found {
        Some(contact_id) => KnownContact {
            mobile_code: &code,
            mobile: &mobile,
            contact_id,
            created: false,
            campaign_id,
            envelope: None,
        },
        None => {
            let (Some(first), Some(last)) = (&r.firstname, &r.lastname) else {
                return Ready::No(Outcome::not_sent(
                    "create_contacts: this row has no firstname / lastname to create the contact with",
                ));
            };
            if !shared.throttle.acquire_account(stop).await {
                return Ready::Stopped;
            }
            let form = ContactForm::new(first.clone(), last.clone(), r.phone.clone());
            match shared.client.contact_store(&form).await {
                Ok(env) => {
                    let id = env
                        .data
                        .as_ref()
                        .and_then(|d| d.pointer("/contact/id"))
                        .and_then(Value::as_i64);
                    tracing::debug!(campaign = campaign_id, contact = ?id, "contact created");
                    KnownContact {
                        mobile_code: &code,
                        mobile: &mobile,
                        contact_id: id,
                        created: true,
                        campaign_id,
                        envelope: serde_json::to_value(&env).ok(),
                    }
                }
                // Created meanwhile by another runner or campaign.
                Err(WuttError::Api { envelope, .. })
                    if envelope
                        .message
                        .iter()
                        .any(|m| m.contains("has already been taken")) =>
                {
                    KnownContact {
                        mobile_code: &code,
                        mobile: &mobile,
                        contact_id: None,
                        created: false,
                        campaign_id,
                        envelope: serde_json::to_value(&envelope).ok(),
                    }
                }
                Err(err) => return Ready::No(err.into_outcome()),
            }
        }
    };
    match with_db_retry(shared, stop, "remembering a contact", || {
        contacts::remember(&shared.pool, &learnt)
    })
    .await
    {
        Some(()) => Ready::Yes,
        None => Ready::Stopped,
    }
}
