//! The registry built from hand-made nodes: every problem at once, lookups by type.

use super::*;
use crate::error::BoxError;
use crate::interface::{
    BoxFuture, DaemonContext, DaemonEntrySpec, DaemonGraph, DaemonNode, DaemonNodeRef,
    DaemonOptions, DaemonSlot,
};

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
        options: DaemonOptions::NONE,
        runner,
        publishes: &[],
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
    publishes: &[],
    category: None,
    options: DaemonOptions::NONE,
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
