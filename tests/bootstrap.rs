//! Coordinator bootstrap: order, concurrency, failure containment, recovery.
//!
//! Every test enables its own coordinators (and what they depend on), so the
//! tests of this binary share a registry without sharing state.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use coord::prelude::*;
use coord::{Coordination, CoordinatorSpec, CoordinatorState, InitError, Location, NotInitialized};

/// What initialisers and shutdown hooks did, in order.
static EVENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(event: String) {
    EVENTS.lock().expect("event log").push(event);
}

/// Events about coordinators whose name starts with `prefix`.
fn events(prefix: &str) -> Vec<String> {
    EVENTS
        .lock()
        .expect("event log")
        .iter()
        .filter(|e| e.split(':').nth(1).is_some_and(|n| n.starts_with(prefix)))
        .cloned()
        .collect()
}

/// A coordinator whose initializer runs `$body` (an async block's contents
/// returning `Result<(), BoxError>`) and whose hooks are recorded.
macro_rules! test_coordinator {
    ($name:ident, [$($dep:ident),*], $body:expr) => {
        #[coordinator(depends_on = [$($dep),*])]
        pub struct $name;

        impl Coordinator for $name {
            async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
                record(format!("init:{}", ctx.name()));
                $body.await?;
                Ok(Self)
            }

            async fn shutdown(&self) -> Result<(), BoxError> {
                record(format!("shutdown:{}", <Self as coord::RegisteredCoordinator>::NAME));
                Ok(())
            }
        }
    };
}

async fn ok() -> Result<(), BoxError> {
    Ok(())
}

fn build(names: &[&str]) -> Coordination {
    Coordination::builder()
        .enable(names.iter().copied())
        .build()
        .expect("test coordinators are registered and acyclic")
}

// --- ordering -------------------------------------------------------------

test_coordinator!(OrderRouter, [], ok());
test_coordinator!(OrderPipeline, [OrderRouter], ok());
test_coordinator!(OrderSync, [OrderPipeline, OrderRouter], ok());

#[coordinator(depends_on = [OrderSync, OrderRouter])]
pub struct OrderPromotion;

impl Coordinator for OrderPromotion {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        // Declared dependencies are initialised and typed when this runs.
        let _sync: std::sync::Arc<OrderSync> = ctx.dep::<OrderSync>();
        record("init:order_promotion".into());
        Ok(Self)
    }
}

#[tokio::test]
async fn initialises_in_dependency_order_and_hands_over_dependencies() {
    let coordination = build(&["order_promotion"]);
    let before = std::time::SystemTime::now();
    let report = coordination.bootstrap().await;
    let after = std::time::SystemTime::now();
    assert!(report.is_ok(), "{:?}", report.status.errors);
    assert_eq!(
        events("order_"),
        [
            "init:order_router",
            "init:order_pipeline",
            "init:order_sync",
            "init:order_promotion"
        ]
    );
    assert_eq!(
        report.status.initialized_coordinators,
        [
            "order_router",
            "order_pipeline",
            "order_sync",
            "order_promotion"
        ]
    );
    assert!(coordination.get::<OrderPromotion>().is_ok());
    let mut previous = before;
    for status in &report.status.coordinators {
        assert_eq!(status.state, CoordinatorState::Ready);
        assert!(status.init_duration.is_some(), "{status:?}");
        // Wall-clock start times within the call, in initialisation order.
        let started_at = status.started_at.expect("started");
        assert!(previous <= started_at && started_at <= after, "{status:?}");
        previous = started_at;
    }
}

test_coordinator!(OnceOnly, [], ok());

#[tokio::test]
async fn a_second_bootstrap_is_a_no_op_that_says_so() {
    let coordination = build(&["once_only"]);
    assert!(!coordination.bootstrap().await.already_complete);
    let again = coordination.bootstrap().await;
    assert!(again.already_complete);
    assert!(again.is_ok());
    assert_eq!(events("once_only"), ["init:once_only"]);
}

// --- concurrency ----------------------------------------------------------

/// Opens only when all three initialisers of one level are inside it at once.
static LEVEL_BARRIER: LazyLock<tokio::sync::Barrier> =
    LazyLock::new(|| tokio::sync::Barrier::new(3));

async fn meet_at_barrier() -> Result<(), BoxError> {
    LEVEL_BARRIER.wait().await;
    Ok(())
}

test_coordinator!(LevelRoot, [], ok());
test_coordinator!(LevelLeft, [LevelRoot], meet_at_barrier());
test_coordinator!(LevelMiddle, [LevelRoot], meet_at_barrier());
test_coordinator!(LevelRight, [LevelRoot], meet_at_barrier());
test_coordinator!(LevelTop, [LevelLeft, LevelMiddle, LevelRight], ok());

#[tokio::test(start_paused = true)]
async fn initialisers_of_one_level_overlap() {
    // Run one after another, the first would wait at the barrier until its
    // timeout (virtual time advances when the runtime idles): failed, not ready.
    let coordination = build(&["level_top"]);
    let report = coordination.bootstrap().await;
    assert!(report.is_ok(), "{:?}", report.status.errors);
    assert_eq!(report.status.initialized_coordinators.len(), 5);
}

