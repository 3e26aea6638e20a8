//! Declared publishers: the events a coordinator or daemon says it
//! publishes (`publishes = [...]`), and the typed handle that publishes only
//! those.

use std::any::TypeId;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Weak};

use super::bus::{BusInner, EventBus};
use super::event::Event;
use crate::interface::{BoxFuture, EventRef};

/// Implemented by `publishes = [E]` on `#[coordinator]` or `#[daemon]` for
/// each `E` it lists, as `E: PublishedBy<ThatItem>`.
///
/// `REPEAT` is 0 except for an entry whose name repeats an earlier one's
/// (`Tick`, `other::Tick`), so two spellings never make conflicting impls.
#[diagnostic::on_unimplemented(
    message = "[coord::E0023] `{P}` does not declare that it publishes `{Self}`",
    label = "`{Self}` is not in the `publishes` list of `{P}`",
    note = "declare it on `{P}`: `publishes = [{Self}]` in its `#[coordinator(...)]` or `#[daemon(...)]`; coord checks that every handled event has a declared publisher",
    note = "when the publisher is `UnnamedDaemon`, the event comes from a runner that takes a plain `DaemonContext`, which declares nothing; name the daemon in the runner's signature, `async fn run(ctx: DaemonContext<MyDaemon>) -> Result<(), BoxError>`, and list the event in `MyDaemon`'s `publishes = [...]`"
)]
pub trait PublishedBy<P: ?Sized, const REPEAT: usize = 0>: Event {}

impl EventRef {
    /// The entry for event type `E`.
    pub const fn of<E: Event>() -> Self {
        Self {
            name: E::NAME,
            external: E::EXTERNAL,
            type_id: TypeId::of::<E>,
        }
    }
}

/// The entry of `publishes = [...]` for `E`, read through `E`'s
/// `PublishedBy` impl so that a listed type that is not an event is reported
/// once, at that impl.
#[doc(hidden)]
pub const fn published_event<E: PublishedBy<P, REPEAT>, P: ?Sized, const REPEAT: usize>() -> EventRef
{
    EventRef::of::<E>()
}

/// Publishes the events `P` declares in its `publishes = [...]`, with `P`'s
/// name as their source.
///
/// A coordinator gets one from `ctx.publisher()` in its initializer and keeps
/// it to publish from its handlers; it does not keep the bus alive.
pub struct Publisher<P: ?Sized> {
    bus: Weak<BusInner>,
    source: &'static str,
    _publisher: PhantomData<fn() -> P>,
}

impl<P: ?Sized> Clone for Publisher<P> {
    fn clone(&self) -> Self {
        Self {
            bus: Weak::clone(&self.bus),
            source: self.source,
            _publisher: PhantomData,
        }
    }
}

impl<P: ?Sized> fmt::Debug for Publisher<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl<P: ?Sized> Publisher<P> {
    /// A publisher onto `bus` (none: outside a running coordination) named `source`.
    pub fn new(bus: Option<&EventBus>, source: &'static str) -> Self {
        Self {
            bus: bus.map_or_else(Weak::new, |bus| Arc::downgrade(&bus.inner)),
            source,
            _publisher: PhantomData,
        }
    }

    /// The name its events carry as their source.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Publishes `event`, which `P` declares in `publishes = [...]`.
    ///
    /// Once the coordination is gone (or outside one) nothing can receive
    /// it: it is logged as dropped.
    ///
    /// Not an `async fn`: its future's type does not carry the bound, so an
    /// undeclared event is one error, at the call.
    pub fn publish<E: PublishedBy<P>>(&self, event: E) -> BoxFuture<'static, ()> {
        let bus = self.bus.upgrade();
        let source = self.source;
        Box::pin(async move {
            match bus {
                Some(inner) => EventBus { inner }.publish_from(source, event).await,
                None => tracing::warn!(
                    event = E::NAME,
                    source,
                    "not published: no running coordination to deliver it"
                ),
            }
        })
    }
}

/// What a `#[subscribe]` handler may take after the event:
/// `async fn on_x(&self, event: &X, ctx: &HandlerContext<Self>)`. It
/// publishes what the coordinator declares, with the coordinator as source
/// and the handled event's correlation id.
pub struct HandlerContext<C: ?Sized> {
    publisher: Publisher<C>,
}

impl<C: ?Sized> Clone for HandlerContext<C> {
    fn clone(&self) -> Self {
        Self {
            publisher: self.publisher.clone(),
        }
    }
}

impl<C: ?Sized> fmt::Debug for HandlerContext<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerContext")
            .field("coordinator", &self.publisher.source)
            .finish_non_exhaustive()
    }
}

impl<C: ?Sized> HandlerContext<C> {
    /// The context of handlers of the coordinator called `owner` on `bus`.
    pub(super) fn new(bus: &EventBus, owner: &'static str) -> Self {
        Self {
            publisher: Publisher::new(Some(bus), owner),
        }
    }

    /// Publishes `event`, which the coordinator declares in `publishes = [...]`.
    pub fn publish<E: PublishedBy<C>>(&self, event: E) -> BoxFuture<'static, ()> {
        self.publisher.publish(event)
    }

    /// A publisher to keep, e.g. for a task the handler starts.
    pub fn publisher(&self) -> &Publisher<C> {
        &self.publisher
    }
}

/// What a handler of coordinator `C` may take after the event: only
/// `&HandlerContext<C>`; `#[subscriptions]` passes the context through it so
/// that another type is reported in coord's words.
#[diagnostic::on_unimplemented(
    message = "[coord::E0024] a handler of `{C}` takes `&HandlerContext<{C}>` after the event, not `&{Self}`",
    label = "a handler's context is its own coordinator's",
    note = "the handler's signature: `async fn on_event(&self, event: &MyEvent, ctx: &HandlerContext<Self>) -> Result<(), BoxError>`; it publishes what `{C}` declares in `publishes = [...]`"
)]
pub trait HandlerContextOf<C: ?Sized> {
    /// The context as the handler takes it.
    fn from_context(ctx: &HandlerContext<C>) -> &Self;
}

impl<C: ?Sized> HandlerContextOf<C> for HandlerContext<C> {
    fn from_context(ctx: &HandlerContext<C>) -> &Self {
        ctx
    }
}

/// `ctx` as the handler of `C` takes it; `#[subscriptions]` calls this.
#[doc(hidden)]
pub fn handler_context<C: ?Sized, T: HandlerContextOf<C> + ?Sized>(ctx: &HandlerContext<C>) -> &T {
    T::from_context(ctx)
}
