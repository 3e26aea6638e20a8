//! When and how often a failed daemon is restarted.

use std::time::Duration;

use crate::interface::{GiveUp, RestartConfig};
use crate::util::backoff_delay;

/// What to do after a daemon's run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RestartDecision {
    /// Restart after this delay.
    After(Duration),
    /// Out of restarts: stay down until started by hand.
    GiveUp {
        /// Restarts counted before giving up.
        restarts: u32,
    },
    /// Out of restarts, and the rule is a slow retry tier: try again after this.
    RetryTier {
        /// The tier's interval.
        every: Duration,
        /// Restarts counted before the tier began.
        restarts: u32,
    },
}

/// The restart history of one daemon since it was started by hand.
///
/// A run that lasted `stable_after` resets the backoff and the count (and
/// ends a retry tier). Any shorter run that ends in failure counts; after
/// `max_restarts` counted restarts the next such failure gives up. A run
/// that ends without failure (under `RestartPolicy::Always`) is restarted
/// with backoff but never counted, so only failing loops are stopped.
#[derive(Debug, Clone)]
pub struct RestartTracker {
    config: RestartConfig,
    /// Restarts so far with the current backoff.
    attempt: u32,
    /// Failed short runs since the last stable one.
    counted: u32,
    /// In the slow retry tier.
    retrying: bool,
    total: u64,
    seed: u64,
}

impl RestartTracker {
    /// A tracker; `seed` makes the jitter differ between daemons.
    pub fn new(config: RestartConfig, seed: u64) -> Self {
        Self {
            config,
            attempt: 0,
            counted: 0,
            retrying: false,
            total: 0,
            // xorshift must not start at 0.
            seed: seed | 1,
        }
    }

    /// Decides about a run that ended after running for `ran_for`, failed or not.
    pub fn on_exit(&mut self, ran_for: Duration, failed: bool) -> RestartDecision {
        if ran_for >= self.config.stable_after {
            self.attempt = 0;
            self.counted = 0;
            self.retrying = false;
        } else if failed {
            self.counted = self.counted.saturating_add(1);
        }
        self.total += 1;
        if self.retrying || self.counted > self.config.max_restarts {
            let restarts = self.config.max_restarts;
            return match self.config.after_give_up {
                GiveUp::Stop => {
                    self.total -= 1;
                    RestartDecision::GiveUp { restarts }
                }
                GiveUp::RetryEvery(every) => {
                    self.retrying = true;
                    RestartDecision::RetryTier { every, restarts }
                }
            };
        }
        let delay = self.delay(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        RestartDecision::After(delay)
    }

    /// Failed short runs counted since the last stable run.
    pub fn counted(&self) -> u32 {
        self.counted
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

    fn crash_after(tracker: &mut RestartTracker, secs: u64) -> RestartDecision {
        tracker.on_exit(Duration::from_secs(secs), true)
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
        let secs: Vec<u64> = (0..11)
            .map(|_| match crash_after(&mut tracker, 0) {
                RestartDecision::After(d) => d.as_secs(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_varies() {
        let mut tracker = RestartTracker::new(RestartConfig::default(), 42);
        let delays: Vec<f64> = (0..200)
            .map(|_| match tracker.on_exit(Duration::from_secs(60), true) {
                RestartDecision::After(d) => d.as_secs_f64(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert!(delays.iter().all(|d| (0.9..=1.1).contains(d)), "{delays:?}");
        let distinct = delays.windows(2).filter(|w| w[0] != w[1]).count();
        assert!(distinct > 150, "jitter should vary: {distinct}");
    }

    #[test]
    fn slow_crash_loops_give_up_after_five_restarts_stable_runs_never_do() {
        for crash_after_secs in [1, 10, 50] {
            let mut tracker = RestartTracker::new(exact(), 1);
            for restart in 1..=5 {
                assert!(
                    matches!(
                        crash_after(&mut tracker, crash_after_secs),
                        RestartDecision::After(_)
                    ),
                    "restart {restart} after crashing at {crash_after_secs}s"
                );
            }
            assert_eq!(
                crash_after(&mut tracker, crash_after_secs),
                RestartDecision::GiveUp { restarts: 5 },
                "crashing {crash_after_secs}s after each start"
            );
            assert_eq!(tracker.total(), 5);
        }
        let mut tracker = RestartTracker::new(exact(), 1);
        for _ in 0..100 {
            assert_eq!(
                crash_after(&mut tracker, 90),
                RestartDecision::After(Duration::from_secs(1)),
                "a run past stable_after resets backoff and count"
            );
        }
    }

    #[test]
    fn a_clean_exit_is_restarted_but_never_counted() {
        let mut tracker = RestartTracker::new(exact(), 1);
        for _ in 0..20 {
            assert!(matches!(
                tracker.on_exit(Duration::ZERO, false),
                RestartDecision::After(_)
            ));
        }
        assert_eq!(tracker.counted(), 0);
    }

    #[test]
    fn a_retry_tier_retries_at_its_interval_until_a_stable_run() {
        let every = Duration::from_secs(1800);
        let mut tracker = RestartTracker::new(
            RestartConfig {
                after_give_up: GiveUp::RetryEvery(every),
                ..exact()
            },
            1,
        );
        for _ in 0..5 {
            crash_after(&mut tracker, 2);
        }
        for _ in 0..3 {
            assert_eq!(
                crash_after(&mut tracker, 2),
                RestartDecision::RetryTier { every, restarts: 5 }
            );
        }
        // A stable run ends the tier: back to the first backoff.
        assert_eq!(
            crash_after(&mut tracker, 61),
            RestartDecision::After(Duration::from_secs(1))
        );
    }
}
