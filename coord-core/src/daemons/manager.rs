//! The daemon manager's handle: what you call to start, stop, restart and
//! watch daemons. The work happens in its siblings: `start` (sets of
//! daemons), `supervisor` (one daemon's life), `waits`, `health`, `shutdown`.

use std::fmt;
use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::plan::{DaemonPlan, DaemonRef};
use super::status::{
    CriticalFailure, DaemonError, DaemonState, DaemonStatus, DaemonTransition, HealthSummary,
    MissingDependency, StartReport,
};
use super::status_cell::StatusCell;
use crate::error::UnknownName;
use crate::interface::{ClusterLink, DaemonConfig, ServiceLink};

/// How many state changes a slow observer may fall behind before losing some.
const TRANSITION_BUFFER: usize = 1024;

pub(super) struct Slot {
    pub(super) status: StatusCell,
    pub(super) supervisor: Mutex<Option<Supervisor>>,
}

pub(super) struct Supervisor {
    pub(super) stop: CancellationToken,
    pub(super) task: JoinHandle<()>,
}

pub(super) struct Inner {
    pub(super) plan: Arc<DaemonPlan>,
    /// Every state change, for observers such as the state store's recorder.
    pub(super) transitions: tokio::sync::broadcast::Sender<DaemonTransition>,
    /// Set by the first subscriber; until then no transition is built (the
    /// sender's own receiver count takes a lock).
    pub(super) observed: std::sync::atomic::AtomicBool,
    /// The first critical daemon to fail for good, once one has.
    pub(super) critical: tokio::sync::watch::Sender<Option<CriticalFailure>>,
    /// Weak: the coordination holds this manager, and daemons get a strong
    /// handle only while they run.
    pub(super) service: Arc<dyn ServiceLink>,
    pub(super) slots: Vec<Slot>,
    /// The cluster, in cluster mode: singletons run where they hold its lease.
    pub(super) cluster: std::sync::OnceLock<Arc<dyn ClusterLink>>,
}

/// Starts, supervises and stops the daemons of a [`Coordination`](crate::Coordination).
#[derive(Clone)]
pub struct DaemonManager {
    pub(super) inner: Arc<Inner>,
}

impl fmt::Debug for DaemonManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DaemonManager")
            .field("daemons", &self.inner.slots.len())
            .finish_non_exhaustive()
    }
}

impl DaemonManager {
    pub(crate) fn new(plan: Arc<DaemonPlan>, service: Arc<dyn ServiceLink>) -> Self {
        for dropped in &plan.dropped_soft_edges {
            tracing::warn!(%dropped, "soft dependency dropped from the startup order");
        }
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
                critical: tokio::sync::watch::Sender::new(None),
                service,
                slots,
                cluster: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Runs singleton daemons only where this node holds their lease in
    /// `link`; call before starting them. A second call is ignored.
    pub fn attach_cluster(&self, link: Arc<dyn ClusterLink>) {
        let _ = self.inner.cluster.set(link);
    }

    /// The names of the daemons that run on one node at a time in cluster mode.
    pub fn singleton_names(&self) -> Vec<&'static str> {
        let plan = self.plan();
        plan.startup_order()
            .filter(|&i| plan.configs[i].singleton)
            .map(|i| plan.specs[i].name)
            .collect()
    }

    pub(super) fn plan(&self) -> &DaemonPlan {
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
        self.as_task(|manager| async move {
            let order: Vec<usize> = manager.plan().startup_order().collect();
            manager.start_set(&order).await
        })
        .await
    }

    /// Runs `work` as a task of the runtime when called from outside one
    /// (`main`'s `block_on`): there every daemon that settles or stops wakes
    /// a thread that is not one of the runtime's, a kernel wake-up each,
    /// which cost a third of a 1,000-daemon shutdown (measured). It runs to
    /// the end even if the caller stops waiting, and its panic is the caller's.
    pub(super) async fn as_task<F>(&self, work: impl Fn(DaemonManager) -> F) -> F::Output
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if tokio::task::try_id().is_none() && tokio::runtime::Handle::try_current().is_ok() {
            let task = tracing::Instrument::in_current_span(work(self.clone()));
            match tokio::spawn(task).await {
                Ok(output) => return output,
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                // The runtime is shutting down and cancelled the task: do the work here.
                Err(_) => {}
            }
        }
        work(self.clone()).await
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
        Ok(self
            .as_task(|manager| {
                let wanted = wanted.clone();
                async move { manager.start_set(&wanted).await }
            })
            .await)
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

    /// One daemon's effective settings: the defaults, its attribute, the
    /// config file and the builder's, in that order.
    pub fn daemon_config(&self, daemon: impl DaemonRef) -> Result<DaemonConfig, UnknownName> {
        let plan = self.plan();
        Ok(DaemonConfig::clone(
            &plan.configs[plan.index(daemon.daemon_name())?],
        ))
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

    /// Completes when a `critical` daemon fails for good (or has already),
    /// with which one and why; pending for as long as none has.
    pub async fn critical_failure(&self) -> CriticalFailure {
        let mut failures = self.inner.critical.subscribe();
        let failure = match failures.wait_for(Option::is_some).await {
            Ok(failure) => failure.clone(),
            // The sender lives as long as this manager.
            Err(_) => None,
        };
        match failure {
            Some(failure) => failure,
            None => std::future::pending().await,
        }
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
}
