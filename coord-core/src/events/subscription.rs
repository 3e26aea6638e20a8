//! The wiring of `#[subscribe]` methods: what `#[subscriptions]` registers
//! for each, and how it is subscribed to a coordinator's instance.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use super::bus::{EventBus, SubscribeError};
use super::event::{Envelope, Event};
use super::publisher::HandlerContext;
use super::topic::Handler;
use crate::error::BoxError;
use crate::interface::{AnyCoordinator, BoxFuture, Coordinator, RegisteredCoordinator, Scope};
use crate::location::Location;
use crate::util::lock;

/// What a [`SubscriptionSpec`]'s binding is asked to do.
#[doc(hidden)]
pub enum BindingRequest<'a> {
    /// Describe the handler: its event and coordinator.
    Describe,
    /// Subscribe the method of this instance, owned by the coordinator called `owner`.
    Wire(&'a EventBus, AnyCoordinator, &'static str),
}

/// What a binding tells about its handler.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct BindingInfo {
    /// The event type's stable name.
    pub event: &'static str,
    /// The coordinator struct's name as written.
    pub coordinator_type: &'static str,
    /// The coordinator's type.
    pub coordinator_id: TypeId,
    /// The event's type.
    pub event_id: TypeId,
    /// Whether the event is marked `#[event(external)]`.
    pub external: bool,
}

/// One `#[subscribe]` method, registered by `#[subscriptions]`.
pub struct SubscriptionSpec {
    method: &'static str,
    location: Location,
    binding: fn(BindingRequest<'_>) -> Result<BindingInfo, SubscribeError>,
}

impl SubscriptionSpec {
    /// The registration of one method; `#[subscriptions]` calls this.
    ///
    /// One generic function both describes the handler and wires it, so a
    /// mistake in the method's types is reported once, not once per use.
    #[doc(hidden)]
    pub const fn new(
        method: &'static str,
        location: Location,
        binding: fn(BindingRequest<'_>) -> Result<BindingInfo, SubscribeError>,
    ) -> Self {
        Self {
            method,
            location,
            binding,
        }
    }

    fn info(&self) -> BindingInfo {
        match (self.binding)(BindingRequest::Describe) {
            Ok(info) => info,
            // Describe never subscribes, so it cannot fail.
            Err(_) => BindingInfo {
                event: "(unknown)",
                coordinator_type: "(unknown)",
                coordinator_id: TypeId::of::<()>(),
                event_id: TypeId::of::<()>(),
                external: false,
            },
        }
    }

    /// `Coordinator::method`, e.g. `DataPipelineOrchestrator::on_training_completed`.
    pub fn name(&'static self) -> &'static str {
        // Built once per handler and kept: specs are registered statics.
        static NAMES: OnceLock<Mutex<HashMap<usize, &'static str>>> = OnceLock::new();
        let names = NAMES.get_or_init(Mutex::default);
        let key = std::ptr::from_ref(self) as usize;
        lock(names).entry(key).or_insert_with(|| {
            Box::leak(format!("{}::{}", self.info().coordinator_type, self.method).into_boxed_str())
        })
    }

    /// The method's name.
    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The event type's stable name.
    pub fn event(&self) -> &'static str {
        self.info().event
    }

    /// The event's type.
    pub fn event_type(&self) -> TypeId {
        self.info().event_id
    }

    /// Whether the event is marked `#[event(external)]`: it needs no declared publisher.
    pub fn event_is_external(&self) -> bool {
        self.info().external
    }

    /// The coordinator type whose instance handles the events.
    pub fn coordinator_type(&self) -> TypeId {
        self.info().coordinator_id
    }

    /// The coordinator struct's name as written.
    pub fn coordinator_type_name(&self) -> &'static str {
        self.info().coordinator_type
    }

    /// Where the method was declared.
    pub fn location(&self) -> Location {
        self.location
    }

    /// Subscribes the method of an initialised instance of the coordinator called `owner`.
    pub fn wire(
        &self,
        bus: &EventBus,
        instance: AnyCoordinator,
        owner: &'static str,
    ) -> Result<(), SubscribeError> {
        (self.binding)(BindingRequest::Wire(bus, instance, owner)).map(|_| ())
    }
}

impl fmt::Debug for SubscriptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionSpec")
            .field("method", &self.method)
            .field("event", &self.event())
            .finish_non_exhaustive()
    }
}

