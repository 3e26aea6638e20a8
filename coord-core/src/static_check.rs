//! Dependency-graph checks evaluated by the compiler.
//!
//! The macros emit `const _: () = check(...)` items that call these functions,
//! so a dependency cycle or a missing registry entry makes `cargo check` fail
//! with a message naming the items. Everything here is `const fn`: no heap, no
//! pointer comparison (nodes are identified by index or by a hashed path), and
//! every walk keeps a visited set so diamond-shaped graphs stay linear.

use crate::registry::DaemonSpec;

/// One `#[daemon]` entry: dependency indices for the compile-time check and
/// the spec the runtime registry reads, in one const per variant.
#[derive(Debug)]
pub struct DaemonEntry {
    /// False for the placeholder the derive uses when no `#[daemon]` exists.
    pub present: bool,
    /// Variant indices of hard dependencies.
    pub deps: &'static [usize],
    /// Variant indices of soft dependencies.
    pub soft_deps: &'static [usize],
    /// What the runtime registry lists; `None` only in a build that fails.
    pub spec: Option<DaemonSpec>,
}

impl DaemonEntry {
    /// The placeholder that marks a variant without a `#[daemon]` entry.
    pub const MISSING: Self = Self {
        present: false,
        deps: &[],
        soft_deps: &[],
        spec: None,
    };

    /// A registered entry with the given dependency indices and spec.
    pub const fn new(
        deps: &'static [usize],
        soft_deps: &'static [usize],
        spec: DaemonSpec,
    ) -> Self {
        Self {
            present: true,
            deps,
            soft_deps,
            spec: Some(spec),
        }
    }

    /// Marks a variant as registered while its attribute has an error, so the
    /// build reports that error alone; such a build never runs.
    pub const fn declared(deps: &'static [usize], soft_deps: &'static [usize]) -> Self {
        Self {
            present: true,
            deps,
            soft_deps,
            spec: None,
        }
    }
}

/// The outcome of a check: empty when it passed, else the error text.
///
/// A fixed-size buffer because const evaluation has no `String`. The generated
/// `const` panics with it, so the error points at the user's item rather than
/// at a frame inside coord.
pub struct Verdict {
    buf: [u8; 4096],
    len: usize,
}

impl Verdict {
    const fn new() -> Self {
        Self {
            buf: [0; 4096],
            len: 0,
        }
    }

    /// The error text, or `None` if the check passed.
    pub const fn error(&self) -> Option<&str> {
        if self.len == 0 {
            return None;
        }
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => Some(text),
            // Only whole identifiers and ASCII are pushed, so this cannot split a character.
            Err(_) => Some("coord: dependency check failed (message was not valid UTF-8)"),
        }
    }

    const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut i = 0;
        // Leave room for the truncation marker; a cycle this long is still readable.
        while i < bytes.len() && self.len < self.buf.len() - 8 {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }
}

/// Checks one `DaemonType` enum: every variant has an entry, and no cycle.
///
/// Called once per enum by `#[derive(DaemonType)]`, inside the initializer of
/// its one registration, so the whole check is a single evaluated item.
pub const fn check_daemon_kind<const N: usize>(
    enum_name: &str,
    variants: &[&str; N],
    names: &[&str; N],
    entries: &[DaemonEntry; N],
) -> Verdict {
    let mut missing = 0;
    let mut first = N;
    let mut i = 0;
    while i < N {
        if !entries[i].present {
            missing += 1;
            if first == N {
                first = i;
            }
        }
        i += 1;
    }
    if missing == 0 {
        return check_daemon_graph(enum_name, variants, entries);
    }
    let mut msg = Verdict::new();
    let mut listed = 0;
    let mut i = 0;
    while i < N {
        if !entries[i].present {
            if listed > 0 {
                msg.push(", ");
            }
            msg.push(enum_name);
            msg.push("::");
            msg.push(variants[i]);
            listed += 1;
        }
        i += 1;
    }
    msg.push(if missing == 1 {
        " has no registry entry"
    } else {
        " have no registry entry"
    });
    msg.push(if missing == 1 {
        "\n       add one anywhere in this crate, e.g.\n           #[daemon("
    } else {
        "\n       add one for each, anywhere in this crate, e.g.\n           #[daemon("
    });
    msg.push(enum_name);
    msg.push("::");
    msg.push(variants[first]);
    msg.push(", runner = run_");
    msg.push(names[first]);
    msg.push(")]\n           pub struct ");
    msg.push(variants[first]);
    msg.push(";\n       with `async fn run_");
    msg.push(names[first]);
    msg.push("(ctx: DaemonContext) -> Result<(), BoxError>`; or remove the variant");
    msg
}

