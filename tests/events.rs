//! The typed event router: delivery, metadata, isolation, dead letters,
//! rewiring, orphans, ordering. Handlers report what they saw to a log the
//! tests wait on; retries and timeouts run on paused time.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use coord::prelude::*;
use coord::{BusConfig, Coordination, DeadLetterState, EventMeta};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// What handlers saw, for tests to wait on.
struct Seen {
    entries: Mutex<Vec<String>>,
    changed: Notify,
}

static SEEN: LazyLock<Seen> = LazyLock::new(|| Seen {
    entries: Mutex::new(Vec::new()),
    changed: Notify::new(),
});

fn saw(entry: String) {
    SEEN.entries.lock().expect("seen").push(entry);
    SEEN.changed.notify_waiters();
}

/// Entries starting with `prefix`, once there are at least `count` of them.
async fn wait_seen(prefix: &str, count: usize) -> Vec<String> {
    loop {
        let notified = SEEN.changed.notified();
        let mut notified = std::pin::pin!(notified);
        notified.as_mut().enable();
        let found: Vec<String> = SEEN
            .entries
            .lock()
            .expect("seen")
            .iter()
            .filter(|e| e.starts_with(prefix))
            .cloned()
            .collect();
        if found.len() >= count {
            return found;
        }
        notified.await;
    }
}

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct TrainingCompleted {
    pub model: String,
    pub loss: f64,
}

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
#[event(name = "model_evaluated")]
pub struct Evaluated {
    pub model: String,
    pub score: f64,
}

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct NeverSubscribed;

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct Numbered(pub u32);

#[test]
fn event_names_are_snake_case_or_as_given() {
    assert_eq!(
        <TrainingCompleted as coord::Event>::NAME,
        "training_completed"
    );
    assert_eq!(<Evaluated as coord::Event>::NAME, "model_evaluated");
}

// --- coordinators with handlers ---------------------------------------------

#[coordinator]
pub struct Trainer;

impl Coordinator for Trainer {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Trainer {
    /// Evaluates every trained model, publishing the result.
    #[subscribe]
    async fn on_training_completed(&self, event: &TrainingCompleted) -> Result<(), BoxError> {
        let meta = EventMeta::current().expect("inside a handler");
        saw(format!(
            "trainer:{}:{}:{}",
            event.model, meta.id, meta.source
        ));
        coord_publish(Evaluated {
            model: event.model.clone(),
            score: 1.0 - event.loss,
        })
        .await;
        Ok(())
    }
}

/// The bus of the coordination the test runs; handlers publish through it.
static BUS: Mutex<Option<coord::EventBus>> = Mutex::new(None);

async fn coord_publish<E: coord::Event>(event: E) {
    let bus = BUS.lock().expect("bus").clone();
    if let Some(bus) = bus {
        bus.publish(event).await;
    }
}

#[coordinator(depends_on = [Trainer])]
pub struct Promoter;

impl Coordinator for Promoter {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl Promoter {
    #[subscribe]
    async fn on_training_completed(&self, event: &TrainingCompleted) -> Result<(), BoxError> {
        saw(format!("promoter-trained:{}", event.model));
        Ok(())
    }

    #[subscribe]
    async fn on_evaluated(&self, event: &Evaluated) -> Result<(), BoxError> {
        let meta = EventMeta::current().expect("inside a handler");
        saw(format!(
            "promoter-evaluated:{}:{}:{}",
            event.model, meta.correlation_id, meta.source
        ));
        Ok(())
    }
}

fn coordination(names: &[&str], bus: BusConfig) -> Coordination {
    Coordination::builder()
        .enable(names.iter().copied())
        .daemons([])
        .event_bus(bus)
        .build()
        .expect("valid")
}

#[tokio::test]
async fn events_reach_every_handler_with_metadata_and_correlation() {
    let coordination = coordination(&["promoter"], BusConfig::default());
    *BUS.lock().expect("bus") = Some(coordination.events().clone());
    assert!(coordination.bootstrap().await.is_ok());
    let closure_hits = Arc::new(AtomicU32::new(0));
    let hits = Arc::clone(&closure_hits);
    coordination
        .events()
        .subscribe("test::closure", move |event: TrainingCompleted| {
            let hits = Arc::clone(&hits);
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                saw(format!("closure:{}", event.model));
                Ok(())
            }
        })
        .expect("unique name");

    coordination
        .publish(TrainingCompleted {
            model: "m1".into(),
            loss: 0.25,
        })
        .await;

