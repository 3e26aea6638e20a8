//! The daemon manager under fault injection, on paused time: readiness-gated
//! start, backoff, intensity limit, dependents stopped and restored,
//! reverse-order shutdown, abort after timeout, no overlapping instances.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use coord::prelude::*;
use coord::testing::TestCoordination;
use coord::{
    BoxFuture, Coordination, DaemonConfig, DaemonOptions, DaemonSpec, DaemonState, DaemonStatus,
    GiveUp, Location, MissingDependency, RestartConfig,
};
use tokio::time::Instant;

/// How a test daemon behaves.
#[derive(Clone, Default)]
struct Script {
    /// Runs (counted from 0) below this fail.
    fail_runs: usize,
    /// Runs below this panic.
    panic_runs: usize,
    /// Time before it signals ready.
    ready_after: Option<Duration>,
    never_ready: bool,
    /// Ignores cancellation: stopping it needs an abort.
    ignore_cancel: bool,
    /// Health checks from this run on fail.
    unhealthy_from_run: Option<usize>,
    /// Health checks of runs below this fail.
    unhealthy_runs: usize,
    /// Runs below this cancel their own token once ready, and end on it.
    self_cancel_runs: usize,
    /// Every run fails this long after it signalled ready.
    crash_after: Option<Duration>,
}

static SCRIPTS: LazyLock<Mutex<HashMap<&'static str, Script>>> = LazyLock::new(Default::default);
static RUNS: LazyLock<Mutex<HashMap<&'static str, usize>>> = LazyLock::new(Default::default);
/// `(daemon, event, when)`, in the order they happened.
type EventLog = Vec<(&'static str, &'static str, Instant)>;

static EVENTS: LazyLock<Mutex<EventLog>> = LazyLock::new(Default::default);
static LIVE: LazyLock<Mutex<HashMap<&'static str, (usize, usize)>>> =
    LazyLock::new(Default::default);

fn log(name: &'static str, event: &'static str) {
    EVENTS
        .lock()
        .expect("events")
        .push((name, event, Instant::now()));
}

/// `(daemon, event)` pairs of daemons whose name starts with `prefix`.
fn events(prefix: &str) -> Vec<(&'static str, &'static str)> {
    EVENTS
        .lock()
        .expect("events")
        .iter()
        .filter(|(n, _, _)| n.starts_with(prefix))
        .map(|(n, e, _)| (*n, *e))
        .collect()
}

/// When `name` logged `event`, each time.
fn times(name: &str, event: &str) -> Vec<Instant> {
    EVENTS
        .lock()
        .expect("events")
        .iter()
        .filter(|(n, e, _)| *n == name && *e == event)
        .map(|(_, _, t)| *t)
        .collect()
}

/// Counts live instances of a daemon; records the most seen at once.
struct Live(&'static str);

impl Live {
    fn enter(name: &'static str) -> Self {
        let mut live = LIVE.lock().expect("live");
        let entry = live.entry(name).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(entry.0);
        Self(name)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if let Some(entry) = LIVE.lock().expect("live").get_mut(self.0) {
            entry.0 -= 1;
        }
    }
}

fn scripted(ctx: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async move {
        let name = ctx.name();
        let script = SCRIPTS
            .lock()
            .expect("scripts")
            .get(name)
            .cloned()
            .unwrap_or_default();
        let run = {
            let mut runs = RUNS.lock().expect("runs");
            let run = runs.entry(name).or_default();
            *run += 1;
            *run - 1
        };
        let _live = Live::enter(name);
        log(name, "start");
        if let Some(delay) = script.ready_after {
            tokio::time::sleep(delay).await;
        }
        if run < script.panic_runs {
            panic!("{name} broke on run {run}");
        }
        if run < script.fail_runs {
            log(name, "fail");
            return Err(format!("{name} failed on run {run}").into());
        }
        if script.unhealthy_from_run.is_some() || script.unhealthy_runs > 0 {
            let unhealthy = script.unhealthy_from_run.is_some_and(|from| run >= from)
                || run < script.unhealthy_runs;
            ctx.set_health_probe(Duration::from_secs(1), 3, move || async move {
                if unhealthy {
                    Err("queue depth over limit".into())
                } else {
                    Ok(())
                }
            });
        }
        if !script.never_ready {
            ctx.ready();
            log(name, "ready");
        }
        if let Some(after) = script.crash_after {
            tokio::select! {
                () = tokio::time::sleep(after) => {
                    log(name, "crash");
                    return Err(format!("{name} crashed after {after:?}").into());
                }
                () = ctx.cancelled() => return Ok(()),
            }
        }
        if run < script.self_cancel_runs {
            ctx.cancellation_token().cancel();
        }
        if script.ignore_cancel {
            std::future::pending::<()>().await;
        }
        ctx.cancelled().await;
        log(name, "stop");
        Ok(())
    })
}

