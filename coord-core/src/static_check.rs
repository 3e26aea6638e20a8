//! Dependency-graph checks evaluated by the compiler.
//!
//! The macros generate `const _` items (and, for a `DaemonType` enum, one
//! `static` per variant) that call these functions, so a missing registry
//! entry, a dependency cycle, a self-dependency or a dependency listed twice
//! makes `cargo check` fail with a message naming the items and where they
//! are declared. Everything here is `const fn`: no heap, no pointer
//! comparison (nodes are identified by position or by a hashed path), and
//! every walk keeps a visited set so diamond-shaped graphs stay linear.
//!
//! # How items find each other
//! - A `#[daemon(E::V, ...)]` entry defines a [`DaemonSlot`] as an inherent
//!   const of `E`, named after `V`. The derive reads each variant's slot into
//!   a `static` [`DaemonNode`] (a fallback trait supplies
//!   [`DaemonSlot::MISSING`] where no entry exists, because inherent items win
//!   over trait items), and lists pointers to those statics in the enum's
//!   [`DaemonGraph`]. Each entry then checks the graph from its own node.
//! - A `#[coordinator]` defines a [`CoordNode`] static linked to its
//!   dependencies' nodes, and checks the graph from itself.
//!
//! # Invariants
//! 1. Nodes are reached only through [`DaemonNodeRef`] and [`CoordNodeRef`],
//!    which are built from `&'static` references, so every pointer a walk
//!    follows is valid for the whole program.
//! 2. Each check reads only the nodes reachable from its own item, so a
//!    broken item (a duplicate entry, a dependency of the wrong kind) stops
//!    only the checks that reach it, and the rest of the crate is still checked.
//! 3. A cycle is reported by its smallest member only (by position for
//!    daemons, by declaration order for coordinators): every cycle has exactly
//!    one, so every disjoint cycle is reported, each once.

use crate::daemon::RestartPolicy;
use crate::location::Location;
use crate::registry::RunnerFn;

/// Bytes a compile-time message may take.
const MESSAGE_CAPACITY: usize = 8192;
/// Room kept for the advice that ends every message.
const ADVICE_RESERVE: usize = 1024;
/// Longest cycle printed in full; longer ones are elided in the middle.
const CYCLE_MEMBERS_IN_FULL: usize = 24;

/// Text built during const evaluation, where there is no `String`.
///
/// Only whole `&str`s are appended (or a prefix cut at a character boundary),
/// so the text is always valid UTF-8.
pub struct Message {
    buf: [u8; MESSAGE_CAPACITY],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Self {
            buf: [0; MESSAGE_CAPACITY],
            len: 0,
        }
    }

    /// The text.
    pub const fn as_str(&self) -> &str {
        let (text, _) = self.buf.split_at(self.len);
        match core::str::from_utf8(text) {
            Ok(text) => text,
            // `push` never splits a character, so this is unreachable.
            Err(_) => "[coord] (a compile-time message was not valid UTF-8: please report this)",
        }
    }

    const fn room(&self) -> usize {
        MESSAGE_CAPACITY - self.len
    }

    /// Whether `len` more bytes fit and still leave room for the closing advice.
    const fn fits(&self, len: usize) -> bool {
        self.room() >= len + ADVICE_RESERVE
    }

    /// Appends `s` whole if it fits; else as much as fits, cut at a character boundary.
    const fn push(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut take = bytes.len();
        if take > self.room() {
            take = self.room();
            // A UTF-8 continuation byte is 0b10xx_xxxx: back off to a char start.
            while take > 0 && take < bytes.len() && (bytes[take] & 0xC0) == 0x80 {
                take -= 1;
            }
        }
        let mut i = 0;
        while i < take {
            self.buf[self.len] = bytes[i];
            self.len += 1;
            i += 1;
        }
    }

    const fn push_u64(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut out = [0u8; 20];
        let mut i = 0;
        while i < count {
            out[i] = digits[count - 1 - i];
            i += 1;
        }
        let (text, _) = out.split_at(count);
        if let Ok(text) = core::str::from_utf8(text) {
            self.push(text);
        }
    }

    const fn push_location(&mut self, location: &Location) {
        self.push(" (");
        self.push(location.file);
        self.push(":");
        self.push_u64(location.line as u64);
        self.push(")");
    }
}

/// Stops compilation with `message`, reported where the call is written.
///
/// `#[track_caller]`: the generated code calls this at the token an error is
/// about (an entry, a dependency), and that is where rustc points. Cheaper
/// for the compiler than a `panic!` with its formatting at every such place.
#[track_caller]
pub const fn fail(message: &str) -> ! {
    panic!("{}", message)
}