    let trainer = wait_seen("trainer:m1", 1).await;
    wait_seen("promoter-trained:m1", 1).await;
    wait_seen("closure:m1", 1).await;
    let evaluated = wait_seen("promoter-evaluated:m1", 1).await;
    // The root event came from outside; its handler's publish is sourced to the
    // handler's coordinator and carries the root's id as correlation id.
    let root_id = trainer[0].split(':').nth(2).expect("id").to_owned();
    assert!(trainer[0].ends_with(":external"), "{trainer:?}");
    assert_eq!(
        evaluated[0],
        format!("promoter-evaluated:m1:{root_id}:trainer")
    );
    assert_eq!(closure_hits.load(Ordering::SeqCst), 1);

    let subscriptions = coordination.events().subscriptions();
    assert_eq!(
        subscriptions["training_completed"],
        [
            "Trainer::on_training_completed",
            "Promoter::on_training_completed",
            "test::closure"
        ]
    );
    assert_eq!(subscriptions["model_evaluated"], ["Promoter::on_evaluated"]);
}

// --- isolation and dead letters ---------------------------------------------

#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct Job(pub u32);

fn fast_retries() -> BusConfig {
    BusConfig {
        handler_timeout: Duration::from_secs(5),
        retry_jitter: 0.0,
        ..BusConfig::default()
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_panicking_or_hanging_handler_never_affects_the_others() {
    let bus = coord::EventBus::new(fast_retries());
    bus.subscribe("iso::fails", |_: Job| async {
        Err::<(), BoxError>("disk full".into())
    })
    .expect("unique");
    bus.subscribe("iso::panics", |_: Job| async { panic!("bad state") })
        .expect("unique");
    bus.subscribe("iso::hangs", |_: Job| async {
        std::future::pending::<()>().await;
        Ok(())
    })
    .expect("unique");
    bus.subscribe("iso::works", |job: Job| async move {
        saw(format!("iso-works:{}", job.0));
        Ok(())
    })
    .expect("unique");

    bus.publish(Job(1)).await;
    bus.publish(Job(2)).await;
    wait_seen("iso-works:2", 1).await;
    assert_eq!(
        wait_seen("iso-works:", 2).await,
        ["iso-works:1", "iso-works:2"]
    );

    // The hanging handler times out after 5 s per event; by then all have failed once.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let letters = bus.dead_letters();
    let errors: Vec<(String, String)> = letters
        .iter()
        .filter(|l| l.meta.id == letters[0].meta.id)
        .map(|l| (l.handler.clone(), l.last_error.clone()))
        .collect();
    assert!(
        errors.contains(&("iso::fails".into(), "disk full".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&(
            "iso::panics".into(),
            "[coord::E0403] handler panicked: bad state".into()
        )),
        "{errors:?}"
    );
    assert!(
        errors.contains(&(
            "iso::hangs".into(),
            "[coord::E0402] handler timed out after 5s".into()
        )),
        "{errors:?}"
    );
    assert!(!errors.iter().any(|(h, _)| h == "iso::works"));
    let counts = &bus.counts()["job"];
    assert_eq!(counts.published, 2);
    assert!(counts.delivered >= 2 && counts.failed >= 5, "{counts:?}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_delivery_is_retried_with_backoff_then_kept_dead_and_replayable() {
    let bus = coord::EventBus::new(fast_retries());
    let attempts = Arc::new(Mutex::new(Vec::new()));
    let healthy = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (seen, ok) = (Arc::clone(&attempts), Arc::clone(&healthy));
    bus.subscribe("dlq::flaky", move |_: Job| {
        let seen = Arc::clone(&seen);
        let ok = Arc::clone(&ok);
        async move {
            seen.lock()
                .expect("attempts")
                .push(tokio::time::Instant::now());
            if ok.load(Ordering::SeqCst) {
                saw("dlq-replayed".into());
                Ok(())
            } else {
                Err::<(), BoxError>("downstream unavailable".into())
            }
        }
    })
    .expect("unique");
    let started = tokio::time::Instant::now();
    bus.publish(Job(7)).await;
    // 5 tries: the first, then after 1, 2, 4 and 8 s.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let times: Vec<Duration> = attempts
        .lock()
        .expect("attempts")
        .iter()
        .map(|t| *t - started)
        .collect();
    assert_eq!(
        times,
        [0, 1, 3, 7, 15].map(Duration::from_secs),
        "retry times"
    );
    let letters = bus.dead_letters();
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.state, DeadLetterState::Dead);
    assert_eq!(letter.attempts, 5);
    assert_eq!(letter.payload, "7");
    assert_eq!(letter.last_error, "downstream unavailable");
    // Dead letters are never redelivered by themselves.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert_eq!(attempts.lock().expect("attempts").len(), 5);

    healthy.store(true, Ordering::SeqCst);
    bus.replay_dead_letter(letter.id).await.expect("known id");
    wait_seen("dlq-replayed", 1).await;
    assert!(bus.dead_letters().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_full_dead_letter_queue_drops_its_oldest_letter_and_counts_it() {
    let bus = coord::EventBus::new(BusConfig {
        dead_letter_capacity: 3,
        max_attempts: 1,
        ..fast_retries()
    });
    bus.subscribe("full::sink", |_: Job| async {
        Err::<(), BoxError>("sink offline".into())
    })
    .expect("unique");
    // One attempt each: every failed delivery is dead at once.
    for n in 0..5 {
        bus.publish(Job(n)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while bus.dead_letters_dropped() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "never overflowed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kept: Vec<String> = bus
        .dead_letters()
        .iter()
        .map(|l| l.payload.clone())
        .collect();
    assert_eq!(kept, ["2", "3", "4"], "the oldest went first");
    assert_eq!(bus.dead_letters_dropped(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_earlier_runs_dead_letters_resume_or_are_kept_with_the_reason() {
    let bus = coord::EventBus::new(fast_retries());
    bus.subscribe("adopt::sink", |job: Job| async move {
        saw(format!("adopt:{}", job.0));
        Ok::<(), BoxError>(())
    })
    .expect("unique");
    let meta = |id: u64| coord::EventMeta {
        id: coord::EventId(id),
        name: "job".into(),
        timestamp: std::time::SystemTime::now(),
        source: "external".into(),
        correlation_id: coord::EventId(id),
    };
    let letter = |id: u64, handler: &str, state: DeadLetterState, due_in: u64| coord::DeadLetter {
        id,
        handler: handler.to_owned(),
        meta: meta(id),
        payload: id.to_string(),
        attempts: 2,
        last_error: "disk full".to_owned(),
        state,
        next_attempt_at: Some(std::time::SystemTime::now() + Duration::from_secs(due_in)),
    };
    let adopted_at = tokio::time::Instant::now();
    let report = bus.adopt_dead_letters(vec![
        letter(41, "adopt::sink", DeadLetterState::Retrying, 5),
        letter(42, "adopt::gone", DeadLetterState::Retrying, 5),
        letter(43, "adopt::sink", DeadLetterState::Dead, 0),
    ]);
    assert_eq!(report.resumed, 2);
    assert_eq!(report.unresolved.len(), 1);
    assert!(
        report.unresolved[0].contains("[coord::E0408] no handler 'adopt::gone'"),
        "{report:?}"
    );
    // The retrying one is redelivered when it was due (5 s, give or take the
    // wall clock's moment between recording and adopting); the dead one waits.
    assert_eq!(wait_seen("adopt:", 1).await, ["adopt:41"]);
    let waited = adopted_at.elapsed();
    assert!(
        (Duration::from_secs(4)..=Duration::from_secs(5)).contains(&waited),
        "{waited:?}"
    );
    let letters = bus.dead_letters();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let gone = letters
        .iter()
        .find(|l| l.handler == "adopt::gone")
        .expect("kept");
    assert_eq!(gone.state, DeadLetterState::Dead);
    assert!(
        gone.last_error.ends_with("last error: disk full"),
        "{}",
        gone.last_error
    );
    // A replay of a letter with no handler fails and keeps it.
    assert!(bus.replay_dead_letter(gone.id).await.is_err());
    assert_eq!(bus.dead_letters().len(), 2);
    // A replay of the adopted dead one reaches its handler.
    let dead = letters.iter().find(|l| l.payload == "43").expect("adopted");
    bus.replay_dead_letter(dead.id).await.expect("handed over");
    assert_eq!(wait_seen("adopt:", 2).await, ["adopt:41", "adopt:43"]);
}

// --- wiring -----------------------------------------------------------------

#[coordinator]
pub struct Broken;

impl Coordinator for Broken {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Err("no database".into())
    }
}

#[subscriptions]
impl Broken {
    #[subscribe]
    async fn on_job(&self, _job: &Job) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tokio::test]
async fn a_handler_of_a_failed_coordinator_is_reported_not_wired() {
    let coordination = coordination(&["broken", "trainer"], BusConfig::default());
    coordination.bootstrap().await;
    let status = coordination.subscription_status();
    let broken = status
        .iter()
        .find(|s| s.handler == "Broken::on_job")
        .expect("registered");
    assert!(!broken.wired);
    assert_eq!(
        broken.reason.as_deref(),
        Some("[coord::E0201] coordinator 'broken' failed to initialize: no database")
    );
    let trainer = status
        .iter()
        .find(|s| s.handler == "Trainer::on_training_completed")
        .expect("registered");
    assert!(trainer.wired, "{trainer:?}");
    let promoter = status
        .iter()
        .find(|s| s.handler == "Promoter::on_evaluated")
        .expect("registered");
    assert_eq!(
        promoter.reason.as_deref(),
        Some("coordinator 'promoter' is not enabled")
    );
}

#[tokio::test]
async fn rewiring_is_idempotent_and_reset_clears_the_wiring() {
    let coordination = coordination(&["trainer"], BusConfig::default());
    coordination.bootstrap().await;
    coordination.rewire_event_subscriptions();
    coordination.rewire_event_subscriptions();
    assert_eq!(
        coordination.events().subscriptions()["training_completed"],
        ["Trainer::on_training_completed"]
    );
    coordination.reset_bootstrap().await;
    assert!(coordination.events().subscriptions().is_empty());
}

#[tokio::test]
async fn orphaned_and_unused_events_are_reported() {
    let bus = coord::EventBus::default();
    bus.subscribe("orphan::listener", |_: Evaluated| async { Ok(()) })
        .expect("unique");
    bus.publish(NeverSubscribed).await;
    assert_eq!(bus.orphaned_events(), ["never_subscribed"]);
    assert_eq!(bus.unused_subscriptions(), ["model_evaluated"]);
    bus.publish(Evaluated {
        model: "m".into(),
        score: 0.5,
    })
    .await;
    assert!(bus.unused_subscriptions().is_empty());
}

#[tokio::test]
async fn each_subscriber_sees_one_publishers_events_in_order() {
    let bus = coord::EventBus::new(BusConfig {
        queue_capacity: 8,
        ..BusConfig::default()
    });
    for name in ["fifo::a", "fifo::b"] {
        bus.subscribe(name, move |n: Numbered| async move {
            // Yield so the two subscribers interleave; order within each must hold.
            tokio::task::yield_now().await;
            saw(format!("{name}:{}", n.0));
            Ok(())
        })
        .expect("unique");
    }
    // More events than the queue holds: publish waits for room (backpressure).
    for n in 0..200 {
        bus.publish(Numbered(n)).await;
    }
    for name in ["fifo::a", "fifo::b"] {
        let got = wait_seen(&format!("{name}:"), 200).await;
        let expected: Vec<String> = (0..200).map(|n| format!("{name}:{n}")).collect();
        assert_eq!(got, expected);
    }
}

#[tokio::test]
async fn duplicate_closure_names_are_refused() {
    let bus = coord::EventBus::default();
    bus.subscribe("dup::x", |_: Job| async { Ok(()) })
        .expect("first");
    let err = bus
        .subscribe("dup::x", |_: Job| async { Ok(()) })
        .expect_err("second");
    assert_eq!(
        err.to_string(),
        "[coord::E0401] a handler named 'dup::x' already subscribes to 'job'; names must be unique per event type"
    );
}

#[tokio::test]
async fn a_handler_that_waits_still_sees_its_event_and_passes_on_the_correlation() {
    let bus = coord::EventBus::new(BusConfig::default());
    let (seen, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let publisher = bus.clone();
    let first = seen.clone();
    // It waits before reading its event and publishing: the rest of the call
    // runs in the subscriber's worker, not in the publisher.
    bus.subscribe("test::waits", move |job: Job| {
        let (bus, seen) = (publisher.clone(), first.clone());
        async move {
            tokio::task::yield_now().await;
            // Sent as it is, not unwrapped: a panic here would only reach the dead-letter queue.
            let meta = EventMeta::current().map(|m| (m.id, m.correlation_id));
            let _ = seen.send(("waits", meta));
            bus.publish(Evaluated {
                model: format!("job-{}", job.0),
                score: 0.5,
            })
            .await;
            Ok(())
        }
    })
    .expect("unique name");
    bus.subscribe("test::evaluated", move |_: Evaluated| {
        let seen = seen.clone();
        async move {
            let meta = EventMeta::current().map(|m| (m.id, m.correlation_id));
            let _ = seen.send(("evaluated", meta));
            Ok(())
        }
    })
    .expect("unique name");

    bus.publish(Job(1)).await;
    let (name, job) = seen_rx.recv().await.expect("the job handler ran");
    assert_eq!(name, "waits");
    let (job_id, job_correlation) = job.expect("a waiting handler still sees its event");
    assert_eq!(
        job_correlation, job_id,
        "a root event is its own correlation"
    );
    let (name, evaluated) = seen_rx.recv().await.expect("the evaluated handler ran");
    assert_eq!(name, "evaluated");
    let (evaluated_id, evaluated_correlation) = evaluated.expect("its event");
    assert_ne!(evaluated_id, job_id);
    assert_eq!(evaluated_correlation, job_id);
    // Outside any handler there is no current event.
    assert!(EventMeta::current().is_none());
}
