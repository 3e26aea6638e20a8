//! The daemon manager: dependency-ordered start, supervision, graceful shutdown.
//!
//! Each started daemon has one supervisor task. It waits until every hard
//! dependency is ready (and every enabled soft dependency has settled), runs
//! the runner future inline, catching panics, and on exit applies the restart
//! policy: backoff with jitter, an intensity limit, and failing for good, which
//! stops the daemon's dependents. Because the runner runs inside the
//! supervisor, a restart can never overlap the instance before it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bootstrap::WeakCoordination;
use crate::daemon::{BoxFuture, DaemonConfig, DaemonContext, DaemonKind, RestartPolicy};
use crate::error::{BoxError, UnknownName, panic_message};
use crate::order::{self, OrderNode};
use crate::registry::{DaemonSpec, RegistryProblem};
use crate::restart::{RestartDecision, RestartTracker};

/// Where a daemon is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaemonState {
    /// Not running.
    Stopped,
    /// Waiting for its dependencies before it runs.
    Starting,
    /// Its runner is running but has not signalled ready.
    Running,
    /// Running and ready; dependents may start.
    Ready,
    /// Cancelled; waiting for its runner to return.
    Stopping,
    /// Waiting to be restarted after it ended.
    Backoff,
    /// Down for good until started by hand.
    Failed,
    /// Ready, but its health probe is failing.
    Degraded,
}

impl DaemonState {
    /// The lower-case name used in status output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Ready => "ready",
            Self::Stopping => "stopping",
            Self::Backoff => "backoff",
            Self::Failed => "failed",
            Self::Degraded => "degraded",
        }
    }

    /// Whether dependents may start on it.
    pub fn is_ready(self) -> bool {
        matches!(self, Self::Ready | Self::Degraded)
    }

    /// Whether a start request has run its course: ready, or not coming up by itself.
    fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Ready | Self::Degraded | Self::Failed | Self::Stopped | Self::Backoff
        )
    }
}

impl fmt::Display for DaemonState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One daemon's state, for status output.
#[derive(Debug, Clone)]
pub struct DaemonStatus {
    /// The daemon.
    pub name: &'static str,
    /// Where it is.
    pub state: DaemonState,
    /// When it entered that state.
    pub since: SystemTime,
    /// Restarts within the current intensity window.
    pub restarts_in_window: usize,
    /// Restarts since it was last started by hand.
    pub restarts_total: u64,
    /// Why it last ended badly.
    pub last_error: Option<String>,
    /// When it is due to restart, in `backoff`.
    pub next_restart_at: Option<SystemTime>,
    /// Dependencies it waits on, in `starting`.
    pub waiting_on: Vec<&'static str>,
    /// The dependency whose failure or stop stopped it.
    pub stopped_because: Option<&'static str>,
    /// Whether its last stop had to abort it after its shutdown timeout.
    pub aborted: bool,
    /// Whether it is running past its ready timeout without having signalled ready.
    pub ready_overdue: bool,
    /// When its runner was last launched.
    pub started_at: Option<SystemTime>,
    /// When it last signalled ready.
    pub ready_at: Option<SystemTime>,
}

/// How many state changes a slow observer may fall behind before losing some.
const TRANSITION_BUFFER: usize = 1024;

/// One daemon state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonTransition {
    /// The daemon.
    pub name: &'static str,
    /// The state it entered.
    pub state: DaemonState,
    /// When.
    pub at: SystemTime,
    /// Its last error at that moment (why it failed, or backs off).
    pub error: Option<String>,
}

impl DaemonStatus {
    fn stopped(name: &'static str) -> Self {
        Self {
            name,
            state: DaemonState::Stopped,
            since: SystemTime::now(),
            restarts_in_window: 0,
            restarts_total: 0,
            last_error: None,
            next_restart_at: None,
            waiting_on: Vec::new(),
            stopped_because: None,
            aborted: false,
            ready_overdue: false,
            started_at: None,
            ready_at: None,
        }
    }

    /// Whether a start request has run its course: ready, overdue, or not
    /// coming up by itself.
    fn is_settled(&self) -> bool {
        self.state.is_settled() || (self.state == DaemonState::Running && self.ready_overdue)
    }
}

/// What to do when a daemon is started while a dependency is not running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingDependency {
    /// Start the dependency first (systemd's `Requires=`).
    #[default]
    StartIt,
    /// Refuse, naming the dependency.
    Refuse,
}

/// Why a daemon operation could not be done.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DaemonError {
    /// The daemon or profile name is not known.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// A dependency is not running and the manager is set to refuse.
    #[error(
        "[coord::E0301] cannot start daemon '{daemon}': its dependency '{dependency}' is not running; \
         start '{dependency}' first, or let the manager start dependencies (MissingDependency::StartIt)"
    )]
    DependencyNotRunning {
        /// The daemon asked for.
        daemon: &'static str,
        /// Its dependency that is down.
        dependency: &'static str,
    },
}

/// `daemon_manager()` was called before the manager was started.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error(
    "[coord::E0302] the daemon manager is not started: call `coordination.start_daemon_manager()` \
     (after `bootstrap()`), then `start_all()` or `start(daemon)`"
)]
pub struct DaemonManagerNotStarted;

