//! Everything `#[daemon]`, `#[coordinator]` and `#[derive(DaemonType)]` registered.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::coordinator::{Coordinator, CoordinatorNode, InitContext, Instances};
use crate::daemon::{BoxFuture, DaemonContext, DaemonKind, RestartPolicy};
use crate::error::{BoxError, UnknownName};
use crate::location::Location;
use crate::order::{self, OrderNode, StartupOrder};
use crate::static_check::DaemonEntry;

/// The erased runner of a daemon.
pub type RunnerFn = fn(DaemonContext) -> BoxFuture<'static, Result<(), BoxError>>;
/// An initialised coordinator, erased.
pub type AnyCoordinator = Arc<dyn Any + Send + Sync>;
type InitFn = fn(Arc<Instances>) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>>;
type ShutdownFn = for<'a> fn(&'a (dyn Any + Send + Sync)) -> BoxFuture<'a, Result<(), BoxError>>;

/// One `#[daemon(...)]` entry.
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

/// One `#[derive(DaemonType)]` enum: the variants that need entries.
#[derive(Debug)]
pub struct DaemonKindSpec {
    /// The enum's name, e.g. `DaemonType`.
    pub type_name: &'static str,
    /// Variants as written, in declaration order.
    pub variants: &'static [&'static str],
    /// snake_case names, parallel to `variants`.
    pub names: &'static [&'static str],
    /// The `#[daemon]` entries, parallel to `variants`.
    pub entries: &'static [DaemonEntry],
    /// Where the enum was declared.
    pub location: Location,
}

/// One `#[coordinator(...)]` type.
pub struct CoordinatorSpec {
    /// snake_case name, e.g. `data_pipeline_orchestrator`.
    pub name: &'static str,
    /// The struct's name as written.
    pub type_name: &'static str,
    /// Names of coordinators initialised before this one.
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
    /// The spec of coordinator `C`; `#[coordinator]` calls this.
    pub const fn new<C: Coordinator + CoordinatorNode>(
        type_name: &'static str,
        depends_on: &'static [&'static str],
        location: Location,
    ) -> Self {
        Self {
            name: C::NAME,
            type_name,
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

    /// A spec for coordinator type `C` under another name and dependency list,
    /// for programs that assemble coordinator sets at run time (plugins,
    /// tests, benchmarks). `#[coordinator]` is the usual way to make a spec.
    pub fn named<C: Coordinator + CoordinatorNode>(
        name: &'static str,
        depends_on: &'static [&'static str],
        location: Location,
    ) -> Self {
        Self {
            name,
            ..Self::new::<C>(std::any::type_name::<C>(), depends_on, location)
        }
    }

    /// Runs the initializer against already-initialised dependencies.
    pub fn initialize(
        &self,
        instances: Arc<Instances>,
    ) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
        (self.init)(instances)
    }

    /// Runs the coordinator's shutdown hook on an instance built by [`Self::initialize`].
    pub fn shutdown<'a>(
        &self,
        instance: &'a (dyn Any + Send + Sync),
    ) -> BoxFuture<'a, Result<(), BoxError>> {
        (self.shutdown)(instance)
    }
}

