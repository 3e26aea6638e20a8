//! The main job: a small model of the training pipeline coord replaces.
//!
//! Six daemons with the original runbook's ordering rules (event_router first;
//! data_pipeline and feedback_loop before auto_sync; evaluation before
//! auto_promotion), three coordinators, and typed events flowing
//! new games -> sync -> training -> evaluation -> promotion. `auto_sync` fails now and
//! then and is restarted by its policy; it recovers, so the job stays healthy
//! however long it runs.
//!
//! ```sh
//! cargo run --example training_pipeline                         # runs 15 s with a live status line
//! cargo run --example training_pipeline -- run --duration 60 --profile models
//! cargo run --example training_pipeline -- status               # from another terminal
//! cargo run --example training_pipeline -- --help               # order, validate, graph, events, ...
//! cargo run --example training_pipeline -- --config examples/training_pipeline.toml
//! ```
//!
//! Clustered (feature `nats`, a local `nats-server -js`), one line per terminal:
//!
//! ```sh
//! cargo run --features nats --example training_pipeline -- run --duration 600 --cluster nats://127.0.0.1:4222 --node n1
//! cargo run --features nats --example training_pipeline -- run --duration 600 --cluster nats://127.0.0.1:4222 --node n2
//! cargo run --features nats --example training_pipeline -- status --cluster nats://127.0.0.1:4222
//! ```
//!
//! `auto_promotion` is a singleton: one node runs it, the others stand by
//! and take over when that node dies. `ModelPromoted` is distributed: every
//! node's router counts it, and one node of the cluster uploads the model.
//!
//! Settings live on each daemon's attribute (`auto_sync`'s restart limits
//! and health check, `event_router` being critical); the config file
//! `examples/training_pipeline.toml` overrides some of them and configures
//! the data pipeline coordinator, which reads its table with `ctx.config()`.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

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

/// The collected games reached the training store.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
pub struct GamesSynced {
    pub total_games: u64,
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

/// A model became the new best. In cluster mode it reaches every node.
#[derive(Event, Clone, Debug, Serialize, Deserialize)]
#[event(distributed)]
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
        // Stands in for connecting to the message broker.
        tokio::time::sleep(Duration::from_millis(50)).await;
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
        // Logged: on a terminal it prints above the live status area.
        tracing::info!(model = %event.model, "promoted");
        Ok(())
    }
}

/// Syncs collected games to the training store, and trains on them.
#[coordinator(depends_on = [EventRouterCoordinator], publishes = [GamesSynced, TrainingCompleted])]
pub struct DataPipelineOrchestrator {
    /// Publishes what `publishes` declares, from its handlers.
    events: Publisher<Self>,
    batches: AtomicU32,
    games: AtomicU64,
    settings: PipelineSettings,
}

/// `[coordinators.data_pipeline_orchestrator]` in the config file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct PipelineSettings {
    /// Synced batches per trained model.
    #[serde(default = "PipelineSettings::default_train_every")]
    pub train_every: u32,
}

impl PipelineSettings {
    fn default_train_every() -> u32 {
        3
    }
}

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _router = ctx.dep::<EventRouterCoordinator>();
        let settings: PipelineSettings = ctx.config()?;
        if settings.train_every == 0 {
            return Err("`train_every` must be at least 1".into());
        }
        // Stands in for opening the game database.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Self {
            events: ctx.publisher(),
            batches: AtomicU32::new(0),
            games: AtomicU64::new(0),
            settings,
        })
    }
}

#[subscriptions]
impl DataPipelineOrchestrator {
    #[subscribe]
    async fn on_games_collected(&self, event: &GamesCollected) -> Result<(), BoxError> {
        let total_games = self
            .games
            .fetch_add(u64::from(event.games), Ordering::Relaxed)
            + u64::from(event.games);
        self.events.publish(GamesSynced { total_games }).await;
        Ok(())
    }

    /// Trains a new model every `train_every` synced batches.
    #[subscribe]
    async fn on_games_synced(&self, event: &GamesSynced) -> Result<(), BoxError> {
        let games = event.total_games;
        let batch = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        let every = self.settings.train_every;
        if batch.is_multiple_of(every) {
            let generation = batch / every;
            self.events
                .publish(TrainingCompleted {
                    model: format!("model-{generation}"),
                    loss: 1.0 / (1.0 + games as f64 / 100.0),
                })
                .await;
        }
        Ok(())
    }
}

/// Evaluates trained models and promotes the good ones.
#[coordinator(depends_on = [DataPipelineOrchestrator], publishes = [EvaluationCompleted, ModelPromoted])]
pub struct PromotionController;

