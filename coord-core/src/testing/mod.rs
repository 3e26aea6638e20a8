//! `coord::testing`: start a service's coordinators and daemons in a test,
//! with fakes in place of some, on paused time; wait for states and events
//! with a deadline on that clock; assert on what happened, with the whole
//! timeline printed when an assertion fails; inject failures.
//!
//! May use: `coordination` and everything below it.

mod faults;
mod recorder;

use std::sync::Arc;
use std::time::Duration;

use faults::{Faults, RunnerFault, faulty_runner};
pub use recorder::{Recorded, Recorder};

use crate::coordination::{Coordination, CoordinationBuilder};
use crate::daemons::{DaemonManager, DaemonRef, DaemonState, DaemonStatus, StartReport};
use crate::events::{Envelope, Event, SubscriptionSpec, subscription_specs};
use crate::interface::{Coordinator, DaemonRunner};
use crate::registry::{BuildError, registry};

/// How long a wait may take by default, on the test's clock.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// Why a test service could not start, or a wait ended without its condition.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The builder refused the configuration.
    #[error("the test service does not build: {0}")]
    Build(#[from] BuildError),
    /// Bootstrap failed.
    #[error("bootstrap failed: {report}\ntimeline:\n{timeline}")]
    Bootstrap {
        /// What bootstrap reported.
        report: String,
        /// Everything recorded until then.
        timeline: String,
    },
    /// A name the service does not have.
    #[error("{0}")]
    UnknownName(#[from] crate::error::UnknownName),
    /// Paused time needs the current-thread runtime of `#[tokio::test]`.
    #[error(
        "paused time needs a current-thread runtime: use `#[tokio::test]` (not `flavor = \"multi_thread\"`), or call `.real_time()` on the builder"
    )]
    NotCurrentThread,
    /// A wait's deadline passed first.
    #[error(
        "waited {waited:?} (test clock) for {what}, in vain\ndaemons now:\n{states}timeline:\n{timeline}"
    )]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long, on the test's clock.
        waited: Duration,
        /// Every daemon's state when the deadline passed.
        states: String,
        /// Everything recorded until then.
        timeline: String,
    },
}

/// Builds a [`TestCoordination`] on top of the real builder.
#[derive(Debug)]
#[must_use]
pub struct TestBuilder {
    builder: CoordinationBuilder,
    faults: Faults,
    paused: bool,
    wait: Duration,
    start_daemons: bool,
}

impl TestCoordination {
    /// A builder over every registered coordinator and daemon.
    pub fn builder() -> TestBuilder {
        TestBuilder {
            builder: Coordination::builder(),
            faults: Faults::default(),
            paused: true,
            wait: DEFAULT_WAIT,
            start_daemons: true,
        }
    }
}

impl TestBuilder {
    /// Only these coordinators, and what they depend on.
    pub fn enable<I, S>(mut self, coordinators: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.builder = self.builder.enable(coordinators);
        self
    }

