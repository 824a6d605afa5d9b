//! Retry delays for the uplink: exponential backoff with half jitter (each
//! delay uniformly in the upper half of a ceiling that doubles per failure,
//! capped), from a random number the caller supplies (so the simulator
//! replays it). Pure.

use std::time::Duration;

/// Exponential backoff state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    attempt: u32,
}

impl Backoff {
    /// Delays start around `base` and are capped at `max`.
    pub fn new(base: Duration, max: Duration) -> Backoff {
        Backoff {
            base_ms: base.as_millis().max(1) as u64,
            max_ms: max.as_millis().max(1) as u64,
            attempt: 0,
        }
    }

    /// Failed attempts since the last success.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Records a failure and returns how long to wait: uniformly in
    /// `[ceiling/2, ceiling]` where the ceiling doubles each attempt up to the cap
    /// (half-jitter keeps retries apart without ever retrying instantly).
    pub fn fail(&mut self, random: u64) -> Duration {
        let ceiling = self
            .base_ms
            .saturating_mul(1u64 << self.attempt.min(30))
            .min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let span = ceiling - half + 1;
        Duration::from_millis(half + random % span)
    }

    /// Records a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_jittered() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let d1 = b.fail(0);
        assert_eq!(d1, Duration::from_millis(50));
        let d2 = b.fail(u64::MAX);
        assert!(d2 <= Duration::from_millis(200) && d2 >= Duration::from_millis(100));
        for i in 0..40 {
            let d = b.fail(12345);
            assert!(d <= Duration::from_secs(5));
            if i > 6 {
                assert!(
                    d >= Duration::from_millis(2500),
                    "capped ceiling keeps half-jitter"
                );
            }
        }
        assert_eq!(b.attempts(), 42);
        b.reset();
        assert!(b.fail(7) <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_each_delay_over_the_upper_half_of_its_ceiling() {
        // The same attempt with different random numbers: delays differ and
        // cover [ceiling/2, ceiling] (ceiling 800 ms at the fourth failure).
        let fourth = |random: u64| {
            let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
            for _ in 0..3 {
                b.fail(0);
            }
            b.fail(random).as_millis() as u64
        };
        let delays: std::collections::BTreeSet<u64> = (0..2_000u64)
            .map(|r| fourth(r.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        assert_eq!(delays.first(), Some(&400));
        assert_eq!(delays.last(), Some(&800));
        assert!(delays.len() > 300, "{} distinct delays", delays.len());
        // Two terminals failing together retry apart.
        assert_ne!(fourth(1), fourth(2));
    }
}
