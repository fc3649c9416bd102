//! Reporting: summaries and per-recipient exports over the reporting views.
