//! The coordinator plan: which coordinators are enabled (with what they
//! depend on), their initialisation order and timeouts, fixed at build time.

use std::collections::HashMap;
use std::time::Duration;

use crate::registry::{
    BuildError, CoordinatorSpec, OrderNode, RegistryProblem, find_coordinator, levels, registry,
};

/// The initialisation and shutdown timeouts a plan is built with.
#[derive(Debug, Clone)]
pub(crate) struct Timeouts {
    /// What every initializer may take.
    pub(crate) init: Duration,
    /// Per-coordinator exceptions, by name.
    pub(crate) per_coordinator: Vec<(String, Duration)>,
    /// What each shutdown hook may take.
    pub(crate) shutdown: Duration,
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
}

impl CoordinatorPlan {
    /// Plans `specs` (every registered coordinator when `None`), narrowed to
    /// `enabled` and what they depend on.
    pub(crate) fn build(
        specs: Option<Vec<&'static CoordinatorSpec>>,
        enabled: Option<Vec<String>>,
        limits: Timeouts,
    ) -> Result<Self, BuildError> {
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
        let order: Vec<usize> = order.iter().map(|name| position[name]).collect();
        let mut dependents = vec![Vec::new(); specs.len()];
        for (i, ds) in deps.iter().enumerate() {
            for &d in ds {
                dependents[d].push(i);
            }
        }
        let mut timeouts = vec![limits.init; specs.len()];
        for (name, timeout) in &limits.per_coordinator {
            let spec = find_coordinator(&specs, name)?;
            timeouts[position[spec.name]] = *timeout;
        }
        Ok(Self {
            specs,
            position: position.into_iter().collect(),
            deps,
            dependents,
            order,
            timeouts,
            shutdown_timeout: limits.shutdown,
        })
    }
}