impl Coordinator for PromotionController {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        // Stands in for loading the current best model.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(Self)
    }
}

#[subscriptions]
impl PromotionController {
    // A handler publishes through its context (or through a `Publisher<Self>`
    // kept from the initializer, as `DataPipelineOrchestrator` does).
    #[subscribe]
    async fn on_training_completed(
        &self,
        event: &TrainingCompleted,
        ctx: &HandlerContext<Self>,
    ) -> Result<(), BoxError> {
        ctx.publish(EvaluationCompleted {
            model: event.model.clone(),
            win_rate: 1.0 - event.loss / 2.0,
        })
        .await;
        Ok(())
    }

    #[subscribe]
    async fn on_evaluation_completed(
        &self,
        event: &EvaluationCompleted,
        ctx: &HandlerContext<Self>,
    ) -> Result<(), BoxError> {
        if event.win_rate > 0.55 {
            ctx.publish(ModelPromoted {
                model: event.model.clone(),
            })
            .await;
        }
        Ok(())
    }

    /// Uploads the promoted model; the registry is busy now and then, and the
    /// dead-letter queue retries the upload (1 s later, then 2 s, ...). In
    /// cluster mode one node of the cluster uploads each model.
    #[subscribe(once)]
    async fn on_model_promoted(&self, event: &ModelPromoted) -> Result<(), BoxError> {
        // PIPELINE_REGISTRY_DOWN=1 makes every upload fail, to watch the
        // dead-letter queue retry and then keep the upload as `dead`.
        let down = std::env::var_os("PIPELINE_REGISTRY_DOWN").is_some_and(|v| v == "1");
        if down
            || UPLOAD_TRIES
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(3)
        {
            return Err(format!("model registry busy, {} not uploaded", event.model).into());
        }
        Ok(())
    }
}

static UPLOAD_TRIES: AtomicU32 = AtomicU32::new(0);

// --- daemons -------------------------------------------------------------------

// Nothing works without the router: if it fails for good, the run ends.
#[daemon(DaemonType::EventRouter, runner = run_until_cancelled, category = "core",
         critical = true, ready_timeout = "10s")]
pub struct EventRouter;

// As in the registry coord replaces, data_pipeline soft-depends on auto_sync,
// which hard-depends on data_pipeline: a soft edge that closes a cycle is
// dropped from the startup order, and `validate` and `order` say so.
#[daemon(DaemonType::DataPipeline, runner = collect_games, depends_on = [DaemonType::EventRouter],
         soft_depends_on = [DaemonType::AutoSync], category = "data", publishes = [GamesCollected])]
pub struct DataPipeline;

#[daemon(DaemonType::FeedbackLoop, runner = run_until_cancelled, depends_on = [DaemonType::EventRouter], category = "data")]
pub struct FeedbackLoop;

// Restarted after each failure; five failed runs shorter than a minute in a
// row give up to a slow retry every 5 minutes. Its health check runs every
// 10 s once it is ready.
#[daemon(DaemonType::AutoSync,
         runner = flaky_sync,
         depends_on = [DaemonType::DataPipeline, DaemonType::FeedbackLoop],
         category = "sync",
         restart = on_failure,
         max_restarts = 5,
         backoff = "1s..30s",
         stable_after = "60s",
         after_give_up = "retry_every(5m)",
         health = check_sync,
         health_interval = "10s")]
pub struct AutoSync;

#[daemon(DaemonType::Evaluation, runner = evaluate, depends_on = [DaemonType::EventRouter], category = "models")]
pub struct Evaluation;

// In cluster mode one node at a time runs the promotion step; the others
// show it as `standby` and take over within a lease (10 s) if that node dies.
#[daemon(DaemonType::AutoPromotion, runner = promote, depends_on = [DaemonType::Evaluation],
         category = "models", singleton)]
pub struct AutoPromotion;

/// The promotion step: with a cluster, only the node holding its lease runs it.
async fn promote(ctx: DaemonContext) -> Result<(), BoxError> {
    if let Some(token) = ctx.fencing_token() {
        // A real promotion would send the token with every write to the model
        // registry, which refuses writes with an older token.
        tracing::info!(token, "this node runs the promotion step");
    }
    run_until_cancelled(ctx).await
}

