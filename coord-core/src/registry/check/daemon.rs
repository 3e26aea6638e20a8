//! The check of one `#[daemon]` entry: self-dependency, duplicates, both
//! lists, and hard cycles it is the first member of.

use super::message::{Message, cycle_window};
use super::{Finding, FindingKind};
use crate::interface::{DaemonGraph, DaemonNode, HARD, SOFT};

/// Checks one daemon entry: no self-dependency, nothing listed twice or in
/// both lists, and no cycle of hard dependencies of which it is the first
/// member in declaration order.
pub const fn check_daemon_entry(graph: &DaemonGraph, me: i128) -> Finding {
    let position = graph.position(me);
    if position >= graph.nodes.len() {
        return Finding::NOTHING;
    }
    let slot = &graph.nodes[position].get().slot;
    let lists = [slot.deps, slot.soft_deps];
    let mut list = 0;
    while list < 2 {
        let deps = lists[list];
        let mut i = 0;
        while i < deps.len() {
            if deps[i] == me {
                return Finding::at(FindingKind::DependsOnItself, list as u8, i);
            }
            let mut j = 0;
            while j < i {
                if deps[j] == deps[i] {
                    return Finding::at(FindingKind::ListedTwice, list as u8, i);
                }
                j += 1;
            }
            if list == 1 {
                let mut h = 0;
                while h < slot.deps.len() {
                    if slot.deps[h] == deps[i] {
                        return Finding::at(FindingKind::HardAndSoft, SOFT, i);
                    }
                    h += 1;
                }
            }
            i += 1;
        }
        list += 1;
    }
    // A cycle this daemon reports leaves it for a later variant; when every
    // dependency is an earlier one, there is nothing to walk.
    let mut later = false;
    let mut i = 0;
    while i < slot.deps.len() {
        later = later || graph.position(slot.deps[i]) > position;
        i += 1;
    }
    if !later {
        return Finding::NOTHING;
    }
    match walk_daemons::<64>(graph, position) {
        DaemonWalk::Clean => Finding::NOTHING,
        DaemonWalk::Cycle(_, _) => Finding::at(FindingKind::Cycle, HARD, 0),
        DaemonWalk::OutOfRoom => match walk_daemons::<1024>(graph, position) {
            DaemonWalk::Clean => Finding::NOTHING,
            DaemonWalk::Cycle(_, _) => Finding::at(FindingKind::Cycle, HARD, 0),
            DaemonWalk::OutOfRoom => match walk_daemons::<32768>(graph, position) {
                DaemonWalk::Cycle(_, _) => Finding::at(FindingKind::Cycle, HARD, 0),
                _ => Finding::NOTHING,
            },
        },
    }
}

/// The message for what [`check_daemon_entry`] found.
pub const fn explain_daemon_entry(graph: &DaemonGraph, me: i128, finding: Finding) -> Message {
    let position = graph.position(me);
    let node = graph.nodes[position].get();
    let mut msg = Message::new();
    let key = if finding.list == SOFT {
        "soft_depends_on"
    } else {
        "depends_on"
    };
    match finding.kind {
        FindingKind::Nothing => {}
        FindingKind::DependsOnItself => {
            msg.push("[coord::E0005] daemon ");
            push_daemon(&mut msg, graph, node);
            msg.push(" depends on itself\n  help: remove it from its own `");
            msg.push(key);
            msg.push("`");
        }
        FindingKind::ListedTwice => {
            let list = if finding.list == SOFT {
                node.slot.soft_deps
            } else {
                node.slot.deps
            };
            let dep = graph.nodes[graph.position(list[finding.position])].get();
            msg.push("[coord::E0006] ");
            push_daemon_name(&mut msg, graph, dep);
            msg.push(" is listed twice in the `");
            msg.push(key);
            msg.push("` of daemon ");
            push_daemon_name(&mut msg, graph, node);
            msg.push(" (under two spellings of the same variant)\n  help: remove one of them");
        }
        FindingKind::HardAndSoft => {
            let dep = graph.nodes[graph.position(node.slot.soft_deps[finding.position])].get();
            msg.push("[coord::E0007] ");
            push_daemon_name(&mut msg, graph, dep);
            msg.push(" is in both `depends_on` and `soft_depends_on` of daemon ");
            push_daemon_name(&mut msg, graph, node);
            msg.push("\n  help: keep it in one: `depends_on` waits for it to be ready, `soft_depends_on` only orders the start");
        }
        FindingKind::Cycle => {
            msg.push("[coord::E0003] dependency cycle between daemons:\n");
            match walk_daemons::<32768>(graph, position) {
                DaemonWalk::Cycle(path, depth) => {
                    push_daemon_cycle(&mut msg, graph, &path, depth);
                }
                _ => push_daemon(&mut msg, graph, node),
            }
            msg.push("\n  help: a daemon starts only once every daemon in its `depends_on` is ready, so none of these can start;\n        remove one of these entries from its `depends_on`, or move it to `soft_depends_on` if it only orders the start");
        }
    }
    msg
}

