//! The check of one `#[coordinator]`: self-dependency, duplicates, and
//! cycles it is the first member of in declaration order.

use super::message::{Message, cycle_window};
use super::{Finding, FindingKind};
use crate::interface::{CoordNode, CoordNodeRef, HARD};

const fn comes_before(a: &CoordNode, b: &CoordNode) -> bool {
    a.order < b.order || (a.order == b.order && a.id < b.id)
}

/// Checks one coordinator: no self-dependency, nothing listed twice, and no
/// cycle of which it is the first member in declaration order.
pub const fn check_coordinator(me: CoordNodeRef) -> Finding {
    let node = me.get();
    let mut i = 0;
    while i < node.deps.len() {
        let id = node.deps[i].get().id;
        if id == node.id {
            return Finding::at(FindingKind::DependsOnItself, HARD, i);
        }
        let mut j = 0;
        while j < i {
            if node.deps[j].get().id == id {
                return Finding::at(FindingKind::ListedTwice, HARD, i);
            }
            j += 1;
        }
        i += 1;
    }
    // A cycle this coordinator reports leaves it for one declared after it;
    // when every dependency comes before it (declaration order is usually
    // dependency order), there is nothing to walk.
    let mut later = false;
    let mut i = 0;
    while i < node.deps.len() {
        later = later || comes_before(node, node.deps[i].get());
        i += 1;
    }
    if !later {
        return Finding::NOTHING;
    }
    match walk_coordinators::<64>(me) {
        CoordWalk::Clean => Finding::NOTHING,
        CoordWalk::Cycle(_, _) => Finding::at(FindingKind::Cycle, HARD, 0),
        CoordWalk::OutOfRoom => match walk_coordinators::<1024>(me) {
            CoordWalk::Clean => Finding::NOTHING,
            CoordWalk::Cycle(_, _) => Finding::at(FindingKind::Cycle, HARD, 0),
            CoordWalk::OutOfRoom => match walk_coordinators::<32768>(me) {
                CoordWalk::Cycle(_, _) => Finding::at(FindingKind::Cycle, HARD, 0),
                _ => Finding::NOTHING,
            },
        },
    }
}

/// The message for what [`check_coordinator`] found.
pub const fn explain_coordinator(me: CoordNodeRef, finding: Finding) -> Message {
    let node = me.get();
    let mut msg = Message::new();
    match finding.kind {
        FindingKind::Nothing | FindingKind::HardAndSoft => {}
        FindingKind::DependsOnItself => {
            msg.push("[coord::E0005] coordinator ");
            push_coordinator(&mut msg, node);
            msg.push(" depends on itself\n  help: remove it from its own `depends_on`");
        }
        FindingKind::ListedTwice => {
            msg.push("[coord::E0006] ");
            msg.push(node.deps[finding.position].get().type_name);
            msg.push(" is listed twice in the `depends_on` of coordinator ");
            push_coordinator(&mut msg, node);
            msg.push(" (under two spellings of the same type)\n  help: remove one of them");
        }
        FindingKind::Cycle => {
            msg.push("[coord::E0004] dependency cycle between coordinators:\n");
            match walk_coordinators::<32768>(me) {
                CoordWalk::Cycle(path, depth) => push_coordinator_cycle(&mut msg, &path, depth),
                _ => msg.push(node.type_name),
            }
            msg.push("\n  help: a coordinator is initialised after everything in its `depends_on`, so none of these can be;\n        remove one of these entries from its `depends_on`");
        }
    }
    msg
}

const fn push_coordinator(msg: &mut Message, node: &CoordNode) {
    msg.push(node.type_name);
    msg.push_location(&node.location);
}

const fn push_coordinator_cycle<const CAP: usize>(
    msg: &mut Message,
    path: &[*const CoordNode; CAP],
    depth: usize,
) {
    let (head, tail) = cycle_window(depth);
    let mut i = 0;
    while i < depth {
        // SAFETY: the path holds only pointers taken from `CoordNodeRef`s.
        let node = unsafe { &*path[i] };
        let elide_here = i == head && tail < depth - head;
        let len = node.type_name.len() + node.location.file.len() + 24;
        if elide_here || !msg.fits(len) {
            // Whole names only, and room left for the advice.
            let skip_to = if elide_here { depth - tail } else { depth };
            msg.push("\n     ... ");
            msg.push_u64((skip_to - i) as u64);
            msg.push(" more ...");
            i = skip_to;
            continue;
        }
        msg.push(if i == 0 { "    " } else { "\n -> " });
        push_coordinator(msg, node);
        i += 1;
    }
    msg.push("\n -> ");
    // SAFETY: as above.
    msg.push(unsafe { &*path[0] }.type_name);
}

/// What one bounded coordinator walk found.
#[allow(clippy::large_enum_variant)]
enum CoordWalk<const CAP: usize> {
    Clean,
    Cycle([*const CoordNode; CAP], usize),
    OutOfRoom,
}

/// Depth-first walk from `start` through coordinators declared after it,
/// looking for `start`.
///
/// Const evaluation interprets every statement, so the loop is written for
/// few statements per edge: a power-of-two visited table indexed by the id's
/// low bits (ids are already hashes), and one probe loop that tests and
/// inserts together.
const fn walk_coordinators<const CAP: usize>(start: CoordNodeRef) -> CoordWalk<CAP> {
    let origin = start.get();
    let mask = CAP - 1;
    let mut visited = [0u64; CAP];
    let mut visited_len = 1;
    visited[(origin.id as usize) & mask] = origin.id;
    let mut path: [*const CoordNode; CAP] = [core::ptr::null(); CAP];
    let mut cursor = [0usize; CAP];
    path[0] = start.as_ptr();
    let mut depth = 1;
    while depth > 0 {
        // SAFETY: the path holds only pointers taken from `CoordNodeRef`s.
        let node = unsafe { &*path[depth - 1] };
        let edge = cursor[depth - 1];
        if edge == node.deps.len() {
            depth -= 1;
            continue;
        }
        cursor[depth - 1] = edge + 1;
        let next = node.deps[edge].get();
        if next.id == origin.id {
            return CoordWalk::Cycle(path, depth);
        }
        // A cycle through an earlier coordinator is that one's to report.
        if comes_before(next, origin) {
            continue;
        }
        let mut slot = (next.id as usize) & mask;
        while visited[slot] != 0 && visited[slot] != next.id {
            slot = (slot + 1) & mask;
        }
        if visited[slot] == next.id {
            continue;
        }
        // Keep the table at most half full so probes stay short and always end.
        if visited_len * 2 >= CAP || depth == CAP {
            return CoordWalk::OutOfRoom;
        }
        visited[slot] = next.id;
        visited_len += 1;
        path[depth] = node.deps[edge].as_ptr();
        cursor[depth] = 0;
        depth += 1;
    }
    CoordWalk::Clean
}
