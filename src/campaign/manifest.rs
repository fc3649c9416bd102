//! `NAME.toml`: a campaign's settings. Unknown keys are errors, so a typo
//! never silently drops a setting.
