//! The initialisation scheduler: dependency order, concurrency, containment.
//!
//! A coordinator starts as soon as all of its dependencies are ready, so
//! independent initialisers overlap and the total time is the critical path.
//! Each initializer is polled once inline: a trivial one finishes without a
//! task; one that waits is moved to a task with its timeout. An error, panic
//! or timeout is recorded on that coordinator, and every coordinator that
//! depends on it, directly or not, is skipped with the failure as root cause.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant, SystemTime};

use tokio::task::JoinSet;

use super::bootstrapper::{Bootstrapper, Lifecycle, Record};
use super::status::{CoordinatorState, InitError};
use crate::interface::AnyCoordinator;
use crate::util::{self, CatchUnwind};

/// A coordinator, how its initializer ended, how long it took, and when it
/// started if that is not recorded yet (an initializer that finished inline
/// is recorded once, in `finish`).
type InitOutcome = (
    usize,
    Result<AnyCoordinator, InitError>,
    Duration,
    Option<SystemTime>,
);

impl Bootstrapper {
    /// Initialises `targets` (in initialisation order), each once its
    /// dependencies are ready; dependencies outside `targets` must already be.
    pub(super) async fn run(&self, targets: &[usize], hooks: &dyn Lifecycle) {
        let plan = &self.plan;
        let mut run = Run {
            hooks,
            in_run: vec![false; plan.specs.len()],
            waiting: vec![0; plan.specs.len()],
            queue: VecDeque::new(),
            tasks: JoinSet::new(),
            task_index: HashMap::new(),
            began: (Instant::now(), SystemTime::now()),
        };
        for &i in targets {
            run.in_run[i] = true;
        }
        let mut blocked = Vec::new();
        {
            let mut records = self.records();
            for &i in targets {
                records[i] = Record::pending();
            }
            for &i in targets {
                for &d in &plan.deps[i] {
                    if run.in_run[d] {
                        run.waiting[i] += 1;
                    } else if records[d].state != CoordinatorState::Ready {
                        let cause = records[d].error.clone().unwrap_or(InitError::NotStarted {
                            name: plan.specs[d].name,
                        });
                        blocked.push((i, d, cause));
                    }
                }
            }
        }
        for (i, d, cause) in blocked {
            self.skip(&mut run, i, d, Arc::new(cause));
        }
        for &i in targets {
            if run.waiting[i] == 0 && self.records()[i].state == CoordinatorState::Pending {
                run.queue.push_back(i);
            }
        }
        loop {
            while let Some(i) = run.queue.pop_front() {
                if let Some(outcome) = self.start(&mut run, i) {
                    self.finish(&mut run, outcome);
                }
            }
            match run.tasks.join_next_with_id().await {
                None => break,
                Some(Ok((id, outcome))) => {
                    run.task_index.remove(&id);
                    self.finish(&mut run, outcome);
                }
                Some(Err(join)) => {
                    let Some(i) = run.task_index.remove(&join.id()) else {
                        continue;
                    };
                    let error = InitError::Panicked {
                        name: plan.specs[i].name,
                        message: util::join_message(join),
                    };
                    self.finish(&mut run, (i, Err(error), Duration::ZERO, None));
                }
            }
        }
    }

    /// Starts one initializer; returns its outcome if it finished at once.
    fn start(&self, run: &mut Run<'_>, i: usize) -> Option<InitOutcome> {
        let plan = &self.plan;
        let spec = plan.specs[i];
        tracing::debug!(coordinator = spec.name, "initializing");
        let started = Instant::now();
        let started_at = run.wall_time(started);
        let mut init = plan.initialize(i, &self.instances);
        // One inline poll: most initialisers finish without waiting, and those
        // skip a task spawn. A noop waker is enough because a pending one is
        // polled again when its task starts.
        // Every line the initializer logs carries the coordinator's name.
        let span = tracing::info_span!("coordinator", name = spec.name);
        let mut cx = Context::from_waker(Waker::noop());
        let polled = span.in_scope(|| Pin::new(&mut CatchUnwind(init.as_mut())).poll(&mut cx));
        let result = match polled {
            Poll::Ready(Ok(result)) => result.map_err(|source| InitError::Failed {
                name: spec.name,
                source: Arc::from(source),
            }),
            Poll::Ready(Err(message)) => Err(InitError::Panicked {
                name: spec.name,
                message,
            }),
            Poll::Pending => {
                {
                    let mut records = self.records();
                    records[i].state = CoordinatorState::Initializing;
                    records[i].started_at = Some(started_at);
                }
                let limit = plan.timeouts[i];
                let handle = run.tasks.spawn(tracing::Instrument::instrument(
                    async move {
                        let result = match tokio::time::timeout(limit, init).await {
                            Ok(Ok(instance)) => Ok(instance),
                            Ok(Err(source)) => Err(InitError::Failed {
                                name: spec.name,
                                source: Arc::from(source),
                            }),
                            Err(_) => Err(InitError::TimedOut {
                                name: spec.name,
                                after: limit,
                            }),
                        };
                        (i, result, started.elapsed(), None)
                    },
                    span,
                ));
                run.task_index.insert(handle.id(), i);
                return None;
            }
        };
        Some((i, result, started.elapsed(), Some(started_at)))
    }