/// Rejects a cycle among the daemons of one `DaemonType` enum.
///
/// Linear in variants plus edges. Missing entries are skipped: they are
/// reported by [`check_daemon_kind`], which calls this only when none are.
const fn check_daemon_graph<const N: usize>(
    enum_name: &str,
    variants: &[&str; N],
    entries: &[DaemonEntry; N],
) -> Verdict {
    const WHITE: u8 = 0;
    const ON_PATH: u8 = 1;
    const DONE: u8 = 2;
    let mut color = [WHITE; N];
    let mut path = [0usize; N];
    let mut cursor = [0usize; N];
    let mut root = 0;
    while root < N {
        if color[root] != WHITE || !entries[root].present {
            root += 1;
            continue;
        }
        let mut depth = 1;
        path[0] = root;
        cursor[0] = 0;
        color[root] = ON_PATH;
        while depth > 0 {
            let node = path[depth - 1];
            let entry = &entries[node];
            let edge = cursor[depth - 1];
            let edges = entry.deps.len() + entry.soft_deps.len();
            if edge == edges {
                color[node] = DONE;
                depth -= 1;
                continue;
            }
            cursor[depth - 1] += 1;
            let next = if edge < entry.deps.len() {
                entry.deps[edge]
            } else {
                entry.soft_deps[edge - entry.deps.len()]
            };
            if next >= N || !entries[next].present {
                continue;
            }
            if color[next] == ON_PATH {
                return report_daemon_cycle(
                    enum_name, variants, entries, &path, &cursor, depth, next,
                );
            }
            if color[next] == WHITE {
                color[next] = ON_PATH;
                path[depth] = next;
                cursor[depth] = 0;
                depth += 1;
            }
        }
        root += 1;
    }
    Verdict::new()
}

const fn report_daemon_cycle<const N: usize>(
    enum_name: &str,
    variants: &[&str; N],
    entries: &[DaemonEntry; N],
    path: &[usize; N],
    cursor: &[usize; N],
    depth: usize,
    closing: usize,
) -> Verdict {
    let mut start = 0;
    while path[start] != closing {
        start += 1;
    }
    let mut msg = Verdict::new();
    msg.push("dependency cycle between daemons: ");
    let mut any_soft = false;
    let mut i = start;
    while i < depth {
        msg.push(enum_name);
        msg.push("::");
        msg.push(variants[path[i]]);
        // cursor[i] - 1 is the edge this step followed; past the hard deps it is soft.
        let soft = cursor[i] > entries[path[i]].deps.len();
        any_soft = any_soft || soft;
        msg.push(if soft { " ~> " } else { " -> " });
        i += 1;
    }
    msg.push(enum_name);
    msg.push("::");
    msg.push(variants[closing]);
    msg.push("\n       a daemon cannot start before itself; remove one of these entries from its `depends_on`");
    if any_soft {
        msg.push(" (`~>` marks a `soft_depends_on` entry, which orders the start too)");
    }
    msg
}

/// Compile-time node of one coordinator, linked to its dependencies' nodes.
#[derive(Debug)]
pub struct CoordNode {
    /// The struct's name as written, for messages.
    pub name: &'static str,
    /// Hash of the struct's full path: const evaluation cannot compare pointers.
    pub id: u64,
    /// Nodes of the coordinators named in `depends_on`.
    pub deps: &'static [NodeRef],
}

/// A pointer to a [`CoordNode`].
///
/// A raw pointer rather than a reference: a reference held in an associated
/// const and reached from another static's initializer makes rustc report a
/// query cycle (E0391) for every dependency cycle, before our check can name it.
#[derive(Clone, Copy, Debug)]
pub struct NodeRef(pub *const CoordNode);

