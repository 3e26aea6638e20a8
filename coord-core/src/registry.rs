//! Everything `#[daemon]`, `#[coordinator]` and `#[derive(DaemonType)]` registered.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::coordinator::{Coordinator, InitContext, Instances, RegisteredCoordinator};
use crate::daemon::{BoxFuture, DaemonContext, DaemonKind, RestartPolicy};
use crate::error::{BoxError, UnknownName};
use crate::location::Location;
use crate::order::{self, DroppedSoftEdge, OrderNode, StartupOrder};
use crate::static_check::{CoordNodeRef, DaemonGraph};

/// The erased runner of a daemon.
pub type RunnerFn = fn(DaemonContext) -> BoxFuture<'static, Result<(), BoxError>>;
/// An initialised coordinator, erased.
pub type AnyCoordinator = Arc<dyn Any + Send + Sync>;
type InitFn =
    fn(Arc<Instances>, &'static str) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>>;
type ShutdownFn = for<'a> fn(&'a (dyn Any + Send + Sync)) -> BoxFuture<'a, Result<(), BoxError>>;

/// One daemon, as the registry lists it: its entry, named by its enum.
#[derive(Debug)]
pub struct DaemonSpec {
    /// snake_case name, e.g. `auto_sync`.
    pub name: &'static str,
    /// The enum the variant belongs to, e.g. `DaemonType`.
    pub kind: &'static str,
    /// The variant as written, e.g. `AutoSync`.
    pub variant: &'static str,
    /// Names of daemons that must be ready before this one starts.
    pub depends_on: &'static [&'static str],
    /// Names of daemons that, when enabled, start before this one.
    pub soft_depends_on: &'static [&'static str],
    /// Free-form grouping, e.g. `sync`.
    pub category: Option<&'static str>,
    /// The restart policy given in the attribute, if any.
    pub restart: Option<RestartPolicy>,
    /// Runs the daemon.
    pub runner: RunnerFn,
    /// Where the entry was declared.
    pub location: Location,
}

/// One `#[derive(DaemonType)]` enum, registered by the derive.
#[derive(Debug)]
pub struct DaemonKindSpec {
    /// The enum's name, e.g. `DaemonType`.
    pub type_name: &'static str,
    /// The enum's type, which identifies it (two enums may share a name).
    pub type_id: fn() -> TypeId,
    /// Its variants and their entries.
    pub graph: &'static DaemonGraph,
    /// Where the enum was declared.
    pub location: Location,
}

impl DaemonKindSpec {
    /// Variants as written, in declaration order.
    pub fn variants(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.graph.nodes.iter().map(|n| n.get().variant())
    }

    /// snake_case names, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.graph.nodes.iter().map(|n| n.get().name())
    }
}

/// One `#[coordinator]` type as the registry lists it.
pub struct CoordinatorSpec {
    /// The runtime name, e.g. `data_pipeline_orchestrator`; qualified with its
    /// module path when two linked coordinators would otherwise share it.
    pub name: &'static str,
    /// The struct's name as written.
    pub type_name: &'static str,
    /// Runtime names of the coordinators initialised before this one.
    pub depends_on: &'static [&'static str],
    /// Where the type was declared.
    pub location: Location,
    type_id: fn() -> TypeId,
    init: InitFn,
    shutdown: ShutdownFn,
}

impl fmt::Debug for CoordinatorSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoordinatorSpec")
            .field("name", &self.name)
            .field("depends_on", &self.depends_on)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl CoordinatorSpec {
    /// A spec for coordinator type `C` under a name and dependency list of
    /// your choosing, for programs that assemble coordinator sets at run time
    /// (plugins, tests, benchmarks). `#[coordinator]` is the usual way.
    pub fn named<C: Coordinator + RegisteredCoordinator>(
        name: &'static str,
        depends_on: &'static [&'static str],
        location: Location,
    ) -> Self {
        Self {
            name,
            type_name: C::TYPE_NAME,
            depends_on,
            location,
            type_id: TypeId::of::<C>,
            init: init_erased::<C>,
            shutdown: shutdown_erased::<C>,
        }
    }

    /// The `TypeId` of the coordinator type it registers.
    pub fn instance_type(&self) -> TypeId {
        (self.type_id)()
    }

    /// Runs the initializer against already-initialised dependencies.
    pub fn initialize(
        &self,
        instances: Arc<Instances>,
    ) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
        (self.init)(instances, self.name)
    }

    /// Runs the coordinator's shutdown hook on an instance built by [`Self::initialize`].
    pub fn shutdown<'a>(
        &self,
        instance: &'a (dyn Any + Send + Sync),
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        (self.shutdown)(instance)
    }
}

