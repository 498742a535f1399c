//! Bounded exponential backoff: the one schedule behind every retry and reconnect loop (model
//! requests, upstream restarts, legacy SSE stream reconnects).

use std::time::Duration;

/// Delays that double from `initial` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first retry.
    pub initial: Duration,
    /// The ceiling.
    pub max: Duration,
}

impl Backoff {
    pub const fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max }
    }

    /// The delay before retry number `attempt` (0-based): `initial` × 2^attempt, at most `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.initial
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max)
    }

    /// [`Backoff::delay`] less a random 0–25 %, so that many clients failing together do not
    /// retry together.
    pub fn jittered(&self, attempt: u32) -> Duration {
        self.delay(attempt).mul_f64(rand::random_range(0.75..=1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_ceiling_and_never_overflow() {
        let b = Backoff::new(Duration::from_millis(250), Duration::from_secs(30));
        let delays: Vec<u128> = (0..9).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(30));
        for n in 0..10 {
            let j = b.jittered(n);
            assert!(j <= b.delay(n) && j >= b.delay(n).mul_f64(0.75), "{j:?}");
        }
    }
}
