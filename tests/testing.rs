//! `coord::testing`: the harness tested on a small service of its own.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use coord::prelude::*;
use coord::testing::{Recorded, TestCoordination, TestError};
use coord::{DaemonState, RestartPolicy as Policy};

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    Collector,
    Stuck,
}

#[derive(Event, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Collected {
    pub batch: u32,
}

#[derive(Event, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[event(external)]
pub struct Upload {
    pub model: String,
}

/// Publishes a batch every second once ready.
#[daemon(DaemonType::Collector, runner = collect, publishes = [Collected], restart = on_failure, backoff = "1s..10s")]
pub struct Collector;

async fn collect(ctx: DaemonContext<Collector>) -> Result<(), BoxError> {
    ctx.ready();
    let mut batch = 0;
    loop {
        tokio::select! {
            () = ctx.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                batch += 1;
                ctx.publish(Collected { batch }).await;
            }
        }
    }
}

/// Never signals ready.
#[daemon(DaemonType::Stuck, runner = stuck, restart = never, ready_timeout = "1h")]
pub struct Stuck;

async fn stuck(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.cancelled().await;
    Ok(())
}

/// Stands for a database: its initializer fails outside production.
#[coordinator]
pub struct Store {
    pub url: String,
}

impl Coordinator for Store {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Err("no database in tests".into())
    }
}

/// Counts the batches and uploads it is told about.
#[coordinator(depends_on = [Store])]
pub struct Pipeline {
    pub store_url: String,
    pub batches: AtomicU32,
}

impl Coordinator for Pipeline {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self {
            store_url: ctx.dep::<Store>().url.clone(),
            batches: AtomicU32::new(0),
        })
    }
}

#[subscriptions]
impl Pipeline {
    #[subscribe]
    async fn on_collected(&self, _event: &Collected) -> Result<(), BoxError> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    #[subscribe]
    async fn on_upload(&self, _event: &Upload) -> Result<(), BoxError> {
        Ok(())
    }
}

/// The service with a fake store, only the collector running.
fn service() -> coord::testing::TestBuilder {
    TestCoordination::builder()
        .with_coordinator(Store {
            url: "memory://".to_owned(),
        })
        .enable_daemons([DaemonType::Collector])
}

#[tokio::test]
async fn a_stand_in_coordinator_is_used_instead_of_its_initializer() {
    let test = service().start().await.expect("starts with the fake store");
    let pipeline = test.coordination().get::<Pipeline>().expect("initialised");
    assert_eq!(pipeline.store_url, "memory://");
    test.shutdown().await;
}

#[tokio::test]
async fn a_runner_failing_on_its_first_start_is_restarted_by_its_policy() {
    let test = service()
        .fail_on_start(DaemonType::Collector, 1)
        .start()
        .await
        .expect("starts");
    // Restarted after its backoff, on the paused clock: no real wait.
    test.wait_state(DaemonType::Collector, DaemonState::Ready)
        .await
        .expect("ready after one restart");
    test.assert_restarted(DaemonType::Collector, 1);
    let facts = test.recorder().facts();
    assert!(
        facts.iter().any(
            |f| matches!(f, Recorded::Transition { daemon: "collector", error: Some(e), .. }
            if e.contains("injected failure of collector on start 1"))
        ),
        "{}",
        test.recorder().timeline()
    );
    test.shutdown().await;
}

#[tokio::test]
async fn a_runner_panicking_on_its_second_start_is_restarted_again() {
    let test = service()
        .fail_on_start(DaemonType::Collector, 1)
        .panic_on_start(DaemonType::Collector, 2)
        .start()
        .await
        .expect("starts");
    let status = test
        .wait_for(DaemonType::Collector, "restarted twice and ready", |s| {
            s.restarts_total == 2 && s.state.is_ready()
        })
        .await
        .expect("ready after two restarts");
    assert!(status.state.is_ready());
    test.assert_restarted(DaemonType::Collector, 2);
    test.shutdown().await;
}