    fn finish(&self, run: &mut Run<'_>, (i, result, elapsed, started_at): InitOutcome) {
        let plan = &self.plan;
        let spec = plan.specs[i];
        match result {
            Ok(instance) => {
                // Wired before dependents start, so their initialisers' events reach it.
                run.hooks.ready(spec, &instance);
                self.instances
                    .insert(spec.name, spec.instance_type(), instance);
                // One lock for this record and its dependents' states.
                let mut records = self.records();
                records[i].state = CoordinatorState::Ready;
                records[i].init_duration = Some(elapsed);
                if started_at.is_some() {
                    records[i].started_at = started_at;
                }
                for &d in &plan.dependents[i] {
                    if run.in_run[d] {
                        run.waiting[d] -= 1;
                        if run.waiting[d] == 0 && records[d].state == CoordinatorState::Pending {
                            run.queue.push_back(d);
                        }
                    }
                }
                drop(records);
                tracing::debug!(coordinator = spec.name, ?elapsed, "initialized");
            }
            Err(error) => {
                tracing::error!(coordinator = spec.name, %error, "initialization failed");
                let cause = Arc::new(error.clone());
                {
                    let mut records = self.records();
                    records[i].state = CoordinatorState::Failed;
                    records[i].init_duration = Some(elapsed);
                    if started_at.is_some() {
                        records[i].started_at = started_at;
                    }
                    records[i].error = Some(error);
                }
                for &d in &plan.dependents[i] {
                    if run.in_run[d] {
                        self.skip(run, d, i, Arc::clone(&cause));
                    }
                }
            }
        }
    }

    /// Marks `i` skipped because `dependency` is not initialised, and with it
    /// every coordinator of this run that depends on `i`.
    fn skip(&self, run: &mut Run<'_>, i: usize, dependency: usize, cause: Arc<InitError>) {
        let plan = &self.plan;
        let mut stack = vec![(i, dependency, cause)];
        while let Some((i, dependency, cause)) = stack.pop() {
            let error = {
                let mut records = self.records();
                if records[i].state != CoordinatorState::Pending {
                    continue;
                }
                let error = InitError::DependencyNotInitialized {
                    name: plan.specs[i].name,
                    dependency: plan.specs[dependency].name,
                    cause,
                };
                records[i].state = CoordinatorState::Skipped;
                records[i].error = Some(error.clone());
                error
            };
            tracing::warn!(coordinator = plan.specs[i].name, %error, "skipped");
            let cause = Arc::new(error);
            for &d in &plan.dependents[i] {
                if run.in_run[d] {
                    stack.push((d, i, Arc::clone(&cause)));
                }
            }
        }
    }
}

/// State of one `run`: who waits on how many, who is ready, what is in flight.
struct Run<'a> {
    hooks: &'a dyn Lifecycle,
    in_run: Vec<bool>,
    waiting: Vec<usize>,
    queue: VecDeque<usize>,
    tasks: JoinSet<InitOutcome>,
    task_index: HashMap<tokio::task::Id, usize>,
    /// When the run began, on the monotonic clock and the wall clock.
    began: (Instant, SystemTime),
}

impl Run<'_> {
    /// The wall-clock time of `instant`, counted from when the run began:
    /// one clock reading per initializer rather than two (a reading costs
    /// about as much as the rest of starting a trivial initializer).
    fn wall_time(&self, instant: Instant) -> SystemTime {
        self.began.1 + instant.saturating_duration_since(self.began.0)
    }
}