/// What `#[coordinator]` registers; the registry turns it into a [`CoordinatorSpec`].
pub struct CoordinatorRegistration {
    node: CoordNodeRef,
    name: &'static str,
    type_id: fn() -> TypeId,
    init: InitFn,
    shutdown: ShutdownFn,
}

impl fmt::Debug for CoordinatorRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoordinatorRegistration")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CoordinatorRegistration {
    /// The registration of coordinator `C`; `#[coordinator]` calls this.
    pub const fn of<C: Coordinator + RegisteredCoordinator>() -> Self {
        Self {
            node: C::NODE,
            name: C::NAME,
            type_id: TypeId::of::<C>,
            init: init_erased::<C>,
            shutdown: shutdown_erased::<C>,
        }
    }
}

fn init_erased<C: Coordinator>(
    instances: Arc<Instances>,
    name: &'static str,
) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
    Box::pin(async move {
        let ctx = InitContext::<C>::new(&instances, name);
        let instance = C::initialize(&ctx).await?;
        Ok(Arc::new(instance) as AnyCoordinator)
    })
}

fn shutdown_erased<C: Coordinator>(
    instance: &(dyn Any + Send + Sync),
) -> BoxFuture<'_, Result<(), BoxError>> {
    match instance.downcast_ref::<C>() {
        Some(instance) => Box::pin(instance.shutdown()),
        None => Box::pin(async {
            Err(format!(
                "coord bug: shutdown of `{}` was given another type",
                std::any::type_name::<C>()
            )
            .into())
        }),
    }
}

inventory::collect!(DaemonKindSpec);
inventory::collect!(CoordinatorRegistration);

/// A problem `validate_registry()` found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryProblem {
    /// A variant of a `DaemonType` enum with no `#[daemon]` entry linked in.
    #[error(
        "[coord::E0001] {kind}::{variant} has no registry entry: add `#[daemon({kind}::{variant}, runner = ...)]` \
         to a struct in the enum's crate"
    )]
    MissingEntry {
        /// The enum.
        kind: &'static str,
        /// The variant.
        variant: &'static str,
    },
    /// Two registered items share a name.
    #[error(
        "[coord::E0101] {item} name '{name}' is used twice: at {first} and at {second}; \
         names are how config, the CLI and logs refer to {item}s, so rename one of the variants"
    )]
    Duplicate {
        /// "daemon" or "coordinator".
        item: &'static str,
        /// The shared name.
        name: &'static str,
        /// The first registration.
        first: Location,
        /// The second registration.
        second: Location,
    },
    /// A dependency names nothing registered.
    #[error(
        "[coord::E0102] {item} '{name}' depends on '{dependency}', which is not registered: \
         register it, link the crate that declares it, or remove it from `depends_on`"
    )]
    UnknownDependency {
        /// "daemon" or "coordinator".
        item: &'static str,
        /// The dependent.
        name: &'static str,
        /// The missing dependency.
        dependency: &'static str,
    },
    /// Dependencies form a cycle.
    #[error("[coord::E0103] dependency cycle between {item}s: {}; remove one of these `depends_on` entries", .cycle.join(" -> "))]
    Cycle {
        /// "daemon" or "coordinator".
        item: &'static str,
        /// The cycle, first name repeated last.
        cycle: Vec<&'static str>,
    },
}

/// Every problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registry validation failed ({} problem{}):{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, ProblemList(.0))]
pub struct RegistryProblems(pub Vec<RegistryProblem>);

struct ProblemList<'a>(&'a [RegistryProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| write!(f, "\n  - {p}"))
    }
}

