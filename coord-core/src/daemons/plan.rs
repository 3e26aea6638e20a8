//! The daemon plan: which daemons are enabled, their order, dependencies,
//! settings and profiles, resolved once when the `Coordination` is built.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::status::MissingDependency;
use crate::error::BoxError;
use crate::error::UnknownName;
use crate::interface::{
    BoxFuture, DaemonConfig, DaemonContext, DaemonKind, DaemonOptions, DaemonRunner, RestartPolicy,
};
use crate::registry::{
    BuildError, DaemonSpec, DroppedSoftEdge, OrderNode, RegistryProblem, duplicate_daemon_names,
    levels, registry,
};

/// The enabled daemons and their settings, fixed when the handle is built.
#[derive(Debug)]
pub(crate) struct DaemonPlan {
    pub(super) specs: Vec<&'static DaemonSpec>,
    pub(super) position: HashMap<&'static str, usize>,
    pub(super) deps: Edges,
    pub(super) soft_deps: Edges,
    pub(super) dependents: Edges,
    /// Indices by level, declaration order within a level.
    pub(super) levels: Vec<Vec<usize>>,
    /// Shared with each run's context rather than copied into it.
    pub(super) configs: Vec<Arc<DaemonConfig>>,
    pub(super) profiles: Vec<(String, Vec<usize>)>,
    pub(super) missing_dependency: MissingDependency,
    pub(super) shutdown_bound: Duration,
    /// Soft edges dropped because each closed a cycle; logged when daemons start.
    pub(super) dropped_soft_edges: Vec<DroppedSoftEdge>,
    /// Runners that replace a daemon's own, by position.
    pub(super) runners: Vec<Option<RunnerOverride>>,
}

/// Each daemon's neighbours along one kind of edge, `edges[i]` a slice:
/// one buffer for all of them rather than a vector per daemon (most daemons
/// have few or none, and a plan is read on every start and stop).
#[derive(Debug, Default)]
pub(super) struct Edges {
    /// Where daemon `i`'s neighbours begin in `targets`; one more entry than daemons.
    starts: Vec<usize>,
    targets: Vec<usize>,
}

impl Edges {
    fn new(lists: &[Vec<usize>]) -> Self {
        let mut starts = Vec::with_capacity(lists.len() + 1);
        let mut targets = Vec::with_capacity(lists.iter().map(Vec::len).sum());
        starts.push(0);
        for list in lists {
            targets.extend_from_slice(list);
            starts.push(targets.len());
        }
        Self { starts, targets }
    }
}

impl std::ops::Index<usize> for Edges {
    type Output = [usize];

    fn index(&self, i: usize) -> &[usize] {
        &self.targets[self.starts[i]..self.starts[i + 1]]
    }
}

/// The daemon half of `CoordinationBuilder`'s settings.
#[derive(Debug, Clone)]
pub(crate) struct DaemonSettings {
    pub specs: Option<Vec<&'static DaemonSpec>>,
    pub enabled: Option<Vec<String>>,
    /// Daemons turned off (`enabled = false` in the config file).
    pub disabled: Vec<String>,
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
            disabled: Vec::new(),
            default_config: DaemonConfig::default(),
            overrides: Vec::new(),
            profiles: Vec::new(),
            missing_dependency: MissingDependency::default(),
            shutdown_bound: Duration::from_secs(60),
        }
    }
}

/// A change to one daemon's settings, from config (or a test's runner).
#[derive(Debug, Clone)]
pub(crate) enum DaemonOverride {
    Restart(RestartPolicy),
    Config(DaemonConfig),
    Options(DaemonOptions),
    Runner(RunnerOverride),
}

/// A runner that replaces a daemon's own (a test's fake).
#[derive(Clone)]
pub(crate) struct RunnerOverride(pub(crate) Arc<dyn DaemonRunner>);

impl std::fmt::Debug for RunnerOverride {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RunnerOverride")
    }
}

impl DaemonPlan {
    pub(crate) fn build(settings: DaemonSettings) -> Result<Self, BuildError> {
        let all: Vec<&'static DaemonSpec> = match settings.specs {
            Some(specs) => specs,
            None => registry().daemons().to_vec(),
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
        for name in &settings.disabled {
            selected[*index.get(name.as_str()).ok_or_else(|| unknown(name))?] = false;
        }
        // A disabled daemon that an enabled one needs is a contradiction.
        for name in &settings.disabled {
            let needed_by: Vec<&'static str> = all
                .iter()
                .zip(&selected)
                .filter(|(spec, on)| **on && spec.depends_on.contains(&name.as_str()))
                .map(|(spec, _)| spec.name)
                .collect();
            if !needed_by.is_empty() {
                return Err(BuildError::DisabledDependency {
                    item: "daemon",
                    name: name.clone(),
                    needed_by,
                });
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
        if let Some(problem) = duplicate_daemon_names(&specs).into_iter().next() {
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
        let order = levels(&nodes).map_err(|cycle| RegistryProblem::Cycle {
            item: "daemon",
            cycle,
        })?;
        // A soft dependency that closed a cycle is not waited for either.
        for dropped in order.dropped_soft_edges() {
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
        // The builder's defaults, then what each attribute says.
        let mut configs: Vec<DaemonConfig> = specs
            .iter()
            .map(|s| settings.default_config.clone().with_options(&s.options))
            .collect();
        let mut runners: Vec<Option<RunnerOverride>> = vec![None; specs.len()];
        for (name, change) in &settings.overrides {
            let Some(&i) = position.get(name.as_str()) else {
                // Settings of a registered daemon that is not enabled apply to nothing.
                if index.contains_key(name.as_str()) {
                    continue;
                }
                return Err(UnknownName::new("daemon", name, all.iter().map(|s| s.name)).into());
            };
            match change {
                DaemonOverride::Restart(policy) => configs[i].restart = *policy,
                DaemonOverride::Config(config) => configs[i] = config.clone(),
                DaemonOverride::Options(options) => {
                    configs[i] = configs[i].clone().with_options(options);
                }
                DaemonOverride::Runner(runner) => runners[i] = Some(runner.clone()),
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
            deps: Edges::new(&deps),
            soft_deps: Edges::new(&soft_deps),
            dependents: Edges::new(&dependents),
            levels,
            // Not `collect`: it would reuse the buffer sized for whole configs.
            configs: {
                let mut shared = Vec::with_capacity(configs.len());
                shared.extend(configs.into_iter().map(Arc::new));
                shared
            },
            profiles,
            missing_dependency: settings.missing_dependency,
            shutdown_bound: settings.shutdown_bound,
            dropped_soft_edges: order.dropped_soft_edges().to_vec(),
            runners,
        })
    }

    /// Starts one run of daemon `i`: its runner, or the one that replaces it.
    pub(super) fn run(
        &self,
        i: usize,
        ctx: DaemonContext,
    ) -> BoxFuture<'static, Result<(), BoxError>> {
        match &self.runners[i] {
            Some(runner) => runner.0.run(ctx),
            None => (self.specs[i].runner)(ctx),
        }
    }

    pub(super) fn index(&self, name: &str) -> Result<usize, UnknownName> {
        self.position.get(name).copied().ok_or_else(|| {
            UnknownName::new(
                "daemon",
                name,
                self.levels.iter().flatten().map(|&i| self.specs[i].name),
            )
        })
    }

    pub(super) fn startup_order(&self) -> impl Iterator<Item = usize> + '_ {
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
