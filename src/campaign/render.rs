//! `{{column}}` placeholders in text messages.
