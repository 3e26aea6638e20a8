//! The compile-time graph the macros emit: one node per `DaemonType`
//! variant (with its `#[daemon]` entry's slot) and one per `#[coordinator]`,
//! linked to their dependencies. The checks in `registry::check` walk it.
//!
//! # Invariants
//! Nodes are reached only through [`DaemonNodeRef`] and [`CoordNodeRef`],
//! which are built from `&'static` references, so every pointer a walk
//! follows is valid for the whole program.

use super::EventRef;
use super::options::DaemonOptions;
use super::runner::RunnerFn;
use crate::location::Location;

/// Which list of an item's dependencies a finding points into.
pub const HARD: u8 = 0;
/// The `soft_depends_on` list.
pub const SOFT: u8 = 1;

/// The runtime half of a `#[daemon]` entry: what the registry lists.
#[derive(Debug, Clone, Copy)]
pub struct DaemonEntrySpec {
    /// Runs the daemon.
    pub runner: RunnerFn,
    /// Grouping from `category = "..."` or `category = Enum::Variant`.
    pub category: Option<Category>,
    /// The settings the attribute gives (`restart`, timeouts, backoff, ...).
    pub options: DaemonOptions,
    /// The struct the attribute is on.
    pub anchor: &'static str,
    /// The events it declares it publishes (`publishes = [...]`).
    pub publishes: &'static [EventRef],
    /// Where the entry is.
    pub location: Location,
}

/// A daemon's category as its attribute names it.
#[derive(Debug, Clone, Copy)]
pub enum Category {
    /// `category = "sync"`.
    Text(&'static str),
    /// `category = Category::Sync`: a variant of the user's enum, named
    /// snake_case at run time from its `Debug` form (`sync`).
    Typed(fn() -> &'static str),
}

impl Category {
    /// The category's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text(name) => name,
            Self::Typed(name) => name(),
        }
    }
}

/// The snake_case name of a category enum's variant, from its `Debug` form.
pub fn category_name<T: std::fmt::Debug>(variant: &T) -> &'static str {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Leaked once per distinct name: categories are a handful of variants.
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let debug = format!("{variant:?}");
    let mut names = crate::util::lock(NAMES.get_or_init(Mutex::default));
    names
        .entry(debug)
        .or_insert_with_key(|debug| Box::leak(snake_case(debug).into_boxed_str()))
}

/// `SyncJobs` -> `sync_jobs`, `IOWorker` -> `io_worker`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let before_lower = i > 0
                && chars[i - 1].is_uppercase()
                && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || before_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// What one `#[daemon(E::V, ...)]` entry defines on its enum.
#[derive(Debug, Clone, Copy)]
pub struct DaemonSlot {
    pub(crate) present: bool,
    pub(crate) deps: &'static [i128],
    pub(crate) soft_deps: &'static [i128],
    pub(crate) location: Option<Location>,
    pub(crate) entry: Option<DaemonEntrySpec>,
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
    pub(crate) slot: DaemonSlot,
    pub(crate) variant: &'static str,
    pub(crate) name: &'static str,
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

    /// The pointer, for walks that keep a path of them.
    pub(crate) const fn as_ptr(self) -> *const CoordNode {
        self.0
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