fn daemon(
    name: &'static str,
    deps: &'static [&'static str],
    soft: &'static [&'static str],
) -> &'static DaemonSpec {
    Box::leak(Box::new(DaemonSpec {
        name,
        kind: "TestDaemon",
        variant: name,
        depends_on: deps,
        soft_depends_on: soft,
        category: None,
        options: coord::DaemonOptions::NONE,
        runner: scripted,
        publishes: &[],
        location: Location {
            module_path: module_path!(),
            file: file!(),
            line: line!(),
        },
    }))
}

fn script(name: &'static str, script: Script) {
    SCRIPTS.lock().expect("scripts").insert(name, script);
}

/// Exact delays: no jitter, so paused-time assertions are exact.
fn exact_config() -> DaemonConfig {
    DaemonConfig {
        restart_config: RestartConfig {
            jitter: 0.0,
            ..RestartConfig::default()
        },
        ..DaemonConfig::default()
    }
}

fn coordination(daemons: Vec<&'static DaemonSpec>) -> Coordination {
    Coordination::builder()
        .coordinators([])
        .daemons(daemons)
        .default_daemon_config(exact_config())
        .build()
        .expect("valid test daemons")
}

#[test]
fn the_manager_before_start_is_a_typed_error_that_says_how() {
    let coordination = coordination(vec![daemon("nm_a", &[], &[])]);
    let err = coordination.daemon_manager().expect_err("not started");
    assert!(
        err.to_string()
            .contains("call `coordination.start_daemon_manager()`"),
        "{err}"
    );
    coordination.start_daemon_manager();
    assert!(coordination.daemon_manager().is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_dependent_starts_when_its_dependency_is_ready_not_when_spawned() {
    script(
        "rd_slow",
        Script {
            ready_after: Some(Duration::from_secs(5)),
            ..Script::default()
        },
    );
    let manager = coordination(vec![
        daemon("rd_slow", &[], &[]),
        daemon("rd_user", &["rd_slow"], &[]),
    ])
    .start_daemon_manager();
    let report = manager.start_all().await;
    assert!(report.is_ok(), "{:?}", report.not_ready);
    assert_eq!(
        events("rd_"),
        [
            ("rd_slow", "start"),
            ("rd_slow", "ready"),
            ("rd_user", "start"),
            ("rd_user", "ready")
        ]
    );
    assert_eq!(
        times("rd_user", "start")[0] - times("rd_slow", "start")[0],
        Duration::from_secs(5)
    );
}

#[tokio::test(start_paused = true)]
async fn independent_daemons_start_concurrently() {
    for name in ["cc_a", "cc_b", "cc_c"] {
        script(
            name,
            Script {
                ready_after: Some(Duration::from_secs(3)),
                ..Script::default()
            },
        );
    }
    let manager = coordination(vec![
        daemon("cc_a", &[], &[]),
        daemon("cc_b", &[], &[]),
        daemon("cc_c", &[], &[]),
    ])
    .start_daemon_manager();
    let started = Instant::now();
    assert!(manager.start_all().await.is_ok());
    // Three 3-second startups side by side take 3 s, not 9.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn soft_dependencies_order_the_start_but_never_block_it() {
    script(
        "sd_eval",
        Script {
            ready_after: Some(Duration::from_secs(2)),
            ..Script::default()
        },
    );
    script(
        "sd_broken",
        Script {
            fail_runs: usize::MAX,
            ..Script::default()
        },
    );
    let manager = coordination(vec![
        daemon("sd_eval", &[], &[]),
        daemon("sd_broken", &[], &[]),
        daemon("sd_sync", &[], &["sd_eval", "sd_broken"]),
    ])
    .start_daemon_manager();
    manager.start_all().await;
    let log = events("sd_");
    let eval_ready = log
        .iter()
        .position(|e| *e == ("sd_eval", "ready"))
        .expect("eval ready");
    let sync_start = log
        .iter()
        .position(|e| *e == ("sd_sync", "start"))
        .expect("sync started");
    assert!(eval_ready < sync_start, "{log:?}");
    assert_eq!(
        manager.daemon_status("sd_sync").expect("known").state,
        DaemonState::Ready
    );
}

#[tokio::test(start_paused = true)]
async fn failed_runs_restart_with_doubling_backoff() {
    script(
        "bo_flaky",
        Script {
            fail_runs: 3,
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon("bo_flaky", &[], &[])]).start_daemon_manager();
    // start() returns when the first run settles (into backoff); then wait for ready.
    manager.start("bo_flaky").await.expect("known");
    manager
        .wait_for("bo_flaky", |s| s.state.is_ready())
        .await
        .expect("known");
    let starts = times("bo_flaky", "start");
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(
        gaps,
        [
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(4)
        ]
    );
    let status = manager.daemon_status("bo_flaky").expect("known");
    assert_eq!(status.state, DaemonState::Ready);
    assert_eq!(status.restarts_total, 3);
    assert_eq!(
        status.last_error.as_deref(),
        Some("bo_flaky failed on run 2")
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_status_shows_the_next_restart_and_the_error() {
    script(
        "bs_flaky",
        Script {
            fail_runs: 1,
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon("bs_flaky", &[], &[])]).start_daemon_manager();
    let status = manager.start("bs_flaky").await.expect("known");
    assert_eq!(status.state, DaemonState::Backoff);
    assert_eq!(status.counted_restarts, 1);
    assert_eq!(
        status.last_error.as_deref(),
        Some("bs_flaky failed on run 0")
    );
    let next = status.next_restart_at.expect("a restart is due");
    let due_in = next
        .duration_since(status.since)
        .expect("after entering backoff");
    assert!(due_in <= Duration::from_secs(1), "{due_in:?}");
}

#[tokio::test(start_paused = true)]
async fn the_intensity_limit_fails_a_daemon_and_stops_then_restores_its_dependents() {
    script(
        "il_broken",
        Script {
            fail_runs: 6,
            ..Script::default()
        },
    );
    // Dependents wait for it longer than its restarts take, so they see it fail for good.
    let patient = DaemonConfig {
        ready_timeout: Duration::from_secs(120),
        ..exact_config()
    };
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([
            daemon("il_base", &[], &[]),
            daemon("il_broken", &["il_base"], &[]),
            daemon("il_user", &["il_broken"], &[]),
            daemon("il_user_of_user", &["il_user"], &[]),
        ])
        .default_daemon_config(exact_config())
        .daemon_config("il_broken", patient)
        .build()
        .expect("valid")
        .start_daemon_manager();
    // The first run fails after the dependents' start was requested; they wait for it.
    let report = manager.start_all().await;
    assert!(!report.is_ok());
    let broken = manager
        .wait_for("il_broken", |s| s.state == DaemonState::Failed)
        .await
        .expect("known");
    // Its failure stops the dependents; wait until the last of them is down.
    manager
        .wait_for("il_user_of_user", |s| s.stopped_because.is_some())
        .await
        .expect("known");
    // 1 + 5 restarts, each run shorter than stable_after: the sixth failure gives up.
    assert_eq!(times("il_broken", "start").len(), 6);
    let error = broken.last_error.expect("why it is down");
    assert!(
        error.starts_with(
            "[coord::E0303] failed 6 times in a row, each run shorter than 1m (stable_after), after 5 restarts, the limit (max_restarts)"
        ),
        "{error}"
    );
    // Every transitive dependent names the root cause; its error tells the chain.
    for dependent in ["il_user", "il_user_of_user"] {
        let status = manager.daemon_status(dependent).expect("known");
        assert_eq!(status.state, DaemonState::Stopped, "{status:?}");
        assert_eq!(status.stopped_because, Some("il_broken"), "{status:?}");
    }
    // Whichever noticed first (the cascade, or its own wait), the reason names the root.
    let reason = manager
        .daemon_status("il_user_of_user")
        .expect("known")
        .last_error;
    assert!(
        reason.as_deref().is_some_and(|e| e.contains("'il_broken'")),
        "{reason:?}"
    );
    assert!(!manager.liveness().ok);
    assert_eq!(manager.liveness().offending, ["il_broken"]);
    assert_eq!(
        manager.daemon_status("il_base").expect("known").state,
        DaemonState::Ready
    );

    // Fixed (the script allows a 7th run): restarted by hand, dependents come back.
    let status = manager.start("il_broken").await.expect("known");
    assert_eq!(status.state, DaemonState::Ready);
    for dependent in ["il_user", "il_user_of_user"] {
        let status = manager.daemon_status(dependent).expect("known");
        assert_eq!(status.state, DaemonState::Ready, "{status:?}");
        assert_eq!(status.stopped_because, None);
    }
    assert!(manager.liveness().ok && manager.readiness().ok);
}

#[tokio::test(start_paused = true)]
async fn a_running_dependent_is_stopped_because_of_a_failed_dependency() {
    script(
        "rs_base",
        Script {
            fail_runs: 0,
            ..Script::default()
        },
    );
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([
            daemon("rs_base", &[], &[]),
            daemon("rs_user", &["rs_base"], &[]),
        ])
        .default_daemon_config(exact_config())
        .restart_policy("rs_base", RestartPolicy::Never)
        .build()
        .expect("valid")
        .start_daemon_manager();
    assert!(manager.start_all().await.is_ok());
    // Make the next run fail, and end the current one with an error by panicking it.
    script(
        "rs_base",
        Script {
            panic_runs: usize::MAX,
            ..Script::default()
        },
    );
    manager.restart("rs_base").await.expect("known");
    let base = manager.daemon_status("rs_base").expect("known");
    assert_eq!(base.state, DaemonState::Failed);
    assert!(
        base.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("[coord::E0307] panicked: rs_base broke")),
        "{base:?}"
    );
    let user = manager.daemon_status("rs_user").expect("known");
    assert_eq!(user.state, DaemonState::Stopped);
    assert_eq!(user.stopped_because, Some("rs_base"));
}

#[tokio::test(start_paused = true)]
async fn a_daemon_that_never_signals_ready_is_cancelled_failed_and_restarted_by_its_policy() {
    script(
        "nr_mute",
        Script {
            never_ready: true,
            ..Script::default()
        },
    );
    let mute = DaemonOptions {
        ready_timeout: Some(Duration::from_secs(5)),
        max_restarts: Some(1),
        ..DaemonOptions::NONE
    };
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([
            daemon("nr_mute", &[], &[]),
            daemon("nr_user", &["nr_mute"], &[]),
        ])
        .default_daemon_config(exact_config())
        .daemon_options("nr_mute", mute)
        .build()
        .expect("valid")
        .start_daemon_manager();
    let started = Instant::now();
    manager.start("nr_user").await.expect("known");
    // The first run is cancelled at its deadline and counts as failed:
    // backoff, and the dependent waits, blocked on it.
    let mute_status = manager.daemon_status("nr_mute").expect("known");
    assert_eq!(mute_status.state, DaemonState::Backoff);
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert_eq!(
        mute_status.last_error.as_deref(),
        Some(
            "[coord::E0305] did not signal ready within 5s (ready_timeout); the run was cancelled"
        )
    );
    assert_eq!(
        times("nr_mute", "stop").len(),
        1,
        "cancelled, so it stopped"
    );
    let user = manager.daemon_status("nr_user").expect("known");
    assert_eq!((user.state, user.blocked), (DaemonState::Starting, true));
    assert_eq!(user.waiting_on, ["nr_mute"]);
    // The restart (after 1 s) misses its deadline too: with max_restarts = 1
    // it is failed for good at 5 + 1 + 5 s, and its dependent stopped.
    let mute_status = manager
        .wait_for("nr_mute", |s| s.state == DaemonState::Failed)
        .await
        .expect("known");
    assert_eq!(started.elapsed(), Duration::from_secs(11));
    assert!(
        mute_status
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("[coord::E0303] failed 2 times in a row")),
        "{mute_status:?}"
    );
    let user = manager
        .wait_for("nr_user", |s| s.stopped_because.is_some())
        .await
        .expect("known");
    assert_eq!(user.stopped_because, Some("nr_mute"));
    assert!(!manager.readiness().ok);
}

/// Runs `name`, which crashes `after` each time it is ready, until it gives up.
async fn crash_loop(name: &'static str, after: Duration) -> (DaemonStatus, Duration) {
    script(
        name,
        Script {
            crash_after: Some(after),
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon(name, &[], &[])]).start_daemon_manager();
    let started = Instant::now();
    manager.start(name).await.expect("known");
    let status = manager
        .wait_for(name, |s| s.state == DaemonState::Failed)
        .await
        .expect("known");
    (status, started.elapsed())
}

#[tokio::test(start_paused = true)]
async fn crash_loops_of_one_ten_and_fifty_seconds_are_failed_after_five_restarts() {
    for (name, secs) in [("cl_1s", 1), ("cl_10s", 10), ("cl_50s", 50)] {
        let (status, took) = crash_loop(name, Duration::from_secs(secs)).await;
        assert_eq!(times(name, "start").len(), 6, "{name}: 1 run + 5 restarts");
        assert_eq!(status.restarts_total, 5, "{name}");
        // Six runs of `secs`, and backoff of 1 + 2 + 4 + 8 + 16 s between them.
        assert_eq!(took, Duration::from_secs(6 * secs + 31), "{name}");
        assert!(
            status
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("[coord::E0303] failed 6 times in a row")),
            "{name}: {status:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_daemon_that_crashes_after_running_past_stable_after_is_never_given_up() {
    script(
        "cl_90s",
        Script {
            crash_after: Some(Duration::from_secs(90)),
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon("cl_90s", &[], &[])]).start_daemon_manager();
    manager.start("cl_90s").await.expect("known");
    let status = manager
        .wait_for("cl_90s", |s| s.restarts_total == 20)
        .await
        .expect("known");
    assert_ne!(status.state, DaemonState::Failed);
    assert_eq!(status.counted_restarts, 0, "a stable run resets the count");
    // A stable run also resets the backoff: every restart waits 1 s.
    let starts = times("cl_90s", "start");
    let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g == Duration::from_secs(91)),
        "{gaps:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn out_of_restarts_a_retry_tier_tries_again_at_its_interval() {
    script(
        "rt_tier",
        Script {
            crash_after: Some(Duration::from_secs(2)),
            ..Script::default()
        },
    );
    let tier = DaemonOptions {
        after_give_up: Some(GiveUp::RetryEvery(Duration::from_secs(1800))),
        ..DaemonOptions::NONE
    };
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([daemon("rt_tier", &[], &[])])
        .default_daemon_config(exact_config())
        .daemon_options("rt_tier", tier)
        .build()
        .expect("valid")
        .start_daemon_manager();
    manager.start("rt_tier").await.expect("known");
    let retrying = manager
        .wait_for("rt_tier", |s| s.state == DaemonState::Retrying)
        .await
        .expect("known");
    let due_in = retrying
        .next_restart_at
        .expect("the next attempt's time")
        .duration_since(retrying.since)
        .expect("after entering the tier");
    // Wall-clock times, taken a moment apart.
    assert!(
        (Duration::from_secs(1799)..=Duration::from_secs(1800)).contains(&due_in),
        "{due_in:?}"
    );
    // Failures in the tier are retried 30 minutes later each: by the time
    // the 8th restart is scheduled, 8 runs have started.
    manager
        .wait_for("rt_tier", |s| s.restarts_total == 8)
        .await
        .expect("known");
    let starts = times("rt_tier", "start");
    let gaps: Vec<u64> = starts.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    // Run (2 s) + backoff 1, 2, 4, 8, 16 s; then run + 1800 s.
    assert_eq!(gaps, [3, 4, 6, 10, 18, 1802, 1802], "{gaps:?}");
    assert_ne!(
        manager.daemon_status("rt_tier").expect("known").state,
        DaemonState::Failed
    );
}

#[tokio::test(start_paused = true)]
async fn a_critical_daemon_failing_for_good_ends_the_run() {
    script(
        "cr_core",
        Script {
            fail_runs: usize::MAX,
            ..Script::default()
        },
    );
    let critical = DaemonOptions {
        critical: Some(true),
        restart: Some(RestartPolicy::Never),
        ..DaemonOptions::NONE
    };
    let coordination = Coordination::builder()
        .coordinators([])
        .daemons([daemon("cr_core", &[], &[]), daemon("cr_other", &[], &[])])
        .default_daemon_config(exact_config())
        .daemon_options("cr_core", critical)
        .build()
        .expect("valid");
    // It would run for an hour; the critical failure ends it at once.
    let report = coordination
        .run_until(tokio::time::sleep(Duration::from_secs(3600)))
        .await;
    let failure = report
        .critical_failure
        .expect("ended by the critical daemon");
    assert_eq!(failure.daemon, "cr_core");
    assert_eq!(failure.error, "cr_core failed on run 0");
    assert_eq!(
        report.ended_by,
        "[coord::E0309] critical daemon 'cr_core' failed for good: cr_core failed on run 0"
    );
    assert!(report.daemons_stopped.stopped.contains(&"cr_other"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_dependents_first() {
    let manager = coordination(vec![
        daemon("so_router", &[], &[]),
        daemon("so_pipeline", &["so_router"], &[]),
        daemon("so_sync", &["so_pipeline"], &[]),
    ])
    .start_daemon_manager();
    assert!(manager.start_all().await.is_ok());
    let report = manager.shutdown().await;
    assert_eq!(report.stopped, ["so_sync", "so_pipeline", "so_router"]);
    assert!(report.aborted.is_empty());
    let stops: Vec<_> = events("so_")
        .into_iter()
        .filter(|(_, e)| *e == "stop")
        .map(|(n, _)| n)
        .collect();
    assert_eq!(stops, ["so_sync", "so_pipeline", "so_router"]);
    assert!(
        manager
            .status()
            .iter()
            .all(|s| s.state == DaemonState::Stopped)
    );
}

/// A manager of `daemons` where `stubborn` ignores cancellation and has a
/// shutdown timeout of 2 s.
fn with_one_stubborn(
    stubborn: &'static str,
    daemons: Vec<&'static DaemonSpec>,
) -> coord::DaemonManager {
    script(
        stubborn,
        Script {
            ignore_cancel: true,
            ..Script::default()
        },
    );
    let config = DaemonConfig {
        shutdown_timeout: Duration::from_secs(2),
        ..exact_config()
    };
    Coordination::builder()
        .coordinators([])
        .daemons(daemons)
        .daemon_config(stubborn, config)
        .build()
        .expect("valid")
        .start_daemon_manager()
}

#[tokio::test(start_paused = true)]
async fn a_daemon_that_ignores_cancellation_is_aborted_after_its_timeout() {
    let manager = with_one_stubborn(
        "ab_stubborn",
        vec![
            daemon("ab_stubborn", &[], &[]),
            daemon("ab_polite", &[], &[]),
        ],
    );
    assert!(manager.start_all().await.is_ok());
    let started = Instant::now();
    let report = manager.shutdown().await;
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(report.aborted, ["ab_stubborn"]);
    let status = manager.daemon_status("ab_stubborn").expect("known");
    assert!(status.aborted && status.state == DaemonState::Stopped);
    // The instance was dropped, not leaked.
    assert_eq!(LIVE.lock().expect("live")["ab_stubborn"].0, 0);
}

#[tokio::test(start_paused = true)]
async fn the_total_shutdown_bound_caps_everything() {
    script(
        "tb_stubborn",
        Script {
            ignore_cancel: true,
            ..Script::default()
        },
    );
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([daemon("tb_stubborn", &[], &[])])
        .default_daemon_config(exact_config())
        .daemon_shutdown_bound(Duration::from_secs(3))
        .build()
        .expect("valid")
        .start_daemon_manager();
    assert!(manager.start_all().await.is_ok());
    let started = Instant::now();
    let report = manager.shutdown().await;
    // Its own timeout is 10 s; the bound of 3 s wins.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(report.aborted, ["tb_stubborn"]);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_the_caller_stops_waiting_for_still_stops_every_daemon() {
    let manager = with_one_stubborn(
        "sw_stubborn",
        vec![
            daemon("sw_base", &[], &[]),
            daemon("sw_stubborn", &["sw_base"], &[]),
        ],
    );
    assert!(manager.start_all().await.is_ok());
    // The caller gives up while the dependent is still being waited for,
    // before its dependency has even been asked to stop.
    let gave_up = tokio::time::timeout(Duration::from_secs(1), manager.shutdown()).await;
    assert!(gave_up.is_err());
    // Bounded, so that a dependency left running fails the test instead of hanging it.
    let base = tokio::time::timeout(
        Duration::from_secs(60),
        manager.wait_for("sw_base", |s| s.state == DaemonState::Stopped),
    )
    .await
    .expect("the dependency was stopped after the caller gave up")
    .expect("known");
    assert!(!base.aborted);
    let stubborn = manager.daemon_status("sw_stubborn").expect("known");
    assert!(stubborn.aborted && stubborn.state == DaemonState::Stopped);
    assert_eq!(
        events("sw_"),
        [
            ("sw_base", "start"),
            ("sw_base", "ready"),
            ("sw_stubborn", "start"),
            ("sw_stubborn", "ready"),
            ("sw_base", "stop"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_never_overlaps_the_previous_instance() {
    script(
        "ov_always",
        Script {
            fail_runs: 4,
            panic_runs: 2,
            ..Script::default()
        },
    );
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([daemon("ov_always", &[], &[])])
        .default_daemon_config(exact_config())
        .restart_policy("ov_always", RestartPolicy::Always)
        .build()
        .expect("valid")
        .start_daemon_manager();
    manager.start("ov_always").await.expect("known");
    manager
        .wait_for("ov_always", |s| s.state.is_ready())
        .await
        .expect("known");
    manager.restart("ov_always").await.expect("known");
    assert_eq!(times("ov_always", "start").len(), 6);
    assert_eq!(
        LIVE.lock().expect("live")["ov_always"].1,
        1,
        "at most one instance at a time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_health_probe_degrades_then_restarts_the_daemon() {
    script(
        "hp_worker",
        Script {
            unhealthy_from_run: Some(0),
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon("hp_worker", &[], &[])]).start_daemon_manager();
    let started = Instant::now();
    manager.start("hp_worker").await.expect("known");
    let degraded = manager
        .wait_for("hp_worker", |s| s.state == DaemonState::Degraded)
        .await
        .expect("known");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "first check after one interval"
    );
    assert_eq!(
        degraded.last_error.as_deref(),
        Some("[coord::E0306] health check: queue depth over limit")
    );
    // The third failure in a row, at 3 s, restarts it (on_failure).
    let status = manager
        .wait_for("hp_worker", |s| s.restarts_total == 1)
        .await
        .expect("known");
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(status.state, DaemonState::Backoff, "{status:?}");
    assert_eq!(
        status.last_error.as_deref(),
        Some("[coord::E0306] health check failed 3 times in a row: queue depth over limit")
    );
}

#[tokio::test(start_paused = true)]
async fn a_runner_that_cancels_its_own_token_has_finished_and_its_policy_applies() {
    script(
        "sc_worker",
        Script {
            self_cancel_runs: 1,
            ..Script::default()
        },
    );
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([daemon("sc_worker", &[], &[])])
        .default_daemon_config(exact_config())
        .restart_policy("sc_worker", RestartPolicy::Always)
        .build()
        .expect("valid")
        .start_daemon_manager();
    manager.start("sc_worker").await.expect("known");
    // Nobody asked it to stop: its run finished, and `always` runs it again.
    let status = manager
        .wait_for("sc_worker", |s| s.restarts_total == 1 && s.state.is_ready())
        .await
        .expect("known");
    assert_eq!(status.last_error, None);
    assert_eq!(times("sc_worker", "start").len(), 2);
    // The second run still stops when asked.
    let report = manager.shutdown().await;
    assert_eq!(report.stopped, ["sc_worker"]);
    assert!(report.aborted.is_empty(), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn a_daemon_restarted_by_its_health_check_still_stops_when_asked() {
    script(
        "hr_worker",
        Script {
            unhealthy_runs: 1,
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon("hr_worker", &[], &[])]).start_daemon_manager();
    manager.start("hr_worker").await.expect("known");
    // Its first run fails three checks and is cancelled by the supervisor;
    // the second is healthy.
    manager
        .wait_for("hr_worker", |s| s.restarts_total == 1 && s.state.is_ready())
        .await
        .expect("known");
    let asked = Instant::now();
    let report = manager.shutdown().await;
    // Stopped at once by the request, not aborted at the shutdown bound:
    // cancelling the failed run did not leave shutdown holding a spent signal.
    assert_eq!(asked.elapsed(), Duration::ZERO);
    assert_eq!(report.stopped, ["hr_worker"]);
    assert!(report.aborted.is_empty(), "{report:?}");
    assert_eq!(
        times("hr_worker", "stop").len(),
        2,
        "both runs saw their cancellation"
    );
    let stopped = manager.daemon_status("hr_worker").expect("known");
    assert_eq!(
        (stopped.state, stopped.aborted),
        (DaemonState::Stopped, false)
    );
}

#[tokio::test(start_paused = true)]
async fn starting_a_daemon_starts_its_dependencies_or_refuses_when_told() {
    let specs = vec![
        daemon("md_base", &[], &[]),
        daemon("md_user", &["md_base"], &[]),
    ];
    let manager = coordination(specs.clone()).start_daemon_manager();
    let status = manager.start("md_user").await.expect("known");
    assert_eq!(status.state, DaemonState::Ready);
    assert_eq!(
        manager.daemon_status("md_base").expect("known").state,
        DaemonState::Ready
    );

    let strict = Coordination::builder()
        .coordinators([])
        .daemons(specs)
        .missing_dependency(MissingDependency::Refuse)
        .build()
        .expect("valid")
        .start_daemon_manager();
    let err = strict.start("md_user").await.expect_err("dependency down");
    assert_eq!(
        err.to_string(),
        "[coord::E0301] cannot start daemon 'md_user': its dependency 'md_base' is not running; start 'md_base' \
         first, or let the manager start dependencies (MissingDependency::StartIt)"
    );
}

#[tokio::test(start_paused = true)]
async fn profiles_start_their_members_and_dependencies_only() {
    let manager = Coordination::builder()
        .coordinators([])
        .daemons([
            daemon("pf_router", &[], &[]),
            daemon("pf_sync", &["pf_router"], &[]),
            daemon("pf_eval", &[], &[]),
        ])
        .profile("sync_only", ["pf_sync"])
        .build()
        .expect("valid")
        .start_daemon_manager();
    let report = manager
        .start_profile("sync_only")
        .await
        .expect("known profile");
    assert_eq!(report.ready, ["pf_router", "pf_sync"]);
    assert_eq!(
        manager.daemon_status("pf_eval").expect("known").state,
        DaemonState::Stopped
    );

    let err = manager
        .start_profile("sync-only")
        .await
        .expect_err("unknown profile");
    assert_eq!(
        err.to_string(),
        "[coord::E0501] unknown profile 'sync-only' (did you mean 'sync_only'?); valid names: sync_only"
    );
    let err = manager.start("pf_evl").await.expect_err("unknown daemon");
    assert!(
        err.to_string()
            .starts_with("[coord::E0501] unknown daemon 'pf_evl' (did you mean 'pf_eval'?)"),
        "{err}"
    );
}

#[test]
fn unknown_names_in_the_builder_are_errors() {
    let err = Coordination::builder()
        .coordinators([])
        .daemons([daemon("ub_router", &[], &[])])
        .profile("p", ["ub_ruter"])
        .build()
        .expect_err("unknown");
    assert!(
        err.to_string().contains("did you mean 'ub_router'?"),
        "{err}"
    );
}

static REGISTERED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    RegRouter,
    RegSync,
    RegChecked,
}

/// The groups daemons belong to: a typo in `category = ...` is a compile error.
#[derive(Debug)]
pub enum Group {
    SyncJobs,
}

static HEALTH_CHECKS: AtomicUsize = AtomicUsize::new(0);

async fn check_registered(ctx: DaemonContext) -> Result<(), BoxError> {
    HEALTH_CHECKS.fetch_add(1, Ordering::SeqCst);
    Err(format!("{} lost its peer", ctx.name()).into())
}

async fn run_checked(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

#[daemon(
    DaemonType::RegChecked,
    runner = run_checked,
    category = Group::SyncJobs,
    ready_timeout = "45s",
    shutdown_timeout = "3s",
    max_restarts = 3,
    backoff = "500ms..1m",
    stable_after = "5m",
    health = check_registered,
    health_interval = "2s",
    health_threshold = 2,
    after_give_up = "retry_every(30m)",
    critical = true
)]
pub struct RegChecked;

async fn run_registered(ctx: DaemonContext) -> Result<(), BoxError> {
    REGISTERED_RUNS.fetch_add(1, Ordering::SeqCst);
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

#[daemon(DaemonType::RegRouter, runner = run_registered)]
pub struct RegRouter;

#[daemon(DaemonType::RegSync, runner = run_registered, depends_on = [DaemonType::RegRouter])]
pub struct RegSync;

#[tokio::test]
async fn registered_daemons_are_managed_by_their_type() {
    let coordination = Coordination::builder()
        .coordinators([])
        .enable_daemons([DaemonType::RegSync])
        .build()
        .expect("valid");
    let manager = coordination.start_daemon_manager();
    assert_eq!(manager.daemon_names(), ["reg_router", "reg_sync"]);
    let report = manager.start_all().await;
    assert_eq!(report.ready, ["reg_router", "reg_sync"]);
    assert_eq!(REGISTERED_RUNS.load(Ordering::SeqCst), 2);
    let status = manager.stop(DaemonType::RegRouter).await.expect("known");
    assert_eq!(status.state, DaemonState::Stopped);
    let sync = manager.daemon_status(DaemonType::RegSync).expect("known");
    assert_eq!(
        (sync.state, sync.stopped_because),
        (DaemonState::Stopped, Some("reg_router"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_daemons_attribute_sets_its_settings_and_health_check() {
    let spec = coord::registry()
        .daemon_of(DaemonType::RegChecked)
        .expect("registered");
    assert_eq!(spec.category, Some("sync_jobs"));
    let options = spec.options;
    assert_eq!(options.ready_timeout, Some(Duration::from_secs(45)));
    assert_eq!(options.shutdown_timeout, Some(Duration::from_secs(3)));
    assert_eq!(options.max_restarts, Some(3));
    assert_eq!(
        options.backoff,
        Some(coord::Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(60)
        })
    );
    assert_eq!(options.stable_after, Some(Duration::from_secs(300)));
    assert_eq!(options.health_interval, Some(Duration::from_secs(2)));
    assert_eq!(options.health_threshold, Some(2));
    assert_eq!(options.critical, Some(true));
    assert_eq!(
        options.after_give_up,
        Some(GiveUp::RetryEvery(Duration::from_secs(1800)))
    );
    assert!(options.health.is_some());

    // The check runs every 2 s; the second failure in a row restarts it,
    // after the attribute's first backoff of 500 ms.
    let started = Instant::now();
    let test = TestCoordination::builder()
        .configure(|b| b.coordinators([]))
        .enable_daemons([DaemonType::RegChecked])
        .start()
        .await
        .expect("valid");
    let status = test
        .wait_for(
            DaemonType::RegChecked,
            "restarted by its health check",
            |s| s.restarts_total == 1,
        )
        .await
        .expect("restarted within a minute");
    assert_eq!(started.elapsed(), Duration::from_secs(4));
    assert_eq!(HEALTH_CHECKS.load(Ordering::SeqCst), 2);
    assert_eq!(
        status.last_error.as_deref(),
        Some("[coord::E0306] health check failed 2 times in a row: reg_checked lost its peer")
    );
    let next = status.next_restart_at.expect("in backoff");
    let wait = next.duration_since(status.since).expect("after since");
    assert!(wait <= Duration::from_millis(550), "{wait:?}");
    test.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn every_transition_reaches_a_subscriber_in_order_with_its_error() {
    script(
        "tr_flaky",
        Script {
            fail_runs: 1,
            ..Script::default()
        },
    );
    let manager = coordination(vec![daemon("tr_flaky", &[], &[])]).start_daemon_manager();
    let mut transitions = manager.subscribe_transitions();
    manager.start("tr_flaky").await.expect("known");
    manager
        .wait_for("tr_flaky", |s| s.state.is_ready())
        .await
        .expect("known");
    manager.shutdown().await;
    let mut seen = Vec::new();
    while let Ok(t) = transitions.try_recv() {
        seen.push((t.state.as_str(), t.error));
    }
    let failed = Some("tr_flaky failed on run 0".to_owned());
    assert_eq!(
        seen,
        [
            ("starting", None),
            ("running", None),
            ("backoff", failed.clone()),
            ("running", failed.clone()),
            ("ready", failed.clone()),
            ("stopping", failed.clone()),
            ("stopped", failed),
        ]
    );
}