// --- failure containment --------------------------------------------------

async fn disk_full() -> Result<(), BoxError> {
    Err("disk full".into())
}

test_coordinator!(ChainBad, [], disk_full());
test_coordinator!(ChainMid, [ChainBad], ok());
test_coordinator!(ChainTop, [ChainMid], ok());
test_coordinator!(ChainFree, [], ok());

#[tokio::test]
async fn a_failure_skips_every_dependent_with_the_root_cause() {
    let coordination = build(&["chain_top", "chain_free"]);
    let report = coordination.bootstrap().await;
    assert!(!report.is_ok());
    let status = &report.status;
    assert!(status.is_complete);
    assert_eq!(status.initialized_coordinators, ["chain_free"]);
    assert_eq!(status.errors.len(), 3);

    let bad = status.coordinator("chain_bad").expect("enabled");
    assert_eq!(bad.state, CoordinatorState::Failed);
    assert_eq!(
        bad.error.as_ref().map(ToString::to_string).as_deref(),
        Some("[coord::E0201] coordinator 'chain_bad' failed to initialize: disk full")
    );

    let mid = status.coordinator("chain_mid").expect("enabled");
    assert_eq!(mid.state, CoordinatorState::Skipped);
    assert_eq!(
        mid.error.as_ref().map(ToString::to_string).as_deref(),
        Some(
            "[coord::E0204] Coordinator 'chain_mid' depends on 'chain_bad' which is not initialized \
             (root cause: [coord::E0201] coordinator 'chain_bad' failed to initialize: disk full)"
        )
    );

    let top = status.coordinator("chain_top").expect("enabled");
    assert_eq!(top.state, CoordinatorState::Skipped);
    let top_error = top.error.as_ref().expect("skipped with a reason");
    assert_eq!(
        top_error.to_string(),
        "[coord::E0204] Coordinator 'chain_top' depends on 'chain_mid' which is not initialized \
         (root cause: [coord::E0201] coordinator 'chain_bad' failed to initialize: disk full)"
    );
    assert!(matches!(
        top_error.root_cause(),
        InitError::Failed {
            name: "chain_bad",
            ..
        }
    ));
    // The chain is walkable through `source()` too, for error reporters.
    let source = std::error::Error::source(top_error).expect("the dependency's error");
    assert!(
        source
            .to_string()
            .starts_with("[coord::E0204] Coordinator 'chain_mid' depends on 'chain_bad'")
    );

    assert!(
        events("chain_")
            .iter()
            .all(|e| e != "init:chain_mid" && e != "init:chain_top")
    );
    match coordination.get::<ChainTop>() {
        Err(NotInitialized::Failed(InitError::DependencyNotInitialized { dependency, .. })) => {
            assert_eq!(dependency, "chain_mid")
        }
        other => panic!("expected a skipped coordinator, got {:?}", other.err()),
    }
    assert!(coordination.get::<ChainFree>().is_ok());
}

async fn panic_now() -> Result<(), BoxError> {
    panic!("invariant broken at start")
}

async fn panic_after_waiting() -> Result<(), BoxError> {
    tokio::task::yield_now().await;
    panic!("invariant broken later")
}

test_coordinator!(PanicEarly, [], panic_now());
test_coordinator!(PanicLate, [], panic_after_waiting());
test_coordinator!(PanicBystander, [], ok());

#[tokio::test]
async fn a_panicking_initializer_is_contained() {
    let coordination = build(&["panic_early", "panic_late", "panic_bystander"]);
    let report = coordination.bootstrap().await;
    let status = &report.status;
    assert_eq!(status.initialized_coordinators, ["panic_bystander"]);
    for (name, message) in [
        ("panic_early", "invariant broken at start"),
        ("panic_late", "invariant broken later"),
    ] {
        let c = status.coordinator(name).expect("enabled");
        assert_eq!(c.state, CoordinatorState::Failed);
        assert_eq!(
            c.error.as_ref().map(ToString::to_string),
            Some(format!(
                "[coord::E0202] coordinator '{name}' panicked while initializing: {message}"
            ))
        );
    }
}

async fn hang() -> Result<(), BoxError> {
    std::future::pending::<()>().await;
    Ok(())
}

test_coordinator!(SlowHanger, [], hang());
test_coordinator!(SlowDependent, [SlowHanger], ok());

#[tokio::test(start_paused = true)]
async fn an_initializer_past_its_timeout_is_cancelled_and_reported() {
    let coordination = Coordination::builder()
        .enable(["slow_dependent"])
        .coordinator_timeout("slow_hanger", Duration::from_secs(5))
        .build()
        .expect("valid");
    let started = tokio::time::Instant::now();
    let report = coordination.bootstrap().await;
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    let hanger = report.status.coordinator("slow_hanger").expect("enabled");
    assert!(matches!(
        hanger.error,
        Some(InitError::TimedOut { name: "slow_hanger", after }) if after == Duration::from_secs(5)
    ));
    let dependent = report
        .status
        .coordinator("slow_dependent")
        .expect("enabled");
    assert_eq!(dependent.state, CoordinatorState::Skipped);
}

