//! The states a recipient and a campaign can be in, as the database stores
//! them (`recipients.state`, `campaigns.status`, TEXT with a CHECK) and as
//! the code handles them: enums, so a `match` names every case and a typo is
//! a compile error, not a row that never matches.

use std::fmt;
use std::str::FromStr;

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueRef};
use sqlx::{Decode, Encode, Postgres, Type};

/// Declares a text-backed enum: its words, `as_str`, `FromStr`, `Display`
/// and the sqlx impls that read and write it as TEXT.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the product lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word the database stores.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    other => Err(format!(
                        concat!("{:?} is not a ", stringify!($name), " (one of: {})"),
                        other,
                        [$($word),+].join(", ")
                    )),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Type<Postgres> for $name {
            fn type_info() -> PgTypeInfo {
                <&str as Type<Postgres>>::type_info()
            }

            fn compatible(ty: &PgTypeInfo) -> bool {
                <&str as Type<Postgres>>::compatible(ty)
            }
        }

        impl Encode<'_, Postgres> for $name {
            fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
                <&str as Encode<Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> Decode<'r, Postgres> for $name {
            fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
                let s = <&str as Decode<Postgres>>::decode(value)?;
                Ok(s.parse::<$name>()?)
            }
        }
    };
}

text_enum! {
    /// Where a recipient is in its life (DESIGN.md, "Recipient states").
    RecipientState {
        Queued = "queued",
        Sending = "sending",
        Retrying = "retrying",
        Sent = "sent",
        Failed = "failed",
        /// A request left and its answer is not known: never resent on its own.
        Unknown = "unknown",
        Invalid = "invalid",
        Duplicate = "duplicate",
        Suppressed = "suppressed",
        Cancelled = "cancelled",
        Expired = "expired",
    }
}

impl RecipientState {
    /// Whether nothing more will happen to the recipient on its own.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            RecipientState::Queued | RecipientState::Sending | RecipientState::Retrying
        )
    }
}

text_enum! {
    /// Where a campaign is.
    CampaignStatus {
        /// Loaded with `require_approval = true`: waits for someone to approve it.
        Draft = "draft",
        Active = "active",
        Paused = "paused",
        Cancelled = "cancelled",
        Completed = "completed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_reads_back_as_itself() {
        for s in RecipientState::ALL {
            assert_eq!(s.as_str().parse::<RecipientState>(), Ok(*s));
        }
        for s in CampaignStatus::ALL {
            assert_eq!(s.to_string().parse::<CampaignStatus>(), Ok(*s));
        }
        let err = "sendng".parse::<RecipientState>().unwrap_err();
        assert!(
            err.contains("\"sendng\"") && err.contains("sending"),
            "{err}"
        );
    }

    #[test]
    fn only_the_queue_states_are_not_terminal() {
        let open: Vec<_> = RecipientState::ALL
            .iter()
            .filter(|s| !s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(open, ["queued", "sending", "retrying"]);
    }

    /// The words are exactly the database's CHECK lists: a state added on
    /// one side only fails here.
    #[test]
    fn the_words_are_the_schemas() {
        let schema = concat!(
            include_str!("../../migrations/0001_schema.sql"),
            include_str!("../../migrations/0009_console.sql")
        );
        for s in RecipientState::ALL {
            assert!(schema.contains(&format!("'{s}'")), "{s} not in the schema");
        }
        for s in CampaignStatus::ALL
            .iter()
            .filter(|s| **s != CampaignStatus::Draft)
        {
            assert!(schema.contains(&format!("'{s}'")), "{s} not in the schema");
        }
    }
}