#[tokio::test]
async fn wait_event_finds_a_matching_event_published_before_or_after_the_call() {
    let test = service().start().await.expect("starts");
    let third = test
        .wait_event::<Collected>(|c| c.batch == 3)
        .await
        .expect("the collector publishes a third batch");
    assert_eq!(third, Collected { batch: 3 });
    // Already published: found at once.
    let first = test
        .wait_event::<Collected>(|c| c.batch == 1)
        .await
        .expect("recorded");
    assert_eq!(first.batch, 1);
    test.assert_published::<Collected>(3);
    test.shutdown().await;
}

#[tokio::test]
async fn a_runner_in_place_of_the_daemons_own_runs_instead() {
    let test = service()
        .with_runner(DaemonType::Collector, |ctx: DaemonContext| async move {
            ctx.ready();
            ctx.cancelled().await;
            Ok::<(), BoxError>(())
        })
        .start()
        .await
        .expect("starts");
    test.wait_ready_all().await.expect("ready");
    tokio::time::sleep(Duration::from_secs(5)).await;
    test.assert_published::<Collected>(0);
    test.shutdown().await;
}

#[tokio::test]
async fn a_handler_failing_its_first_deliveries_is_retried_until_it_succeeds() {
    let test = service()
        .fail_handler("Pipeline::on_upload", 2)
        .start()
        .await
        .expect("starts");
    test.publish(Upload {
        model: "m1".to_owned(),
    })
    .await;
    // Retried after 1 s, then 2 s of paused time.
    test.wait_recorded(
        "the upload delivered",
        |f| matches!(f, Recorded::Delivered { handler, .. } if handler == "Pipeline::on_upload"),
    )
    .await
    .expect("delivered on the third try");
    let facts = test.recorder().facts();
    let upload: Vec<&Recorded> = facts
        .iter()
        .filter(|f| match f {
            Recorded::Delivered { handler, .. } | Recorded::Failed { handler, .. } => {
                handler == "Pipeline::on_upload"
            }
            _ => false,
        })
        .collect();
    assert_eq!(
        upload.len(),
        3,
        "two injected failures, then the delivery: {upload:?}"
    );
    assert!(
        matches!(upload[0], Recorded::Failed { error, .. } if error.starts_with("injected failure of Pipeline::on_upload"))
    );
    assert!(matches!(upload[2], Recorded::Delivered { .. }));
    test.shutdown().await;
}

#[tokio::test]
async fn a_wait_that_times_out_shows_every_state_and_the_timeline() {
    let test = TestCoordination::builder()
        .with_coordinator(Store {
            url: "memory://".to_owned(),
        })
        .enable_daemons([DaemonType::Collector, DaemonType::Stuck])
        .configure(|b| b.restart_policy(DaemonType::Stuck, Policy::Never))
        .wait_at_most(Duration::from_secs(5))
        .start()
        .await
        .expect("starts");
    let error = test
        .wait_state(DaemonType::Stuck, DaemonState::Ready)
        .await
        .expect_err("stuck never signals ready");
    assert!(matches!(error, TestError::Timeout { .. }));
    let text = error.to_string();
    assert!(
        text.starts_with("waited 5s (test clock) for daemon stuck to be ready, in vain"),
        "{text}"
    );
    assert!(
        text.contains("  stuck                    running"),
        "{text}"
    );
    assert!(text.contains("  collector                ready"), "{text}");
    assert!(text.contains("daemon collector -> ready"), "{text}");
    test.shutdown().await;
}

#[tokio::test]
async fn a_failing_assertion_says_what_was_expected_and_prints_the_timeline() {
    let test = service().start().await.expect("starts");
    test.wait_ready_all().await.expect("ready");
    let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        test.assert_restarted(DaemonType::Collector, 2);
    }))
    .expect_err("it was never restarted");
    let message = failed.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        message.starts_with("expected daemon collector to be restarted 2 time(s), it was restarted 0 time(s)\ndaemons now:\n  collector"),
        "{message}"
    );
    assert!(message.contains("timeline:\n"), "{message}");
    assert!(message.contains("daemon collector -> running"), "{message}");
    test.shutdown().await;
}

#[tokio::test]
async fn a_misspelt_handler_to_fail_is_refused_with_the_real_names() {
    let error = service()
        .fail_handler("Pipeline::on_uplaod", 1)
        .start()
        .await
        .expect_err("no such handler");
    let text = error.to_string();
    assert!(text.contains("on_uplaod"), "{text}");
    assert!(text.contains("Pipeline::on_upload"), "{text}");
}