/// A summary of many daemons: liveness or readiness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSummary {
    /// Whether the summary holds for every daemon considered.
    pub ok: bool,
    /// The daemons that break it.
    pub offending: Vec<&'static str>,
}

/// What `start_all()` or `start_profile()` left running.
#[derive(Debug, Clone)]
pub struct StartReport {
    /// Daemons that are ready, in startup order.
    pub ready: Vec<&'static str>,
    /// Daemons that are not, with their state and error.
    pub not_ready: Vec<DaemonStatus>,
}

impl StartReport {
    /// Whether every daemon started is ready.
    pub fn is_ok(&self) -> bool {
        self.not_ready.is_empty()
    }
}

/// What `shutdown()` did.
#[derive(Debug, Clone, Default)]
pub struct DaemonShutdownReport {
    /// Daemons stopped, in the order they were.
    pub stopped: Vec<&'static str>,
    /// Daemons that had to be aborted after their timeout or the total bound.
    pub aborted: Vec<&'static str>,
}

/// The enabled daemons and their settings, fixed when the handle is built.
#[derive(Debug)]
pub(crate) struct DaemonPlan {
    specs: Vec<&'static DaemonSpec>,
    position: HashMap<&'static str, usize>,
    deps: Vec<Vec<usize>>,
    soft_deps: Vec<Vec<usize>>,
    dependents: Vec<Vec<usize>>,
    /// Indices by level, declaration order within a level.
    levels: Vec<Vec<usize>>,
    configs: Vec<DaemonConfig>,
    profiles: Vec<(String, Vec<usize>)>,
    missing_dependency: MissingDependency,
    shutdown_bound: Duration,
}

/// The daemon half of `CoordinationBuilder`'s settings.
#[derive(Debug, Clone)]
pub(crate) struct DaemonSettings {
    pub specs: Option<Vec<&'static DaemonSpec>>,
    pub enabled: Option<Vec<String>>,
    pub default_config: DaemonConfig,
    pub overrides: Vec<(String, DaemonOverride)>,
    pub profiles: Vec<(String, Vec<String>)>,
    pub missing_dependency: MissingDependency,
    pub shutdown_bound: Duration,
}

impl Default for DaemonSettings {
    fn default() -> Self {
        Self {
            specs: None,
            enabled: None,
            default_config: DaemonConfig::default(),
            overrides: Vec::new(),
            profiles: Vec::new(),
            missing_dependency: MissingDependency::default(),
            shutdown_bound: Duration::from_secs(60),
        }
    }
}

/// A change to one daemon's settings, from config.
#[derive(Debug, Clone)]
pub(crate) enum DaemonOverride {
    Restart(RestartPolicy),
    Config(DaemonConfig),
}

impl DaemonPlan {
    pub(crate) fn build(settings: DaemonSettings) -> Result<Self, crate::bootstrap::BuildError> {
        let all: Vec<&'static DaemonSpec> = match settings.specs {
            Some(specs) => specs,
            None => crate::registry::registry().daemons().to_vec(),
        };
        let index: HashMap<&str, usize> =
            all.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let unknown = |name: &str| UnknownName::new("daemon", name, all.iter().map(|s| s.name));
        let mut selected = vec![settings.enabled.is_none(); all.len()];
        if let Some(enabled) = &settings.enabled {
            // Enabling a daemon enables its hard dependencies.
            let mut stack = Vec::new();
            for name in enabled {
                stack.push(*index.get(name.as_str()).ok_or_else(|| unknown(name))?);
            }
            while let Some(i) = stack.pop() {
                if !selected[i] {
                    selected[i] = true;
                    stack.extend(
                        all[i]
                            .depends_on
                            .iter()
                            .filter_map(|d| index.get(d).copied()),
                    );
                }
            }
        }
        let specs: Vec<&'static DaemonSpec> = all
            .iter()
            .zip(&selected)
            .filter(|(_, s)| **s)
            .map(|(s, _)| *s)
            .collect();
        // Names are how the plan finds daemons: two enums' same-named
        // variants are refused here as `validate_registry()` refuses them.
        if let Some(problem) = crate::registry::duplicate_daemon_names(&specs)
            .into_iter()
            .next()
        {
            return Err(problem.into());
        }
        let position: HashMap<&'static str, usize> =
            specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let mut deps = Vec::with_capacity(specs.len());
        let mut soft_deps = Vec::with_capacity(specs.len());
        for spec in &specs {
            let mut hard = Vec::with_capacity(spec.depends_on.len());
            for dep in spec.depends_on {
                hard.push(
                    *position
                        .get(dep)
                        .ok_or(RegistryProblem::UnknownDependency {
                            item: "daemon",
                            name: spec.name,
                            dependency: dep,
                        })?,
                );
            }
            deps.push(hard);
            // A soft dependency that is not enabled orders nothing.
            soft_deps.push(
                spec.soft_depends_on
                    .iter()
                    .filter_map(|d| position.get(d).copied())
                    .collect::<Vec<_>>(),
            );
        }
        let nodes: Vec<OrderNode<'static>> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| OrderNode {
                name: s.name,
                deps: deps[i].clone(),
                soft_deps: soft_deps[i].clone(),
            })
            .collect();
        let order = order::levels(&nodes).map_err(|cycle| RegistryProblem::Cycle {
            item: "daemon",
            cycle,
        })?;
        // A soft dependency that closed a cycle is not waited for either.
        for dropped in order.dropped_soft_edges() {
            tracing::warn!(%dropped, "soft dependency dropped from the startup order");
            let (from, to) = (position[dropped.from], position[dropped.to]);
            soft_deps[from].retain(|&d| d != to);
        }
        let levels: Vec<Vec<usize>> = order
            .levels()
            .iter()
            .map(|level| level.iter().map(|n| position[n]).collect())
            .collect();
        let mut dependents = vec![Vec::new(); specs.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let mut configs: Vec<DaemonConfig> = specs
            .iter()
            .map(|s| DaemonConfig {
                restart: s.restart.unwrap_or(settings.default_config.restart),
                ..settings.default_config.clone()
            })
            .collect();
        for (name, change) in &settings.overrides {
            let i = *position
                .get(name.as_str())
                .ok_or_else(|| UnknownName::new("daemon", name, specs.iter().map(|s| s.name)))?;
            match change {
                DaemonOverride::Restart(policy) => configs[i].restart = *policy,
                DaemonOverride::Config(config) => configs[i] = config.clone(),
            }
        }
        let mut profiles = Vec::new();
        for (profile, names) in &settings.profiles {
            let mut members = Vec::new();
            for name in names {
                match position.get(name.as_str()) {
                    Some(&i) => members.push(i),
                    // A registered daemon the configuration leaves out: the
                    // profile starts the rest of its members, and says so.
                    None if index.contains_key(name.as_str()) => tracing::warn!(
                        profile = %profile,
                        daemon = %name,
                        "[coord::E0308] profile member is not enabled; the profile starts without it"
                    ),
                    None => {
                        return Err(
                            UnknownName::new("daemon", name, all.iter().map(|s| s.name)).into()
                        );
                    }
                }
            }
            profiles.push((profile.clone(), members));
        }
        Ok(Self {
            specs,
            position,
            deps,
            soft_deps,
            dependents,
            levels,
            configs,
            profiles,
            missing_dependency: settings.missing_dependency,
            shutdown_bound: settings.shutdown_bound,
        })
    }

    fn index(&self, name: &str) -> Result<usize, UnknownName> {
        self.position.get(name).copied().ok_or_else(|| {
            UnknownName::new(
                "daemon",
                name,
                self.levels.iter().flatten().map(|&i| self.specs[i].name),
            )
        })
    }

    fn startup_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.levels.iter().flatten().copied()
    }
}

