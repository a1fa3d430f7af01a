//! API key usage (`last_used_at`, `usage_count`) without a database write per request: a
//! container counts uses in memory and adds them to the key's row at most once a minute, in
//! the transaction that already looks the key up. What a container had counted but not yet
//! written when Lambda retires it is lost: at most a minute of one container's uses, an
//! acceptable error for a usage statistic and far cheaper than a write on every call.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

const FLUSH_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct KeyUsage {
    pending: Mutex<HashMap<i64, Pending>>,
}

#[derive(Debug)]
struct Pending {
    uses: i64,
    last_flush: Option<Instant>,
}

impl KeyUsage {
    /// Counts one use; returns the uses to write now, when a minute has passed since this
    /// container last wrote this key (or it never did).
    pub fn count(&self, key_id: i64, now: Instant) -> Option<i64> {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = pending.entry(key_id).or_insert(Pending {
            uses: 0,
            last_flush: None,
        });
        entry.uses += 1;
        let due = entry
            .last_flush
            .is_none_or(|last| now.duration_since(last) >= FLUSH_EVERY);
        if due {
            let uses = std::mem::take(&mut entry.uses);
            entry.last_flush = Some(now);
            Some(uses)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_use_is_written_then_uses_are_batched_per_minute() {
        let usage = KeyUsage::default();
        let start = Instant::now();
        assert_eq!(usage.count(7, start), Some(1));
        for second in 1..60 {
            assert_eq!(usage.count(7, start + Duration::from_secs(second)), None);
        }
        assert_eq!(usage.count(7, start + Duration::from_secs(60)), Some(60));
        assert_eq!(
            usage.count(8, start + Duration::from_secs(60)),
            Some(1),
            "keys are counted apart"
        );
    }
}
