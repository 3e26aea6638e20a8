//! Dependency-graph checks evaluated by the compiler.
//!
//! The macros emit `const _: () = check(...)` items that call these functions,
//! so a dependency cycle or a missing registry entry makes `cargo check` fail
//! with a message naming the items. Everything here is `const fn`: no heap, no
//! pointer comparison (nodes are identified by index or by a hashed path), and
//! every walk keeps a visited set so diamond-shaped graphs stay linear.

/// Compile-time record of one `#[daemon]` entry, looked up by its variant.
#[derive(Clone, Copy, Debug)]
pub struct DaemonEntry {
    /// False for the placeholder the derive uses when no `#[daemon]` exists.
    pub present: bool,
    /// Variant indices of hard dependencies.
    pub deps: &'static [usize],
    /// Variant indices of soft dependencies.
    pub soft_deps: &'static [usize],
}

impl DaemonEntry {
    /// The placeholder that marks a variant without a `#[daemon]` entry.
    pub const MISSING: Self = Self {
        present: false,
        deps: &[],
        soft_deps: &[],
    };

    /// A registered entry with the given dependency indices.
    pub const fn new(deps: &'static [usize], soft_deps: &'static [usize]) -> Self {
        Self {
            present: true,
            deps,
            soft_deps,
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

/// Rejects a cycle among the daemons of one `DaemonType` enum.
///
/// Called once per enum by `#[derive(DaemonType)]` with every variant's entry,
/// so the walk is linear in variants plus edges. Missing entries are skipped:
/// the derive reports them separately, at the variant.
pub const fn check_daemon_graph<const N: usize>(
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
        let soft = cursor[i] - 1 >= entries[path[i]].deps.len();
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
enum Walk {
    Clean,
    /// Found a cycle through the start but another member reports it.
    CycleReportedElsewhere,
    /// Found a cycle this node reports.
    Cycle(Verdict),
    /// The visited table or the path stack filled up: retry with more room.
    OutOfRoom,
}

/// Rejects a dependency cycle that passes through `start`.
///
/// Every coordinator runs this from its own node. Each member of a cycle would
/// find it, so only the member with the smallest id reports: one mistake, one
/// error. (The smallest id among all nodes on any cycle always reports, so no
/// cycle goes unreported.) The walk starts small and retries with more room,
/// so small graphs pay for small tables.
pub const fn check_coordinator_cycles(start: NodeRef) -> Verdict {
    let mut walk = walk_coordinators::<64>(start);
    if let Walk::OutOfRoom = walk {
        walk = walk_coordinators::<1024>(start);
    }
    if let Walk::OutOfRoom = walk {
        walk = walk_coordinators::<16384>(start);
    }
    match walk {
        Walk::Clean | Walk::CycleReportedElsewhere => Verdict::new(),
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

const fn walk_coordinators<const CAP: usize>(start: NodeRef) -> Walk {
    let origin = start.get();
    let mut visited = [0u64; CAP];
    let mut visited_len = 0;
    let mut path: [*const CoordNode; CAP] = [core::ptr::null(); CAP];
    let mut cursor = [0usize; CAP];
    path[0] = start.0;
    let mut depth = 1;
    if !insert(&mut visited, origin.id) {
        return Walk::OutOfRoom;
    }
    visited_len += 1;
    while depth > 0 {
        // SAFETY: path holds only pointers taken from NodeRefs, see NodeRef::get.
        let node = unsafe { &*path[depth - 1] };
        let edge = cursor[depth - 1];
        if edge == node.deps.len() {
            depth -= 1;
            continue;
        }
        cursor[depth - 1] += 1;
        let next = node.deps[edge].get();
        if next.id == origin.id {
            return report_coordinator_cycle(origin, &path, depth);
        }
        if contains(&visited, next.id) {
            continue;
        }
        // Keep the table at most half full so probes stay short.
        if visited_len * 2 >= CAP || depth == CAP {
            return Walk::OutOfRoom;
        }
        insert(&mut visited, next.id);
        visited_len += 1;
        path[depth] = node.deps[edge].0;
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
    let mut i = 0;
    while i < depth {
        // SAFETY: see walk_coordinators.
        if unsafe { &*path[i] }.id < origin.id {
            return Walk::CycleReportedElsewhere;
        }
        i += 1;
    }
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

const fn slot(id: u64, cap: usize) -> usize {
    // Multiplicative mixing so ids that differ only in high bits spread out.
    (id.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % cap
}

const fn contains<const CAP: usize>(table: &[u64; CAP], id: u64) -> bool {
    let mut i = slot(id, CAP);
    let mut probes = 0;
    while probes < CAP {
        if table[i] == id {
            return true;
        }
        if table[i] == 0 {
            return false;
        }
        i = (i + 1) % CAP;
        probes += 1;
    }
    false
}

const fn insert<const CAP: usize>(table: &mut [u64; CAP], id: u64) -> bool {
    let mut i = slot(id, CAP);
    let mut probes = 0;
    while probes < CAP {
        if table[i] == 0 || table[i] == id {
            table[i] = id;
            return true;
        }
        i = (i + 1) % CAP;
        probes += 1;
    }
    false
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
                DaemonEntry::new(&[], &[]),
                DaemonEntry::new(&[0], &[]),
                DaemonEntry::new(&[0, 1], &[]),
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
                DaemonEntry::new(&[1], &[]),
                DaemonEntry::new(&[], &[2]),
                DaemonEntry::new(&[0], &[]),
            ],
        );
        let text = verdict.error().expect("cycle");
        assert!(text.contains("D::A -> D::B ~> D::C -> D::A"), "{text}");
    }

    #[test]
    fn missing_entries_are_left_to_the_per_variant_check() {
        let verdict = check_daemon_graph(
            "D",
            &["A", "B"],
            &[DaemonEntry::new(&[1], &[]), DaemonEntry::MISSING],
        );
        assert_eq!(verdict.error(), None);
    }
}