/// A daemon, named by its `DaemonType` variant or by its snake_case name.
pub trait DaemonRef {
    /// The daemon's snake_case name.
    fn daemon_name(&self) -> &str;
}

impl<K: DaemonKind> DaemonRef for K {
    fn daemon_name(&self) -> &str {
        self.name()
    }
}

impl DaemonRef for &str {
    fn daemon_name(&self) -> &str {
        self
    }
}

impl DaemonRef for String {
    fn daemon_name(&self) -> &str {
        self
    }
}

/// One daemon's status and a wake-up for whoever waits on it.
///
/// Not a `tokio::sync::watch`: its notify walks eight shards, each behind a
/// lock, on every send and on drop, and that was the top entry of the
/// `start_all` profile. One `Notify` does the job with one lock.
struct StatusCell {
    status: Mutex<DaemonStatus>,
    changed: Notify,
}

impl StatusCell {
    fn new(status: DaemonStatus) -> Self {
        Self {
            status: Mutex::new(status),
            changed: Notify::new(),
        }
    }

    fn read<R>(&self, f: impl FnOnce(&DaemonStatus) -> R) -> R {
        f(&lock(&self.status))
    }

    /// Applies `change`; wakes waiters if it returns true.
    fn modify(&self, change: impl FnOnce(&mut DaemonStatus) -> bool) {
        let wake = change(&mut lock(&self.status));
        if wake {
            self.changed.notify_waiters();
        }
    }

    /// Waits until `extract` returns `Some`, and returns that.
    async fn wait<R>(&self, mut extract: impl FnMut(&DaemonStatus) -> Option<R>) -> R {
        loop {
            let mut notified = std::pin::pin!(self.changed.notified());
            // Registered before the check, so a change in between is not missed.
            notified.as_mut().enable();
            if let Some(found) = extract(&lock(&self.status)) {
                return found;
            }
            notified.await;
        }
    }
}

struct Slot {
    status: StatusCell,
    supervisor: Mutex<Option<Supervisor>>,
}

