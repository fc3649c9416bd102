//! The API walkthrough, against a simulator that answers as the real server
//! does: the template list (every page), a template send (answered with the
//! server's "Undefined variable $conversationId" defect, which means sent), a
//! template with variables, a text to a contact and to a stranger, and the
//! refusals a campaign meets — an unapproved template (the campaign would
//! pause), a blocked contact (that recipient fails) and a wrong secret (the
//! account is refused, every campaign would pause).

use std::io::Write;
use std::time::Duration;

use crate::campaign::phone::PhoneNumber;
use crate::config::Secret;
use crate::simulator::{BLOCKED_MOBILE, BLOCKED_MOBILE_CODE, TEMPLATE_TWO_VARS};
use crate::wutt::{Client, ClientConfig, Outcome, OutcomeClass, SendMessage, SendTemplate};

/// The recipient of the demo's sends (a seeded contact of the simulator).
pub const DEMO_CODE: u16 = 880;
pub const DEMO_MOBILE: &str = "1988123456";
/// An approved template and the one that is still pending approval.
const APPROVED_TEMPLATE: i64 = 1;
/// A number that is not a contact of the demo account.
const STRANGER: &str = "1712999888";
const PENDING_TEMPLATE: i64 = 4;
/// Attempts per send before the walkthrough gives up on transient failures.
const MAX_ATTEMPTS: u32 = 5;
/// The longest wait between attempts the demo accepts.
const MAX_WAIT: Duration = Duration::from_secs(2);

