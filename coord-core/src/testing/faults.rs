//! Failures a test injects: a runner that fails or panics on its Nth start,
//! a handler that fails its first N deliveries.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::BoxError;
use crate::events::EventMeta;
use crate::interface::{BoxFuture, DaemonContext, RunnerFn};
use crate::util::lock;

/// How an injected runner fault ends the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunnerFault {
    /// The runner returns an error.
    Fail,
    /// The runner panics.
    Panic,
}

/// `runner`, failing or panicking on the starts `faults` names (1 = the first).
pub(super) fn faulty_runner(
    daemon: String,
    runner: RunnerFn,
    faults: HashMap<u32, RunnerFault>,
) -> impl Fn(DaemonContext) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync + 'static {
    let starts = AtomicU32::new(0);
    move |ctx| {
        let start = starts.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(&fault) = faults.get(&start) else {
            return runner(ctx);
        };
        let message = format!("injected failure of {daemon} on start {start}");
        Box::pin(async move {
            match fault {
                RunnerFault::Fail => Err(BoxError::from(message)),
                RunnerFault::Panic => panic!("{message}"),
            }
        })
    }
}

/// Handlers that fail their first N deliveries, by name.
#[derive(Debug, Default)]
pub(super) struct HandlerFaults {
    remaining: Mutex<HashMap<String, u32>>,
}

impl HandlerFaults {
    pub(super) fn fail_first(&self, handler: String, deliveries: u32) {
        let _ = lock(&self.remaining).insert(handler, deliveries);
    }

    /// The handlers given failures, by name.
    pub(super) fn handlers(&self) -> Vec<String> {
        lock(&self.remaining).keys().cloned().collect()
    }

    /// `Some(error)` while `handler` has injected failures left.
    pub(super) fn intercept(&self, handler: &str, meta: &EventMeta) -> Option<String> {
        let mut remaining = lock(&self.remaining);
        let left = remaining.get_mut(handler)?;
        if *left == 0 {
            return None;
        }
        *left -= 1;
        Some(format!(
            "injected failure of {handler} on {} {} ({} more to come)",
            meta.name, meta.id, *left
        ))
    }
}

/// Faults to set up: kept by the builder until the service is built.
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// Daemon, start number, fault; a later entry for one start wins.
    pub(super) runners: Vec<(String, u32, RunnerFault)>,
    pub(super) handlers: Arc<HandlerFaults>,
}

impl Faults {
    /// The runner faults, daemon by daemon: one wrapper per daemon holds them all.
    pub(super) fn runners_by_daemon(&self) -> HashMap<String, HashMap<u32, RunnerFault>> {
        let mut by_daemon: HashMap<String, HashMap<u32, RunnerFault>> = HashMap::new();
        for (daemon, nth, fault) in &self.runners {
            let _ = by_daemon
                .entry(daemon.clone())
                .or_default()
                .insert(*nth, *fault);
        }
        by_daemon
    }
}