struct Supervisor {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

struct Inner {
    plan: Arc<DaemonPlan>,
    /// Every state change, for observers such as the state store's recorder.
    transitions: tokio::sync::broadcast::Sender<DaemonTransition>,
    /// Set by the first subscriber; until then no transition is built (the
    /// sender's own receiver count takes a lock).
    observed: std::sync::atomic::AtomicBool,
    /// Weak: the coordination holds this manager, and daemons get a strong
    /// handle only while they run.
    coordination: WeakCoordination,
    slots: Vec<Slot>,
}

/// Starts, supervises and stops the daemons of a [`Coordination`](crate::Coordination).
#[derive(Clone)]
pub struct DaemonManager {
    inner: Arc<Inner>,
}

impl fmt::Debug for DaemonManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaemonManager")
            .field("daemons", &self.inner.slots.len())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Guarded values are replaced in one assignment, never left half-written.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl DaemonManager {
    pub(crate) fn new(plan: Arc<DaemonPlan>, coordination: WeakCoordination) -> Self {
        let slots = plan
            .specs
            .iter()
            .map(|spec| Slot {
                status: StatusCell::new(DaemonStatus::stopped(spec.name)),
                supervisor: Mutex::new(None),
            })
            .collect();
        Self {
            inner: Arc::new(Inner {
                plan,
                transitions: tokio::sync::broadcast::channel(TRANSITION_BUFFER).0,
                observed: std::sync::atomic::AtomicBool::new(false),
                coordination,
                slots,
            }),
        }
    }

    fn plan(&self) -> &DaemonPlan {
        &self.inner.plan
    }

    /// The enabled daemons' names in startup order.
    pub fn daemon_names(&self) -> Vec<&'static str> {
        let plan = self.plan();
        plan.startup_order().map(|i| plan.specs[i].name).collect()
    }

    /// Starts every enabled daemon in startup order; returns once each is
    /// ready or has failed.
    pub async fn start_all(&self) -> StartReport {
        let order: Vec<usize> = self.plan().startup_order().collect();
        self.start_set(&order).await
    }

    /// Every daemon state change from now on, in the order they happened per
    /// daemon. A receiver that falls more than 1024 changes behind loses the
    /// oldest and is told how many (`RecvError::Lagged`).
    pub fn subscribe_transitions(&self) -> tokio::sync::broadcast::Receiver<DaemonTransition> {
        self.inner
            .observed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.inner.transitions.subscribe()
    }

