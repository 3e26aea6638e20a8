//! The event wiring of everything linked: for each event type, what declares
//! it publishes it (`publishes = [...]`) and what handles it (`#[subscribe]`).
//!
//! Here, with the handle, because it reads both the registry (publishers)
//! and the events' subscriptions (handlers). The compiler checks each
//! `ctx.publish` against its item's declarations; whether every handled
//! event has a publisher needs every linked crate, so it is checked here.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::fmt;

use crate::events::subscription_specs;
use crate::registry::{Registry, RegistryProblem, RegistryProblems, registry};

/// One event type as the linked items wire it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventWiring {
    /// The event's stable name.
    pub event: &'static str,
    /// Marked `#[event(external)]`: published from outside the items.
    pub external: bool,
    /// Coordinators and daemons declaring it in `publishes`, by runtime name.
    pub publishers: Vec<&'static str>,
    /// Its `#[subscribe]` handlers, `Coordinator::method`.
    pub handlers: Vec<&'static str>,
}

impl EventWiring {
    /// Handlers wait for it, and nothing declares it publishes it.
    pub fn lacks_publisher(&self) -> bool {
        !self.handlers.is_empty() && self.publishers.is_empty() && !self.external
    }

    /// Declared published, and nothing handles it.
    pub fn is_unhandled(&self) -> bool {
        !self.publishers.is_empty() && self.handlers.is_empty()
    }

    /// Its publishers as `events` and the status page show them.
    pub fn publishers_label(&self) -> String {
        match (self.publishers.is_empty(), self.external) {
            (false, _) => self.publishers.join(", "),
            (true, true) => "(external)".to_owned(),
            (true, false) => "(no publisher: E0413)".to_owned(),
        }
    }

    /// Its handlers as `events` and the status page show them.
    pub fn handlers_label(&self) -> String {
        if self.handlers.is_empty() {
            "(no handler: E0414)".to_owned()
        } else {
            self.handlers.join(", ")
        }
    }
}

/// A warning: an event declared in `publishes` that no linked handler takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnhandledEvent {
    /// The event's stable name.
    pub event: &'static str,
    /// What declares it publishes it.
    pub publishers: Vec<&'static str>,
}

impl fmt::Display for UnhandledEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[coord::E0414] event `{}` is declared published by {} but no linked handler subscribes to it: \
             add a `#[subscribe]` handler, or drop it from `publishes`",
            self.event,
            self.publishers.join(", ")
        )
    }
}

/// The event wiring of everything linked into this program, by event name.
pub fn event_wiring() -> Vec<EventWiring> {
    wiring_of(registry())
}

fn wiring_of(registry: &Registry) -> Vec<EventWiring> {
    let mut by_type = BTreeMap::new();
    let coordinators = registry
        .coordinators()
        .iter()
        .map(|c| (c.name, c.publishes));
    let daemons = registry.daemons().iter().map(|d| (d.name, d.publishes));
    for (publisher, publishes) in coordinators.chain(daemons) {
        for event in publishes {
            let wiring = row(&mut by_type, event.name, event.event_type(), event.external);
            if !wiring.publishers.contains(&publisher) {
                wiring.publishers.push(publisher);
            }
        }
    }
    for spec in subscription_specs() {
        let wiring = row(
            &mut by_type,
            spec.event(),
            spec.event_type(),
            spec.event_is_external(),
        );
        wiring.handlers.push(spec.name());
    }
    by_type
        .into_values()
        .map(|mut wiring| {
            wiring.publishers.sort_unstable();
            wiring.handlers.sort_unstable();
            wiring
        })
        .collect()
}

/// The row of one event type (by type: two events may share a name).
fn row<'m>(
    by_type: &'m mut BTreeMap<(&'static str, TypeId), EventWiring>,
    event: &'static str,
    type_id: TypeId,
    external: bool,
) -> &'m mut EventWiring {
    by_type
        .entry((event, type_id))
        .or_insert_with(|| EventWiring {
            event,
            external,
            publishers: Vec::new(),
            handlers: Vec::new(),
        })
}

/// Checks everything linked into this program, returning every problem at
/// once: the registry's (entries, names, dependencies, cycles) and handled
/// events that nothing declares it publishes.
pub fn validate_registry() -> Result<(), RegistryProblems> {
    let mut problems = match registry().validate() {
        Ok(()) => Vec::new(),
        Err(RegistryProblems(problems)) => problems,
    };
    problems.extend(
        event_wiring()
            .into_iter()
            .filter(EventWiring::lacks_publisher)
            .map(|wiring| RegistryProblem::NoPublisher {
                event: wiring.event,
                handlers: wiring.handlers,
            }),
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(RegistryProblems(problems))
    }
}

/// Events declared in `publishes` that no linked handler subscribes to.
pub fn unhandled_events() -> Vec<UnhandledEvent> {
    event_wiring()
        .into_iter()
        .filter(EventWiring::is_unhandled)
        .map(|wiring| UnhandledEvent {
            event: wiring.event,
            publishers: wiring.publishers,
        })
        .collect()
}
