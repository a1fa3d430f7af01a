//! The assistant's rules that need no database and no model: what a customer's message asks
//! for, when a person must take over, what customer text may not do to the prompt, what a
//! draft reply may claim and promise, what a log may show, which prompt variant a
//! conversation gets and whether it won, and when an automated message may go out.
//!
//! Everything here is a plain function over plain types, deterministic and fast (no regex
//! engine, no allocation-heavy NLP), so it runs on every turn before and after the model, and
//! every decision it makes can be written into the decision trace and explained.
//!
//! | job | entry point |
//! |---|---|
//! | classify a customer message | [`classify()`], [`classify_turn`] → [`Classification`] |
//! | decide a handover | [`decide_handover`] with [`TurnFacts`] → [`HandoverDecision`] |
//! | STOP / HELP / START | [`channel_action`] → [`ChannelAction`] |
//! | prompt injection | [`detect_injection`], [`quote_customer_text`], [`quote_untrusted`] |
//! | check a draft reply | [`check_reply`] with [`ShownVehicle`]s → [`GroundingReport`], [`repair`] |
//! | mask logs | [`mask_pii`] |
//! | experiments | [`assign_variant`], [`two_proportion_z_test`], [`minimum_sample_size`] |
//! | quiet hours | [`may_send_automated`] with [`QuietHours`] |
//! | analyse a conversation, score the lead | [`analysis::analyse`] → [`analysis::Analysis`] |
//!
//! Language: English and Spanish, folded (case and accents ignored) — see `text`.

pub mod analysis;
mod channel;
mod classify;
pub mod grounding;
mod handover;
pub mod injection;
mod intent;
mod money;
mod pii;
pub mod quiet_hours;
mod sentiment;
pub mod stats;
mod text;

mod experiment;

pub use channel::{ChannelAction, channel_action};
pub use classify::{Classification, classify, classify_turn};
pub use experiment::assign_variant;
pub use grounding::{
    COMMITMENTS, Claim, ClaimKind, GroundingReport, ShownVehicle, Violation, ViolationKind, check_reply, repair,
};
pub use handover::{
    DEFAULT_MAX_FAILURES, DEFAULT_MAX_TURNS, DEFAULT_MIN_CONFIDENCE, HandoverDecision, HandoverReason, TurnFacts,
    decide_handover, persona_keywords_in,
};
pub use injection::{CUSTOMER_TAG, InjectionKind, detect_injection, quote_customer_text, quote_untrusted};
pub use intent::Intent;
pub use pii::mask_pii;
pub use quiet_hours::{
    NextAllowed, QuietHours, QuietHoursError, Schedule, Window, may_send_automated, parse_utc_offset,
};
pub use sentiment::STRONGLY_NEGATIVE;
pub use stats::{StatsError, ZTestResult, minimum_sample_size, normal_cdf, normal_quantile, two_proportion_z_test};
