//! Coordinator bootstrap: dependency order, concurrency, containment, recovery.
//!
//! A coordinator starts as soon as all of its dependencies are ready, so
//! independent initialisers overlap and the total time is the critical path.
//! Each initializer is polled once inline: a trivial one finishes without a
//! task; one that waits is moved to a task with its timeout. An error, panic
//! or timeout is recorded on that coordinator, and every coordinator that
//! depends on it, directly or not, is skipped with the failure as root cause.

use std::any::TypeId;
use std::collections::{HashMap, VecDeque};
use std::error::Error as StdError;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use crate::coordinator::{Coordinator, Instances};
use crate::daemon::{DaemonConfig, RestartPolicy};
use crate::error::{UnknownName, panic_message};
use crate::events::{BusConfig, Event, EventBus, subscription_specs};
use crate::manager::{
    DaemonManager, DaemonManagerNotStarted, DaemonOverride, DaemonPlan, DaemonRef, DaemonSettings,
    MissingDependency,
};
use crate::order::{self, OrderNode};
use crate::registry::DaemonSpec;
use crate::registry::{AnyCoordinator, CoordinatorSpec, RegistryProblem, registry};

/// An error shared between the status, the report and dependents' causes.
pub type SharedError = Arc<dyn StdError + Send + Sync + 'static>;

/// Default time an initializer may take.
pub const DEFAULT_INIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time a coordinator's shutdown hook may take.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a coordinator is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoordinatorState {
    /// Not initialised yet.
    Pending,
    /// Its initializer is running.
    Initializing,
    /// Initialised and reachable.
    Ready,
    /// Its initializer failed, panicked or timed out.
    Failed,
    /// Not started because a dependency is not initialised.
    Skipped,
    /// Shut down.
    Stopped,
}

impl CoordinatorState {
    /// The lower-case name used in status output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Initializing => "initializing",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Stopped => "stopped",
        }
    }

    fn is_settled(self) -> bool {
        matches!(self, Self::Ready | Self::Failed | Self::Skipped)
    }
}

impl fmt::Display for CoordinatorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a coordinator is not initialised.
#[derive(Debug, Clone, thiserror::Error)]
pub enum InitError {
    /// Its initializer returned an error.
    #[error("[coord::E0201] coordinator '{name}' failed to initialize: {source}")]
    Failed {
        /// The coordinator.
        name: &'static str,
        /// What the initializer returned.
        source: SharedError,
    },
    /// Its initializer panicked.
    #[error("[coord::E0202] coordinator '{name}' panicked while initializing: {message}")]
    Panicked {
        /// The coordinator.
        name: &'static str,
        /// The panic's message.
        message: String,
    },
    /// Its initializer ran past its timeout and was cancelled.
    #[error(
        "[coord::E0203] coordinator '{name}' did not finish initializing within {after:?} and was cancelled; \
         find what it waits on, or raise its limit with `coordinator_timeout(\"{name}\", ...)`"
    )]
    TimedOut {
        /// The coordinator.
        name: &'static str,
        /// The limit it ran past.
        after: Duration,
    },
    /// A dependency is not initialised, so it was not started.
    #[error(
        "[coord::E0204] Coordinator '{name}' depends on '{dependency}' which is not initialized (root cause: {})",
        .cause.root_cause()
    )]
    DependencyNotInitialized {
        /// The coordinator that was skipped.
        name: &'static str,
        /// Its dependency that is not initialised.
        dependency: &'static str,
        /// Why the dependency is not initialised.
        #[source]
        cause: Arc<InitError>,
    },
    /// A dependency outside this run has never been initialised.
    #[error("[coord::E0205] coordinator '{name}' has not been initialized; run bootstrap() first")]
    NotStarted {
        /// The coordinator.
        name: &'static str,
    },
}

impl InitError {
    /// The coordinator this error is about.
    pub fn coordinator(&self) -> &'static str {
        match self {
            Self::Failed { name, .. }
            | Self::Panicked { name, .. }
            | Self::TimedOut { name, .. }
            | Self::DependencyNotInitialized { name, .. }
            | Self::NotStarted { name } => name,
        }
    }

    /// The failure at the bottom of a chain of skipped dependencies.
    pub fn root_cause(&self) -> &InitError {
        let mut error = self;
        while let Self::DependencyNotInitialized { cause, .. } = error {
            error = cause;
        }
        error
    }
}

