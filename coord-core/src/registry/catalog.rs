//! The process-wide registry: gathered from every linked crate on first
//! use, looked up by name or by type, ordered and validated.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::OnceLock;

use super::order::{self, DroppedSoftEdge, OrderNode, StartupOrder};
use super::problem::{OrderError, RegistryProblem, RegistryProblems};
use super::spec::{CoordinatorRegistration, CoordinatorSpec, DaemonKindSpec, DaemonSpec};
use crate::error::UnknownName;
use crate::interface::{Category, DaemonKind, RegisteredCoordinator};
use crate::location::Location;

/// One registered `DaemonType` enum and its daemons.
#[derive(Debug)]
struct Kind {
    spec: &'static DaemonKindSpec,
    type_id: TypeId,
    /// Position in `Registry::daemons` per variant; `None` without an entry.
    daemons: Vec<Option<usize>>,
}

/// The registered daemons, daemon enums and coordinators.
#[derive(Debug)]
pub struct Registry {
    kinds: Vec<Kind>,
    daemons: Vec<&'static DaemonSpec>,
    coordinators: Vec<&'static CoordinatorSpec>,
}

/// The process-wide registry, gathered from every linked crate on first use.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        Registry::new(
            inventory::iter::<DaemonKindSpec>(),
            inventory::iter::<CoordinatorRegistration>(),
        )
    })
}

/// The daemon startup order of the process-wide registry.
pub fn startup_order() -> Result<StartupOrder, OrderError> {
    registry().startup_order()
}

/// Leaks `items` for the life of the process; registries are built once.
fn leak<T>(items: Vec<T>) -> &'static [T] {
    Box::leak(items.into_boxed_slice())
}

impl Registry {
    /// A registry of these enums (with their daemons) and coordinators, in declaration order.
    pub fn new(
        kinds: impl IntoIterator<Item = &'static DaemonKindSpec>,
        coordinators: impl IntoIterator<Item = &'static CoordinatorRegistration>,
    ) -> Self {
        let mut kind_specs: Vec<&'static DaemonKindSpec> = kinds.into_iter().collect();
        kind_specs.sort_by_key(|k| (k.location, k.type_name));
        let mut kinds = Vec::new();
        let mut daemons: Vec<&'static DaemonSpec> = Vec::new();
        for spec in kind_specs {
            let graph = spec.graph;
            let name_of = |discriminant: &i128| {
                graph
                    .nodes
                    .get(graph.position(*discriminant))
                    .map_or("(unknown)", |n| n.get().name())
            };
            let mut positions = Vec::with_capacity(graph.nodes.len());
            for node in graph.nodes.iter().map(|n| n.get()) {
                let Some(entry) = node.entry() else {
                    positions.push(None);
                    continue;
                };
                positions.push(Some(daemons.len()));
                daemons.push(Box::leak(Box::new(DaemonSpec {
                    name: node.name(),
                    kind: spec.type_name,
                    variant: node.variant(),
                    depends_on: leak(node.dependencies().iter().map(name_of).collect()),
                    soft_depends_on: leak(node.soft_dependencies().iter().map(name_of).collect()),
                    category: entry.category.map(Category::name),
                    options: entry.options,
                    runner: entry.runner,
                    publishes: entry.publishes,
                    location: entry.location,
                })));
            }
            kinds.push(Kind {
                spec,
                type_id: (spec.type_id)(),
                daemons: positions,
            });
        }
        Self {
            kinds,
            daemons,
            coordinators: coordinator_specs(coordinators.into_iter().collect()),
        }
    }

    /// A registry of ready-made specs, for programs that assemble sets at run time.
    pub fn from_specs(
        daemons: impl IntoIterator<Item = &'static DaemonSpec>,
        coordinators: impl IntoIterator<Item = &'static CoordinatorSpec>,
    ) -> Self {
        Self {
            kinds: Vec::new(),
            daemons: daemons.into_iter().collect(),
            coordinators: coordinators.into_iter().collect(),
        }
    }

    /// Every registered daemon, in declaration order.
    pub fn daemons(&self) -> &[&'static DaemonSpec] {
        &self.daemons
    }

    /// Every registered `DaemonType` enum.
    pub fn daemon_kinds(&self) -> impl Iterator<Item = &'static DaemonKindSpec> + '_ {
        self.kinds.iter().map(|k| k.spec)
    }

    /// Every registered coordinator, in declaration order.
    pub fn coordinators(&self) -> &[&'static CoordinatorSpec] {
        &self.coordinators
    }