// SAFETY: a NodeRef only ever points at an immutable `static CoordNode`.
unsafe impl Sync for NodeRef {}
// SAFETY: as above; the pointee is immutable and 'static.
unsafe impl Send for NodeRef {}

impl NodeRef {
    /// The node this points at.
    pub const fn get(self) -> &'static CoordNode {
        // SAFETY: every NodeRef is built by `#[coordinator]` from `&raw const` of a static.
        unsafe { &*self.0 }
    }
}

/// Stable 64-bit identity of a coordinator, from its full path (FNV-1a).
pub const fn node_id(path: &str) -> u64 {
    let bytes = path.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    // 0 marks an empty slot in the visited table.
    if hash == 0 { 1 } else { hash }
}

/// What one bounded walk found.
// Large only while the compiler evaluates it; const fns cannot box.
#[allow(clippy::large_enum_variant)]
enum Walk {
    Clean,
    /// Found a cycle this node reports.
    Cycle(Verdict),
    /// The visited table or the path stack filled up: retry with more room.
    OutOfRoom,
}

/// Rejects a dependency cycle whose smallest-id member is `start`.
///
/// Every coordinator runs this from its own node, and walks only through nodes
/// with a larger id than its own. Every cycle has exactly one smallest-id
/// member, and from it the whole cycle is made of larger ids, so each cycle is
/// found, and reported by exactly one member: one mistake, one error. Ids are
/// hashes, so "larger" is a random half of the graph at each step and a walk
/// dies out quickly instead of covering every ancestor (a dense ladder of 500
/// coordinators went from 12.6 s to a fraction of it). The walk starts with
/// small tables and retries with more room only when it needs to.
pub const fn check_coordinator_cycles(start: NodeRef) -> Verdict {
    let mut walk = walk_coordinators::<64>(start);
    if let Walk::OutOfRoom = walk {
        walk = walk_coordinators::<1024>(start);
    }
    if let Walk::OutOfRoom = walk {
        walk = walk_coordinators::<16384>(start);
    }
    match walk {
        Walk::Clean => Verdict::new(),
        Walk::Cycle(verdict) => verdict,
        Walk::OutOfRoom => {
            let mut msg = Verdict::new();
            msg.push("coordinator `");
            msg.push(start.get().name);
            msg.push("` reaches more than 8192 coordinators; coord's compile-time cycle check supports graphs up to that size");
            msg
        }
    }
}

/// Depth-first walk from `start` through larger ids, looking for `start`.
///
/// Const evaluation interprets every statement, so this loop is written for
/// few statements per edge: a power-of-two table indexed by the id's low bits
/// (ids are already hashes), one probe loop that tests and inserts together,
/// and no helper calls.
const fn walk_coordinators<const CAP: usize>(start: NodeRef) -> Walk {
    let origin = start.get();
    let mask = CAP - 1;
    let mut visited = [0u64; CAP];
    let mut visited_len = 1;
    visited[(origin.id as usize) & mask] = origin.id;
    let mut path: [*const CoordNode; CAP] = [core::ptr::null(); CAP];
    let mut cursor = [0usize; CAP];
    path[0] = start.0;
    let mut depth = 1;
    while depth > 0 {
        // SAFETY: path holds only pointers taken from NodeRefs, see NodeRef::get.
        let node = unsafe { &*path[depth - 1] };
        let edge = cursor[depth - 1];
        if edge == node.deps.len() {
            depth -= 1;
            continue;
        }
        cursor[depth - 1] = edge + 1;
        let next_ptr = node.deps[edge].0;
        // SAFETY: as above.
        let next_id = unsafe { &*next_ptr }.id;
        if next_id == origin.id {
            return report_coordinator_cycle(origin, &path, depth);
        }
        // A cycle through a smaller id is that node's to report.
        if next_id < origin.id {
            continue;
        }
        let mut slot = (next_id as usize) & mask;
        while visited[slot] != 0 && visited[slot] != next_id {
            slot = (slot + 1) & mask;
        }
        if visited[slot] == next_id {
            continue;
        }
        // Keep the table at most half full so probes stay short and always end.
        if visited_len * 2 >= CAP || depth == CAP {
            return Walk::OutOfRoom;
        }
        visited[slot] = next_id;
        visited_len += 1;
        path[depth] = next_ptr;
        cursor[depth] = 0;
        depth += 1;
    }
    Walk::Clean
}

