//! The main job: a small model of the training pipeline coord replaces.
//!
//! Six daemons with the original runbook's ordering rules (event_router first;
//! data_pipeline and feedback_loop before auto_sync; evaluation before
//! auto_promotion), three coordinators, and typed events flowing
//! games -> training -> evaluation -> promotion. `auto_sync` fails now and
//! then and is restarted by its policy.
//!
//! ```sh
//! cargo run --example training_pipeline                    # runs 15 s with a live status line
//! cargo run --example training_pipeline -- --duration 60
//! cargo run --example training_pipeline -- status          # from another terminal
//! ```

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use coord::StateStore;
use coord::prelude::*;
use serde::{Deserialize, Serialize};

/// The public identity of every daemon: used in APIs, config, CLI and logs.
#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    DataPipeline,
    FeedbackLoop,
    AutoSync,
    Evaluation,
    AutoPromotion,
}

// --- events ------------------------------------------------------------------

/// Self-play games arrived.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct GamesCollected {
    pub games: u32,
}

/// A model finished training.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct TrainingCompleted {
    pub model: String,
    pub loss: f64,
}

/// A model was evaluated against the current best.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct EvaluationCompleted {
    pub model: String,
    pub win_rate: f64,
}

/// A model became the new best.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct ModelPromoted {
    pub model: String,
}

// --- coordinators ------------------------------------------------------------

/// Counts what flows through the pipeline, for the summary.
#[coordinator]
pub struct EventRouterCoordinator {
    promoted: AtomicU32,
}

impl Coordinator for EventRouterCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self {
            promoted: AtomicU32::new(0),
        })
    }
}

#[subscriptions]
impl EventRouterCoordinator {
    #[subscribe]
    async fn on_model_promoted(&self, event: &ModelPromoted) -> Result<(), BoxError> {
        self.promoted.fetch_add(1, Ordering::Relaxed);
        // On a line of its own: the live status line is redrawn in place.
        println!("\n  promoted {}", event.model);
        Ok(())
    }
}

/// Trains a model every third batch of games.
#[coordinator(depends_on = [EventRouterCoordinator])]
pub struct DataPipelineOrchestrator {
    batches: AtomicU32,
    games: AtomicU64,
}

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _router = ctx.dep::<EventRouterCoordinator>();
        Ok(Self {
            batches: AtomicU32::new(0),
            games: AtomicU64::new(0),
        })
    }
}

#[subscriptions]
impl DataPipelineOrchestrator {
    #[subscribe]
    async fn on_games_collected(&self, event: &GamesCollected) -> Result<(), BoxError> {
        let games = self
            .games
            .fetch_add(u64::from(event.games), Ordering::Relaxed)
            + u64::from(event.games);
        let batch = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        if batch.is_multiple_of(3) {
            let generation = batch / 3;
            publish(TrainingCompleted {
                model: format!("model-{generation}"),
                loss: 1.0 / (1.0 + games as f64 / 100.0),
            })
            .await;
        }
        Ok(())
    }
}

/// Evaluates trained models and promotes the good ones.
#[coordinator(depends_on = [DataPipelineOrchestrator])]
pub struct PromotionController;

impl Coordinator for PromotionController {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl PromotionController {
    #[subscribe]
    async fn on_training_completed(&self, event: &TrainingCompleted) -> Result<(), BoxError> {
        publish(EvaluationCompleted {
            model: event.model.clone(),
            win_rate: 1.0 - event.loss / 2.0,
        })
        .await;
        Ok(())
    }

    #[subscribe]
    async fn on_evaluation_completed(&self, event: &EvaluationCompleted) -> Result<(), BoxError> {
        if event.win_rate > 0.55 {
            publish(ModelPromoted {
                model: event.model.clone(),
            })
            .await;
        }
        Ok(())
    }
}

/// The running coordination, for handlers to publish through.
static COORDINATION: std::sync::OnceLock<Coordination> = std::sync::OnceLock::new();

async fn publish<E: coord::Event>(event: E) {
    if let Some(coordination) = COORDINATION.get() {
        coordination.publish(event).await;
    }
}

// --- daemons -------------------------------------------------------------------

#[daemon(DaemonType::EventRouter, runner = run_until_cancelled, category = "core")]
pub struct EventRouter;

#[daemon(DaemonType::DataPipeline, runner = collect_games, depends_on = [DaemonType::EventRouter], category = "data")]
pub struct DataPipeline;

#[daemon(DaemonType::FeedbackLoop, runner = run_until_cancelled, depends_on = [DaemonType::EventRouter], category = "data")]
pub struct FeedbackLoop;

#[daemon(DaemonType::AutoSync,
         runner = flaky_sync,
         depends_on = [DaemonType::DataPipeline, DaemonType::FeedbackLoop],
         category = "sync",
         restart = on_failure)]
pub struct AutoSync;

#[daemon(DaemonType::Evaluation, runner = run_until_cancelled, depends_on = [DaemonType::EventRouter], category = "models")]
pub struct Evaluation;

#[daemon(DaemonType::AutoPromotion, runner = run_until_cancelled, depends_on = [DaemonType::Evaluation], category = "models")]
pub struct AutoPromotion;