    /// The daemon called `name`, or an error listing the valid names.
    pub fn daemon(&self, name: &str) -> Result<&'static DaemonSpec, UnknownName> {
        self.daemons
            .iter()
            .find(|d| d.name == name)
            .copied()
            .ok_or_else(|| UnknownName::new("daemon", name, self.daemons.iter().map(|d| d.name)))
    }

    /// The entry of a daemon variant, found by its enum's type (not its name).
    pub fn daemon_of<K: DaemonKind>(&self, daemon: K) -> Option<&'static DaemonSpec> {
        let id = TypeId::of::<K>();
        let kind = self.kinds.iter().find(|k| k.type_id == id)?;
        let position = (*kind.daemons.get(daemon.index())?)?;
        self.daemons.get(position).copied()
    }

    /// The coordinator called `name` (or a unique `::`-suffix of a qualified
    /// name), or an error listing the valid names.
    pub fn coordinator(&self, name: &str) -> Result<&'static CoordinatorSpec, UnknownName> {
        find_coordinator(&self.coordinators, name)
    }

    /// The spec of coordinator type `C`, if linked in.
    pub fn coordinator_of<C: RegisteredCoordinator>(&self) -> Option<&'static CoordinatorSpec> {
        let id = TypeId::of::<C>();
        self.coordinators
            .iter()
            .find(|c| c.instance_type() == id)
            .copied()
    }

    /// The order daemons start in, grouped in levels that may start together.
    pub fn startup_order(&self) -> Result<StartupOrder, OrderError> {
        let nodes = self.daemon_nodes()?;
        order::levels(&nodes).map_err(|cycle| {
            OrderError::Cycle(RegistryProblem::Cycle {
                item: "daemon",
                cycle,
            })
        })
    }

    /// The order coordinators initialise in, grouped in levels.
    pub fn coordinator_order(&self) -> Result<StartupOrder, OrderError> {
        let nodes = self.coordinator_nodes()?;
        order::levels(&nodes).map_err(|cycle| {
            OrderError::Cycle(RegistryProblem::Cycle {
                item: "coordinator",
                cycle,
            })
        })
    }

    fn daemon_nodes(&self) -> Result<Vec<OrderNode<'static>>, OrderError> {
        let index: HashMap<&str, usize> = self
            .daemons
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name, i))
            .collect();
        self.daemons
            .iter()
            .map(|d| {
                let deps = d
                    .depends_on
                    .iter()
                    .map(|dep| {
                        index.get(dep).copied().ok_or(OrderError::Unknown(
                            RegistryProblem::UnknownDependency {
                                item: "daemon",
                                name: d.name,
                                dependency: dep,
                            },
                        ))
                    })
                    .collect::<Result<_, _>>()?;
                // A soft dependency orders the start only when it is present.
                let soft_deps = d
                    .soft_depends_on
                    .iter()
                    .filter_map(|dep| index.get(dep).copied())
                    .collect();
                Ok(OrderNode {
                    name: d.name,
                    deps,
                    soft_deps,
                })
            })
            .collect()
    }

    fn coordinator_nodes(&self) -> Result<Vec<OrderNode<'static>>, OrderError> {
        let index: HashMap<&str, usize> = self
            .coordinators
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name, i))
            .collect();
        self.coordinators
            .iter()
            .map(|c| {
                let deps = c
                    .depends_on
                    .iter()
                    .map(|dep| {
                        index.get(dep).copied().ok_or(OrderError::Unknown(
                            RegistryProblem::UnknownDependency {
                                item: "coordinator",
                                name: c.name,
                                dependency: dep,
                            },
                        ))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(OrderNode {
                    name: c.name,
                    deps,
                    soft_deps: Vec::new(),
                })
            })
            .collect()
    }

    /// Checks what the compiler cannot see across crates; returns every problem.
    pub fn validate(&self) -> Result<(), RegistryProblems> {
        let mut problems = Vec::new();
        for kind in &self.kinds {
            for (node, daemon) in kind.spec.graph.nodes.iter().zip(&kind.daemons) {
                if daemon.is_none() {
                    problems.push(RegistryProblem::MissingEntry {
                        kind: kind.spec.type_name,
                        variant: node.get().variant(),
                    });
                }
            }
        }
        problems.extend(duplicate_daemon_names(&self.daemons));
        push_duplicates(
            &mut problems,
            "coordinator",
            self.coordinators.iter().map(|c| (c.name, c.location)),
        );
        let daemon_names: Vec<&str> = self.daemons.iter().map(|d| d.name).collect();
        for daemon in &self.daemons {
            for dep in daemon.depends_on {
                if !daemon_names.contains(dep) {
                    problems.push(RegistryProblem::UnknownDependency {
                        item: "daemon",
                        name: daemon.name,
                        dependency: dep,
                    });
                }
            }
        }
        let coordinator_names: Vec<&str> = self.coordinators.iter().map(|c| c.name).collect();
        for coordinator in &self.coordinators {
            for dep in coordinator.depends_on {
                if !coordinator_names.contains(dep) {
                    problems.push(RegistryProblem::UnknownDependency {
                        item: "coordinator",
                        name: coordinator.name,
                        dependency: dep,
                    });
                }
            }
        }
        // Unknown dependencies were reported above; a cycle is only visible once they are not.
        if let Err(OrderError::Cycle(problem)) = self.startup_order() {
            problems.push(problem);
        }
        if let Err(OrderError::Cycle(problem)) = self.coordinator_order() {
            problems.push(problem);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(RegistryProblems(problems))
        }
    }

    /// What is allowed but worth a look: soft dependencies dropped from the
    /// startup order because each closed a cycle.
    pub fn warnings(&self) -> Vec<DroppedSoftEdge> {
        self.startup_order()
            .map(|order| order.dropped_soft_edges().to_vec())
            .unwrap_or_default()
    }
}

