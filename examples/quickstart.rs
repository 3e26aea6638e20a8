//! The daemons and coordinators of the design contract, registered across two
//! modules; prints the daemon startup order and the coordinator init order.
//!
//! Remove any `#[daemon(...)]` below and `cargo build` fails naming the variant;
//! add a dependency that closes a cycle and it fails printing the cycle.

use coord::prelude::*;

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

/// Daemons that move data; their registry entries live here.
mod data {
    use super::DaemonType;
    use coord::prelude::*;

    #[daemon(DaemonType::EventRouter, runner = run_until_shutdown, category = "core")]
    pub struct EventRouter;

    #[daemon(DaemonType::DataPipeline, runner = run_until_shutdown, depends_on = [DaemonType::EventRouter])]
    pub struct DataPipeline;

    #[daemon(DaemonType::FeedbackLoop, runner = run_until_shutdown, depends_on = [DaemonType::EventRouter])]
    pub struct FeedbackLoop;

    #[daemon(DaemonType::AutoSync,
             runner = run_until_shutdown,
             depends_on = [DaemonType::DataPipeline, DaemonType::FeedbackLoop],
             soft_depends_on = [DaemonType::Evaluation],
             category = "sync")]
    pub struct AutoSync;

    /// Signals readiness, then runs until shutdown is requested.
    pub async fn run_until_shutdown(ctx: DaemonContext) -> Result<(), BoxError> {
        ctx.ready();
        ctx.cancelled().await;
        Ok(())
    }
}

/// Daemons and coordinators that judge models.
mod models {
    use super::DaemonType;
    use super::data::run_until_shutdown;
    use coord::prelude::*;

    #[daemon(DaemonType::Evaluation, runner = run_until_shutdown, depends_on = [DaemonType::EventRouter])]
    pub struct Evaluation;

    #[daemon(DaemonType::AutoPromotion,
             runner = run_until_shutdown,
             depends_on = [DaemonType::Evaluation],
             restart = on_failure)]
    pub struct AutoPromotion;

    /// Routes events between coordinators.
    #[coordinator]
    pub struct EventRouterCoordinator;

    impl Coordinator for EventRouterCoordinator {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }

    /// Owns the data pipeline's state.
    #[coordinator(depends_on = [EventRouterCoordinator])]
    pub struct DataPipelineOrchestrator;

    impl Coordinator for DataPipelineOrchestrator {
        async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            // Only coordinators in `depends_on` can be fetched; others fail to compile.
            let _router = ctx.dep::<EventRouterCoordinator>();
            Ok(Self)
        }
    }

    /// Decides promotions from evaluation results.
    #[coordinator(depends_on = [EventRouterCoordinator, DataPipelineOrchestrator])]
    pub struct PromotionController;

    impl Coordinator for PromotionController {
        async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
            Ok(Self)
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let registry = coord::registry();
    coord::validate_registry()?;

    println!("Daemon startup order (a level's daemons start together):");
    print!("{}", registry.startup_order()?);

    println!("\nCoordinator initialisation order:");
    print!("{}", registry.coordinator_order()?);

    let router_coordinator = coord::registry()
        .coordinator_of::<models::DataPipelineOrchestrator>()
        .ok_or("data_pipeline_orchestrator is not registered")?;
    println!(
        "\n{} needs {:?} first",
        router_coordinator.name, router_coordinator.depends_on
    );

    let sync = registry
        .daemon_of(DaemonType::AutoSync)
        .ok_or("auto_sync is not registered")?;
    println!(
        "\n{} ({}) declared at {}: depends on {:?}, soft {:?}",
        sync.name,
        sync.category.unwrap_or("-"),
        sync.location,
        sync.depends_on,
        sync.soft_depends_on
    );
    Ok(())
}
