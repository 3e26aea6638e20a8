//! The checks on hand-made graphs: each finding, cut points of long
//! messages, and non-ASCII names.

use super::message::{MESSAGE_CAPACITY, cycle_window};
use super::*;
use crate::error::BoxError;
use crate::interface::{
    BoxFuture, CoordNode, CoordNodeRef, DaemonContext, DaemonEntrySpec, DaemonGraph, DaemonNode,
    DaemonNodeRef, DaemonOptions, DaemonSlot, SOFT, node_id, repeat_position,
};
use crate::location::Location;

fn runner(_: DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> {
    Box::pin(async { Ok(()) })
}

const fn at(line: u32) -> Location {
    Location {
        module_path: "t",
        file: "src/t.rs",
        line,
    }
}

const fn entry(line: u32) -> DaemonEntrySpec {
    DaemonEntrySpec {
        runner,
        category: None,
        options: DaemonOptions::NONE,
        anchor: "X",
        publishes: &[],
        location: at(line),
    }
}

static D0: DaemonNode = DaemonNode::new(DaemonSlot::new(&[1], &[], entry(10)), "A", "a");
static D1: DaemonNode = DaemonNode::new(DaemonSlot::new(&[2], &[], entry(20)), "B", "b");
static D2: DaemonNode = DaemonNode::new(DaemonSlot::new(&[0], &[], entry(30)), "C", "c");
static D3: DaemonNode = DaemonNode::new(DaemonSlot::new(&[3], &[], entry(40)), "D", "d");
static D4: DaemonNode = DaemonNode::new(DaemonSlot::new(&[0, 0], &[], entry(50)), "E", "e");
static D5: DaemonNode = DaemonNode::new(DaemonSlot::new(&[0], &[0], entry(60)), "F", "f");
static D6: DaemonNode = DaemonNode::new(DaemonSlot::MISSING, "G", "g");
static GRAPH: DaemonGraph = DaemonGraph {
    type_name: "D",
    nodes: &[
        DaemonNodeRef::new(&D0),
        DaemonNodeRef::new(&D1),
        DaemonNodeRef::new(&D2),
        DaemonNodeRef::new(&D3),
        DaemonNodeRef::new(&D4),
        DaemonNodeRef::new(&D5),
        DaemonNodeRef::new(&D6),
    ],
    discriminants: &[0, 1, 2, 3, 4, 5, 6],
};

fn explain(me: i128) -> Option<String> {
    let finding = check_daemon_entry(&GRAPH, me);
    finding.is_problem().then(|| {
        explain_daemon_entry(&GRAPH, me, finding)
            .as_str()
            .to_owned()
    })
}

#[test]
fn a_daemon_cycle_is_reported_by_its_first_member_only_with_locations() {
    let text = explain(0).expect("A is the first member of A -> B -> C");
    assert_eq!(
        text.lines().take(4).collect::<Vec<_>>(),
        [
            "[coord::E0003] dependency cycle between daemons:",
            "    D::A (src/t.rs:10)",
            " -> D::B (src/t.rs:20)",
            " -> D::C (src/t.rs:30)",
        ]
    );
    assert!(text.contains("\n -> D::A\n  help: "), "{text}");
    assert_eq!(explain(1), None);
    assert_eq!(explain(2), None);
}

#[test]
fn self_dependency_repeats_and_both_lists_point_at_the_dependency() {
    let finding = check_daemon_entry(&GRAPH, 3);
    assert_eq!(finding.dependency(), Some((HARD, 0)));
    assert!(
        explain(3)
            .expect("self")
            .contains("daemon D::D (src/t.rs:40) depends on itself")
    );
    let finding = check_daemon_entry(&GRAPH, 4);
    assert_eq!(finding.dependency(), Some((HARD, 1)));
    assert!(
        explain(4)
            .expect("twice")
            .starts_with("[coord::E0006] D::A is listed twice")
    );
    let finding = check_daemon_entry(&GRAPH, 5);
    assert_eq!(finding.dependency(), Some((SOFT, 0)));
    assert!(
        explain(5)
            .expect("both")
            .contains("in both `depends_on` and `soft_depends_on`")
    );
    assert_eq!(
        explain(6),
        None,
        "a missing entry is the derive's to report"
    );
}

#[test]
fn positions_are_found_for_explicit_discriminants() {
    static G: DaemonGraph = DaemonGraph {
        type_name: "D",
        nodes: &[],
        discriminants: &[10, -3, 7],
    };
    assert_eq!(G.position(-3), 1);
    assert_eq!(G.position(7), 2);
    assert_eq!(G.position(2), usize::MAX);
}

static A: CoordNode = CoordNode {
    type_name: "A",
    id: node_id("t::A"),
    order: 1,
    location: at(1),
    deps: &[],
};
static B: CoordNode = CoordNode {
    type_name: "B",
    id: node_id("t::B"),
    order: 2,
    location: at(2),
    deps: &[CoordNodeRef::new(&A)],
};
static C: CoordNode = CoordNode {
    type_name: "C",
    id: node_id("t::C"),
    order: 3,
    location: at(3),
    deps: &[CoordNodeRef::new(&A), CoordNodeRef::new(&B)],
};
static X: CoordNode = CoordNode {
    type_name: "X",
    id: node_id("t::X"),
    order: 4,
    location: at(4),
    deps: &[CoordNodeRef::new(&Y)],
};
static Y: CoordNode = CoordNode {
    type_name: "Y",
    id: node_id("t::Y"),
    order: 5,
    location: at(5),
    deps: &[CoordNodeRef::new(&X)],
};
static TWICE: CoordNode = CoordNode {
    type_name: "Twice",
    id: node_id("t::Twice"),
    order: 6,
    location: at(6),
    deps: &[CoordNodeRef::new(&A), CoordNodeRef::new(&A)],
};

#[test]
fn an_acyclic_diamond_passes() {
    assert!(!check_coordinator(CoordNodeRef::new(&C)).is_problem());
}

#[test]
fn a_coordinator_cycle_is_reported_by_the_first_declared_member() {
    let x = CoordNodeRef::new(&X);
    let finding = check_coordinator(x);
    assert!(finding.is_problem());
    assert_eq!(finding.dependency(), None);
    let text = explain_coordinator(x, finding);
    assert!(
        text.as_str()
            .contains("    X (src/t.rs:4)\n -> Y (src/t.rs:5)\n -> X\n"),
        "{}",
        text.as_str()
    );
    assert!(!check_coordinator(CoordNodeRef::new(&Y)).is_problem());
}

#[test]
fn a_repeated_dependency_is_found_by_identity() {
    let finding = check_coordinator(CoordNodeRef::new(&TWICE));
    assert_eq!(finding.dependency(), Some((HARD, 1)));
    assert_eq!(repeat_position(&[1, 2, 1], 2), 2);
    assert_eq!(repeat_position(&[1, 2, 3], 2), 0);
}

#[test]
fn long_and_non_ascii_messages_stay_whole() {
    let mut msg = Message::new();
    let name = "Координатор";
    while msg.fits(name.len()) {
        msg.push(name);
    }
    msg.push(" end");
    assert!(msg.as_str().ends_with(" end"));
    // A push past the end is cut at a character boundary, never inside one.
    let mut full = Message::new();
    for _ in 0..MESSAGE_CAPACITY {
        full.push("й");
    }
    assert!(full.as_str().chars().all(|c| c == 'й'));
    assert_eq!(cycle_window(10), (10, 10));
    assert_eq!(cycle_window(150), (12, 11));
}