const fn report_coordinator_cycle<const CAP: usize>(
    origin: &CoordNode,
    path: &[*const CoordNode; CAP],
    depth: usize,
) -> Walk {
    let mut msg = Verdict::new();
    if depth == 1 {
        msg.push("coordinator `");
        msg.push(origin.name);
        msg.push("` depends on itself; remove it from its own `depends_on`");
        return Walk::Cycle(msg);
    }
    msg.push("dependency cycle between coordinators: ");
    let mut i = 0;
    while i < depth {
        // SAFETY: see walk_coordinators.
        msg.push(unsafe { &*path[i] }.name);
        msg.push(" -> ");
        i += 1;
    }
    msg.push(origin.name);
    msg.push("\n       a coordinator is initialised after its dependencies, so this order is impossible; remove one of these entries from its `depends_on`");
    Walk::Cycle(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    static A: CoordNode = CoordNode {
        name: "A",
        id: node_id("t::A"),
        deps: &[],
    };
    static B: CoordNode = CoordNode {
        name: "B",
        id: node_id("t::B"),
        deps: &[NodeRef(&raw const A)],
    };
    static C: CoordNode = CoordNode {
        name: "C",
        id: node_id("t::C"),
        deps: &[NodeRef(&raw const A), NodeRef(&raw const B)],
    };

    #[test]
    fn acyclic_diamond_passes() {
        assert_eq!(
            check_coordinator_cycles(NodeRef(&raw const C)).error(),
            None
        );
        let verdict = check_daemon_graph(
            "D",
            &["a", "b", "c"],
            &[
                DaemonEntry::declared(&[], &[]),
                DaemonEntry::declared(&[0], &[]),
                DaemonEntry::declared(&[0, 1], &[]),
            ],
        );
        assert_eq!(verdict.error(), None);
    }

    static X: CoordNode = CoordNode {
        name: "X",
        id: node_id("t::X"),
        deps: &[NodeRef(&raw const Y)],
    };
    static Y: CoordNode = CoordNode {
        name: "Y",
        id: node_id("t::Y"),
        deps: &[NodeRef(&raw const X)],
    };

    #[test]
    fn coordinator_cycle_is_reported_by_exactly_one_member() {
        let x = check_coordinator_cycles(NodeRef(&raw const X));
        let y = check_coordinator_cycles(NodeRef(&raw const Y));
        assert!(
            x.error().is_some() != y.error().is_some(),
            "exactly one member reports"
        );
        let text = x.error().or(y.error()).expect("one reported");
        assert!(
            text.contains("X -> Y -> X") || text.contains("Y -> X -> Y"),
            "{text}"
        );
    }

    #[test]
    fn daemon_cycle_names_every_member_and_marks_soft_edges() {
        let verdict = check_daemon_graph(
            "D",
            &["A", "B", "C"],
            &[
                DaemonEntry::declared(&[1], &[]),
                DaemonEntry::declared(&[], &[2]),
                DaemonEntry::declared(&[0], &[]),
            ],
        );
        let text = verdict.error().expect("cycle");
        assert!(text.contains("D::A -> D::B ~> D::C -> D::A"), "{text}");
    }

    #[test]
    fn every_missing_entry_is_named_with_an_example_for_the_first() {
        let verdict = check_daemon_kind(
            "D",
            &["A", "AutoSync", "C"],
            &["a", "auto_sync", "c"],
            &[
                DaemonEntry::declared(&[1], &[]),
                DaemonEntry::MISSING,
                DaemonEntry::MISSING,
            ],
        );
        let text = verdict.error().expect("missing entries");
        assert!(
            text.starts_with("D::AutoSync, D::C have no registry entry"),
            "{text}"
        );
        assert!(
            text.contains("#[daemon(D::AutoSync, runner = run_auto_sync)]"),
            "{text}"
        );
    }
}