async fn run_until_cancelled(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

/// Publishes a batch of games every second.
async fn collect_games(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    let mut batch = 0u32;
    loop {
        tokio::select! {
            _ = ctx.cancelled() => return Ok(()),
            _ = ticks.tick() => {
                batch += 1;
                ctx.publish(GamesCollected { games: 40 + batch % 7 }).await;
            }
        }
    }
}

static SYNC_RUNS: AtomicU32 = AtomicU32::new(0);

/// Syncs, and loses its peer now and then: its restart policy brings it back.
async fn flaky_sync(ctx: DaemonContext) -> Result<(), BoxError> {
    let run = SYNC_RUNS.fetch_add(1, Ordering::Relaxed);
    ctx.ready();
    // Every other run drops after a few seconds, like a flaky network peer.
    if run % 2 == 1 {
        tokio::select! {
            _ = ctx.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(3)) => {
                return Err(format!("sync peer reset the connection (run {run})").into());
            }
        }
    }
    tokio::select! {
        _ = ctx.cancelled() => Ok(()),
        _ = tokio::time::sleep(Duration::from_secs(4)) => Err(format!("sync peer timed out (run {run})").into()),
    }
}

// --- main ----------------------------------------------------------------------

fn usage() -> String {
    "usage: training_pipeline [--duration SECONDS] | status".to_owned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // COORD_LOG (default info), COORD_BOOTSTRAP_VERBOSE, COORD_LOG_FORMAT, COORD_LOG_FILE.
    coord::init_logging()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let data_dir = coord::data_dir_from_env();
    match args.first().map(String::as_str) {
        Some("status") => return status(&data_dir),
        Some("--duration") | None => {}
        Some(other) => return Err(format!("unknown argument '{other}'; {}", usage()).into()),
    }
    let duration = match args.get(1) {
        Some(seconds) => Duration::from_secs(seconds.parse().map_err(|_| {
            format!(
                "--duration takes whole seconds, got '{seconds}'; {}",
                usage()
            )
        })?),
        None => Duration::from_secs(15),
    };

    let store = StateStore::open(&data_dir)?;
    let run = store.begin_run()?;
    println!("state store: {}", store.path().display());
    println!(
        "running for {duration:?} (Ctrl-C stops earlier); `-- status` from another terminal shows this run\n"
    );

    let coordination = Coordination::builder().build()?;
    // Set once, before anything publishes; a second main would be a bug.
    let _ = COORDINATION.set(coordination.clone());
    let manager = coordination.start_daemon_manager();

    // The live view: records every daemon's state in the store and prints one
    // line, until told the run is over; then records the final states.
    let view_done = coord::CancellationToken::new();
    let view = {
        let manager = manager.clone();
        let done = view_done.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(500));
            loop {
                let last = tokio::select! {
                    _ = ticks.tick() => false,
                    _ = done.cancelled() => true,
                };
                let statuses = manager.status();
                let mut line = String::new();
                for status in &statuses {
                    if let Err(error) = store.record_daemon(run, status) {
                        eprintln!("cannot record daemon state: {error}");
                    }
                    line.push_str(&format!("{}={} ", status.name, status.state));
                }
                print!("\r{line}");
                use std::io::Write;
                let _ = std::io::stdout().flush();
                if last {
                    return store;
                }
            }
        })
    };

    let signal = coord::shutdown_signal()?;
    let report = coordination
        .run_until(async move {
            tokio::select! {
                name = signal => name,
                _ = tokio::time::sleep(duration) => "duration elapsed",
            }
        })
        .await;
    view_done.cancel();
    let store = view.await?;
    let outcome = if report.bootstrap.is_ok() && report.start.is_ok() {
        "clean"
    } else {
        "finished with errors"
    };
    store.end_run(run, outcome)?;

    println!("\n\nsummary ({}):", report.ended_by);
    println!(
        "  coordinators initialised: {}",
        report.bootstrap.status.initialized_coordinators.join(", ")
    );
    for error in &report.bootstrap.status.errors {
        println!("  coordinator error: {error}");
    }
    for (event, counts) in coordination.events().counts() {
        println!(
            "  {event}: published {}, delivered {}, failed {}",
            counts.published, counts.delivered, counts.failed
        );
    }
    let sync = manager.daemon_status(DaemonType::AutoSync)?;
    println!(
        "  auto_sync restarted {} times by its policy (last error: {})",
        sync.restarts_total,
        sync.last_error.as_deref().unwrap_or("none")
    );
    println!(
        "  daemons stopped in order: {}",
        report.daemons_stopped.stopped.join(", ")
    );
    Ok(())
}

/// Prints the latest run and its daemons from the store; fails if a daemon failed.
fn status(data_dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let store = StateStore::open(data_dir)?;
    let Some(run) = store.latest_run()? else {
        println!("no run recorded in {}", store.path().display());
        return Ok(());
    };
    let state = match (&run.outcome, run.ended_at_ms) {
        (Some(outcome), _) => format!("ended: {outcome}"),
        (None, _) => "running".to_owned(),
    };
    println!("run {} (pid {}): {state}", run.id, run.pid);
    println!(
        "{:<16} {:<10} {:>8}  last error",
        "daemon", "state", "restarts"
    );
    let daemons = store.daemons(run.id)?;
    for d in &daemons {
        println!(
            "{:<16} {:<10} {:>8}  {}",
            d.name,
            d.state,
            d.restarts_total,
            d.last_error.as_deref().unwrap_or("-")
        );
    }
    if daemons.iter().any(|d| d.state == "failed") {
        return Err("a daemon has failed".into());
    }
    Ok(())
}
