//! Rylie's own outgoing mail and the `job-email` worker that sends it. The first message is
//! the password-reset link; the lead first contact that shares the queue comes later.
//!
//! # How the reset token reaches the mailer
//!
//! The route makes the token, stores only its SHA-256 (with the expiry, replacing any older
//! token) and puts the token itself in the job payload; the worker hashes it again to check
//! that it is still the user's current one before sending. We chose this over having the
//! worker make the token because:
//!
//! * the route's transaction is the one place that knows the request was made: the token, its
//!   expiry and the `user.password_reset_requested` audit row commit together, and the job's
//!   idempotency key can name the token (`email.password_reset:<user>:<hash prefix>`);
//! * the job stays a pure "render and send": a redelivered message sends the *same* link
//!   again, never mints a second valid token, and writes nothing to `users`.
//!
//! The cost is that a live secret travels through SQS. That is acceptable here: the queue is
//! encrypted at rest (SSE) and in transit (TLS), only the two functions' roles may touch it,
//! the token is worth nothing after 30 minutes (a message that sits in the dead-letter queue
//! holds a dead token), and nothing logs a payload — an unusable message is recorded in
//! `job_failures` with `token` redacted.
//!
//! # Sent once, or at least once
//!
//! There is a window between SES accepting a message and the `email_deliveries` row saying
//! `sent`: a worker that dies there leaves the row `sending`. For the password reset we choose
//! **at least once**: when the message comes back after its claim's lease (90 s, longer than
//! the function's 60 s timeout) has run out, the mail is sent again. A duplicate is harmless —
//! the same link to the same inbox, and it still works only once — while a lost reset mail
//! leaves someone locked out of their account, waiting. Within the lease a second delivery
//! (SQS may hand the same message to two workers at once) is handed back to SQS to try later,
//! so the ordinary duplicate does not send twice. Every other outcome is final: `sent` skips,
//! `failed` (SES refused the address for good) and `suppressed` (the token was replaced, used
//! or expired before the mail went: the link would not work) are acknowledged.
//!
//! # On one machine
//!
//! Without `EMAIL_QUEUE_URL` the request runs the job itself ([`submit`]), and the mail is an
//! `.eml` file in `<LOCAL_DATA_DIR>/outbox` (see `rylie_cloud::mail`).

pub mod first_contact;
pub mod job;
pub mod staff_notice;
pub mod templates;

use rylie_cloud::JobMessage;

use crate::State;
pub use job::{EmailError, Outcome};

/// Hands a job to the e-mail queue, or runs it right here when no queue is configured.
pub async fn submit(state: &State, message: &JobMessage) -> Result<(), EmailError> {
    let queue = state.config.email_queue_url.as_deref();
    crate::jobs::submit(state, queue, message, async || job::run(state, message, None).await).await?;
    Ok(())
}
