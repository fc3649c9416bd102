//! The job queue: every SQL statement that claims, completes, retries and controls campaigns and recipients.