/// Why an order cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// A dependency names nothing registered.
    #[error(transparent)]
    Unknown(RegistryProblem),
    /// Dependencies form a cycle.
    #[error(transparent)]
    Cycle(RegistryProblem),
}

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

/// Checks the process-wide registry, returning every problem at once.
pub fn validate_registry() -> Result<(), RegistryProblems> {
    registry().validate()
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
                    category: entry.category,
                    restart: entry.restart,
                    runner: entry.runner,
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
mod tests {
    use super::*;
    use crate::static_check::{DaemonEntrySpec, DaemonNode, DaemonNodeRef, DaemonSlot};

    fn runner(_: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }

    const HERE: Location = Location {
        module_path: "tests",
        file: "registry.rs",
        line: 1,
    };

    const fn daemon(
        name: &'static str,
        variant: &'static str,
        deps: &'static [&'static str],
    ) -> DaemonSpec {
        DaemonSpec {
            name,
            kind: "Kind",
            variant,
            depends_on: deps,
            soft_depends_on: &[],
            category: None,
            restart: None,
            runner,
            location: HERE,
        }
    }

    static A: DaemonSpec = daemon("a", "A", &["b"]);
    static B: DaemonSpec = daemon("b", "B", &["a", "ghost"]);
    static B_AGAIN: DaemonSpec = daemon("b", "B", &[]);

    #[test]
    fn validate_reports_every_problem_at_once() {
        let registry = Registry::from_specs([&A, &B, &B_AGAIN], []);
        let problems = registry.validate().expect_err("problems").0;
        assert!(problems.contains(&RegistryProblem::UnknownDependency {
            item: "daemon",
            name: "b",
            dependency: "ghost"
        }));
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, RegistryProblem::Duplicate { name: "b", .. }))
        );
    }

    const ENTRY: DaemonEntrySpec = DaemonEntrySpec {
        runner,
        category: None,
        restart: None,
        anchor: "X",
        location: HERE,
    };
    static NODE_X: DaemonNode = DaemonNode::new(DaemonSlot::new(&[], &[], ENTRY), "X", "x");
    static NODE_Y: DaemonNode = DaemonNode::new(DaemonSlot::MISSING, "Y", "y");
    static GRAPH: DaemonGraph = DaemonGraph {
        type_name: "Kind",
        nodes: &[DaemonNodeRef::new(&NODE_X), DaemonNodeRef::new(&NODE_Y)],
        discriminants: &[0, 1],
    };
    static KIND: DaemonKindSpec = DaemonKindSpec {
        type_name: "Kind",
        type_id: TypeId::of::<u8>,
        graph: &GRAPH,
        location: HERE,
    };

    #[test]
    fn a_variant_without_an_entry_is_reported_and_lookups_go_by_type() {
        let registry = Registry::new([&KIND], []);
        assert_eq!(registry.daemons().len(), 1);
        assert_eq!(registry.daemons()[0].name, "x");
        let problems = registry.validate().expect_err("missing").0;
        assert_eq!(
            problems,
            [RegistryProblem::MissingEntry {
                kind: "Kind",
                variant: "Y"
            }]
        );
    }

    static CYCLE_A: DaemonSpec = daemon("a", "A", &["b"]);
    static CYCLE_B: DaemonSpec = daemon("b", "B", &["c"]);
    static CYCLE_C: DaemonSpec = daemon("c", "C", &["a"]);

    #[test]
    fn a_cycle_across_crates_is_reported_in_full() {
        let registry = Registry::from_specs([&CYCLE_A, &CYCLE_B, &CYCLE_C], []);
        let problems = registry.validate().expect_err("cycle");
        assert_eq!(
            problems.to_string(),
            "registry validation failed (1 problem):\n  - [coord::E0103] dependency cycle between daemons: \
             a -> b -> c -> a; remove one of these `depends_on` entries"
        );
    }

    #[test]
    fn unknown_daemon_name_lists_valid_ones() {
        let registry = Registry::from_specs([&CYCLE_A, &CYCLE_B], []);
        let err = registry.daemon("bb").expect_err("unknown");
        assert_eq!(err.suggestion.as_deref(), Some("b"));
        assert_eq!(err.valid, vec!["a", "b"]);
    }
}
