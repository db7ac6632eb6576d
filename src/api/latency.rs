//! The emulated link's delay, shared by the flag that sets it (`serve --latency`) and the
//! emulator that applies it: a delay, how far each answer's may stray from it, and how it is
//! written (`100ms±20ms`).

use std::time::Duration;

/// How long every answer is held back: `base`, plus or minus up to `jitter` (uniformly), as a
/// distant service's round trip would be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    pub base: Duration,
    /// At most `base`, so that no delay is negative.
    pub jitter: Duration,
}

impl Latency {
    /// Reads `DELAY` or `DELAY±JITTER` (`+-` for `±`), each part read by `duration`, the jitter
    /// no larger than the delay.
    pub(crate) fn parse(
        input: &str,
        duration: impl Fn(&str) -> Result<Duration, String>,
    ) -> Result<Self, String> {
        let (base, jitter) = match input.split_once('±').or_else(|| input.split_once("+-")) {
            Some((base, jitter)) => (duration(base)?, duration(jitter)?),
            None => (duration(input)?, Duration::ZERO),
        };
        if jitter > base {
            return Err(format!(
                "`{input}`: the jitter cannot be larger than the delay (no answer comes before it is asked); use, say, `100ms±20ms`"
            ));
        }
        Ok(Self { base, jitter })
    }

    /// One delay: uniform in `base ± jitter`.
    pub fn sample(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let spread = u64::try_from(self.jitter.as_micros()).unwrap_or(u64::MAX / 2);
        let offset = fastrand::u64(0..=spread.saturating_mul(2));
        let low = self.base.saturating_sub(self.jitter);
        low + Duration::from_micros(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_stays_within_the_jitter() {
        let ms = Duration::from_millis;
        let latency = Latency {
            base: ms(100),
            jitter: ms(20),
        };
        for _ in 0..100 {
            let delay = latency.sample();
            assert!(delay >= ms(80) && delay <= ms(120), "{delay:?}");
        }
        let steady = Latency {
            base: ms(5),
            jitter: Duration::ZERO,
        };
        assert_eq!(steady.sample(), ms(5));
    }
}