#[test]
fn an_unknown_name_in_the_builder_is_an_error() {
    let err = Coordination::builder()
        .coordinator_timeout("slow_hangr", Duration::from_secs(1))
        .build()
        .expect_err("unknown name");
    assert!(
        err.to_string().contains("did you mean 'slow_hanger'?"),
        "{err}"
    );
}

// --- recovery -------------------------------------------------------------

test_coordinator!(ResetBase, [], ok());
test_coordinator!(ResetTop, [ResetBase], ok());

#[tokio::test]
async fn reset_shuts_down_in_reverse_and_bootstrap_runs_again() {
    let coordination = build(&["reset_top"]);
    assert!(coordination.bootstrap().await.is_ok());
    let report = coordination.reset_bootstrap().await;
    assert_eq!(report.stopped, ["reset_top", "reset_base"]);
    assert!(report.errors.is_empty());
    let status = coordination.bootstrap_status();
    assert!(!status.is_complete);
    assert!(
        status
            .coordinators
            .iter()
            .all(|c| c.state == CoordinatorState::Pending)
    );
    assert!(matches!(
        coordination.get::<ResetTop>(),
        Err(NotInitialized::NotStarted {
            state: CoordinatorState::Pending,
            ..
        })
    ));

    let again = coordination.bootstrap().await;
    assert!(!again.already_complete);
    assert!(again.is_ok());
    assert_eq!(
        events("reset_"),
        [
            "init:reset_base",
            "init:reset_top",
            "shutdown:reset_top",
            "shutdown:reset_base",
            "init:reset_base",
            "init:reset_top"
        ]
    );
}

static FLAKY_CALLS: AtomicUsize = AtomicUsize::new(0);

async fn fails_the_first_time() -> Result<(), BoxError> {
    if FLAKY_CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
        Err("not yet".into())
    } else {
        Ok(())
    }
}

test_coordinator!(ReBase, [], fails_the_first_time());
test_coordinator!(ReMid, [ReBase], ok());
test_coordinator!(ReTop, [ReMid], ok());
test_coordinator!(ReOther, [], ok());

#[tokio::test]
async fn reinitialize_cascades_to_dependents_and_not_to_others() {
    let coordination = build(&["re_top", "re_other"]);
    let first = coordination.bootstrap().await;
    assert_eq!(first.status.initialized_coordinators, ["re_other"]);

    let report = coordination
        .reinitialize_coordinator("re_base")
        .await
        .expect("known name");
    assert!(report.is_ok(), "{:?}", report.status.errors);
    assert_eq!(
        events("re_"),
        [
            "init:re_base",
            "init:re_other",
            "init:re_base",
            "init:re_mid",
            "init:re_top"
        ]
    );

    // Reinitialising a healthy coordinator shuts its dependents down first.
    coordination
        .reinitialize_coordinator("re_mid")
        .await
        .expect("known name");
    let log = events("re_");
    assert_eq!(
        log[5..],
        [
            "shutdown:re_top",
            "shutdown:re_mid",
            "init:re_mid",
            "init:re_top"
        ]
    );
    assert_eq!(log.iter().filter(|e| *e == "init:re_other").count(), 1);
}

#[tokio::test]
async fn reinitialize_of_an_unknown_name_lists_the_known_ones() {
    let coordination = build(&["re_top", "re_other"]);
    let err = coordination
        .reinitialize_coordinator("re_mdi")
        .await
        .expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "[coord::E0501] unknown coordinator 're_mdi' (did you mean 're_mid'?); valid names: re_base, re_other, re_mid, re_top"
    );
}

// --- critical path --------------------------------------------------------

#[coordinator]
pub struct Sleeper;

impl Coordinator for Sleeper {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(Self)
    }
}

/// 200 coordinators in 10 levels of 20; each depends on two of the level above.
fn layered_sleepers() -> Vec<&'static CoordinatorSpec> {
    let here = Location {
        module_path: module_path!(),
        file: file!(),
        line: line!(),
    };
    let name = |level: usize, i: usize| -> &'static str { format!("sleeper_{level}_{i}").leak() };
    let mut specs = Vec::new();
    for level in 0..10 {
        for i in 0..20 {
            let deps: &'static [&'static str] = if level == 0 {
                &[]
            } else {
                vec![name(level - 1, i), name(level - 1, (i + 7) % 20)].leak()
            };
            specs.push(&*Box::leak(Box::new(CoordinatorSpec::named::<Sleeper>(
                name(level, i),
                deps,
                here,
            ))));
        }
    }
    specs
}

#[tokio::test(start_paused = true)]
async fn bootstrap_time_is_the_critical_path_not_the_sum() {
    let coordination = Coordination::builder()
        .coordinators(layered_sleepers())
        .build()
        .expect("valid graph");
    let started = tokio::time::Instant::now();
    let report = coordination.bootstrap().await;
    assert!(report.is_ok());
    assert_eq!(report.status.initialized_coordinators.len(), 200);
    // 10 levels of 10 ms each, not 200 x 10 ms.
    assert_eq!(started.elapsed(), Duration::from_millis(100));
}