/// Daemons whose names collide (two enums with a same-named variant).
pub(crate) fn duplicate_daemon_names(daemons: &[&'static DaemonSpec]) -> Vec<RegistryProblem> {
    let mut problems = Vec::new();
    push_duplicates(
        &mut problems,
        "daemon",
        daemons.iter().map(|d| (d.name, d.location)),
    );
    problems
}

/// The coordinator called `name`, or whose qualified name ends in `::name`.
pub(crate) fn find_coordinator(
    coordinators: &[&'static CoordinatorSpec],
    name: &str,
) -> Result<&'static CoordinatorSpec, UnknownName> {
    if let Some(spec) = coordinators.iter().find(|c| c.name == name) {
        return Ok(spec);
    }
    let suffix = format!("::{name}");
    let mut matching = coordinators.iter().filter(|c| c.name.ends_with(&suffix));
    match (matching.next(), matching.next()) {
        (Some(spec), None) => Ok(spec),
        _ => Err(UnknownName::new(
            "coordinator",
            name,
            coordinators.iter().map(|c| c.name),
        )),
    }
}

/// Runtime specs of registered coordinators, in declaration order.
///
/// Names are the attribute's (snake_case of the struct by default); when two
/// coordinators share one, both are named by their full path instead
/// (`app::cache::store`), and lookups accept any unique `::`-suffix.
fn coordinator_specs(
    mut registrations: Vec<&'static CoordinatorRegistration>,
) -> Vec<&'static CoordinatorSpec> {
    registrations.sort_by_key(|r| (r.node.get().location, r.node.get().id));
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for r in &registrations {
        *uses.entry(r.name).or_default() += 1;
    }
    let names: HashMap<u64, &'static str> = registrations
        .iter()
        .map(|r| {
            let node = r.node.get();
            let name: &'static str = if uses[r.name] > 1 {
                Box::leak(format!("{}::{}", node.location.module_path, r.name).into_boxed_str())
            } else {
                r.name
            };
            (node.id, name)
        })
        .collect();
    registrations
        .iter()
        .map(|r| {
            let node = r.node.get();
            let depends_on = node
                .deps
                .iter()
                .map(|d| {
                    let dep = d.get();
                    // A dependency whose registration was not linked keeps its
                    // struct name, and `validate` reports it as unknown.
                    names.get(&dep.id).copied().unwrap_or(dep.type_name)
                })
                .collect();
            &*Box::leak(Box::new(CoordinatorSpec {
                name: names[&node.id],
                type_name: node.type_name,
                depends_on: leak(depends_on),
                location: node.location,
                publishes: r.publishes,
                type_id: r.type_id,
                init: r.init,
                shutdown: r.shutdown,
            }))
        })
        .collect()
}

fn push_duplicates(
    problems: &mut Vec<RegistryProblem>,
    item: &'static str,
    entries: impl Iterator<Item = (&'static str, Location)>,
) {
    let mut first_seen: HashMap<&'static str, Location> = HashMap::new();
    for (name, location) in entries {
        if let Some(first) = first_seen.get(name) {
            problems.push(RegistryProblem::Duplicate {
                item,
                name,
                first: *first,
                second: location,
            });
        } else {
            first_seen.insert(name, location);
        }
    }
}

#[cfg(test)]
mod tests;