    /// The names of the profiles configured on the builder.
    pub fn profile_names(&self) -> Vec<String> {
        self.plan()
            .profiles
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Starts the daemons of profile `name` and the dependencies they need.
    pub async fn start_profile(&self, name: &str) -> Result<StartReport, DaemonError> {
        let plan = self.plan();
        let members = plan
            .profiles
            .iter()
            .find(|(p, _)| p == name)
            .map(|(_, m)| m.clone())
            .ok_or_else(|| {
                UnknownName::new(
                    "profile",
                    name,
                    plan.profiles.iter().map(|(p, _)| p.clone()),
                )
            })?;
        let wanted = self.with_dependencies(&members);
        Ok(self.start_set(&wanted).await)
    }

    /// Starts one daemon (and, by default, the dependencies it needs).
    pub async fn start(&self, daemon: impl DaemonRef) -> Result<DaemonStatus, DaemonError> {
        let i = self.plan().index(daemon.daemon_name())?;
        let needed: Vec<usize> = self
            .with_dependencies(&[i])
            .into_iter()
            .filter(|&d| d != i && !self.is_active(d))
            .collect();
        if let Some(&d) = needed.first()
            && self.plan().missing_dependency == MissingDependency::Refuse
        {
            return Err(DaemonError::DependencyNotRunning {
                daemon: self.plan().specs[i].name,
                dependency: self.plan().specs[d].name,
            });
        }
        let mut set = needed;
        set.push(i);
        // Dependents it took down come back with it.
        set.extend(self.stopped_because_of(i));
        self.start_set(&set).await;
        Ok(self.status_of(i))
    }

    /// Stops one daemon, its running dependents first.
    pub async fn stop(&self, daemon: impl DaemonRef) -> Result<DaemonStatus, DaemonError> {
        let i = self.plan().index(daemon.daemon_name())?;
        self.stop_dependents(i).await;
        self.stop_one(i).await;
        Ok(self.status_of(i))
    }

    /// Stops one daemon and starts it again, with the dependents it stopped.
    pub async fn restart(&self, daemon: impl DaemonRef) -> Result<DaemonStatus, DaemonError> {
        let i = self.plan().index(daemon.daemon_name())?;
        let dependents = self.stop_dependents(i).await;
        self.stop_one(i).await;
        let mut set = vec![i];
        set.extend(dependents);
        self.start_set(&set).await;
        Ok(self.status_of(i))
    }

    /// Every enabled daemon's status, in startup order.
    pub fn status(&self) -> Vec<DaemonStatus> {
        self.plan()
            .startup_order()
            .map(|i| self.status_of(i))
            .collect()
    }

    /// One daemon's status.
    pub fn daemon_status(&self, daemon: impl DaemonRef) -> Result<DaemonStatus, UnknownName> {
        Ok(self.status_of(self.plan().index(daemon.daemon_name())?))
    }

    /// Waits until one daemon's status satisfies `condition`, and returns it.
    ///
    /// Woken when the daemon settles (ready, degraded, backoff, failed,
    /// stopped) or its readiness, error, stop cause or restarts change.
    pub async fn wait_for(
        &self,
        daemon: impl DaemonRef,
        mut condition: impl FnMut(&DaemonStatus) -> bool,
    ) -> Result<DaemonStatus, UnknownName> {
        let i = self.plan().index(daemon.daemon_name())?;
        Ok(self.inner.slots[i]
            .status
            .wait(|s| condition(s).then(|| s.clone()))
            .await)
    }

    /// Live unless some daemon is failed for good.
    pub fn liveness(&self) -> HealthSummary {
        let offending: Vec<&'static str> = self
            .status()
            .into_iter()
            .filter(|s| s.state == DaemonState::Failed)
            .map(|s| s.name)
            .collect();
        HealthSummary {
            ok: offending.is_empty(),
            offending,
        }
    }

    /// Ready when every started daemon is ready.
    pub fn readiness(&self) -> HealthSummary {
        let offending: Vec<&'static str> = self
            .plan()
            .startup_order()
            .filter(|&i| self.is_active(i) || self.status_of(i).state == DaemonState::Failed)
            .map(|i| self.status_of(i))
            .filter(|s| !s.state.is_ready())
            .map(|s| s.name)
            .collect();
        HealthSummary {
            ok: offending.is_empty(),
            offending,
        }
    }

    /// Stops every daemon, dependents before dependencies, within the total bound.
    pub async fn shutdown(&self) -> DaemonShutdownReport {
        let plan = self.plan();
        let deadline = Instant::now() + plan.shutdown_bound;
        let mut report = DaemonShutdownReport::default();
        for level in plan.levels.iter().rev() {
            let stopping: Vec<(usize, Supervisor)> = level
                .iter()
                .filter_map(|&i| lock(&self.inner.slots[i].supervisor).take().map(|s| (i, s)))
                .collect();
            for (_, supervisor) in &stopping {
                supervisor.stop.cancel();
            }
            for (i, supervisor) in stopping {
                let abort = supervisor.task.abort_handle();
                if tokio::time::timeout_at(deadline, supervisor.task)
                    .await
                    .is_err()
                {
                    abort.abort();
                    tracing::warn!(
                        daemon = plan.specs[i].name,
                        "aborted: shutdown bound reached"
                    );
                    self.update(i, |s| {
                        s.state = DaemonState::Stopped;
                        s.aborted = true;
                    });
                }
                report.stopped.push(plan.specs[i].name);
                if self.inner.slots[i].status.read(|s| s.aborted) {
                    report.aborted.push(plan.specs[i].name);
                }
            }
        }
        report
    }

    fn status_of(&self, i: usize) -> DaemonStatus {
        self.inner.slots[i].status.read(DaemonStatus::clone)
    }

    /// Changes one daemon's status. Waiters are woken only by changes one can
    /// wait for (a settling state, readiness overdue, the cause or error of a
    /// stop, a restart); passing states such as starting, running and stopping
    /// are written quietly, because waking every watcher costs more than the
    /// rest of a start (measured: it was the top entry of the start profile).
    fn update(&self, i: usize, change: impl FnOnce(&mut DaemonStatus)) {
        // Built only when someone listens: most managers have no observer.
        let observed = self
            .inner
            .observed
            .load(std::sync::atomic::Ordering::Relaxed);
        let mut transition = None;
        self.inner.slots[i].status.modify(|status| {
            let state = status.state;
            let overdue = status.ready_overdue;
            let because = status.stopped_because;
            let restarts = status.restarts_total;
            let had_error = status.last_error.is_some();
            change(status);
            if status.state != state {
                status.since = SystemTime::now();
                if observed {
                    transition = Some(DaemonTransition {
                        name: status.name,
                        state: status.state,
                        at: status.since,
                        error: status.last_error.clone(),
                    });
                }
            }
            (status.state != state && status.state.is_settled())
                || status.ready_overdue != overdue
                || status.stopped_because != because
                || status.restarts_total != restarts
                || status.last_error.is_some() != had_error
        });
        if let Some(transition) = transition {
            // No receiver left is fine: the observer went away.
            let _ = self.inner.transitions.send(transition);
        }
    }

    fn is_active(&self, i: usize) -> bool {
        lock(&self.inner.slots[i].supervisor)
            .as_ref()
            .is_some_and(|s| !s.task.is_finished())
    }

    /// `roots` and their transitive hard dependencies, in startup order.
    fn with_dependencies(&self, roots: &[usize]) -> Vec<usize> {
        let plan = self.plan();
        let mut wanted = HashSet::new();
        let mut stack = roots.to_vec();
        while let Some(i) = stack.pop() {
            if wanted.insert(i) {
                stack.extend(&plan.deps[i]);
            }
        }
        plan.startup_order()
            .filter(|i| wanted.contains(i))
            .collect()
    }

    /// Daemons stopped (transitively) because `i` failed or stopped.
    fn stopped_because_of(&self, i: usize) -> Vec<usize> {
        let plan = self.plan();
        let mut found = Vec::new();
        let mut stack = vec![i];
        while let Some(cause) = stack.pop() {
            for &d in &plan.dependents[cause] {
                let status = self.status_of(d);
                if status.stopped_because.is_some() && !found.contains(&d) {
                    found.push(d);
                    stack.push(d);
                }
            }
        }
        found
    }

    /// Spawns supervisors for `set` (in startup order) and waits until each settles.
    async fn start_set(&self, set: &[usize]) -> StartReport {
        for &i in set {
            self.spawn_supervisor(i);
        }
        // Wait last-started first: those settle last, so the rest have usually
        // settled by then and this task is woken a few times, not once per daemon.
        for &i in set.iter().rev() {
            self.inner.slots[i]
                .status
                .wait(|s| s.is_settled().then_some(()))
                .await;
        }
        let mut report = StartReport {
            ready: Vec::new(),
            not_ready: Vec::new(),
        };
        for &i in set {
            let cell = &self.inner.slots[i].status;
            match cell.read(|s| s.state.is_ready().then_some(s.name)) {
                Some(name) => report.ready.push(name),
                None => report.not_ready.push(cell.read(DaemonStatus::clone)),
            }
        }
        report
    }

    fn spawn_supervisor(&self, i: usize) {
        let mut slot = lock(&self.inner.slots[i].supervisor);
        if slot.as_ref().is_some_and(|s| !s.task.is_finished()) {
            return;
        }
        let plan = self.plan();
        self.update(i, |s| {
            *s = DaemonStatus {
                state: DaemonState::Starting,
                waiting_on: plan.deps[i].iter().map(|&d| plan.specs[d].name).collect(),
                last_error: s.last_error.take(),
                ..DaemonStatus::stopped(plan.specs[i].name)
            }
        });
        let stop = CancellationToken::new();
        let manager = self.clone();
        // Every line the supervisor and the runner log carries the daemon's name.
        let span = tracing::info_span!("daemon", name = plan.specs[i].name);
        let task = tokio::spawn(tracing::Instrument::instrument(
            manager.supervise(i, stop.clone()),
            span,
        ));
        *slot = Some(Supervisor { stop, task });
    }

    /// Stops the running transitive dependents of `i`, last-started first,
    /// marking each as stopped because of `i`; returns them.
    async fn stop_dependents(&self, i: usize) -> Vec<usize> {
        let plan = self.plan();
        let mut dependents = Vec::new();
        let mut stack = plan.dependents[i].clone();
        while let Some(d) = stack.pop() {
            if !dependents.contains(&d) {
                dependents.push(d);
                stack.extend(&plan.dependents[d]);
            }
        }
        let rank: HashMap<usize, usize> = plan
            .startup_order()
            .enumerate()
            .map(|(r, i)| (i, r))
            .collect();
        dependents.sort_by_key(|d| std::cmp::Reverse(rank[d]));
        let cause = plan.specs[i].name;
        let mut stopped = Vec::new();
        for d in dependents {
            if self.stop_one(d).await {
                tracing::warn!(
                    daemon = plan.specs[d].name,
                    because = cause,
                    "stopped because its dependency is down"
                );
                self.update(d, |s| {
                    s.state = DaemonState::Stopped;
                    s.stopped_because = Some(cause);
                    if s.last_error.is_none() {
                        s.last_error =
                            Some(format!("[coord::E0304] stopped because '{cause}' is down"));
                    }
                });
                stopped.push(d);
            }
        }
        stopped
    }

    /// Stops one daemon's supervisor; returns whether it was running.
    async fn stop_one(&self, i: usize) -> bool {
        let supervisor = lock(&self.inner.slots[i].supervisor).take();
        let Some(supervisor) = supervisor else {
            return false;
        };
        supervisor.stop.cancel();
        let was_running = !supervisor.task.is_finished();
        // The supervisor applies the daemon's shutdown timeout itself.
        let _ = supervisor.task.await;
        was_running
    }

    /// The supervisor of daemon `i`: runs it until stopped, applying its restart policy.
    async fn supervise(self, i: usize, stop: CancellationToken) {
        let plan = self.plan();
        let spec = plan.specs[i];
        let config = &plan.configs[i];
        let mut tracker = RestartTracker::new(config.restart_config, i as u64 + 1);
        loop {
            match self.wait_for_dependencies(i, &stop).await {
                Ok(()) => {}
                Err(DependencyProblem::Stopped) => {
                    self.update(i, |s| s.state = DaemonState::Stopped);
                    return;
                }
                Err(DependencyProblem::Down { dependency, error }) => {
                    // Not this daemon's fault: it waits, stopped, for the dependency to be restarted.
                    tracing::warn!(daemon = spec.name, %error, "not started");
                    self.update(i, |s| {
                        s.state = DaemonState::Stopped;
                        s.stopped_because = Some(dependency);
                        s.last_error = Some(error);
                    });
                    return;
                }
                Err(DependencyProblem::NotReady { dependency, error }) => {
                    tracing::error!(daemon = spec.name, %error, "cannot start");
                    self.update(i, |s| s.stopped_because = Some(dependency));
                    self.fail(i, error).await;
                    return;
                }
            }
            let started = Instant::now();
            let outcome = self.run_instance(i, &stop).await;
            let error = match outcome {
                Exit::Stopped { aborted } => {
                    if aborted {
                        tracing::warn!(daemon = spec.name, timeout = ?config.shutdown_timeout, "did not stop in time; aborted");
                    }
                    self.update(i, |s| {
                        s.state = DaemonState::Stopped;
                        s.aborted = aborted;
                    });
                    return;
                }
                Exit::Finished(Ok(())) => None,
                Exit::Finished(Err(error)) => Some(error),
            };
            let restart = match config.restart {
                RestartPolicy::Always => true,
                RestartPolicy::OnFailure => error.is_some(),
                RestartPolicy::Never => false,
            };
            if !restart {
                match error {
                    None => {
                        tracing::info!(daemon = spec.name, "finished");
                        self.update(i, |s| s.state = DaemonState::Stopped);
                    }
                    Some(error) => {
                        tracing::error!(daemon = spec.name, %error, "failed; restart policy is never");
                        self.fail(i, error).await;
                    }
                }
                return;
            }
            let now = Instant::now();
            match tracker.on_exit(now, now.duration_since(started)) {
                RestartDecision::GiveUp { restarts } => {
                    let window = config.restart_config.window;
                    let last = error.unwrap_or_else(|| "exited".into());
                    let error = format!(
                        "[coord::E0303] restarted {restarts} times within {window:?}, the limit; staying down until started by hand (last error: {last})"
                    );
                    tracing::error!(daemon = spec.name, %error, "giving up");
                    self.fail(i, error).await;
                    return;
                }
                RestartDecision::After(delay) => {
                    let last_error = error.clone();
                    tracing::warn!(daemon = spec.name, error = ?last_error, ?delay, "ended; restarting after backoff");
                    self.update(i, |s| {
                        s.state = DaemonState::Backoff;
                        s.restarts_in_window = tracker.in_window();
                        s.restarts_total = tracker.total();
                        s.next_restart_at = Some(SystemTime::now() + delay);
                        if last_error.is_some() {
                            s.last_error = last_error;
                        }
                    });
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => {
                            self.update(i, |s| {
                                s.state = DaemonState::Stopped;
                                s.next_restart_at = None;
                            });
                            return;
                        }
                    }
                    self.update(i, |s| s.next_restart_at = None);
                }
            }
        }
    }