async fn run_until_cancelled(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

/// Loads the evaluation harness, then waits for work.
async fn evaluate(ctx: DaemonContext) -> Result<(), BoxError> {
    tokio::time::sleep(Duration::from_millis(250)).await;
    run_until_cancelled(ctx).await
}

/// Publishes a batch of games every second.
async fn collect_games(ctx: DaemonContext<DataPipeline>) -> Result<(), BoxError> {
    // Stands in for attaching to the self-play workers.
    tokio::time::sleep(Duration::from_millis(150)).await;
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

/// `auto_sync`'s health check: the store it syncs into is up.
async fn check_sync(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.coordinator::<DataPipelineOrchestrator>()?;
    Ok(())
}

/// Syncs, and loses its peer now and then: its restart policy brings it back.
///
/// Two short runs fail (a reset, a timeout), then a long one lasts well past a
/// minute before the next failure: flaky, but it recovers, so a run of any
/// length never uses up its restarts.
async fn flaky_sync(ctx: DaemonContext) -> Result<(), BoxError> {
    let run = SYNC_RUNS.fetch_add(1, Ordering::Relaxed);
    ctx.ready();
    let (lasts, error) = match run % 3 {
        0 => (4, format!("sync peer timed out (run {run})")),
        1 => (3, format!("sync peer reset the connection (run {run})")),
        _ => (
            75,
            format!("sync peer went away after a long session (run {run})"),
        ),
    };
    tokio::select! {
        _ = ctx.cancelled() => Ok(()),
        _ = tokio::time::sleep(Duration::from_secs(lasts)) => Err(error.into()),
    }
}

// --- main ----------------------------------------------------------------------

/// The pipeline's configuration: profiles, and `PIPELINE_DAEMONS` (comma
/// separated) to enable only some daemons and their dependencies.
fn configure(builder: coord::CoordinationBuilder) -> coord::CoordinationBuilder {
    let builder = builder
        .profile("data", [DaemonType::DataPipeline, DaemonType::AutoSync])
        .profile(
            "models",
            [DaemonType::Evaluation, DaemonType::AutoPromotion],
        );
    match std::env::var("PIPELINE_DAEMONS") {
        Ok(list) if !list.trim().is_empty() => {
            builder.enable_daemons(list.split(',').map(|name| name.trim().to_owned()))
        }
        _ => builder,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let app = coord::cli::App::new("training_pipeline")
        .configure(configure)
        .default_duration(Duration::from_secs(15));
    coord::cli::run(app).await
}

// --- tests ---------------------------------------------------------------------

/// The pipeline's restart and dead-letter paths, on paused time: what the
/// README's "Testing your service" shows.
#[cfg(test)]
mod tests {
    use super::*;
    use coord::DeadLetterState;
    use coord::testing::{Recorded, TestCoordination};

    #[tokio::test]
    async fn auto_sync_is_restarted_after_its_peer_times_out() {
        let test = TestCoordination::builder()
            .enable_daemons([DaemonType::AutoSync])
            .start()
            .await
            .expect("the pipeline starts");
        // Its first run fails after 4 s; its backoff restarts it 1 s later.
        let status = test
            .wait_for(DaemonType::AutoSync, "restarted once and ready", |s| {
                s.restarts_total == 1 && s.state.is_ready()
            })
            .await
            .expect("auto_sync comes back");
        let error = status.last_error.unwrap_or_default();
        assert!(error.contains("sync peer timed out (run 0)"), "{error}");
        test.assert_restarted(DaemonType::AutoSync, 1);
        test.shutdown().await;
    }

    #[tokio::test]
    async fn a_model_the_registry_never_takes_ends_as_a_dead_letter() {
        let test = TestCoordination::builder()
            .without_daemons()
            .fail_handler("PromotionController::on_model_promoted", 5)
            .start()
            .await
            .expect("the coordinators start");
        test.publish(ModelPromoted {
            model: "model-7".to_owned(),
        })
        .await;
        // Tried 5 times, 1 + 2 + 4 + 8 s apart on the paused clock, then kept.
        test.wait_recorded("the fifth failed upload", |fact| {
            matches!(fact, Recorded::Failed { handler, error, .. }
                if handler == "PromotionController::on_model_promoted" && error.contains("(0 more to come)"))
        })
        .await
        .expect("every try fails");
        let letters = test.coordination().events().dead_letters();
        assert_eq!(letters.len(), 1, "{letters:?}");
        assert_eq!(letters[0].state, DeadLetterState::Dead);
        assert_eq!(letters[0].attempts, 5);
        assert!(
            letters[0].payload.contains("model-7"),
            "{}",
            letters[0].payload
        );
        // The router's handler of the same event was not affected.
        assert!(test.recorder().facts().iter().any(|f| matches!(f,
            Recorded::Delivered { handler, .. } if handler == "EventRouterCoordinator::on_model_promoted")));
        test.shutdown().await;
    }
}
