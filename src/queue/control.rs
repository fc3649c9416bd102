//! Campaign control: lookup by id or name, pause, resume, cancel, requeue, expiry.
