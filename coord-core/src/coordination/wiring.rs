//! The wiring of coordinators' `#[subscribe]` handlers to the event bus:
//! subscribed when a coordinator is ready, unsubscribed before it shuts
//! down, rebuilt on request, and reported handler by handler.

use std::sync::Arc;

use super::Coordination;
use crate::bootstrap::{Bootstrapper, CoordinatorState, Lifecycle};
use crate::events::{EventBus, subscription_specs, subscriptions_of};
use crate::interface::AnyCoordinator;
use crate::registry::{CoordinatorSpec, registry};

/// Whether one `#[subscribe]` handler is wired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionStatus {
    /// `Coordinator::method`.
    pub handler: &'static str,
    /// The event type's name.
    pub event: &'static str,
    /// The coordinator that handles it.
    pub coordinator: &'static str,
    /// Whether events reach it now.
    pub wired: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// Bootstrap's hooks, as the handle answers them: wire and unwire handlers.
pub(super) struct Wiring<'a> {
    bus: &'a EventBus,
    bootstrap: &'a Bootstrapper,
}

impl<'a> Wiring<'a> {
    pub(super) fn new(bus: &'a EventBus, bootstrap: &'a Bootstrapper) -> Self {
        Self { bus, bootstrap }
    }

    /// Subscribes the `#[subscribe]` methods of coordinator `spec`'s instance.
    fn wire(&self, spec: &CoordinatorSpec, instance: &AnyCoordinator) {
        let id = spec.instance_type();
        for handler in subscriptions_of(id) {
            if let Err(error) = handler.wire(self.bus, Arc::clone(instance), spec.name) {
                tracing::error!(handler = handler.name(), %error, "not wired");
            }
        }
    }

    /// Every `#[subscribe]` handler linked in, and whether it is wired (or why not).
    fn status(&self) -> Vec<SubscriptionStatus> {
        // Most services have a few handlers and many more coordinators: the
        // coordinators' statuses are gathered only when there is a handler.
        if subscription_specs().next().is_none() {
            return Vec::new();
        }
        let coordinators: Vec<_> = self
            .bootstrap
            .specs_in_order()
            .zip(self.bootstrap.bootstrap_status().coordinators)
            .collect();
        let wired = self.bus.subscriptions();
        let mut all = Vec::new();
        for spec in subscription_specs() {
            let id = spec.coordinator_type();
            let event = spec.event();
            let handler: &'static str = spec.name();
            let mut owned = false;
            for (owner, status) in coordinators.iter().filter(|(c, _)| c.instance_type() == id) {
                owned = true;
                let coordinator = owner.name;
                let not_wired = match (&status.state, &status.error) {
                    (CoordinatorState::Ready, _) => None,
                    (_, Some(error)) => Some(error.to_string()),
                    (state, None) => Some(format!("coordinator '{coordinator}' is {state}")),
                };
                let on_bus = wired
                    .get(event)
                    .is_some_and(|handlers| handlers.iter().any(|h| h == handler));
                all.push(SubscriptionStatus {
                    handler,
                    event,
                    coordinator,
                    wired: not_wired.is_none() && on_bus,
                    reason: not_wired
                        .or_else(|| (!on_bus).then(|| "not subscribed on the bus".to_owned())),
                });
            }
            if !owned {
                let coordinator = registry()
                    .coordinators()
                    .iter()
                    .find(|c| c.instance_type() == id)
                    .map_or_else(|| spec.coordinator_type_name(), |c| c.name);
                all.push(SubscriptionStatus {
                    handler,
                    event,
                    coordinator,
                    wired: false,
                    reason: Some(format!("coordinator '{coordinator}' is not enabled")),
                });
            }
        }
        all.sort_by_key(|s| s.handler);
        all
    }
}

impl Lifecycle for Wiring<'_> {
    fn ready(&self, spec: &'static CoordinatorSpec, instance: &AnyCoordinator) {
        self.wire(spec, instance);
    }

    fn stopping(&self, spec: &'static CoordinatorSpec) {
        // Its handlers go first: no event reaches a coordinator being shut down.
        self.bus.unsubscribe_owner(spec.name);
    }

    fn bootstrapped(&self) {
        for status in self.status() {
            match &status.reason {
                None => tracing::debug!(handler = status.handler, event = status.event, "wired"),
                Some(reason) => {
                    tracing::warn!(handler = status.handler, event = status.event, %reason, "not wired")
                }
            }
        }
        self.bus.log_wiring_report();
    }
}

impl Coordination {
    /// Rebuilds the wiring of every `#[subscribe]` handler from the
    /// coordinators that are ready now; never leaves a duplicate handler.
    pub fn rewire_event_subscriptions(&self) -> Vec<SubscriptionStatus> {
        let wiring = self.wiring();
        for spec in self.inner.bootstrap.specs_in_order() {
            self.inner.bus.unsubscribe_owner(spec.name);
            if let Some(instance) = self.instances().get_by_name(spec.name) {
                wiring.wire(spec, &instance);
            }
        }
        wiring.status()
    }

    /// Every `#[subscribe]` handler linked in, and whether it is wired (or why not).
    pub fn subscription_status(&self) -> Vec<SubscriptionStatus> {
        self.wiring().status()
    }
}
