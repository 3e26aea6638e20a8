//! What can be wrong with a registry or with a configuration against it.

use std::fmt;

use crate::error::UnknownName;
use crate::location::Location;

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
    /// An event with handlers that nothing linked declares it publishes.
    #[error(
        "[coord::E0413] event `{event}` is handled by {} but nothing linked declares that it publishes it: \
         add `publishes = [...]` with it to the coordinator or daemon that publishes it, \
         or mark it `#[event(external)]` if it comes from outside (a test, `main`, another service)",
        .handlers.join(", ")
    )]
    NoPublisher {
        /// The event's stable name.
        event: &'static str,
        /// Its handlers, `Coordinator::method`.
        handlers: Vec<&'static str>,
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

/// Why a `Coordination` (or its daemon plan) could not be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildError {
    /// A name given to the builder is not registered.
    #[error(transparent)]
    UnknownName(#[from] UnknownName),
    /// The dependencies are inconsistent.
    #[error(transparent)]
    Registry(#[from] RegistryProblem),
    /// A coordinator's configuration given to the builder is not a table.
    #[error(
        "[coord::E0105] the configuration given for coordinator '{coordinator}' is not a table of keys: {problem}; pass a struct or a map"
    )]
    Config {
        /// The coordinator.
        coordinator: String,
        /// What serialising it said.
        problem: String,
    },
    /// A daemon or coordinator is turned off while enabled ones depend on it.
    #[error(
        "[coord::E0104] {item} '{name}' is disabled (`enabled = false`), but {} depend{} on it: disable {} too, or enable '{name}'",
        .needed_by.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", "),
        if .needed_by.len() == 1 { "s" } else { "" },
        if .needed_by.len() == 1 { "it" } else { "them" }
    )]
    DisabledDependency {
        /// "daemon" or "coordinator".
        item: &'static str,
        /// The disabled one.
        name: String,
        /// The enabled daemons that depend on it.
        needed_by: Vec<&'static str>,
    },
}