inventory::collect!(SubscriptionSpec);

/// Every `#[subscribe]` method linked into the program.
pub fn subscription_specs() -> impl Iterator<Item = &'static SubscriptionSpec> {
    inventory::iter::<SubscriptionSpec>()
}

/// The `#[subscribe]` methods of the coordinator type `coordinator`.
///
/// Indexed once: wiring looks them up for every coordinator that becomes
/// ready, and scanning every handler each time would make bootstrap grow
/// with coordinators times handlers.
pub fn subscriptions_of(coordinator: TypeId) -> &'static [&'static SubscriptionSpec] {
    static BY_COORDINATOR: OnceLock<HashMap<TypeId, Vec<&'static SubscriptionSpec>>> =
        OnceLock::new();
    BY_COORDINATOR
        .get_or_init(|| {
            let mut index: HashMap<TypeId, Vec<&'static SubscriptionSpec>> = HashMap::new();
            for spec in subscription_specs() {
                index.entry(spec.coordinator_type()).or_default().push(spec);
            }
            index
        })
        .get(&coordinator)
        .map_or(&[], Vec::as_slice)
}

/// Implemented for coordinators: what `#[subscriptions]` requires of its type.
#[diagnostic::on_unimplemented(
    message = "[coord::E0015] `#[subscriptions]` is on `{Self}`, which is not a coordinator",
    label = "not a `#[coordinator]` type",
    note = "handlers run on an initialised coordinator instance: mark `{Self}` with `#[coordinator]` and implement `Coordinator`, or subscribe a closure at run time with `bus.subscribe::<E>(name, f)`"
)]
pub trait SubscribingCoordinator: Coordinator + RegisteredCoordinator {}

#[diagnostic::do_not_recommend]
impl<T: Coordinator + RegisteredCoordinator> SubscribingCoordinator for T {}

/// What a `#[subscribe]` method returns: `Result<(), E>` with `E: Into<BoxError>`.
#[diagnostic::on_unimplemented(
    message = "[coord::E0015] a `#[subscribe]` handler must return `Result<(), E>`, not `{Self}`",
    label = "expected `Result<(), E>` where `E: Into<BoxError>`",
    note = "the expected signature is `async fn on_event(&self, event: &MyEvent) -> Result<(), BoxError>`"
)]
pub trait HandlerResult {
    /// The result as the bus records it.
    fn into_result(self) -> Result<(), BoxError>;
}

#[diagnostic::do_not_recommend]
impl<E: Into<BoxError>> HandlerResult for Result<(), E> {
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// A `#[subscribe]` method of coordinator `C` for events `E`, erased to a fn
/// pointer; it gets the handler context whether or not the method takes it.
#[doc(hidden)]
pub type MethodCall<C, E> =
    fn(Arc<C>, Arc<Envelope<E>>, &HandlerContext<C>) -> BoxFuture<'static, Result<(), BoxError>>;

/// Describes, or subscribes, method `call` of coordinator `C` handling `E`;
/// `#[subscriptions]` calls it for each `#[subscribe]` method.
pub fn subscribe_method<C: SubscribingCoordinator, E: Event>(
    request: BindingRequest<'_>,
    method: &'static str,
    scope: Scope,
    call: MethodCall<C, E>,
) -> Result<BindingInfo, SubscribeError> {
    let info = BindingInfo {
        event: E::NAME,
        coordinator_type: C::TYPE_NAME,
        coordinator_id: TypeId::of::<C>(),
        event_id: TypeId::of::<E>(),
        external: E::EXTERNAL,
    };
    let BindingRequest::Wire(bus, instance, owner) = request else {
        return Ok(info);
    };
    let Ok(instance) = instance.downcast::<C>() else {
        // Bootstrap passes each coordinator's own instance; a mismatch is a coord bug.
        unreachable!("subscription {method} was given another coordinator's instance");
    };
    let ctx = HandlerContext::<C>::new(bus, owner);
    let handler: Handler<E> =
        Arc::new(move |envelope| call(Arc::clone(&instance), Arc::clone(envelope), &ctx));
    let name = format!("{}::{method}", C::TYPE_NAME);
    bus.subscribe_scoped(Arc::from(name), Some(owner), scope, handler)?;
    Ok(info)
}