/// One coordinator's bootstrap state.
#[derive(Debug, Clone)]
pub struct CoordinatorStatus {
    /// The coordinator.
    pub name: &'static str,
    /// Where it is now.
    pub state: CoordinatorState,
    /// When its initializer last started.
    pub started_at: Option<SystemTime>,
    /// How long its initializer last took.
    pub init_duration: Option<Duration>,
    /// Why it is failed or skipped.
    pub error: Option<InitError>,
}

/// The bootstrap state of every enabled coordinator.
#[derive(Debug, Clone)]
pub struct BootstrapStatus {
    /// Every enabled coordinator is ready, failed or skipped.
    pub is_complete: bool,
    /// Ready coordinators, in initialisation order.
    pub initialized_coordinators: Vec<&'static str>,
    /// Errors of failed and skipped coordinators, in initialisation order.
    pub errors: Vec<InitError>,
    /// Every enabled coordinator, in initialisation order.
    pub coordinators: Vec<CoordinatorStatus>,
}

impl BootstrapStatus {
    /// The status of coordinator `name`.
    pub fn coordinator(&self, name: &str) -> Option<&CoordinatorStatus> {
        self.coordinators.iter().find(|c| c.name == name)
    }
}

/// What a call to `bootstrap()` or `reinitialize_coordinator()` did.
#[derive(Debug, Clone)]
pub struct BootstrapReport {
    /// Bootstrap had already completed, so nothing ran.
    pub already_complete: bool,
    /// The state afterwards.
    pub status: BootstrapStatus,
}

impl BootstrapReport {
    /// Whether every enabled coordinator is ready.
    pub fn is_ok(&self) -> bool {
        self.status.errors.is_empty() && self.status.is_complete
    }
}

/// A shutdown hook that did not finish cleanly.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ShutdownError {
    /// The hook returned an error.
    #[error("[coord::E0211] coordinator '{name}' failed to shut down: {source}")]
    Failed {
        /// The coordinator.
        name: &'static str,
        /// What the hook returned.
        source: SharedError,
    },
    /// The hook panicked.
    #[error("[coord::E0212] coordinator '{name}' panicked while shutting down: {message}")]
    Panicked {
        /// The coordinator.
        name: &'static str,
        /// The panic's message.
        message: String,
    },
    /// The hook ran past its timeout and was aborted.
    #[error(
        "[coord::E0213] coordinator '{name}' did not shut down within {after:?}; its hook was aborted"
    )]
    TimedOut {
        /// The coordinator.
        name: &'static str,
        /// The limit it ran past.
        after: Duration,
    },
}

/// What a shutdown or reset did.
#[derive(Debug, Clone, Default)]
pub struct ShutdownReport {
    /// Coordinators shut down, in the order they were.
    pub stopped: Vec<&'static str>,
    /// Hooks that failed, panicked or timed out (the coordinator is stopped anyway).
    pub errors: Vec<ShutdownError>,
}

/// Whether one `#[subscribe]` handler is wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionStatus {
    /// `Coordinator::method`.
    pub handler: &'static str,
    /// The event type's name.
    pub event: &'static str,
    /// The coordinator that handles it.
    pub coordinator: &'static str,
    /// Whether events reach it now.
    pub wired: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// Why `get::<T>()` has no instance to give.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NotInitialized {
    /// `T` is not among this handle's coordinators.
    #[error(
        "[coord::E0221] `{type_name}` is not a coordinator of this Coordination: mark it `#[coordinator]` \
         and make sure the builder enables it"
    )]
    NotEnabled {
        /// The type asked for.
        type_name: &'static str,
    },
    /// It has not been initialised (yet, or since a reset or shutdown).
    #[error(
        "[coord::E0222] coordinator '{name}' is {state}: it is reachable once bootstrap() has initialised it"
    )]
    NotStarted {
        /// The coordinator.
        name: &'static str,
        /// Where it is.
        state: CoordinatorState,
    },
    /// It failed, or was skipped because of a dependency.
    #[error(transparent)]
    Failed(InitError),
}

/// Why a `Coordination` could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// A coordinator name given to the builder is not registered.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// The coordinators' dependencies are inconsistent.
    #[error(transparent)]
    Registry(#[from] RegistryProblem),
}

/// Builds a [`Coordination`].
#[derive(Debug, Clone)]
pub struct CoordinationBuilder {
    specs: Option<Vec<&'static CoordinatorSpec>>,
    enabled: Option<Vec<String>>,
    init_timeout: Duration,
    init_timeouts: Vec<(String, Duration)>,
    shutdown_timeout: Duration,
    daemons: DaemonSettings,
    bus: BusConfig,
}

