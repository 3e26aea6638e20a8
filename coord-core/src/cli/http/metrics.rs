//! `GET /metrics`: the service's state in the Prometheus text format,
//! gathered at each scrape from the coordination, the daemon manager and
//! the event bus (nothing is counted twice, and nothing here keeps state).

use std::fmt;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::bootstrap::CoordinatorState;
use crate::coordination::Coordination;
use crate::daemons::{DaemonManager, DaemonState};
use crate::events::{DeadLetterState, HandlerLatency, LATENCY_BUCKETS};

/// Every state a daemon can be in, one gauge each.
const DAEMON_STATES: [DaemonState; 10] = [
    DaemonState::Stopped,
    DaemonState::Starting,
    DaemonState::Running,
    DaemonState::Ready,
    DaemonState::Stopping,
    DaemonState::Backoff,
    DaemonState::Failed,
    DaemonState::Degraded,
    DaemonState::Retrying,
    DaemonState::Standby,
];

/// Labelled samples of one metric, encoded as they are.
#[derive(Debug)]
struct Samples {
    kind: MetricType,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Samples {
    fn new(kind: MetricType) -> Self {
        Self {
            kind,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }
}

impl EncodeMetric for Samples {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for (labels, value) in &self.samples {
            let mut family = encoder.encode_family(labels)?;
            match self.kind {
                MetricType::Counter => {
                    family.encode_counter::<NoLabelSet, _, f64>(value, None)?;
                }
                _ => family.encode_gauge(value)?,
            }
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        self.kind
    }
}

/// Handler latencies as histograms, one per handler.
#[derive(Debug)]
struct Durations(Vec<HandlerLatency>);

impl EncodeMetric for Durations {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), fmt::Error> {
        for latency in &self.0 {
            let labels = [
                ("handler", latency.handler.as_str()),
                ("event", latency.event),
            ];
            let buckets: Vec<(f64, u64)> = LATENCY_BUCKETS
                .iter()
                .copied()
                .chain([f64::MAX])
                .zip(latency.buckets.iter().copied())
                .collect();
            encoder
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(
                    latency.sum.as_secs_f64(),
                    latency.count,
                    &buckets,
                    None,
                )?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

/// The text of one scrape.
pub(super) fn scrape(coordination: &Coordination, manager: &DaemonManager) -> String {
    let mut registry = Registry::default();
    daemon_metrics(&mut registry, manager);
    coordinator_metrics(&mut registry, coordination);
    event_metrics(&mut registry, coordination);
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    text
}

fn daemon_metrics(registry: &mut Registry, manager: &DaemonManager) {
    let mut states = Samples::new(MetricType::Gauge);
    let mut restarts = Samples::new(MetricType::Counter);
    let mut ready = Samples::new(MetricType::Gauge);
    for status in manager.status() {
        let daemon = status.name.to_owned();
        for state in DAEMON_STATES {
            let value = f64::from(u8::from(status.state == state));
            states.add(
                vec![
                    ("daemon", daemon.clone()),
                    ("state", state.as_str().to_owned()),
                ],
                value,
            );
        }
        restarts.add(
            vec![("daemon", daemon.clone())],
            status.restarts_total as f64,
        );
        if let (Some(started), Some(at)) = (status.started_at, status.ready_at)
            && let Ok(took) = at.duration_since(started)
        {
            ready.add(vec![("daemon", daemon)], took.as_secs_f64());
        }
    }
    registry.register(
        "coord_daemon_state",
        "1 for the state each daemon is in, 0 for the others",
        states,
    );
    registry.register(
        "coord_daemon_restarts",
        "Restarts of each daemon by its policy since it was last started by hand",
        restarts,
    );
    registry.register(
        "coord_daemon_time_to_ready_seconds",
        "From launching each daemon's current run to its ready signal",
        ready,
    );
}

fn coordinator_metrics(registry: &mut Registry, coordination: &Coordination) {
    let status = coordination.bootstrap_status();
    let mut init = Samples::new(MetricType::Gauge);
    let mut ready = Samples::new(MetricType::Gauge);
    for coordinator in &status.coordinators {
        let name = coordinator.name.to_owned();
        if let Some(took) = coordinator.init_duration {
            init.add(vec![("coordinator", name.clone())], took.as_secs_f64());
        }
        ready.add(
            vec![("coordinator", name)],
            f64::from(u8::from(coordinator.state == CoordinatorState::Ready)),
        );
    }
    registry.register(
        "coord_coordinator_bootstrap_seconds",
        "How long each coordinator's initializer took",
        init,
    );
    registry.register(
        "coord_coordinator_ready",
        "1 for each coordinator that is initialised",
        ready,
    );
}

fn event_metrics(registry: &mut Registry, coordination: &Coordination) {
    let bus = coordination.events();
    let mut published = Samples::new(MetricType::Counter);
    let mut delivered = Samples::new(MetricType::Counter);
    let mut failed = Samples::new(MetricType::Counter);
    let mut dead_lettered = Samples::new(MetricType::Counter);
    let mut orphaned = Samples::new(MetricType::Counter);
    for (event, counts) in bus.counts() {
        let labels = || vec![("event", event.to_owned())];
        published.add(labels(), counts.published as f64);
        delivered.add(labels(), counts.delivered as f64);
        failed.add(labels(), counts.failed as f64);
        dead_lettered.add(labels(), counts.dead_lettered as f64);
        orphaned.add(labels(), counts.orphaned as f64);
    }
    registry.register(
        "coord_events_published",
        "Events published, by event type",
        published,
    );
    registry.register(
        "coord_events_delivered",
        "Handler calls that succeeded, by event type",
        delivered,
    );
    registry.register(
        "coord_events_failed",
        "Handler calls that failed, panicked or timed out, by event type",
        failed,
    );
    registry.register(
        "coord_events_dead_lettered",
        "Deliveries that went to the dead-letter queue, by event type",
        dead_lettered,
    );
    registry.register(
        "coord_events_orphaned",
        "Events published while nothing subscribed, by event type",
        orphaned,
    );
    let letters = bus.dead_letters();
    let mut size = Samples::new(MetricType::Gauge);
    for state in [DeadLetterState::Retrying, DeadLetterState::Dead] {
        let count = letters.iter().filter(|l| l.state == state).count();
        size.add(vec![("state", state.as_str().to_owned())], count as f64);
    }
    registry.register(
        "coord_dead_letters",
        "Letters in the dead-letter queue, by state",
        size,
    );
    let mut dropped = Samples::new(MetricType::Counter);
    dropped.add(Vec::new(), bus.dead_letters_dropped() as f64);
    registry.register(
        "coord_dead_letters_dropped",
        "Dead letters dropped because the queue was full",
        dropped,
    );
    registry.register(
        "coord_handler_duration_seconds",
        "How long handler calls take, while /metrics is served",
        Durations(bus.handler_latencies()),
    );
}
