//! Dependency-graph checks evaluated by the compiler: the const fns the
//! macros' `const _` items call on the graph nodes of `interface::node`.
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
//! - A `#[daemon(E::V, ...)]` entry defines a `DaemonSlot` as an inherent
//!   const of `E`, named after `V`. The derive reads each variant's slot into
//!   a `static` `DaemonNode` (a fallback trait supplies
//!   `DaemonSlot::MISSING` where no entry exists, because inherent items win
//!   over trait items), and lists pointers to those statics in the enum's
//!   `DaemonGraph`. Each entry then checks the graph from its own node.
//! - A `#[coordinator]` defines a `CoordNode` static linked to its
//!   dependencies' nodes, and checks the graph from itself.
//!
//! # Invariants
//! 1. Nodes are reached only through `DaemonNodeRef` and `CoordNodeRef`,
//!    which are built from `&'static` references, so every pointer a walk
//!    follows is valid for the whole program.
//! 2. Each check reads only the nodes reachable from its own item, so a
//!    broken item (a duplicate entry, a dependency of the wrong kind) stops
//!    only the checks that reach it, and the rest of the crate is still checked.
//! 3. A cycle is reported by its smallest member only (by position for
//!    daemons, by declaration order for coordinators): every cycle has exactly
//!    one, so every disjoint cycle is reported, each once.

mod coordinator;
mod daemon;
mod message;
mod settings;

pub use coordinator::{check_coordinator, explain_coordinator};
pub use daemon::{check_daemon_entry, explain_daemon_entry};
pub use message::{Message, fail};
pub use settings::{check_setting, setting_backoff, setting_duration, setting_give_up};

use crate::interface::HARD;

/// What a check found, and which dependency token it is about.
#[derive(Clone, Copy)]
pub struct Finding {
    pub(super) kind: FindingKind,
    pub(super) list: u8,
    pub(super) position: usize,
}

#[derive(Clone, Copy)]
pub(super) enum FindingKind {
    Nothing,
    DependsOnItself,
    ListedTwice,
    HardAndSoft,
    Cycle,
}

impl Finding {
    pub(super) const NOTHING: Self = Self {
        kind: FindingKind::Nothing,
        list: HARD,
        position: 0,
    };

    pub(super) const fn at(kind: FindingKind, list: u8, position: usize) -> Self {
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

#[cfg(test)]
mod tests;