/// Which list of an item's dependencies a finding points into.
pub const HARD: u8 = 0;
/// The `soft_depends_on` list.
pub const SOFT: u8 = 1;

/// What a check found, and which dependency token it is about.
#[derive(Clone, Copy)]
pub struct Finding {
    kind: FindingKind,
    list: u8,
    position: usize,
}

#[derive(Clone, Copy)]
enum FindingKind {
    Nothing,
    DependsOnItself,
    ListedTwice,
    HardAndSoft,
    Cycle,
}

impl Finding {
    const NOTHING: Self = Self {
        kind: FindingKind::Nothing,
        list: HARD,
        position: 0,
    };

    const fn at(kind: FindingKind, list: u8, position: usize) -> Self {
        Self {
            kind,
            list,
            position,
        }
    }

    /// Whether there is something to report.
    pub const fn is_problem(&self) -> bool {
        !matches!(self.kind, FindingKind::Nothing)
    }

    /// The dependency it points at, as (`HARD` or `SOFT`, position), or `None`
    /// when it is about the item itself (a cycle).
    pub const fn dependency(&self) -> Option<(u8, usize)> {
        match self.kind {
            FindingKind::Nothing | FindingKind::Cycle => None,
            _ => Some((self.list, self.position)),
        }
    }
}

/// The runtime half of a `#[daemon]` entry: what the registry lists.
#[derive(Debug, Clone, Copy)]
pub struct DaemonEntrySpec {
    /// Runs the daemon.
    pub runner: RunnerFn,
    /// Free-form grouping from `category = "..."`.
    pub category: Option<&'static str>,
    /// `restart = ...`, if given.
    pub restart: Option<RestartPolicy>,
    /// The struct the attribute is on.
    pub anchor: &'static str,
    /// Where the entry is.
    pub location: Location,
}

/// What one `#[daemon(E::V, ...)]` entry defines on its enum.
#[derive(Debug, Clone, Copy)]
pub struct DaemonSlot {
    present: bool,
    deps: &'static [i128],
    soft_deps: &'static [i128],
    location: Option<Location>,
    entry: Option<DaemonEntrySpec>,
}

impl DaemonSlot {
    /// The derive's fallback where no entry exists.
    pub const MISSING: Self = Self {
        present: false,
        deps: &[],
        soft_deps: &[],
        location: None,
        entry: None,
    };

    /// An entry; dependencies are the variants' discriminants (`E::X as i128`).
    pub const fn new(
        deps: &'static [i128],
        soft_deps: &'static [i128],
        entry: DaemonEntrySpec,
    ) -> Self {
        Self {
            present: true,
            deps,
            soft_deps,
            location: Some(entry.location),
            entry: Some(entry),
        }
    }

    /// Marks a variant as registered while its attribute has an error, so the
    /// build reports that error alone; such a build never runs.
    pub const fn placeholder() -> Self {
        Self {
            present: true,
            deps: &[],
            soft_deps: &[],
            location: None,
            entry: None,
        }
    }

    /// Whether an entry (or a placeholder) exists.
    pub const fn is_present(&self) -> bool {
        self.present
    }
}

/// One variant of a `DaemonType` enum, with its entry; a `static` the derive defines.
#[derive(Debug)]
pub struct DaemonNode {
    slot: DaemonSlot,
    variant: &'static str,
    name: &'static str,
}

impl DaemonNode {
    /// The node of variant `variant` (runtime name `name`).
    pub const fn new(slot: DaemonSlot, variant: &'static str, name: &'static str) -> Self {
        Self {
            slot,
            variant,
            name,
        }
    }

    /// The variant as written.
    pub fn variant(&self) -> &'static str {
        self.variant
    }

    /// The runtime name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The entry's runtime data; `None` only in a build that fails.
    pub fn entry(&self) -> Option<&DaemonEntrySpec> {
        self.slot.entry.as_ref()
    }

    /// Hard dependencies, as discriminants.
    pub fn dependencies(&self) -> &'static [i128] {
        self.slot.deps
    }

    /// Soft dependencies, as discriminants.
    pub fn soft_dependencies(&self) -> &'static [i128] {
        self.slot.soft_deps
    }
}

/// A pointer to a [`DaemonNode`] static.
///
/// A pointer rather than a reference: the graph lists every node, and
/// reading one node's data must not require evaluating the others (a broken
/// entry then stops only the checks that reach it). Like [`CoordNodeRef`],
/// it can only be made from a `&'static DaemonNode`:
///
/// ```compile_fail
/// let dangling = coord_core::__private::DaemonNodeRef(std::ptr::null());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DaemonNodeRef(*const DaemonNode);

