//! Which event the running handler is handling: the correlation id and
//! source a handler's own publishes inherit.
//!
//! # Safety
//! The inline pass points a thread-local at data on its own stack, only for
//! a synchronous pass, and a guard resets it before that data goes away
//! (unwinding included); see `with_handling`.

use super::event::EventMeta;

tokio::task_local! {
    /// The event being handled (and the handler's owner), while a handler
    /// runs in its subscriber's worker task.
    pub(super) static HANDLING: (EventMeta, &'static str);
}

/// The event being handled by handlers a publisher polls inline, and the
/// running handler's owner; lives on the publisher's stack for one pass.
pub(super) struct Inline {
    pub(super) meta: *const EventMeta,
    pub(super) owner: std::cell::Cell<&'static str>,
}

thread_local! {
    /// The [`Inline`] of the pass running on this thread, or null. A plain
    /// pointer, not a task-local scope: entering a scope per publish cost a
    /// tenth of a one-handler publish, and the pass is synchronous.
    pub(super) static INLINE: std::cell::Cell<*const Inline> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Puts back the previous [`INLINE`] when a pass ends, also by unwinding.
pub(super) struct InlineGuard(pub(super) *const Inline);

impl Drop for InlineGuard {
    fn drop(&mut self) {
        INLINE.with(|current| current.set(self.0));
    }
}

/// Calls `f` with the event being handled and the handler's owner, if a
/// handler is running here: inline on this thread, or in this worker task.
pub(super) fn with_handling<R>(f: impl FnOnce(&EventMeta, &'static str) -> R) -> Option<R> {
    let inline = INLINE.with(std::cell::Cell::get);
    if !inline.is_null() {
        // SAFETY: `deliver` points INLINE at an `Inline` (and its `meta` at the
        // envelope's) on its stack only for a synchronous pass on this thread,
        // and its guard resets it before either goes away, unwinding included.
        let inline = unsafe { &*inline };
        // SAFETY: as above; the envelope outlives the pass.
        return Some(f(unsafe { &*inline.meta }, inline.owner.get()));
    }
    HANDLING.try_with(|(meta, owner)| f(meta, owner)).ok()
}

impl EventMeta {
    /// The metadata of the event the current handler is handling.
    pub fn current() -> Option<EventMeta> {
        with_handling(|meta, _| meta.clone())
    }
}