impl Default for CoordinationBuilder {
    fn default() -> Self {
        Self {
            specs: None,
            enabled: None,
            init_timeout: DEFAULT_INIT_TIMEOUT,
            init_timeouts: Vec::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            daemons: DaemonSettings::default(),
            bus: BusConfig::default(),
        }
    }
}

impl CoordinationBuilder {
    /// Uses these coordinators instead of every registered one.
    pub fn coordinators(
        mut self,
        specs: impl IntoIterator<Item = &'static CoordinatorSpec>,
    ) -> Self {
        self.specs = Some(specs.into_iter().collect());
        self
    }

    /// Enables only these coordinators, and what they depend on.
    pub fn enable<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.enabled = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The time every initializer may take (default 30 s).
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.init_timeout = timeout;
        self
    }

    /// The time coordinator `name`'s initializer may take.
    pub fn coordinator_timeout(mut self, name: impl Into<String>, timeout: Duration) -> Self {
        self.init_timeouts.push((name.into(), timeout));
        self
    }

    /// The time each shutdown hook may take (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Settings of the event bus: queue size, handler timeout, retries.
    pub fn event_bus(mut self, config: BusConfig) -> Self {
        self.bus = config;
        self
    }

    /// Uses these daemons instead of every registered one.
    pub fn daemons(mut self, specs: impl IntoIterator<Item = &'static DaemonSpec>) -> Self {
        self.daemons.specs = Some(specs.into_iter().collect());
        self
    }

    /// Enables only these daemons, and their hard dependencies.
    pub fn enable_daemons<I, R>(mut self, daemons: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: DaemonRef,
    {
        self.daemons.enabled = Some(
            daemons
                .into_iter()
                .map(|d| d.daemon_name().to_owned())
                .collect(),
        );
        self
    }

    /// Settings every daemon starts from (its attribute's restart policy wins over this one's).
    pub fn default_daemon_config(mut self, config: DaemonConfig) -> Self {
        self.daemons.default_config = config;
        self
    }

    /// Overrides the restart policy of one daemon.
    pub fn restart_policy(mut self, daemon: impl DaemonRef, policy: RestartPolicy) -> Self {
        self.daemons.overrides.push((
            daemon.daemon_name().to_owned(),
            DaemonOverride::Restart(policy),
        ));
        self
    }

    /// Replaces every setting of one daemon.
    pub fn daemon_config(mut self, daemon: impl DaemonRef, config: DaemonConfig) -> Self {
        self.daemons.overrides.push((
            daemon.daemon_name().to_owned(),
            DaemonOverride::Config(config),
        ));
        self
    }

    /// Names a subset of daemons that `start_profile(name)` starts, with their dependencies.
    pub fn profile<I, R>(mut self, name: impl Into<String>, daemons: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: DaemonRef,
    {
        let members = daemons
            .into_iter()
            .map(|d| d.daemon_name().to_owned())
            .collect();
        self.daemons.profiles.push((name.into(), members));
        self
    }

    /// What starting a daemon whose dependency is down does (default: start it).
    pub fn missing_dependency(mut self, policy: MissingDependency) -> Self {
        self.daemons.missing_dependency = policy;
        self
    }

    /// The most a whole daemon shutdown may take (default 60 s), e.g. a container's grace period.
    pub fn daemon_shutdown_bound(mut self, bound: Duration) -> Self {
        self.daemons.shutdown_bound = bound;
        self
    }

    /// Checks the configuration and plans the initialisation and startup orders.
    pub fn build(self) -> Result<Coordination, BuildError> {
        let daemon_plan = Arc::new(DaemonPlan::build(self.daemons)?);
        let all: Vec<&'static CoordinatorSpec> = match self.specs {
            Some(specs) => specs,
            None => registry().coordinators().to_vec(),
        };
        let index: HashMap<&str, usize> =
            all.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let mut selected = vec![self.enabled.is_none(); all.len()];
        if let Some(enabled) = &self.enabled {
            // Enabling a coordinator enables what it depends on.
            let mut stack = Vec::new();
            for name in enabled {
                let spec = crate::registry::find_coordinator(&all, name)?;
                stack.push(index[spec.name]);
            }
            while let Some(i) = stack.pop() {
                if selected[i] {
                    continue;
                }
                selected[i] = true;
                for dep in all[i].depends_on {
                    if let Some(&d) = index.get(dep) {
                        stack.push(d);
                    }
                }
            }
        }
        let specs: Vec<&'static CoordinatorSpec> = all
            .iter()
            .zip(&selected)
            .filter(|(_, s)| **s)
            .map(|(s, _)| *s)
            .collect();
        let position: HashMap<&str, usize> =
            specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let mut deps = Vec::with_capacity(specs.len());
        for spec in &specs {
            let mut ids = Vec::with_capacity(spec.depends_on.len());
            for dep in spec.depends_on {
                let id = position
                    .get(dep)
                    .copied()
                    .ok_or(RegistryProblem::UnknownDependency {
                        item: "coordinator",
                        name: spec.name,
                        dependency: dep,
                    })?;
                ids.push(id);
            }
            deps.push(ids);
        }
        let nodes: Vec<OrderNode<'static>> = specs
            .iter()
            .zip(&deps)
            .map(|(spec, deps)| OrderNode {
                name: spec.name,
                deps: deps.clone(),
                soft_deps: Vec::new(),
            })
            .collect();
        let order = order::levels(&nodes).map_err(|cycle| RegistryProblem::Cycle {
            item: "coordinator",
            cycle,
        })?;
        let order: Vec<usize> = order.iter().map(|name| position[name]).collect();
        let mut dependents = vec![Vec::new(); specs.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let mut timeouts = vec![self.init_timeout; specs.len()];
        for (name, timeout) in &self.init_timeouts {
            let spec = crate::registry::find_coordinator(&specs, name)?;
            timeouts[position[spec.name]] = *timeout;
        }
        let records = vec![Record::pending(); specs.len()];
        Ok(Coordination {
            inner: Arc::new(Inner {
                plan: Plan {
                    specs,
                    position: position.into_iter().collect(),
                    deps,
                    dependents,
                    order,
                    timeouts,
                    shutdown_timeout: self.shutdown_timeout,
                },
                instances: Arc::new(Instances::new()),
                records: Mutex::new(records),
                operations: tokio::sync::Mutex::new(()),
                daemon_plan,
                manager: OnceLock::new(),
                bus: EventBus::new(self.bus),
            }),
        })
    }
}

/// The enabled coordinators and their order, fixed when the handle is built.
#[derive(Debug)]
struct Plan {
    specs: Vec<&'static CoordinatorSpec>,
    position: HashMap<&'static str, usize>,
    deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    /// Indices in initialisation order.
    order: Vec<usize>,
    timeouts: Vec<Duration>,
    shutdown_timeout: Duration,
}

#[derive(Debug, Clone)]
struct Record {
    state: CoordinatorState,
    started_at: Option<SystemTime>,
    init_duration: Option<Duration>,
    error: Option<InitError>,
}

impl Record {
    fn pending() -> Self {
        Self {
            state: CoordinatorState::Pending,
            started_at: None,
            init_duration: None,
            error: None,
        }
    }
}

#[derive(Debug)]
struct Inner {
    plan: Plan,
    instances: Arc<Instances>,
    records: Mutex<Vec<Record>>,
    /// Serialises bootstrap, reinitialise, reset and shutdown.
    operations: tokio::sync::Mutex<()>,
    daemon_plan: Arc<DaemonPlan>,
    manager: OnceLock<DaemonManager>,
    bus: EventBus,
}

/// A `Coordination` that does not keep it alive (held by its daemon manager).
#[derive(Debug, Clone)]
pub(crate) struct WeakCoordination(Weak<Inner>);

impl WeakCoordination {
    pub(crate) fn upgrade(&self) -> Option<Coordination> {
        self.0.upgrade().map(|inner| Coordination { inner })
    }
}

/// The handle to a service's coordinators: bootstrap, status, recovery.
#[derive(Debug, Clone)]
pub struct Coordination {
    inner: Arc<Inner>,
}

type InitOutcome = (usize, Result<AnyCoordinator, InitError>, Duration);

impl Coordination {
    /// A builder over every registered coordinator.
    pub fn builder() -> CoordinationBuilder {
        CoordinationBuilder::default()
    }

    fn records(&self) -> MutexGuard<'_, Vec<Record>> {
        // Records are plain data updated in one assignment: a panic elsewhere
        // while the lock was held cannot leave them inconsistent.
        self.inner.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts the daemon manager (once; later calls return the same one).
    ///
    /// Starting the manager starts no daemon: call `start_all()`,
    /// `start_profile()` or `start()` on it.
    pub fn start_daemon_manager(&self) -> DaemonManager {
        self.inner
            .manager
            .get_or_init(|| {
                DaemonManager::new(
                    Arc::clone(&self.inner.daemon_plan),
                    WeakCoordination(Arc::downgrade(&self.inner)),
                )
            })
            .clone()
    }

    /// The daemon manager, once [`Self::start_daemon_manager`] has started it.
    pub fn daemon_manager(&self) -> Result<DaemonManager, DaemonManagerNotStarted> {
        self.inner
            .manager
            .get()
            .cloned()
            .ok_or(DaemonManagerNotStarted)
    }

    /// The event bus coordinators' handlers are wired to.
    pub fn events(&self) -> &EventBus {
        &self.inner.bus
    }

    /// Publishes `event` to every subscriber.
    pub async fn publish<E: Event>(&self, event: E) {
        self.inner.bus.publish(event).await;
    }

    /// Subscribes the `#[subscribe]` methods of coordinator `spec`'s instance.
    fn wire(&self, spec: &CoordinatorSpec, instance: &crate::registry::AnyCoordinator) {
        let id = spec.instance_type();
        for handler in subscription_specs().filter(|s| s.coordinator_type() == id) {
            if let Err(error) = handler.wire(&self.inner.bus, Arc::clone(instance), spec.name) {
                tracing::error!(handler = handler.name(), %error, "not wired");
            }
        }
    }

    /// Rebuilds the wiring of every `#[subscribe]` handler from the
    /// coordinators that are ready now; never leaves a duplicate handler.
    pub fn rewire_event_subscriptions(&self) -> Vec<SubscriptionStatus> {
        let plan = &self.inner.plan;
        for &i in &plan.order {
            let spec = plan.specs[i];
            self.inner.bus.unsubscribe_owner(spec.name);
            if let Some(instance) = self.inner.instances.get_by_name(spec.name) {
                self.wire(spec, &instance);
            }
        }
        self.subscription_status()
    }

    /// Every `#[subscribe]` handler linked in, and whether it is wired (or why not).
    pub fn subscription_status(&self) -> Vec<SubscriptionStatus> {
        let plan = &self.inner.plan;
        let records = self.records();
        let wired = self.inner.bus.subscriptions();
        let mut all = Vec::new();
        for spec in subscription_specs() {
            let id = spec.coordinator_type();
            let event = spec.event();
            let handler: &'static str = spec.name();
            let owners: Vec<usize> = plan
                .order
                .iter()
                .copied()
                .filter(|&i| plan.specs[i].instance_type() == id)
                .collect();
            if owners.is_empty() {
                let coordinator = registry()
                    .coordinators()
                    .iter()
                    .find(|c| c.instance_type() == id)
                    .map_or_else(|| spec.coordinator_type_name(), |c| c.name);
                all.push(SubscriptionStatus {
                    handler,
                    event,
                    coordinator,
                    wired: false,
                    reason: Some(format!("coordinator '{coordinator}' is not enabled")),
                });
            }
            for i in owners {
                let coordinator = plan.specs[i].name;
                let not_wired = match (&records[i].state, &records[i].error) {
                    (CoordinatorState::Ready, _) => None,
                    (_, Some(error)) => Some(error.to_string()),
                    (state, None) => Some(format!("coordinator '{coordinator}' is {state}")),
                };
                let on_bus = wired
                    .get(event)
                    .is_some_and(|handlers| handlers.iter().any(|h| h == handler));
                all.push(SubscriptionStatus {
                    handler,
                    event,
                    coordinator,
                    wired: not_wired.is_none() && on_bus,
                    reason: not_wired
                        .or_else(|| (!on_bus).then(|| "not subscribed on the bus".to_owned())),
                });
            }
        }
        all.sort_by_key(|s| s.handler);
        all
    }

    fn log_wiring(&self) {
        for status in self.subscription_status() {
            match &status.reason {
                None => tracing::debug!(handler = status.handler, event = status.event, "wired"),
                Some(reason) => {
                    tracing::warn!(handler = status.handler, event = status.event, %reason, "not wired")
                }
            }
        }
        self.inner.bus.log_wiring_report();
    }

    /// The initialised coordinators, for daemons and handlers to reach.
    pub fn instances(&self) -> &Arc<Instances> {
        &self.inner.instances
    }

    /// The enabled coordinators' names, in initialisation order.
    pub fn coordinator_names(&self) -> Vec<&'static str> {
        let plan = &self.inner.plan;
        plan.order.iter().map(|&i| plan.specs[i].name).collect()
    }

    /// Initialises every pending coordinator in dependency order.
    ///
    /// Idempotent: once every coordinator is ready, failed or skipped, a call
    /// does nothing and reports `already_complete`. Failed ones are retried
    /// with [`Self::reinitialize_coordinator`].
    pub async fn bootstrap(&self) -> BootstrapReport {
        let _operation = self.inner.operations.lock().await;
        let pending: Vec<usize> = {
            let records = self.records();
            let plan = &self.inner.plan;
            plan.order
                .iter()
                .copied()
                .filter(|&i| !records[i].state.is_settled())
                .collect()
        };
        if pending.is_empty() {
            tracing::info!("bootstrap already complete; nothing to do");
            return BootstrapReport {
                already_complete: true,
                status: self.bootstrap_status(),
            };
        }
        let started = Instant::now();
        self.run(&pending).await;
        self.log_wiring();
        let status = self.bootstrap_status();
        if status.errors.is_empty() {
            tracing::info!(
                coordinators = status.initialized_coordinators.len(),
                elapsed = ?started.elapsed(),
                "bootstrap complete"
            );
        } else {
            tracing::warn!(
                initialized = status.initialized_coordinators.len(),
                errors = status.errors.len(),
                "bootstrap finished with errors"
            );
        }
        BootstrapReport {
            already_complete: false,
            status,
        }
    }

    /// Every enabled coordinator's state, start time, duration and error.
    pub fn bootstrap_status(&self) -> BootstrapStatus {
        let records = self.records();
        let plan = &self.inner.plan;
        let coordinators: Vec<CoordinatorStatus> = plan
            .order
            .iter()
            .map(|&i| CoordinatorStatus {
                name: plan.specs[i].name,
                state: records[i].state,
                started_at: records[i].started_at,
                init_duration: records[i].init_duration,
                error: records[i].error.clone(),
            })
            .collect();
        BootstrapStatus {
            is_complete: coordinators.iter().all(|c| c.state.is_settled()),
            initialized_coordinators: coordinators
                .iter()
                .filter(|c| c.state == CoordinatorState::Ready)
                .map(|c| c.name)
                .collect(),
            errors: coordinators
                .iter()
                .filter_map(|c| c.error.clone())
                .collect(),
            coordinators,
        }
    }

    /// The initialised coordinator of type `T`, or why there is none.
    pub fn get<T: Coordinator>(&self) -> Result<Arc<T>, NotInitialized> {
        if let Some(instance) = self.inner.instances.get::<T>() {
            return Ok(instance);
        }
        let plan = &self.inner.plan;
        let id = TypeId::of::<T>();
        let Some(i) = plan.specs.iter().position(|s| s.instance_type() == id) else {
            return Err(NotInitialized::NotEnabled {
                type_name: std::any::type_name::<T>(),
            });
        };
        let record = self.records()[i].clone();
        match record.error {
            Some(error) => Err(NotInitialized::Failed(error)),
            None => Err(NotInitialized::NotStarted {
                name: plan.specs[i].name,
                state: record.state,
            }),
        }
    }

    /// Shuts down and re-initialises `name`, then its dependents, in order.
    ///
    /// Coordinators that do not depend on `name` are left alone.
    pub async fn reinitialize_coordinator(
        &self,
        name: &str,
    ) -> Result<BootstrapReport, UnknownName> {
        let plan = &self.inner.plan;
        let ordered: Vec<&'static CoordinatorSpec> =
            plan.order.iter().map(|&i| plan.specs[i]).collect();
        let root = plan.position[crate::registry::find_coordinator(&ordered, name)?.name];
        let _operation = self.inner.operations.lock().await;
        let mut affected = vec![false; plan.specs.len()];
        let mut stack = vec![root];
        while let Some(i) = stack.pop() {
            if !affected[i] {
                affected[i] = true;
                stack.extend(&plan.dependents[i]);
            }
        }
        let targets: Vec<usize> = plan
            .order
            .iter()
            .copied()
            .filter(|&i| affected[i])
            .collect();
        tracing::info!(
            coordinator = name,
            affected = targets.len(),
            "reinitializing"
        );
        self.shut_down(&targets, CoordinatorState::Pending).await;
        self.run(&targets).await;
        Ok(BootstrapReport {
            already_complete: false,
            status: self.bootstrap_status(),
        })
    }

    /// Shuts every coordinator down and clears all state, so bootstrap can run again.
    pub async fn reset_bootstrap(&self) -> ShutdownReport {
        let _operation = self.inner.operations.lock().await;
        let all = self.inner.plan.order.clone();
        let report = self.shut_down(&all, CoordinatorState::Pending).await;
        self.inner.instances.clear();
        report
    }

    /// Shuts every initialised coordinator down, dependents first.
    pub async fn shutdown(&self) -> ShutdownReport {
        let _operation = self.inner.operations.lock().await;
        let all = self.inner.plan.order.clone();
        self.shut_down(&all, CoordinatorState::Stopped).await
    }

    /// Runs the shutdown hooks of `targets` (given in initialisation order) in
    /// reverse, and leaves each of them in `after`.
    async fn shut_down(&self, targets: &[usize], after: CoordinatorState) -> ShutdownReport {
        let plan = &self.inner.plan;
        let mut report = ShutdownReport::default();
        for &i in targets.iter().rev() {
            let spec = plan.specs[i];
            let was_ready = self.records()[i].state == CoordinatorState::Ready;
            // Its handlers go first: no event reaches a coordinator being shut down.
            self.inner.bus.unsubscribe_owner(spec.name);
            let instance = self.inner.instances.remove(spec.name);
            self.records()[i] = Record {
                state: after,
                ..Record::pending()
            };
            let (true, Some(instance)) = (was_ready, instance) else {
                continue;
            };
            // A task, so a panicking hook is contained and a hung one can be aborted.
            let hook = tokio::spawn(async move { spec.shutdown(&*instance).await });
            let abort = hook.abort_handle();
            let limit = plan.shutdown_timeout;
            let outcome = match tokio::time::timeout(limit, hook).await {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(source))) => Some(ShutdownError::Failed {
                    name: spec.name,
                    source: Arc::from(source),
                }),
                Ok(Err(join)) => Some(ShutdownError::Panicked {
                    name: spec.name,
                    message: join_message(join),
                }),
                Err(_) => {
                    abort.abort();
                    Some(ShutdownError::TimedOut {
                        name: spec.name,
                        after: limit,
                    })
                }
            };
            report.stopped.push(spec.name);
            if let Some(error) = outcome {
                tracing::warn!(coordinator = spec.name, %error, "shutdown hook did not finish cleanly");
                report.errors.push(error);
            } else {
                tracing::debug!(coordinator = spec.name, "shut down");
            }
        }
        report
    }

    /// Initialises `targets` (in initialisation order), each once its
    /// dependencies are ready; dependencies outside `targets` must already be.
    async fn run(&self, targets: &[usize]) {
        let plan = &self.inner.plan;
        let mut run = Run {
            in_run: vec![false; plan.specs.len()],
            waiting: vec![0; plan.specs.len()],
            queue: VecDeque::new(),
            tasks: JoinSet::new(),
            task_index: HashMap::new(),
        };
        for &i in targets {
            run.in_run[i] = true;
        }
        let mut blocked = Vec::new();
        {
            let mut records = self.records();
            for &i in targets {
                records[i] = Record::pending();
            }
            for &i in targets {
                for &d in &plan.deps[i] {
                    if run.in_run[d] {
                        run.waiting[i] += 1;
                    } else if records[d].state != CoordinatorState::Ready {
                        let cause = records[d].error.clone().unwrap_or(InitError::NotStarted {
                            name: plan.specs[d].name,
                        });
                        blocked.push((i, d, cause));
                    }
                }
            }
        }
        for (i, d, cause) in blocked {
            self.skip(&mut run, i, d, Arc::new(cause));
        }
        for &i in targets {
            if run.waiting[i] == 0 && self.records()[i].state == CoordinatorState::Pending {
                run.queue.push_back(i);
            }
        }
        loop {
            while let Some(i) = run.queue.pop_front() {
                if let Some(outcome) = self.start(&mut run, i) {
                    self.finish(&mut run, outcome);
                }
            }
            match run.tasks.join_next_with_id().await {
                None => break,
                Some(Ok((id, outcome))) => {
                    run.task_index.remove(&id);
                    self.finish(&mut run, outcome);
                }
                Some(Err(join)) => {
                    let Some(i) = run.task_index.remove(&join.id()) else {
                        continue;
                    };
                    let error = InitError::Panicked {
                        name: plan.specs[i].name,
                        message: join_message(join),
                    };
                    self.finish(&mut run, (i, Err(error), Duration::ZERO));
                }
            }
        }
    }

    /// Starts one initializer; returns its outcome if it finished at once.
    fn start(&self, run: &mut Run, i: usize) -> Option<InitOutcome> {
        let plan = &self.inner.plan;
        let spec = plan.specs[i];
        tracing::debug!(coordinator = spec.name, "initializing");
        let started = Instant::now();
        let started_at = SystemTime::now();
        let mut init = spec.initialize(Arc::clone(&self.inner.instances));
        // One inline poll: most initialisers finish without waiting, and those
        // skip a task spawn. A noop waker is enough because a pending one is
        // polled again when its task starts.
        // Every line the initializer logs carries the coordinator's name.
        let span = tracing::info_span!("coordinator", name = spec.name);
        let mut cx = Context::from_waker(Waker::noop());
        let polled = span.in_scope(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| init.as_mut().poll(&mut cx)))
        });
        let result = match polled {
            Ok(Poll::Ready(result)) => result.map_err(|source| InitError::Failed {
                name: spec.name,
                source: Arc::from(source),
            }),
            Err(payload) => Err(InitError::Panicked {
                name: spec.name,
                message: panic_message(payload.as_ref()),
            }),
            Ok(Poll::Pending) => {
                {
                    let mut records = self.records();
                    records[i].state = CoordinatorState::Initializing;
                    records[i].started_at = Some(started_at);
                }
                let limit = plan.timeouts[i];
                let handle = run.tasks.spawn(tracing::Instrument::instrument(
                    async move {
                        let result = match tokio::time::timeout(limit, init).await {
                            Ok(Ok(instance)) => Ok(instance),
                            Ok(Err(source)) => Err(InitError::Failed {
                                name: spec.name,
                                source: Arc::from(source),
                            }),
                            Err(_) => Err(InitError::TimedOut {
                                name: spec.name,
                                after: limit,
                            }),
                        };
                        (i, result, started.elapsed())
                    },
                    span,
                ));
                run.task_index.insert(handle.id(), i);
                return None;
            }
        };
        self.records()[i].started_at = Some(started_at);
        Some((i, result, started.elapsed()))
    }

    fn finish(&self, run: &mut Run, (i, result, elapsed): InitOutcome) {
        let plan = &self.inner.plan;
        let spec = plan.specs[i];
        match result {
            Ok(instance) => {
                // Wired before dependents start, so their initialisers' events reach it.
                self.wire(spec, &instance);
                self.inner
                    .instances
                    .insert(spec.name, spec.instance_type(), instance);
                {
                    let mut records = self.records();
                    records[i].state = CoordinatorState::Ready;
                    records[i].init_duration = Some(elapsed);
                }
                tracing::debug!(coordinator = spec.name, ?elapsed, "initialized");
                for &d in &plan.dependents[i] {
                    if run.in_run[d] {
                        run.waiting[d] -= 1;
                        if run.waiting[d] == 0
                            && self.records()[d].state == CoordinatorState::Pending
                        {
                            run.queue.push_back(d);
                        }
                    }
                }
            }
            Err(error) => {
                tracing::error!(coordinator = spec.name, %error, "initialization failed");
                let cause = Arc::new(error.clone());
                {
                    let mut records = self.records();
                    records[i].state = CoordinatorState::Failed;
                    records[i].init_duration = Some(elapsed);
                    records[i].error = Some(error);
                }
                for &d in &plan.dependents[i] {
                    if run.in_run[d] {
                        self.skip(run, d, i, Arc::clone(&cause));
                    }
                }
            }
        }
    }

    /// Marks `i` skipped because `dependency` is not initialised, and with it
    /// every coordinator of this run that depends on `i`.
    fn skip(&self, run: &mut Run, i: usize, dependency: usize, cause: Arc<InitError>) {
        let plan = &self.inner.plan;
        let mut stack = vec![(i, dependency, cause)];
        while let Some((i, dependency, cause)) = stack.pop() {
            let error = {
                let mut records = self.records();
                if records[i].state != CoordinatorState::Pending {
                    continue;
                }
                let error = InitError::DependencyNotInitialized {
                    name: plan.specs[i].name,
                    dependency: plan.specs[dependency].name,
                    cause,
                };
                records[i].state = CoordinatorState::Skipped;
                records[i].error = Some(error.clone());
                error
            };
            tracing::warn!(coordinator = plan.specs[i].name, %error, "skipped");
            let cause = Arc::new(error);
            for &d in &plan.dependents[i] {
                if run.in_run[d] {
                    stack.push((d, i, Arc::clone(&cause)));
                }
            }
        }
    }
}

/// State of one `run`: who waits on how many, who is ready, what is in flight.
struct Run {
    in_run: Vec<bool>,
    waiting: Vec<usize>,
    queue: VecDeque<usize>,
    tasks: JoinSet<InitOutcome>,
    task_index: HashMap<tokio::task::Id, usize>,
}

fn join_message(join: tokio::task::JoinError) -> String {
    match join.try_into_panic() {
        Ok(payload) => panic_message(payload.as_ref()),
        Err(join) => join.to_string(),
    }
}
