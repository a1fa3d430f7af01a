//! Prompt experiments: which variant a conversation gets.
//!
//! The assignment must be the same for a conversation on every turn, in every Lambda
//! container, after every deploy and on every Rust version, without storing it first. So it
//! is a hash, and the hash is spelt out: SHA-256 (FIPS 180-4) of the ASCII text
//! `rylie-experiment-v1:{experiment_id}:{conversation_id}` (decimal ids). Its first eight
//! bytes, big-endian, decide whether the conversation is in the experiment's traffic; the
//! next eight decide the variant. Using separate bytes means raising the traffic percentage
//! only adds conversations: one already in keeps its variant. std's `DefaultHasher` is not
//! used: its algorithm is unspecified and may change between Rust releases.

use sha2::{Digest, Sha256};

/// Where a conversation falls for an experiment: two independent numbers in `0..1`.
fn buckets(conversation_id: i64, experiment_id: i64) -> (f64, f64) {
    let digest = Sha256::digest(format!("rylie-experiment-v1:{experiment_id}:{conversation_id}").as_bytes());
    let word = |range: std::ops::Range<usize>| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&digest[range]);
        // The top 53 bits, so the fraction is exact in an f64 and strictly below 1.
        (u64::from_be_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
    };
    (word(0..8), word(8..16))
}

/// The variant for a conversation, or `None` when the conversation is outside the
/// experiment's traffic (it gets the persona's default prompt and is not counted), when no
/// variant has weight, or when `traffic_percent` is not positive.
///
/// `variants` are `(variant_id, weight, is_control)`; a variant's share of the traffic is its
/// weight over the sum of weights. `is_control` does not change the assignment (the control
/// is a variant like the others); it is accepted so the caller can pass its rows as they are.
/// `traffic_percent` is clamped to 0..=100. The order of `variants` matters (keep it stable,
/// e.g. by variant id): the hash picks a position on the cumulative weights.
pub fn assign_variant(
    conversation_id: i64,
    experiment_id: i64,
    traffic_percent: f64,
    variants: &[(i64, u32, bool)],
) -> Option<i64> {
    if traffic_percent.is_nan() || traffic_percent <= 0.0 {
        return None;
    }
    let (traffic, pick) = buckets(conversation_id, experiment_id);
    if traffic * 100.0 >= traffic_percent.min(100.0) {
        return None;
    }
    let total: u64 = variants.iter().map(|(_, weight, _)| u64::from(*weight)).sum();
    if total == 0 {
        return None;
    }
    // A point in 0..total, then the variant whose cumulative weight passes it.
    let point = ((pick * total as f64) as u64).min(total - 1);
    let mut cumulative = 0u64;
    variants.iter().find_map(|(id, weight, _)| {
        cumulative += u64::from(*weight);
        (point < cumulative).then_some(*id)
    })
}