/// Prints the API walkthrough: templates, a template send, a text send, and
/// the refused cases with what a campaign would do about each.
pub async fn api_walkthrough(client: &Client, out: &mut impl Write) -> anyhow::Result<()> {
    let to = PhoneNumber::from_canonical(DEMO_CODE, DEMO_MOBILE);
    writeln!(
        out,
        "Wutt API walkthrough against the built-in simulator at {}\n\
         (no real phone is messaged; the simulator injects a few errors and 429s, so retries show)",
        client.config().base_url
    )?;

    heading(out, "Templates of the account")?;
    let templates = client.templates().await?;
    writeln!(
        out,
        "{}",
        crate::cli::api::render::templates_table(&templates)
    )?;

    heading(
        out,
        &format!("Send approved template {APPROVED_TEMPLATE} to {to}"),
    )?;
    let template = SendTemplate {
        to: to.clone(),
        from_number: None,
        template_id: APPROVED_TEMPLATE,
        body_variables: Vec::new(),
        header_variables: Vec::new(),
    };
    send_with_retries(out, || client.send_template(&template)).await?;

    heading(
        out,
        &format!("Send template {TEMPLATE_TWO_VARS} with its two body variables to {to}"),
    )?;
    let with_variables = SendTemplate {
        template_id: TEMPLATE_TWO_VARS,
        body_variables: vec!["Amina".into(), "Friday 10:00-12:00".into()],
        ..template.clone()
    };
    send_with_retries(out, || client.send_template(&with_variables)).await?;

    heading(out, &format!("Send a text message to {to} (a contact)"))?;
    let text = SendMessage::text(to.clone(), "Hello from the wutt-campaign demo!");
    send_with_retries(out, || client.send_message(&text)).await?;

    let stranger = PhoneNumber::from_canonical(DEMO_CODE, STRANGER);
    heading(
        out,
        &format!("Refused: a text to {stranger}, who is not a contact"),
    )?;
    let cold = SendMessage::text(stranger, "Hello from the wutt-campaign demo!");
    send_with_retries(out, || client.send_message(&cold)).await?;

    heading(
        out,
        &format!("Refused: template {PENDING_TEMPLATE} is not approved yet"),
    )?;
    let pending = SendTemplate {
        template_id: PENDING_TEMPLATE,
        ..template.clone()
    };
    send_with_retries(out, || client.send_template(&pending)).await?;

    let code: u16 = BLOCKED_MOBILE_CODE.parse()?;
    let blocked = PhoneNumber::from_canonical(code, BLOCKED_MOBILE);
    heading(out, &format!("Refused: {blocked} is a blocked contact"))?;
    let to_blocked = SendTemplate {
        to: blocked,
        ..template.clone()
    };
    send_with_retries(out, || client.send_template(&to_blocked)).await?;

    heading(out, "Refused: a wrong client secret")?;
    let wrong = Client::new(ClientConfig {
        client_secret: Secret::new("not-the-demo-secret"),
        ..client.config().clone()
    })?;
    send_with_retries(out, || wrong.send_template(&template)).await?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

fn heading(out: &mut impl Write, title: &str) -> std::io::Result<()> {
    writeln!(out, "\n== {title}")
}

/// The templates of a `template-list` answer as id / name / category / status.
/// Sends like the runner does: transient failures and 429s are retried (a
/// 429 after its Retry-After), everything else is final. Prints each attempt
/// and what a campaign would do with the final outcome.
async fn send_with_retries<F, Fut>(out: &mut impl Write, send: F) -> anyhow::Result<Outcome>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let mut attempt = 1;
    loop {
        let outcome = send().await;
        writeln!(out, "  attempt {attempt}: {}", describe(&outcome))?;
        let wait = match &outcome {
            Outcome::Transient(_) => Duration::from_millis(200 * u64::from(attempt)),
            Outcome::Throttled { retry_after, .. } => retry_after.unwrap_or(MAX_WAIT),
            _ => {
                writeln!(out, "  => {}", verdict(&outcome))?;
                return Ok(outcome);
            }
        };
        if attempt == MAX_ATTEMPTS {
            writeln!(
                out,
                "  => gave up after {attempt} attempts; a campaign would retry later"
            )?;
            return Ok(outcome);
        }
        let wait = wait.min(MAX_WAIT);
        writeln!(out, "     retrying in {} ms", wait.as_millis())?;
        out.flush()?;
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// One line: the class, the HTTP status, the envelope's remark and messages
/// (or the transport error), and the message id of a success.
fn describe(outcome: &Outcome) -> String {
    let reply = outcome.reply();
    let mut line = outcome.class().as_str().replace('_', " ");
    if let Some(status) = reply.http_status {
        line.push_str(&format!(" (HTTP {status})"));
    }
    match &reply.envelope {
        Some(env) => {
            line.push_str(&format!(" {}: {}", env.remark, env.text()));
            let id = env
                .data
                .as_ref()
                .and_then(|d| d.pointer("/message/whatsapp_message_id"));
            if let Some(id) = id {
                line.push_str(&format!(" [message id {}]", id.as_str().unwrap_or("?")));
            }
        }
        None if reply.http_status.is_some() => {
            line.push_str(&format!(
                ": {}",
                crate::wutt::outcome::body_kind(reply.body_excerpt.as_deref())
            ));
        }
        None => {
            if let Some(err) = &reply.error {
                line.push_str(&format!(": {err}"));
            }
        }
    }
    line
}

/// What a campaign does with a final outcome.
fn verdict(outcome: &Outcome) -> &'static str {
    let server_error = outcome
        .reply()
        .envelope
        .as_ref()
        .is_some_and(|e| !e.is_success());
    match outcome.class() {
        OutcomeClass::Success if server_error => {
            "sent: the server sent and stored the message, then failed on its own answer; the recipient would be marked sent, with a note"
        }
        OutcomeClass::Success => "sent: the recipient would be marked sent",
        OutcomeClass::Rejected => {
            "rejected for this recipient: a campaign would mark it failed and go on with the others (for a stranger's text: send a template, or create_contacts = true)"
        }
        OutcomeClass::AccountRefused => {
            "account refused: every campaign would be paused (exit code 3), unsent recipients stay queued"
        }
        OutcomeClass::CampaignRefused => {
            "campaign refused: the campaign would be paused (exit code 3), its unsent recipients stay queued"
        }
        OutcomeClass::Ambiguous => {
            "maybe sent: a campaign would mark the recipient unknown and never resend it on its own"
        }
        OutcomeClass::Transient | OutcomeClass::Throttled => "a campaign would retry later",
        OutcomeClass::RecipientThrottled => {
            "too many messages to this number: a campaign would retry this recipient later"
        }
    }
}