// SAFETY: built only from `&'static DaemonNode`; the pointee is immutable.
unsafe impl Sync for DaemonNodeRef {}
// SAFETY: as above.
unsafe impl Send for DaemonNodeRef {}

impl DaemonNodeRef {
    /// Refers to a node that lives for the whole program.
    pub const fn new(node: &'static DaemonNode) -> Self {
        Self(node as *const DaemonNode)
    }

    /// The node.
    pub const fn get(self) -> &'static DaemonNode {
        // SAFETY: `new` is the only constructor and takes a `&'static DaemonNode`.
        unsafe { &*self.0 }
    }
}

/// Every variant of one `DaemonType` enum, as the derive lists them.
#[derive(Debug)]
pub struct DaemonGraph {
    /// The enum's name, e.g. `DaemonType`.
    pub type_name: &'static str,
    /// One node per variant, in declaration order.
    pub nodes: &'static [DaemonNodeRef],
    /// `E::V as i128` per variant, in declaration order.
    pub discriminants: &'static [i128],
}

impl DaemonGraph {
    /// The position of the variant with this discriminant.
    pub const fn position(&self, discriminant: i128) -> usize {
        // Without explicit discriminants, a variant's discriminant is its position.
        if discriminant >= 0 && (discriminant as u128) < self.discriminants.len() as u128 {
            let i = discriminant as usize;
            if self.discriminants[i] == discriminant {
                return i;
            }
        }
        let mut i = 0;
        while i < self.discriminants.len() {
            if self.discriminants[i] == discriminant {
                return i;
            }
            i += 1;
        }
        // Every discriminant comes from a variant of this enum.
        usize::MAX
    }
}

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

/// How many members to print at the start and at the end of a cycle of `len`.
const fn cycle_window(len: usize) -> (usize, usize) {
    if len <= CYCLE_MEMBERS_IN_FULL {
        (len, len)
    } else {
        (CYCLE_MEMBERS_IN_FULL / 2, CYCLE_MEMBERS_IN_FULL / 2 - 1)
    }
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

/// Compile-time node of one coordinator, linked to its dependencies' nodes.
#[derive(Debug)]
pub struct CoordNode {
    /// The struct's name as written, for messages.
    pub type_name: &'static str,
    /// Hash of the struct's full path: const evaluation cannot compare pointers.
    pub id: u64,
    /// Declaration order (line and column); ties are broken by `id`.
    pub order: u64,
    /// Where the struct is declared.
    pub location: Location,
    /// Nodes of the coordinators named in `depends_on`, in the order written.
    pub deps: &'static [CoordNodeRef],
}

/// A pointer to a [`CoordNode`] static.
///
/// A pointer rather than a reference: a reference held in an associated const
/// and reached from another static's initializer makes rustc report a query
/// cycle (E0391) for every dependency cycle, before our check can name it.
///
/// It can only be made from a `&'static CoordNode`, so no safe code can hand
/// a walk a dangling pointer:
///
/// ```compile_fail
/// let dangling = coord_core::__private::CoordNodeRef(std::ptr::null());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CoordNodeRef(*const CoordNode);

// SAFETY: built only from `&'static CoordNode`; the pointee is immutable.
unsafe impl Sync for CoordNodeRef {}
// SAFETY: as above.
unsafe impl Send for CoordNodeRef {}

impl CoordNodeRef {
    /// Refers to a node that lives for the whole program.
    pub const fn new(node: &'static CoordNode) -> Self {
        Self(node as *const CoordNode)
    }

    /// The node.
    pub const fn get(self) -> &'static CoordNode {
        // SAFETY: `new` is the only constructor and takes a `&'static CoordNode`.
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

/// `i` if `ids[i]` already appears before position `i`, else 0.
///
/// Generated `DependencyOf` impls take this as a const argument, so a
/// dependency listed twice (under two spellings) makes two distinct impls
/// instead of a conflict, and the check below reports it in coord's words.
pub const fn repeat_position(ids: &[u64], i: usize) -> usize {
    let mut j = 0;
    while j < i {
        if ids[j] == ids[i] {
            return i;
        }
        j += 1;
    }
    0
}

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
    path[0] = start.0;
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
        path[depth] = node.deps[edge].0;
        cursor[depth] = 0;
        depth += 1;
    }
    CoordWalk::Clean
}

#[cfg(test)]
mod tests;
