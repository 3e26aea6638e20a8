//! The builder of a `Coordination`: which coordinators and daemons, their
//! timeouts and settings, profiles, and the event bus's settings.

use std::any::TypeId;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Coordination, Inner};
use crate::bootstrap::{Bootstrapper, CoordinatorPlan, CoordinatorSettings};
use crate::daemons::{
    DaemonOverride, DaemonPlan, DaemonRef, DaemonSettings, MissingDependency, RunnerOverride,
};
use crate::events::{BusConfig, EventBus, EventObserver};
use crate::interface::{
    AnyCoordinator, ClusterLink, Coordinator, CoordinatorConfig, DaemonConfig, DaemonOptions,
    DaemonRunner, RestartPolicy,
};
use crate::registry::{BuildError, CoordinatorSpec, DaemonSpec};

/// Builds a [`Coordination`].
#[derive(Debug, Clone, Default)]
pub struct CoordinationBuilder {
    coordinators: CoordinatorSettings,
    daemons: DaemonSettings,
    bus: BusConfig,
    cluster: Option<Arc<dyn ClusterLink>>,
    distributed_events: Vec<String>,
    observer: Observer,
}

/// Who will watch the event bus, if anyone.
#[derive(Clone, Default)]
struct Observer(Option<Arc<dyn EventObserver>>);

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Observer(set)"
        } else {
            "Observer(none)"
        })
    }
}

impl CoordinationBuilder {
    /// Uses these coordinators instead of every registered one.
    pub fn coordinators(
        mut self,
        specs: impl IntoIterator<Item = &'static CoordinatorSpec>,
    ) -> Self {
        self.coordinators.specs = Some(specs.into_iter().collect());
        self
    }

    /// Enables only these coordinators, and what they depend on.
    pub fn enable<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.coordinators.enabled = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// The time every initializer may take (default 30 s).
    pub fn init_timeout(mut self, timeout: Duration) -> Self {
        self.coordinators.init_timeout = timeout;
        self
    }

    /// The time coordinator `name`'s initializer may take.
    pub fn coordinator_timeout(mut self, name: impl Into<String>, timeout: Duration) -> Self {
        self.coordinators.init_timeouts.push((name.into(), timeout));
        self
    }

    /// The time each shutdown hook may take (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.coordinators.shutdown_timeout = timeout;
        self
    }

    /// Joins a cluster: distributed events travel through `link` and
    /// singleton daemons run only where this node holds their lease. Connect
    /// with `coord::nats::connect(options).await?` (feature `nats`).
    pub fn cluster(mut self, link: Arc<dyn ClusterLink>) -> Self {
        self.cluster = Some(link);
        self
    }

    /// Distributes events of this stable name in cluster mode, as
    /// `#[event(distributed)]` does (the config file's `[events] distributed`).
    pub fn distributed_event(mut self, name: impl Into<String>) -> Self {
        self.distributed_events.push(name.into());
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

    /// Lets `observer` see every publish and handler call on the bus (a test
    /// harness's recorder and fault injection).
    pub fn observe_events(mut self, observer: Arc<dyn EventObserver>) -> Self {
        self.observer = Observer(Some(observer));
        self
    }

    /// Uses `instance` as coordinator `C` instead of running `C`'s
    /// initializer (a test's stand-in, built by the test).
    pub fn coordinator_instance<C: Coordinator>(mut self, instance: C) -> Self {
        self.coordinators
            .provided
            .push((TypeId::of::<C>(), Arc::new(instance) as AnyCoordinator));
        self
    }

    /// Runs `runner` in place of the daemon's own runner (a test's fake).
    pub fn daemon_runner(mut self, daemon: impl DaemonRef, runner: impl DaemonRunner) -> Self {
        self.daemons.overrides.push((
            daemon.daemon_name().to_owned(),
            DaemonOverride::Runner(RunnerOverride(Arc::new(runner))),
        ));
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

    /// Names a subset of daemons that `start_profile(name)` starts, with
    /// their dependencies; a later profile of the same name replaces it.
    pub fn profile<I, R>(mut self, name: impl Into<String>, daemons: I) -> Self
    where
        I: IntoIterator<Item = R>,
        R: DaemonRef,
    {
        let members = daemons
            .into_iter()
            .map(|d| d.daemon_name().to_owned())
            .collect();
        let name = name.into();
        self.daemons
            .profiles
            .retain(|(existing, _)| *existing != name);
        self.daemons.profiles.push((name, members));
        self
    }

    /// What starting a daemon whose dependency is down does (default: start it).
    pub fn missing_dependency(mut self, policy: MissingDependency) -> Self {
        self.daemons.missing_dependency = policy;
        self
    }

    /// Overrides the settings of one daemon that `options` gives (its
    /// attribute's and the defaults stay for the rest).
    pub fn daemon_options(mut self, daemon: impl DaemonRef, options: DaemonOptions) -> Self {
        self.daemons.overrides.push((
            daemon.daemon_name().to_owned(),
            DaemonOverride::Options(options),
        ));
        self
    }

    /// Turns one daemon off; an error at `build()` if an enabled daemon
    /// depends on it.
    pub fn disable_daemon(mut self, daemon: impl DaemonRef) -> Self {
        self.daemons.disabled.push(daemon.daemon_name().to_owned());
        self
    }

    /// Turns one coordinator off; an error at `build()` if an enabled
    /// coordinator depends on it.
    pub fn disable_coordinator(mut self, name: impl Into<String>) -> Self {
        self.coordinators.disabled.push(name.into());
        self
    }

    /// Gives coordinator `name` its configuration, which its initializer
    /// reads with `ctx.config::<T>()`: any value that serialises to a table
    /// (a struct, a map, a `toml::Table`).
    pub fn coordinator_config(
        mut self,
        name: impl Into<String>,
        config: impl serde::Serialize,
    ) -> Result<Self, BuildError> {
        let name = name.into();
        let table = toml::Table::try_from(config).map_err(|error| BuildError::Config {
            coordinator: name.clone(),
            problem: error.to_string(),
        })?;
        self.coordinators.configs.push((
            name,
            CoordinatorConfig {
                table,
                origin: "given to the builder".to_owned(),
            },
        ));
        Ok(self)
    }

    /// Uses a configuration table that was read elsewhere (the config file).
    pub(crate) fn coordinator_table(mut self, name: String, config: CoordinatorConfig) -> Self {
        self.coordinators.configs.push((name, config));
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
        let plan = CoordinatorPlan::build(self.coordinators)?;
        let bus = EventBus::new(self.bus);
        if let Some(observer) = self.observer.0 {
            // A new bus has no observer yet.
            let _ = bus.observe(observer);
        }
        if let Some(link) = &self.cluster {
            bus.attach_cluster(Arc::clone(link), self.distributed_events);
        }
        let coordination = Coordination {
            inner: Arc::new(Inner {
                bootstrap: Bootstrapper::new(plan),
                daemon_plan,
                manager: OnceLock::new(),
                bus,
                cluster: self.cluster,
                started_ms: crate::interface::unix_millis(std::time::SystemTime::now()),
            }),
        };
        // Initialisers reach the bus through it (`ctx.publisher()`), without keeping it alive.
        coordination
            .inner
            .bootstrap
            .instances()
            .link_service(Arc::new(super::WeakCoordination(Arc::downgrade(
                &coordination.inner,
            ))));
        Ok(coordination)
    }
}
