//! The Wutt.net client: the only code that speaks HTTP to Wutt.
//!
//! - [`envelope`]: the response envelope every endpoint answers with.
//! - [`outcome`]: classification of every send answer (and transport failure)
//!   into exactly one [`Outcome`].
//! - [`client`]: the typed async client, one method per endpoint.
//! - [`clock`]: the server's clock, measured from the `Date` of its answers.
//! - [`requests`]: the request types, their checks and their multipart bodies.
//! - `transport`: one HTTP call — the bounded body read and transport failures.
//! - [`media`]: media kinds and their documented type and size limits.
//! - [`templates`]: the account's templates as the template list gives them,
//!   and the Laravel paginator every list answers with.
//! - [`whatsapp`]: WhatsApp's own error codes as they arrive in `exception`.

pub mod client;
pub mod clock;
pub mod envelope;
pub mod media;
pub mod outcome;
pub mod requests;
pub mod templates;
mod transport;
pub mod whatsapp;

pub use client::{
    BODY_CAP, Client, ClientConfig, ContactForm, ContactQuery, ConversationQuery,
    ConversationStatus, SendMessage, SendTemplate, WuttError,
};
pub use envelope::Envelope;
pub use media::{MediaError, MediaFile, MediaKind};
pub use outcome::{Outcome, OutcomeClass, Reply, TransportKind};