const fn push_daemon_name(msg: &mut Message, graph: &DaemonGraph, node: &DaemonNode) {
    msg.push(graph.type_name);
    msg.push("::");
    msg.push(node.variant);
}

const fn push_daemon(msg: &mut Message, graph: &DaemonGraph, node: &DaemonNode) {
    push_daemon_name(msg, graph, node);
    if let Some(location) = &node.slot.location {
        msg.push_location(location);
    }
}

/// `    A (file:line)\n -> B (file:line)\n -> A`, elided in the middle when long.
const fn push_daemon_cycle<const CAP: usize>(
    msg: &mut Message,
    graph: &DaemonGraph,
    path: &[usize; CAP],
    depth: usize,
) {
    let (head, tail) = cycle_window(depth);
    let mut i = 0;
    while i < depth {
        let node = graph.nodes[path[i]].get();
        let elide_here = i == head && tail < depth - head;
        if elide_here || !msg.fits(daemon_len(graph, node)) {
            // Whole names only, and room left for the advice.
            let skip_to = if elide_here { depth - tail } else { depth };
            msg.push("\n     ... ");
            msg.push_u64((skip_to - i) as u64);
            msg.push(" more ...");
            i = skip_to;
            continue;
        }
        msg.push(if i == 0 { "    " } else { "\n -> " });
        push_daemon(msg, graph, node);
        i += 1;
    }
    msg.push("\n -> ");
    push_daemon_name(msg, graph, graph.nodes[path[0]].get());
}

/// Bytes `push_daemon` writes for `node`, with its arrow.
const fn daemon_len(graph: &DaemonGraph, node: &DaemonNode) -> usize {
    let location = match &node.slot.location {
        Some(l) => l.file.len() + 16,
        None => 0,
    };
    graph.type_name.len() + node.variant.len() + location + 8
}

/// What one bounded walk found.
// Large only while the compiler evaluates it; const fns cannot box.
#[allow(clippy::large_enum_variant)]
enum DaemonWalk<const CAP: usize> {
    Clean,
    /// The path from the start through the cycle, and its length.
    Cycle([usize; CAP], usize),
    /// The path stack filled up: retry with more room.
    OutOfRoom,
}

/// Depth-first walk over hard dependencies from `start`, through larger
/// positions only, looking for `start`: a cycle through a smaller position
/// is that member's to report.
///
/// The visited set is a power-of-two table of positions (+1, so 0 is empty),
/// sized by what the walk reaches rather than by the enum, so a walk that
/// ends at once costs little in a large enum.
const fn walk_daemons<const CAP: usize>(graph: &DaemonGraph, start: usize) -> DaemonWalk<CAP> {
    let n = graph.nodes.len();
    let mask = CAP - 1;
    let mut visited = [0usize; CAP];
    let mut visited_len = 1;
    visited[(start + 1) & mask] = start + 1;
    let mut path = [0usize; CAP];
    let mut cursor = [0usize; CAP];
    path[0] = start;
    let mut depth = 1;
    while depth > 0 {
        let node = graph.nodes[path[depth - 1]].get();
        let edge = cursor[depth - 1];
        if edge == node.slot.deps.len() {
            depth -= 1;
            continue;
        }
        cursor[depth - 1] = edge + 1;
        let next = graph.position(node.slot.deps[edge]);
        if next == start {
            return DaemonWalk::Cycle(path, depth);
        }
        if next >= n || next < start {
            continue;
        }
        // A missing entry has no dependencies; it is reported by the derive.
        if !graph.nodes[next].get().slot.present {
            continue;
        }
        let key = next + 1;
        let mut slot = key & mask;
        while visited[slot] != 0 && visited[slot] != key {
            slot = (slot + 1) & mask;
        }
        if visited[slot] == key {
            continue;
        }
        // Keep the table at most half full so probes stay short and always end.
        if visited_len * 2 >= CAP || depth == CAP {
            return DaemonWalk::OutOfRoom;
        }
        visited[slot] = key;
        visited_len += 1;
        path[depth] = next;
        cursor[depth] = 0;
        depth += 1;
    }
    DaemonWalk::Clean
}
