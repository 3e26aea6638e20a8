//! Starting sets of daemons: each gets a supervisor task, and a start
//! returns once every daemon in the set has settled.

use std::collections::HashSet;

use tokio_util::sync::CancellationToken;

use super::manager::{DaemonManager, Supervisor};
use super::status::{DaemonState, DaemonStatus, StartReport};
use crate::util::lock;

impl DaemonManager {
    pub(super) fn is_active(&self, i: usize) -> bool {
        lock(&self.inner.slots[i].supervisor)
            .as_ref()
            .is_some_and(|s| !s.task.is_finished())
    }

    /// `roots` and their transitive hard dependencies, in startup order.
    pub(super) fn with_dependencies(&self, roots: &[usize]) -> Vec<usize> {
        let plan = self.plan();
        let mut wanted = HashSet::new();
        let mut stack = roots.to_vec();
        while let Some(i) = stack.pop() {
            if wanted.insert(i) {
                stack.extend(&plan.deps[i]);
            }
        }
        plan.startup_order()
            .filter(|i| wanted.contains(i))
            .collect()
    }

    /// Daemons stopped (transitively) because `i` failed or stopped.
    pub(super) fn stopped_because_of(&self, i: usize) -> Vec<usize> {
        let plan = self.plan();
        let mut found = Vec::new();
        let mut stack = vec![i];
        while let Some(cause) = stack.pop() {
            for &d in &plan.dependents[cause] {
                let status = self.status_of(d);
                if status.stopped_because.is_some() && !found.contains(&d) {
                    found.push(d);
                    stack.push(d);
                }
            }
        }
        found
    }

    /// Spawns supervisors for `set` (in startup order) and waits until each settles.
    pub(super) async fn start_set(&self, set: &[usize]) -> StartReport {
        for &i in set {
            self.spawn_supervisor(i);
        }
        // Wait last-started first: those settle last, so the rest have usually
        // settled by then and this task is woken a few times, not once per daemon.
        for &i in set.iter().rev() {
            self.inner.slots[i]
                .status
                .wait(|s| s.is_settled().then_some(()))
                .await;
        }
        let mut report = StartReport {
            ready: Vec::new(),
            not_ready: Vec::new(),
        };
        for &i in set {
            let cell = &self.inner.slots[i].status;
            match cell.read(|s| s.state.is_ready().then_some(s.name)) {
                Some(name) => report.ready.push(name),
                None => report.not_ready.push(cell.read(DaemonStatus::clone)),
            }
        }
        report
    }

    pub(super) fn spawn_supervisor(&self, i: usize) {
        let mut slot = lock(&self.inner.slots[i].supervisor);
        if slot.as_ref().is_some_and(|s| !s.task.is_finished()) {
            return;
        }
        let plan = self.plan();
        self.update(i, |s| {
            *s = DaemonStatus {
                state: DaemonState::Starting,
                waiting_on: plan.deps[i].iter().map(|&d| plan.specs[d].name).collect(),
                last_error: s.last_error.take(),
                // `update` stamps the change to starting; no clock reading here.
                ..DaemonStatus::stopped_since(plan.specs[i].name, s.since)
            }
        });
        let stop = CancellationToken::new();
        let manager = self.clone();
        // Every line the supervisor and the runner log carries the daemon's name.
        let span = tracing::info_span!("daemon", name = plan.specs[i].name);
        // A disabled span adds nothing to what is logged inside it, only
        // bytes to every idle daemon's task and an enter and exit per poll.
        // The supervisor is made in each branch: a future held in a local
        // first is copied once more on its way into the task.
        let task = if span.is_disabled() {
            tokio::spawn(manager.supervise(i, stop.clone()))
        } else {
            tokio::spawn(tracing::Instrument::instrument(
                manager.supervise(i, stop.clone()),
                span,
            ))
        };
        *slot = Some(Supervisor { stop, task });
    }
}