fn init_erased<C: Coordinator + CoordinatorNode>(
    instances: Arc<Instances>,
) -> BoxFuture<'static, Result<AnyCoordinator, BoxError>> {
    Box::pin(async move {
        let ctx = InitContext::<C>::new(&instances);
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
inventory::collect!(CoordinatorSpec);

/// A problem `validate_registry()` found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryProblem {
    /// A variant of a `DaemonType` enum with no `#[daemon]` entry linked in.
    #[error(
        "{kind}::{variant} has no registry entry: add `#[daemon({kind}::{variant}, runner = ...)]` \
         to a struct, or make sure the crate that declares it is linked (use it from main)"
    )]
    MissingEntry {
        /// The enum.
        kind: &'static str,
        /// The variant.
        variant: &'static str,
    },
    /// Two registered items share a name.
    #[error(
        "{item} '{name}' is registered twice: at {first} and at {second}; remove or rename one"
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
        "{item} '{name}' depends on '{dependency}', which is not registered: \
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
    #[error("dependency cycle between {item}s: {}; remove one of these `depends_on` entries", .cycle.join(" -> "))]
    Cycle {
        /// "daemon" or "coordinator".
        item: &'static str,
        /// The cycle, first name repeated last.
        cycle: Vec<&'static str>,
    },
    /// A `#[daemon]` entry for an enum no `#[derive(DaemonType)]` registered.
    #[error("daemon '{name}' names enum `{kind}`, which has no `#[derive(DaemonType)]` linked in")]
    UnknownKind {
        /// The daemon.
        name: &'static str,
        /// The enum.
        kind: &'static str,
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

/// The registered daemons, daemon enums and coordinators.
#[derive(Debug)]
pub struct Registry {
    kinds: Vec<&'static DaemonKindSpec>,
    daemons: Vec<&'static DaemonSpec>,
    coordinators: Vec<&'static CoordinatorSpec>,
}

/// The process-wide registry, gathered from every linked crate on first use.
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        // A daemon's spec lives in its enum's registration: one per enum, so
        // the enum and its entries are linked in (or left out) together.
        let daemons = inventory::iter::<DaemonKindSpec>()
            .flat_map(|kind| kind.entries.iter().filter_map(|e| e.spec.as_ref()));
        Registry::new(
            inventory::iter::<DaemonKindSpec>(),
            daemons,
            inventory::iter::<CoordinatorSpec>(),
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

impl Registry {
    /// A registry of the given items, sorted into declaration order.
    pub fn new(
        kinds: impl IntoIterator<Item = &'static DaemonKindSpec>,
        daemons: impl IntoIterator<Item = &'static DaemonSpec>,
        coordinators: impl IntoIterator<Item = &'static CoordinatorSpec>,
    ) -> Self {
        let mut kinds: Vec<_> = kinds.into_iter().collect();
        kinds.sort_by_key(|k| (k.location, k.type_name));
        let kind_rank: HashMap<&str, usize> = kinds
            .iter()
            .enumerate()
            .map(|(i, k)| (k.type_name, i))
            .collect();
        let mut daemons: Vec<_> = daemons.into_iter().collect();
        // Declaration order of daemons is the variants' order in their enum.
        daemons.sort_by_key(|d| {
            let kind = kind_rank.get(d.kind).copied().unwrap_or(usize::MAX);
            let variant = kinds
                .get(kind)
                .and_then(|k| k.variants.iter().position(|v| *v == d.variant))
                .unwrap_or(usize::MAX);
            (kind, variant, d.name, d.location)
        });
        let mut coordinators: Vec<_> = coordinators.into_iter().collect();
        coordinators.sort_by_key(|c| (c.location, c.name));
        Self {
            kinds,
            daemons,
            coordinators,
        }
    }

    /// Every registered daemon, in declaration order.
    pub fn daemons(&self) -> &[&'static DaemonSpec] {
        &self.daemons
    }

    /// Every registered `DaemonType` enum.
    pub fn daemon_kinds(&self) -> &[&'static DaemonKindSpec] {
        &self.kinds
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

    /// The entry of a daemon variant, if one is linked in.
    pub fn daemon_of<K: DaemonKind>(&self, daemon: K) -> Option<&'static DaemonSpec> {
        let variant = self
            .kinds
            .iter()
            .find(|k| k.type_name == K::TYPE_NAME)
            .and_then(|k| k.variants.get(daemon.index()))?;
        self.daemons
            .iter()
            .find(|d| d.kind == K::TYPE_NAME && d.variant == *variant)
            .copied()
    }

    /// The coordinator called `name`, or an error listing the valid names.
    pub fn coordinator(&self, name: &str) -> Result<&'static CoordinatorSpec, UnknownName> {
        self.coordinators
            .iter()
            .find(|c| c.name == name)
            .copied()
            .ok_or_else(|| {
                UnknownName::new(
                    "coordinator",
                    name,
                    self.coordinators.iter().map(|c| c.name),
                )
            })
    }

    /// The spec of coordinator type `C`, if linked in.
    pub fn coordinator_of<C: CoordinatorNode>(&self) -> Option<&'static CoordinatorSpec> {
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
            for variant in kind.variants {
                let registered = self
                    .daemons
                    .iter()
                    .any(|d| d.kind == kind.type_name && d.variant == *variant);
                if !registered {
                    problems.push(RegistryProblem::MissingEntry {
                        kind: kind.type_name,
                        variant,
                    });
                }
            }
        }
        for daemon in &self.daemons {
            if !self.kinds.iter().any(|k| k.type_name == daemon.kind) {
                problems.push(RegistryProblem::UnknownKind {
                    name: daemon.name,
                    kind: daemon.kind,
                });
            }
        }
        push_duplicates(
            &mut problems,
            "daemon",
            self.daemons.iter().map(|d| (d.name, d.location)),
        );
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

    fn runner(_: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }

    const HERE: Location = Location {
        module_path: "tests",
        file: "registry.rs",
        line: 1,
    };

    static KIND: DaemonKindSpec = DaemonKindSpec {
        type_name: "Kind",
        variants: &["A", "B", "C"],
        names: &["a", "b", "c"],
        entries: &[],
        location: HERE,
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
        let registry = Registry::new([&KIND], [&A, &B, &B_AGAIN], []);
        let problems = registry.validate().expect_err("problems").0;
        assert!(problems.contains(&RegistryProblem::MissingEntry {
            kind: "Kind",
            variant: "C"
        }));
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

    static CYCLE_A: DaemonSpec = daemon("a", "A", &["b"]);
    static CYCLE_B: DaemonSpec = daemon("b", "B", &["c"]);
    static CYCLE_C: DaemonSpec = daemon("c", "C", &["a"]);

    #[test]
    fn a_cycle_across_crates_is_reported_in_full() {
        let registry = Registry::new([&KIND], [&CYCLE_A, &CYCLE_B, &CYCLE_C], []);
        let problems = registry.validate().expect_err("cycle");
        assert_eq!(
            problems.to_string(),
            "registry validation failed (1 problem):\n  - dependency cycle between daemons: \
             a -> b -> c -> a; remove one of these `depends_on` entries"
        );
    }

    #[test]
    fn unknown_daemon_name_lists_valid_ones() {
        let registry = Registry::new([&KIND], [&CYCLE_A, &CYCLE_B], []);
        let err = registry.daemon("bb").expect_err("unknown");
        assert_eq!(err.suggestion.as_deref(), Some("b"));
        assert_eq!(err.valid, vec!["a", "b"]);
    }
}
