//! Exponential backoff with jitter, for daemon restarts and event retries.

use std::time::Duration;

/// `initial x multiplier^attempt`, capped at `max`, spread by +-`jitter`.
///
/// The cap applies before jitter, so capped delays still spread out instead of
/// retrying in lockstep. `seed` is a xorshift state (never 0) advanced per call.
pub(crate) fn backoff_delay(
    initial: Duration,
    multiplier: f64,
    max: Duration,
    jitter: f64,
    attempt: u32,
    seed: &mut u64,
) -> Duration {
    let base = initial.as_secs_f64() * multiplier.powi(attempt.min(64) as i32);
    let capped = base.min(max.as_secs_f64());
    let spread = jitter.clamp(0.0, 1.0);
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    let unit = *seed as f64 / u64::MAX as f64;
    Duration::from_secs_f64(capped * (1.0 - spread + 2.0 * spread * unit))
}
