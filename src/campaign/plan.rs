//! One CSV row → one planned recipient: the canonical phone number (or why the
//! row is invalid) and what to send it.
