//! When and how often a failed daemon is restarted.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Backoff, intensity limit and quiet period of a daemon's restarts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RestartConfig {
    /// Delay before the first restart.
    pub initial_backoff: Duration,
    /// Factor applied to the delay after each restart.
    pub multiplier: f64,
    /// Longest delay.
    pub max_backoff: Duration,
    /// Random spread of each delay, as a fraction (0.1 = +-10%).
    pub jitter: f64,
    /// Restarts allowed within `window` before the daemon is failed for good.
    pub max_restarts: usize,
    /// The period `max_restarts` is counted over.
    pub window: Duration,
    /// A run at least this long resets the backoff to `initial_backoff`.
    pub quiet_period: Duration,
}

impl Default for RestartConfig {
    fn default() -> Self {
        Self {
            initial_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            max_backoff: Duration::from_secs(300),
            jitter: 0.1,
            max_restarts: 5,
            window: Duration::from_secs(60),
            quiet_period: Duration::from_secs(60),
        }
    }
}

/// What to do after a daemon's run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RestartDecision {
    /// Restart after this delay.
    After(Duration),
    /// Too many restarts within the window: stay down until restarted by hand.
    GiveUp {
        /// Restarts counted in the window.
        restarts: usize,
    },
}

/// The restart history of one daemon instance line.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    config: RestartConfig,
    /// Restarts so far with the current backoff (reset by a quiet run).
    attempt: u32,
    recent: VecDeque<Instant>,
    total: u64,
    seed: u64,
}

impl RestartTracker {
    /// A tracker; `seed` makes the jitter differ between daemons.
    pub fn new(config: RestartConfig, seed: u64) -> Self {
        Self {
            config,
            attempt: 0,
            recent: VecDeque::new(),
            total: 0,
            // xorshift must not start at 0.
            seed: seed | 1,
        }
    }

    /// Decides about a run that ended at `now` after running for `ran_for`.
    pub fn on_exit(&mut self, now: Instant, ran_for: Duration) -> RestartDecision {
        if ran_for >= self.config.quiet_period {
            self.attempt = 0;
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.config.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.config.max_restarts {
            return RestartDecision::GiveUp {
                restarts: self.recent.len(),
            };
        }
        let delay = self.delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        self.recent.push_back(now);
        self.total += 1;
        RestartDecision::After(delay)
    }

    /// Restarts within the current window.
    pub fn in_window(&self) -> usize {
        self.recent.len()
    }

    /// Restarts since the daemon was started by hand.
    pub fn total(&self) -> u64 {
        self.total
    }

    fn delay(&mut self, attempt: u32) -> Duration {
        backoff_delay(
            self.config.initial_backoff,
            self.config.multiplier,
            self.config.max_backoff,
            self.config.jitter,
            attempt,
            &mut self.seed,
        )
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> RestartConfig {
        RestartConfig {
            jitter: 0.0,
            ..RestartConfig::default()
        }
    }

    #[test]
    fn delays_double_from_one_second_up_to_the_cap() {
        let mut tracker = RestartTracker::new(
            RestartConfig {
                max_restarts: 100,
                ..exact()
            },
            7,
        );
        let start = Instant::now();
        let delays: Vec<Duration> = (0..11)
            .map(|i| {
                // Far apart, so the window never fills.
                match tracker.on_exit(start + Duration::from_secs(1000 * i), Duration::ZERO) {
                    RestartDecision::After(d) => d,
                    other => panic!("unexpected {other:?}"),
                }
            })
            .collect();
        let secs: Vec<u64> = delays.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut tracker = RestartTracker::new(
            RestartConfig {
                max_restarts: 1000,
                quiet_period: Duration::ZERO,
                ..RestartConfig::default()
            },
            42,
        );
        let start = Instant::now();
        let delays: Vec<f64> = (0..200)
            .map(
                |i| match tracker.on_exit(start + Duration::from_secs(1000 * i), Duration::ZERO) {
                    RestartDecision::After(d) => d.as_secs_f64(),
                    other => panic!("unexpected {other:?}"),
                },
            )
            .collect();
        assert!(delays.iter().all(|d| (0.9..=1.1).contains(d)), "{delays:?}");
        let distinct = delays.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(distinct > 150, "jitter should vary: {distinct}");
    }

    #[test]
    fn the_sixth_restart_within_a_minute_gives_up() {
        let mut tracker = RestartTracker::new(exact(), 1);
        let start = Instant::now();
        for i in 0..5 {
            assert!(matches!(
                tracker.on_exit(start + Duration::from_secs(i), Duration::ZERO),
                RestartDecision::After(_)
            ));
        }
        assert_eq!(
            tracker.on_exit(start + Duration::from_secs(5), Duration::ZERO),
            RestartDecision::GiveUp { restarts: 5 }
        );
        // Once the oldest restarts leave the window, restarting is allowed again.
        assert!(matches!(
            tracker.on_exit(start + Duration::from_secs(61), Duration::ZERO),
            RestartDecision::After(_)
        ));
    }

    #[test]
    fn a_quiet_run_resets_the_backoff() {
        let mut tracker = RestartTracker::new(exact(), 1);
        let start = Instant::now();
        tracker.on_exit(start, Duration::ZERO);
        tracker.on_exit(start + Duration::from_secs(1), Duration::ZERO);
        assert_eq!(
            tracker.on_exit(start + Duration::from_secs(3), Duration::ZERO),
            RestartDecision::After(Duration::from_secs(4))
        );
        assert_eq!(
            tracker.on_exit(start + Duration::from_secs(200), Duration::from_secs(60)),
            RestartDecision::After(Duration::from_secs(1))
        );
        assert_eq!(tracker.total(), 4);
    }
}
