//! One Wutt call per command: `templates list`, `contacts list|add|update|delete`,
//! `conversations list|show|set-status` and `send`. Prints the answer's
//! envelope as readable tables (`render`) or as JSON with `--json`. Exit
//! codes: 0 on success, 3 when the account was refused, 1 for any other failure.

pub(super) mod render;

use std::path::PathBuf;

use clap::{ArgGroup, Args, Subcommand, ValueEnum};

use self::render::render;
use super::{ConfigError, Exit, Settings};
use crate::campaign::phone::PhoneNumber;
use crate::wutt::{
    ContactForm, ContactQuery, ConversationQuery, ConversationStatus, Envelope, MediaFile,
    MediaKind, Outcome, OutcomeClass, SendMessage, SendTemplate, WuttError,
};

#[derive(Debug, Clone, Copy, Args)]
pub struct OutputArgs {
    /// Print the answer as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum TemplatesCommand {
    /// List the account's WhatsApp templates.
    List(OutputArgs),
}

#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// List contacts.
    List {
        #[command(flatten)]
        page: PageArgs,
        /// Match first name, last name or mobile number.
        #[arg(long)]
        search: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Create a contact.
    Add {
        #[command(flatten)]
        contact: ContactArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Replace a contact's fields.
    Update {
        /// Contact ID.
        id: u64,
        #[command(flatten)]
        contact: ContactArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Delete a contact.
    Delete {
        /// Contact ID.
        id: u64,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConversationsCommand {
    /// List conversations (all, or those with one status).
    List {
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        #[command(flatten)]
        page: PageArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Show one conversation.
    Show {
        /// Conversation ID.
        id: u64,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Set a conversation's status.
    SetStatus {
        /// Conversation ID.
        id: u64,
        #[arg(value_enum)]
        status: StatusArg,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Debug, Clone, Copy, Args)]
pub struct PageArgs {
    /// Page number (from 1).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub page: Option<u32>,
    /// Items per page.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub paginate: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    /// No status (0).
    None,
    Done,
    Pending,
    Important,
}

impl From<StatusArg> for ConversationStatus {
    fn from(s: StatusArg) -> Self {
        match s {
            StatusArg::Done => ConversationStatus::Done,
            StatusArg::Pending => ConversationStatus::Pending,
            StatusArg::Important => ConversationStatus::Important,
            StatusArg::None => ConversationStatus::NoStatus,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ContactArgs {
    /// Mobile number in international form, e.g. +8801988123456.
    #[arg(long)]
    pub phone: String,
    #[arg(long)]
    pub firstname: String,
    #[arg(long)]
    pub lastname: String,
    #[arg(long)]
    pub city: Option<String>,
    #[arg(long)]
    pub state: Option<String>,
    /// Postal code.
    #[arg(long)]
    pub zip: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    /// Profile picture (jpg or png, at most 5 MB).
    #[arg(long)]
    pub profile_image: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).multiple(true)
    .args(["template", "message", "image", "document", "video", "audio", "latitude"])))]
pub struct SendArgs {
    /// Recipient in international form, e.g. +8801988123456.
    #[arg(long)]
    pub to: String,
    /// Send this approved template (by ID) instead of a free-form message.
    #[arg(long, conflicts_with_all = ["message", "image", "document", "video", "audio", "latitude"])]
    pub template: Option<i64>,
    /// Text (with media: sent alongside).
    #[arg(long)]
    pub message: Option<String>,
    /// jpg, jpeg or png; at most 5 MB.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// pdf, doc or docx; at most 100 MB.
    #[arg(long)]
    pub document: Option<PathBuf>,
    /// mp4; at most 16 MB.
    #[arg(long)]
    pub video: Option<PathBuf>,
    /// Audio file; at most 16 MB.
    #[arg(long)]
    pub audio: Option<PathBuf>,
    /// Latitude of a location message (with --longitude).
    #[arg(long, requires = "longitude", allow_hyphen_values = true)]
    pub latitude: Option<f64>,
    /// Longitude of a location message (with --latitude).
    #[arg(long, requires = "latitude", allow_hyphen_values = true)]
    pub longitude: Option<f64>,
    /// The WhatsApp Business number to send from (default: the account's).
    #[arg(long)]
    pub from_number: Option<String>,
    /// A template body parameter, in order (repeat for {{1}}, {{2}}, …).
    #[arg(long = "body-variable", value_name = "TEXT", requires = "template")]
    pub body_variable: Vec<String>,
    /// A template header parameter, in order (repeatable).
    #[arg(long = "header-variable", value_name = "TEXT", requires = "template")]
    pub header_variable: Vec<String>,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// `templates list`: every page of the template list, as one table (or one
/// JSON array with `--json`).
pub async fn exec_templates(s: &Settings, cmd: TemplatesCommand) -> anyhow::Result<Exit> {
    let TemplatesCommand::List(out) = cmd;
    match s.client()?.templates().await {
        Ok(list) => {
            if out.json {
                let rows: Vec<serde_json::Value> = list
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id, "name": t.name, "status": t.status.word(),
                            "language_id": t.language_id, "body": t.body, "header": t.header,
                            "body_variables": t.body_params, "header_variables": t.header_params,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                println!("{}", render::templates_table(&list));
            }
            Ok(Exit::Ok)
        }
        Err(err) => finish(Err(err), out),
    }
}

pub async fn exec_contacts(s: &Settings, cmd: ContactsCommand) -> anyhow::Result<Exit> {
    let client = s.client()?;
    match cmd {
        ContactsCommand::List { page, search, out } => {
            let q = ContactQuery {
                page: page.page,
                paginate: page.paginate,
                search,
            };
            finish(client.contact_list(&q).await, out)
        }
        ContactsCommand::Add { contact, out } => {
            finish(client.contact_store(&contact.form()?).await, out)
        }
        ContactsCommand::Update { id, contact, out } => {
            finish(client.contact_update(id, &contact.form()?).await, out)
        }
        ContactsCommand::Delete { id, out } => finish(client.contact_delete(id).await, out),
    }
}

pub async fn exec_conversations(s: &Settings, cmd: ConversationsCommand) -> anyhow::Result<Exit> {
    let client = s.client()?;
    match cmd {
        ConversationsCommand::List { status, page, out } => {
            let q = ConversationQuery {
                status: status.map(Into::into),
                page: page.page,
                paginate: page.paginate,
                search: None,
            };
            finish(client.conversation_list(&q).await, out)
        }
        ConversationsCommand::Show { id, out } => {
            finish(client.conversation_details(id).await, out)
        }
        ConversationsCommand::SetStatus { id, status, out } => {
            let answer = client.change_conversation_status(id, status.into()).await;
            finish(answer, out)
        }
    }
}

pub async fn exec_send(s: &Settings, args: SendArgs) -> anyhow::Result<Exit> {
    if args.template.is_none()
        && !(args.body_variable.is_empty() && args.header_variable.is_empty())
    {
        return Err(ConfigError(
            "--body-variable and --header-variable fill a template's {{n}}: they need --template"
                .into(),
        )
        .into());
    }
    let client = s.client()?;
    let to = parse_phone("--to", &args.to)?;
    let outcome = match args.template {
        Some(template_id) => {
            let req = SendTemplate {
                to,
                from_number: args.from_number.clone(),
                template_id,
                body_variables: args.body_variable.clone(),
                header_variables: args.header_variable.clone(),
            };
            client.send_template(&req).await
        }
        None => client.send_message(&args.message(to)?).await,
    };
    print_outcome(&outcome, args.out)
}

impl SendArgs {
    fn message(&self, to: PhoneNumber) -> Result<SendMessage, ConfigError> {
        let mut media = Vec::new();
        for (kind, path) in [
            (MediaKind::Image, &self.image),
            (MediaKind::Document, &self.document),
            (MediaKind::Video, &self.video),
            (MediaKind::Audio, &self.audio),
        ] {
            if let Some(path) = path {
                media.push(MediaFile::new(kind, path).map_err(|e| ConfigError(e.to_string()))?);
            }
        }
        Ok(SendMessage {
            to: Some(to),
            from_number: self.from_number.clone(),
            message: self.message.clone(),
            media,
            location: self.latitude.zip(self.longitude),
            ..SendMessage::default()
        })
    }
}

impl ContactArgs {
    fn form(&self) -> Result<ContactForm, ConfigError> {
        let mut form = ContactForm::new(
            &self.firstname,
            &self.lastname,
            parse_phone("--phone", &self.phone)?,
        );
        form.city = self.city.clone();
        form.state = self.state.clone();
        form.zip = self.zip.clone();
        form.address = self.address.clone();
        if let Some(path) = &self.profile_image {
            let image =
                MediaFile::new(MediaKind::Image, path).map_err(|e| ConfigError(e.to_string()))?;
            form.profile_image = Some(image);
        }
        Ok(form)
    }
}

fn parse_phone(flag: &str, raw: &str) -> Result<PhoneNumber, ConfigError> {
    PhoneNumber::parse_international(raw).map_err(|e| ConfigError(format!("{flag} {raw:?}: {e}")))
}

/// Prints a non-send answer and picks the exit code.
fn finish(answer: Result<Envelope, WuttError>, out: OutputArgs) -> anyhow::Result<Exit> {
    match answer {
        Ok(env) => {
            print_envelope(&env, out);
            Ok(Exit::Ok)
        }
        Err(err) => {
            if let (WuttError::Api { envelope, .. }, true) = (&err, out.json) {
                print_envelope(envelope, out);
            }
            if err.class() == Some(OutcomeClass::AccountRefused) {
                match err.hint() {
                    Some(hint) => eprintln!("error: the account was refused: {err}\n  {hint}"),
                    None => eprintln!("error: the account was refused: {err}"),
                }
                return Ok(Exit::AccountRefused);
            }
            Err(err.into())
        }
    }
}

/// Prints a send's outcome and picks the exit code.
fn print_outcome(outcome: &Outcome, out: OutputArgs) -> anyhow::Result<Exit> {
    let reply = outcome.reply();
    if out.json {
        let doc = serde_json::json!({
            "outcome": outcome.class().as_str(),
            "http_status": reply.http_status,
            "envelope": reply.envelope,
            "body_excerpt": reply.body_excerpt,
            "error": reply.error,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else if let Some(env) = &reply.envelope {
        print_envelope(env, out);
    }
    let class = outcome.class();
    if class == OutcomeClass::Success {
        return Ok(Exit::Ok);
    }
    let why = reply
        .envelope
        .as_ref()
        .map(|e| format!("{} ({})", e.text(), e.remark))
        .or_else(|| reply.error.clone())
        .unwrap_or_default();
    let status = reply
        .http_status
        .map(|s| format!("HTTP {s}: "))
        .unwrap_or_default();
    eprintln!("error: {}: {status}{why}", class.as_str().replace('_', " "));
    Ok(match class {
        OutcomeClass::AccountRefused => Exit::AccountRefused,
        _ => Exit::Runtime,
    })
}

fn print_envelope(env: &Envelope, out: OutputArgs) {
    if out.json {
        match serde_json::to_string_pretty(env) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: cannot print the answer as JSON: {e}"),
        }
    } else {
        println!("{}", render(env));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("wutt-campaign").chain(args.iter().copied()))
    }

    #[test]
    fn send_needs_exactly_one_kind_of_content() {
        assert!(parse(&["send", "--to", "+8801988123456"]).is_err());
        assert!(parse(&["send", "--to", "+1", "--template", "3", "--message", "x"]).is_err());
        assert!(parse(&["send", "--to", "+1", "--latitude", "1"]).is_err());
        let cli = parse(&[
            "send",
            "--to",
            "+1",
            "--latitude",
            "-23.5",
            "--longitude",
            "90",
        ])
        .unwrap();
        let Command::Send(args) = cli.command else {
            panic!()
        };
        let msg = args
            .message(PhoneNumber::from_canonical(1, "2025550100"))
            .unwrap();
        assert_eq!(msg.location, Some((-23.5, 90.0)));
        assert!(parse(&["send", "--to", "+1", "--template", "3", "--json"]).is_ok());
    }

    #[test]
    fn subcommands_parse() {
        assert!(parse(&["templates", "list", "--json"]).is_ok());
        assert!(parse(&["contacts", "list", "--page", "2", "--search", "Jo"]).is_ok());
        assert!(parse(&["contacts", "list", "--page", "0"]).is_err());
        assert!(parse(&["contacts", "delete", "5"]).is_ok());
        assert!(
            parse(&[
                "contacts",
                "add",
                "--phone",
                "+8801988123456",
                "--firstname",
                "A",
                "--lastname",
                "B"
            ])
            .is_ok()
        );
        assert!(parse(&["conversations", "set-status", "4", "important"]).is_ok());
        assert!(parse(&["conversations", "set-status", "4", "5"]).is_err());
        assert!(parse(&["conversations", "list", "--status", "none"]).is_ok());
        // The vendor's page names "unread" (4); the server refuses it.
        assert!(parse(&["conversations", "list", "--status", "unread"]).is_err());
        assert!(parse(&["conversations", "show", "x"]).is_err());
    }

    #[test]
    fn missing_media_is_a_usage_error() {
        let cli = parse(&["send", "--to", "+1", "--image", "/nonexistent/a.png"]).unwrap();
        let Command::Send(args) = cli.command else {
            panic!()
        };
        let err = args
            .message(PhoneNumber::from_canonical(1, "2025550100"))
            .unwrap_err();
        assert!(err.0.contains("a.png"), "{err}");
    }
}