    /// Marks `i` failed for good and stops its dependents.
    async fn fail(&self, i: usize, error: String) {
        self.update(i, |s| {
            s.state = DaemonState::Failed;
            s.last_error = Some(error);
            s.next_restart_at = None;
        });
        // Stopping waits for the dependents' supervisors, never for this one.
        self.stop_dependents(i).await;
    }

    /// Waits until hard dependencies are ready and enabled soft ones settled.
    async fn wait_for_dependencies(
        &self,
        i: usize,
        stop: &CancellationToken,
    ) -> Result<(), DependencyProblem> {
        let plan = self.plan();
        for (&d, hard) in plan.deps[i]
            .iter()
            .map(|d| (d, true))
            .chain(plan.soft_deps[i].iter().map(|d| (d, false)))
        {
            let cell = &self.inner.slots[d].status;
            if cell.read(|s| s.state.is_ready()) {
                continue;
            }
            if !hard && !self.is_active(d) {
                // A soft dependency orders the start only when it is being started too.
                continue;
            }
            let dependency = plan.specs[d].name;
            // Down and not coming back by itself: failed, or stopped because of a failure.
            let down = |s: &DaemonStatus| {
                s.state == DaemonState::Failed
                    || (s.state == DaemonState::Stopped && (!hard || s.stopped_because.is_some()))
            };
            // The dependency's own supervisor times its readiness from when it
            // runs, so time spent waiting on its own dependencies does not count.
            let status = tokio::select! {
                status = cell.wait(|s| (s.state.is_ready() || down(s) || s.ready_overdue).then(|| s.clone())) => status,
                _ = stop.cancelled() => return Err(DependencyProblem::Stopped),
            };
            if hard && down(&status) {
                return Err(DependencyProblem::Down {
                    dependency,
                    error: format!(
                        "[coord::E0304] dependency '{dependency}' is {}: {}",
                        status.state,
                        status.last_error.as_deref().unwrap_or("no error recorded")
                    ),
                });
            }
            if hard && !status.state.is_ready() && status.ready_overdue {
                return Err(DependencyProblem::NotReady {
                    dependency,
                    error: format!(
                        "[coord::E0305] dependency '{dependency}' did not become ready within {:?}",
                        plan.configs[d].ready_timeout
                    ),
                });
            }
            self.update(i, |s| s.waiting_on.retain(|w| *w != dependency));
        }
        Ok(())
    }

