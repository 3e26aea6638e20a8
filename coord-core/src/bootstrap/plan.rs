//! The coordinator plan: which coordinators are enabled (with what they
//! depend on), their initialisation order and timeouts, fixed at build time.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::status::{DEFAULT_INIT_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT};
use crate::error::BoxError;
use crate::interface::{AnyCoordinator, BoxFuture, CoordinatorConfig, Instances};
use crate::registry::{
    BuildError, CoordinatorSpec, OrderNode, RegistryProblem, find_coordinator, levels, registry,
};

/// The coordinator half of `CoordinationBuilder`'s settings.
#[derive(Debug, Clone)]
pub(crate) struct CoordinatorSettings {
    /// The coordinators to plan; every registered one when `None`.
    pub(crate) specs: Option<Vec<&'static CoordinatorSpec>>,
    /// Only these, and what they depend on.
    pub(crate) enabled: Option<Vec<String>>,
    /// Turned off (`enabled = false` in the config file).
    pub(crate) disabled: Vec<String>,
    /// What every initializer may take.
    pub(crate) init_timeout: Duration,
    /// Per-coordinator exceptions, by name.
    pub(crate) init_timeouts: Vec<(String, Duration)>,
    /// What each shutdown hook may take.
    pub(crate) shutdown_timeout: Duration,
    /// Configuration tables, by coordinator name.
    pub(crate) configs: Vec<(String, CoordinatorConfig)>,
    /// Instances that stand in for a coordinator type's initializer (a test's fake).
    pub(crate) provided: Vec<(TypeId, AnyCoordinator)>,
}

impl Default for CoordinatorSettings {
    fn default() -> Self {
        Self {
            specs: None,
            enabled: None,
            disabled: Vec::new(),
            init_timeout: DEFAULT_INIT_TIMEOUT,
            init_timeouts: Vec::new(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            configs: Vec::new(),
            provided: Vec::new(),
        }
    }
}

/// The enabled coordinators and their order, fixed when the handle is built.
#[derive(Debug)]
pub(crate) struct CoordinatorPlan {
    pub(super) specs: Vec<&'static CoordinatorSpec>,
    pub(super) position: HashMap<&'static str, usize>,
    pub(super) deps: Vec<Vec<usize>>,
    pub(super) dependents: Vec<Vec<usize>>,
    /// Indices in initialisation order.
    pub(super) order: Vec<usize>,
    pub(super) timeouts: Vec<Duration>,
    pub(super) shutdown_timeout: Duration,
    /// Each coordinator's configuration, by position.
    pub(super) configs: Vec<Option<Arc<CoordinatorConfig>>>,
    /// Instances given in place of running the initializer, by position.
    pub(super) provided: Vec<Option<AnyCoordinator>>,
}

impl CoordinatorPlan {
    /// Initialises coordinator `i` against `instances`: its initializer, or
    /// the instance given in its place.
    pub(super) fn initialize(
        &self,
        i: usize,
        instances: &Arc<Instances>,
    ) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
        match &self.provided[i] {
            Some(instance) => {
                let instance = Arc::clone(instance);
                Box::pin(async move { Ok(instance) })
            }
            None => self.specs[i].initialize(Arc::clone(instances), self.configs[i].clone()),
        }
    }
}

impl CoordinatorPlan {
    /// Plans the coordinators, narrowed to the enabled ones and what they
    /// depend on, less the disabled ones.
    pub(crate) fn build(settings: CoordinatorSettings) -> Result<Self, BuildError> {
        let CoordinatorSettings {
            specs,
            enabled,
            disabled,
            init_timeout,
            init_timeouts,
            shutdown_timeout,
            configs: given_configs,
            provided: given_instances,
        } = settings;
        let all: Vec<&'static CoordinatorSpec> = match specs {
            Some(specs) => specs,
            None => registry().coordinators().to_vec(),
        };
        let index: HashMap<&str, usize> =
            all.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let mut selected = vec![enabled.is_none(); all.len()];
        if let Some(enabled) = &enabled {
            // Enabling a coordinator enables what it depends on.
            let mut stack = Vec::new();
            for name in enabled {
                let spec = find_coordinator(&all, name)?;
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
        for name in &disabled {
            selected[index[find_coordinator(&all, name)?.name]] = false;
        }
        for name in &disabled {
            let off = find_coordinator(&all, name)?.name;
            let needed_by: Vec<&'static str> = all
                .iter()
                .zip(&selected)
                .filter(|(spec, on)| **on && spec.depends_on.contains(&off))
                .map(|(spec, _)| spec.name)
                .collect();
            if !needed_by.is_empty() {
                return Err(BuildError::DisabledDependency {
                    item: "coordinator",
                    name: off.to_owned(),
                    needed_by,
                });
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
        let order = levels(&nodes).map_err(|cycle| RegistryProblem::Cycle {
            item: "coordinator",
            cycle,
        })?;
        // Positions are renumbered in initialisation order: a bootstrap then
        // walks every per-coordinator table front to back rather than at
        // random (at 10,000 coordinators, a cache miss per table per
        // coordinator was a third of a trivial bootstrap).
        let specs: Vec<&'static CoordinatorSpec> =
            order.iter().map(|name| specs[position[name]]).collect();
        let position: HashMap<&str, usize> =
            specs.iter().enumerate().map(|(i, s)| (s.name, i)).collect();
        let deps: Vec<Vec<usize>> = specs
            .iter()
            .map(|spec| spec.depends_on.iter().map(|dep| position[dep]).collect())
            .collect();
        let order: Vec<usize> = (0..specs.len()).collect();
        let mut dependents = vec![Vec::new(); specs.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let mut timeouts = vec![init_timeout; specs.len()];
        for (name, timeout) in &init_timeouts {
            let spec = find_coordinator(&specs, name)?;
            timeouts[position[spec.name]] = *timeout;
        }
        let mut configs = vec![None; specs.len()];
        for (name, config) in given_configs {
            // A configured coordinator that is not enabled simply goes unused.
            match find_coordinator(&specs, &name) {
                Ok(spec) => configs[position[spec.name]] = Some(Arc::new(config)),
                Err(error) => {
                    find_coordinator(&all, &name).map_err(|_| error)?;
                }
            }
        }
        let provided = specs
            .iter()
            .map(|spec| {
                given_instances
                    .iter()
                    .rev()
                    .find(|(type_id, _)| *type_id == spec.instance_type())
                    .map(|(_, instance)| Arc::clone(instance))
            })
            .collect();
        Ok(Self {
            provided,
            specs,
            position: position.into_iter().collect(),
            deps,
            dependents,
            order,
            timeouts,
            shutdown_timeout,
            configs,
        })
    }
}