    /// Only these daemons, and what they depend on.
    pub fn enable_daemons<I, R>(mut self, daemons: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: DaemonRef,
    {
        self.builder = self.builder.enable_daemons(daemons);
        self
    }

    /// `instance` stands in for coordinator `C`: its initializer does not run.
    pub fn with_coordinator<C: Coordinator>(mut self, instance: C) -> Self {
        self.builder = self.builder.coordinator_instance(instance);
        self
    }

    /// `runner` runs in place of the daemon's own.
    pub fn with_runner(mut self, daemon: impl DaemonRef, runner: impl DaemonRunner) -> Self {
        self.builder = self.builder.daemon_runner(daemon, runner);
        self
    }

    /// The daemon's runner returns an error on its `nth` start (1 = the first).
    pub fn fail_on_start(mut self, daemon: impl DaemonRef, nth: u32) -> Self {
        self.faults
            .runners
            .push((daemon.daemon_name().to_owned(), nth, RunnerFault::Fail));
        self
    }

    /// The daemon's runner panics on its `nth` start (1 = the first).
    pub fn panic_on_start(mut self, daemon: impl DaemonRef, nth: u32) -> Self {
        self.faults
            .runners
            .push((daemon.daemon_name().to_owned(), nth, RunnerFault::Panic));
        self
    }

    /// The handler (`Coordinator::method`) fails its first `deliveries` calls.
    pub fn fail_handler(self, handler: impl Into<String>, deliveries: u32) -> Self {
        self.faults.handlers.fail_first(handler.into(), deliveries);
        self
    }

    /// Any other setting of the real builder.
    pub fn configure(
        mut self,
        change: impl FnOnce(CoordinationBuilder) -> CoordinationBuilder,
    ) -> Self {
        self.builder = change(self.builder);
        self
    }

    /// How long each wait may take on the test's clock (default 60 s).
    pub fn wait_at_most(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Runs on the real clock instead of paused time.
    pub fn real_time(mut self) -> Self {
        self.paused = false;
        self
    }

    /// Bootstraps the coordinators but starts no daemon (`manager().start(...)` does).
    pub fn without_daemons(mut self) -> Self {
        self.start_daemons = false;
        self
    }

    /// Pauses time (unless `real_time`), builds, bootstraps, and starts every daemon.
    pub async fn start(self) -> Result<TestCoordination, TestError> {
        if self.paused {
            pause_time()?;
        }
        // A misspelt handler would silently never fail: refuse it, listing the real ones.
        for handler in self.faults.handlers.handlers() {
            let known = subscription_specs().map(SubscriptionSpec::name);
            if !subscription_specs().any(|spec| spec.name() == handler) {
                return Err(crate::error::UnknownName::new("handler", &handler, known).into());
            }
        }
        let recorder = Arc::new(Recorder::new(Arc::clone(&self.faults.handlers)));
        let mut builder = self
            .builder
            .observe_events(Arc::clone(&recorder) as Arc<dyn crate::events::EventObserver>);
        for (daemon, faults) in self.faults.runners_by_daemon() {
            let runner = registry()
                .daemons()
                .iter()
                .find(|d| d.name == daemon)
                .ok_or_else(|| {
                    crate::error::UnknownName::new(
                        "daemon",
                        &daemon,
                        registry().daemons().iter().map(|d| d.name),
                    )
                })?
                .runner;
            builder = builder.daemon_runner(
                daemon.as_str(),
                faulty_runner(daemon.clone(), runner, faults),
            );
        }
        let coordination = builder.build()?;
        let manager = coordination.start_daemon_manager();
        let mut transitions = manager.subscribe_transitions();
        let watcher = Arc::clone(&recorder);
        let recording = tokio::spawn(async move {
            while let Ok(transition) = transitions.recv().await {
                watcher.transition(&transition);
            }
        });
        let report = coordination.bootstrap().await;
        let test = TestCoordination {
            coordination,
            manager,
            recorder,
            wait: self.wait,
            recording,
        };
        if !report.is_ok() {
            return Err(TestError::Bootstrap {
                report: report
                    .status
                    .errors
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
                timeline: test.recorder.timeline(),
            });
        }
        if self.start_daemons {
            // Not awaited: `start_all` returns once every daemon has settled,
            // and a test may want to watch one that never does.
            let manager = test.manager.clone();
            drop(tokio::spawn(async move {
                let started: StartReport = manager.start_all().await;
                tracing::debug!(?started, "test service started");
            }));
        }
        Ok(test)
    }
}

/// Pauses tokio's clock for this (current-thread) test runtime, unless it already is.
fn pause_time() -> Result<(), TestError> {
    let flavor = tokio::runtime::Handle::current().runtime_flavor();
    if flavor != tokio::runtime::RuntimeFlavor::CurrentThread {
        return Err(TestError::NotCurrentThread);
    }
    // A paused clock does not move while nothing awaits: `start_paused = true`
    // tests are already paused, and pausing twice panics.
    let before = tokio::time::Instant::now();
    std::thread::sleep(Duration::from_millis(1));
    if tokio::time::Instant::now() != before {
        tokio::time::pause();
    }
    Ok(())
}

/// A service started for a test: the real coordination, its daemon manager,
/// and a recorder of everything that happened.
#[derive(Debug)]
pub struct TestCoordination {
    coordination: Coordination,
    manager: DaemonManager,
    recorder: Arc<Recorder>,
    wait: Duration,
    recording: tokio::task::JoinHandle<()>,
}

impl Drop for TestCoordination {
    fn drop(&mut self) {
        self.recording.abort();
    }
}

impl TestCoordination {
    /// The coordination under test.
    pub fn coordination(&self) -> &Coordination {
        &self.coordination
    }

    /// Its daemon manager.
    pub fn manager(&self) -> &DaemonManager {
        &self.manager
    }

    /// What happened so far.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Publishes `event` from outside any item, as the test.
    pub async fn publish<E: Event>(&self, event: E) {
        self.coordination.publish(event).await;
    }

    /// Every daemon's state, one per line.
    pub fn states(&self) -> String {
        self.manager
            .status()
            .iter()
            .map(|s| {
                let error = s
                    .last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                format!("  {:<24} {}{error}\n", s.name, s.state)
            })
            .collect()
    }

    fn timeout(&self, what: String) -> TestError {
        TestError::Timeout {
            what,
            waited: self.wait,
            states: self.states(),
            timeline: self.recorder.timeline(),
        }
    }

    /// Waits until `daemon` is in `state`.
    pub async fn wait_state(
        &self,
        daemon: impl DaemonRef,
        state: DaemonState,
    ) -> Result<DaemonStatus, TestError> {
        let name = daemon.daemon_name().to_owned();
        let waiting = self.manager.wait_for(name.as_str(), |s| s.state == state);
        match tokio::time::timeout(self.wait, waiting).await {
            Ok(status) => Ok(status?),
            Err(_) => Err(self.timeout(format!("daemon {name} to be {state}"))),
        }
    }

    /// Waits until `daemon`'s status satisfies `condition`; `what` says what
    /// that is, for the error when the deadline passes first.
    pub async fn wait_for(
        &self,
        daemon: impl DaemonRef,
        what: &str,
        condition: impl FnMut(&DaemonStatus) -> bool,
    ) -> Result<DaemonStatus, TestError> {
        let name = daemon.daemon_name().to_owned();
        let waiting = self.manager.wait_for(name.as_str(), condition);
        match tokio::time::timeout(self.wait, waiting).await {
            Ok(status) => Ok(status?),
            Err(_) => Err(self.timeout(format!("daemon {name}: {what}"))),
        }
    }

    /// Waits until every started daemon is ready.
    pub async fn wait_ready_all(&self) -> Result<(), TestError> {
        let all = async {
            for status in self.manager.status() {
                let _ = self
                    .manager
                    .wait_for(status.name, |s| s.state.is_ready())
                    .await;
            }
        };
        tokio::time::timeout(self.wait, all)
            .await
            .map_err(|_| self.timeout("every daemon to be ready".to_owned()))
    }

    /// Waits for a published `E` (also one published before the call) for
    /// which `predicate` holds, and returns it.
    pub async fn wait_event<E: Event>(
        &self,
        predicate: impl Fn(&E) -> bool,
    ) -> Result<E, TestError> {
        let find = async {
            loop {
                let changed = self.recorder.changed();
                let found = self.recorder.published().into_iter().find_map(|any| {
                    let envelope = any.downcast::<Envelope<E>>().ok()?;
                    predicate(&envelope.event).then(|| envelope.event.clone())
                });
                if let Some(event) = found {
                    return event;
                }
                changed.await;
            }
        };
        tokio::time::timeout(self.wait, find)
            .await
            .map_err(|_| self.timeout(format!("a {} event that matches", E::NAME)))
    }

    /// Waits until a fact for which `predicate` holds is recorded (also one
    /// recorded before the call), and returns it; `what` says what it is,
    /// for the error when the deadline passes first.
    pub async fn wait_recorded(
        &self,
        what: &str,
        predicate: impl Fn(&Recorded) -> bool,
    ) -> Result<Recorded, TestError> {
        let find = async {
            loop {
                let changed = self.recorder.changed();
                if let Some(fact) = self.recorder.facts().into_iter().find(&predicate) {
                    return fact;
                }
                changed.await;
            }
        };
        tokio::time::timeout(self.wait, find)
            .await
            .map_err(|_| self.timeout(what.to_owned()))
    }

    /// Asserts `daemon` was restarted by its policy exactly `times` times.
    ///
    /// # Panics
    /// When it was not, with the timeline.
    #[track_caller]
    pub fn assert_restarted(&self, daemon: impl DaemonRef, times: u64) {
        let name = daemon.daemon_name();
        let restarts = match self.manager.daemon_status(name) {
            Ok(status) => status.restarts_total,
            Err(error) => panic!("{error}"),
        };
        assert!(
            restarts == times,
            "expected daemon {name} to be restarted {times} time(s), it was restarted {restarts} time(s)\ndaemons now:\n{}timeline:\n{}",
            self.states(),
            self.recorder.timeline()
        );
    }

    /// Asserts exactly `times` events of type `E` were published.
    ///
    /// # Panics
    /// When not, with the timeline.
    #[track_caller]
    pub fn assert_published<E: Event>(&self, times: u64) {
        let published = self
            .coordination
            .events()
            .counts()
            .get(E::NAME)
            .map_or(0, |c| c.published);
        assert!(
            published == times,
            "expected {times} {} event(s) published, there were {published}\ntimeline:\n{}",
            E::NAME,
            self.recorder.timeline()
        );
    }

    /// Shuts the daemons and coordinators down.
    pub async fn shutdown(self) {
        let _ = self.manager.shutdown().await;
        let _ = self.coordination.shutdown().await;
    }
}