    /// Runs one instance of daemon `i` until it ends or is stopped.
    async fn run_instance(&self, i: usize, stop: &CancellationToken) -> Exit {
        let plan = self.plan();
        let spec = plan.specs[i];
        let config = &plan.configs[i];
        // Its own token rather than a child of `stop` (cheaper to make): cancelled
        // here on a stop request, or on its own when its health check gives up.
        let cancel = CancellationToken::new();
        let (ctx, mut ready) = DaemonContext::with(
            spec.name,
            cancel.clone(),
            config.clone(),
            self.inner.coordination.upgrade(),
        );
        self.update(i, |s| {
            s.state = DaemonState::Running;
            s.waiting_on.clear();
            s.aborted = false;
            s.ready_overdue = false;
            s.started_at = Some(SystemTime::now());
            s.ready_at = None;
        });
        tracing::debug!(daemon = spec.name, "running");
        let probe_ctx = ctx.clone();
        let mut run = CatchUnwind((spec.runner)(ctx));

        let mut stopped = std::pin::pin!(stop.cancelled());

        // Most runners signal ready on their first poll: poll once before
        // arming the readiness deadline, so they never pay for a timer.
        let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut run).poll(cx))).await;
        if let Poll::Ready(result) = first {
            return Exit::Finished(result);
        }
        if ready.is_ready() {
            self.mark_ready(i);
        } else {
            // Until ready: the runner, a stop request, the ready signal, and the
            // deadline after which the daemon is reported overdue.
            let mut signalled = std::pin::pin!(ready.wait());
            let mut overdue = std::pin::pin!(tokio::time::sleep(config.ready_timeout));
            let mut overdue_reported = false;
            loop {
                tokio::select! {
                    biased;
                    result = &mut run => return Exit::Finished(result),
                    _ = &mut stopped => return self.stop_instance(i, &cancel, &mut run).await,
                    is_ready = &mut signalled => {
                        if is_ready {
                            self.mark_ready(i);
                        }
                        break;
                    }
                    _ = &mut overdue, if !overdue_reported => {
                        overdue_reported = true;
                        tracing::warn!(daemon = spec.name, timeout = ?config.ready_timeout, "has not signalled ready");
                        self.update(i, |s| s.ready_overdue = true);
                    }
                }
            }
        }

        // Ready: the runner, a stop request, and health checks once a probe is
        // registered (the check timer exists only then).
        let mut registration = std::pin::pin!(probe_ctx.take_health_probe());
        let mut health: Option<(crate::daemon::HealthProbe, Pin<Box<tokio::time::Sleep>>)> = None;
        let mut failures = 0u32;
        loop {
            tokio::select! {
                biased;
                result = &mut run => return Exit::Finished(result),
                _ = &mut stopped => return self.stop_instance(i, &cancel, &mut run).await,
                probe = &mut registration, if health.is_none() => {
                    let first_check = Box::pin(tokio::time::sleep(probe.interval));
                    health = Some((probe, first_check));
                }
                _ = next_check(&mut health), if health.is_some() => {
                    let Some((p, timer)) = health.as_mut() else { continue };
                    timer.as_mut().reset(Instant::now() + p.interval);
                    let result = match tokio::time::timeout(p.interval, (p.check)()).await {
                        Ok(result) => result.map_err(|e| e.to_string()),
                        Err(_) => Err(format!("[coord::E0306] health check took longer than {:?}", p.interval)),
                    };
                    match result {
                        Ok(()) => {
                            failures = 0;
                            if self.status_of(i).state == DaemonState::Degraded {
                                self.update(i, |s| s.state = DaemonState::Ready);
                            }
                        }
                        Err(error) => {
                            failures += 1;
                            tracing::warn!(daemon = spec.name, failures, %error, "health check failed");
                            if failures >= p.threshold {
                                cancel.cancel();
                                let _ = tokio::time::timeout(config.shutdown_timeout, &mut run).await;
                                return Exit::Finished(Err(format!(
                                    "[coord::E0306] health check failed {failures} times in a row: {error}"
                                )));
                            }
                            self.update(i, |s| {
                                if s.state.is_ready() {
                                    s.state = DaemonState::Degraded;
                                }
                                s.last_error = Some(format!("[coord::E0306] health check: {error}"));
                            });
                        }
                    }
                }
            }
        }
    }

    fn mark_ready(&self, i: usize) {
        tracing::info!(daemon = self.plan().specs[i].name, "ready");
        self.update(i, |s| {
            s.state = DaemonState::Ready;
            s.ready_overdue = false;
            s.ready_at = Some(SystemTime::now());
        });
    }

    /// Asks a running instance to stop, waits its shutdown timeout, then drops it.
    async fn stop_instance(
        &self,
        i: usize,
        cancel: &CancellationToken,
        run: &mut CatchUnwind,
    ) -> Exit {
        cancel.cancel();
        self.update(i, |s| s.state = DaemonState::Stopping);
        // Most runners end as soon as they see the cancellation: one poll
        // first, and only one that has to wait arms the shutdown timer.
        let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *run).poll(cx))).await;
        if first.is_ready() {
            return Exit::Stopped { aborted: false };
        }
        match tokio::time::timeout(self.plan().configs[i].shutdown_timeout, run).await {
            Ok(_) => Exit::Stopped { aborted: false },
            // Dropping the future is the abort: the instance ends with it.
            Err(_) => Exit::Stopped { aborted: true },
        }
    }
}

/// Why a daemon did not get past waiting for its dependencies.
enum DependencyProblem {
    /// It was stopped while waiting.
    Stopped,
    /// A hard dependency is down and will not come back by itself.
    Down {
        dependency: &'static str,
        error: String,
    },
    /// A hard dependency did not become ready in time.
    NotReady {
        dependency: &'static str,
        error: String,
    },
}

/// Completes when the health timer fires; pending while there is no probe.
async fn next_check(
    health: &mut Option<(crate::daemon::HealthProbe, Pin<Box<tokio::time::Sleep>>)>,
) {
    match health {
        Some((_, timer)) => timer.as_mut().await,
        None => std::future::pending().await,
    }
}

enum Exit {
    Finished(Result<(), String>),
    Stopped { aborted: bool },
}

/// A runner future whose panic becomes an error, so the supervisor survives it.
struct CatchUnwind(BoxFuture<'static, Result<(), BoxError>>);

impl Future for CatchUnwind {
    type Output = Result<(), String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(result)) => Poll::Ready(result.map_err(|e| e.to_string())),
            Err(payload) => Poll::Ready(Err(format!(
                "[coord::E0307] panicked: {}",
                panic_message(payload.as_ref())
            ))),
        }
    }
}
