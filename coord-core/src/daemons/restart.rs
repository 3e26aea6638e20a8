//! When and how often a failed daemon is restarted.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::interface::RestartConfig;
use crate::util::backoff_delay;

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
