//! What an item declares it publishes: `publishes = [...]` on
//! `#[coordinator]` and `#[daemon]`, kept for the checks across crates.

use std::any::TypeId;
use std::fmt;

/// One event type named in a `publishes = [...]` list.
#[derive(Clone, Copy)]
pub struct EventRef {
    /// The event type's stable name.
    pub name: &'static str,
    /// Whether the event is marked `#[event(external)]`.
    pub external: bool,
    /// Its type's identity (a function: `TypeId::of` is not const).
    pub type_id: fn() -> TypeId,
}

impl EventRef {
    /// The identity of the event type.
    pub fn event_type(&self) -> TypeId {
        (self.type_id)()
    }
}

impl fmt::Debug for EventRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for EventRef {
    fn eq(&self, other: &Self) -> bool {
        self.event_type() == other.event_type()
    }
}

impl Eq for EventRef {}
