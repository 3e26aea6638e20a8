//! The registry as a program sees it at run time: lookups, orders, validation,
//! and the identity enum's names and parsing.

use std::sync::atomic::{AtomicUsize, Ordering};

use coord::CancellationToken;
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    EventRouter,
    DataPipeline,
    AutoSync,
}

static RUNS: AtomicUsize = AtomicUsize::new(0);

/// Named `run` on purpose: generated code must not shadow it.
async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    RUNS.fetch_add(1, Ordering::SeqCst);
    ctx.ready();
    Ok(())
}

async fn run_failing(_ctx: DaemonContext) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("disk on fire"))
}

#[daemon(DaemonType::EventRouter, runner = run, category = "core")]
pub struct EventRouter;

#[daemon(DaemonType::DataPipeline, runner = run_failing, depends_on = [DaemonType::EventRouter], restart = never)]
pub struct DataPipeline;

#[daemon(DaemonType::AutoSync, runner = run,
         depends_on = [DaemonType::DataPipeline], soft_depends_on = [DaemonType::EventRouter])]
pub struct AutoSync;

#[coordinator]
pub struct EventRouterCoordinator;

impl Coordinator for EventRouterCoordinator {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[coordinator(depends_on = [EventRouterCoordinator])]
pub struct DataPipelineOrchestrator;

impl Coordinator for DataPipelineOrchestrator {
    async fn initialize(ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        let _router = ctx.dep::<EventRouterCoordinator>();
        Ok(Self)
    }
}

#[test]
fn specs_carry_what_the_attributes_say() {
    let registry = coord::registry();
    let sync = registry.daemon("auto_sync").expect("registered");
    assert_eq!(sync.kind, "DaemonType");
    assert_eq!(sync.variant, "AutoSync");
    assert_eq!(sync.depends_on, ["data_pipeline"]);
    assert_eq!(sync.soft_depends_on, ["event_router"]);
    assert_eq!(sync.options, coord::DaemonOptions::NONE);
    assert!(
        sync.location.file.ends_with("registry.rs"),
        "{}",
        sync.location
    );

    let router = registry
        .daemon_of(DaemonType::EventRouter)
        .expect("registered");
    assert_eq!(router.category, Some("core"));
    let pipeline = registry
        .daemon_of(DaemonType::DataPipeline)
        .expect("registered");
    assert_eq!(pipeline.options.restart, Some(RestartPolicy::Never));

    let orchestrator = registry
        .coordinator_of::<DataPipelineOrchestrator>()
        .expect("registered");
    assert_eq!(orchestrator.name, "data_pipeline_orchestrator");
    assert_eq!(orchestrator.depends_on, ["event_router_coordinator"]);
}

#[test]
fn orders_follow_dependencies() {
    let order = coord::startup_order().expect("acyclic");
    assert_eq!(
        order.levels(),
        &[
            vec!["event_router"],
            vec!["data_pipeline"],
            vec!["auto_sync"]
        ]
    );
    let coordinators = coord::registry().coordinator_order().expect("acyclic");
    assert_eq!(
        coordinators.iter().collect::<Vec<_>>(),
        ["event_router_coordinator", "data_pipeline_orchestrator"]
    );
    coord::validate_registry().expect("complete registry");
}

#[tokio::test]
async fn the_registered_runner_is_the_users_function() {
    let spec = coord::registry()
        .daemon("event_router")
        .expect("registered");
    let (ctx, watch) = DaemonContext::new(spec.name, CancellationToken::new());
    let before = RUNS.load(Ordering::SeqCst);
    (spec.runner)(ctx).await.expect("runs");
    assert_eq!(RUNS.load(Ordering::SeqCst), before + 1);
    assert!(watch.is_ready());

    let failing = coord::registry()
        .daemon("data_pipeline")
        .expect("registered");
    let (ctx, _) = DaemonContext::new(failing.name, CancellationToken::new());
    let err = (failing.runner)(ctx)
        .await
        .expect_err("the runner's error comes back");
    assert_eq!(err.to_string(), "disk on fire");
}

#[test]
fn daemon_type_names_and_parsing() {
    assert_eq!(DaemonType::ALL.len(), 3);
    assert_eq!(DaemonType::AutoSync.name(), "auto_sync");
    assert_eq!(DaemonType::AutoSync.to_string(), "auto_sync");
    for spelling in ["auto_sync", "AUTO_SYNC", "AutoSync", "auto-sync"] {
        assert_eq!(
            spelling.parse::<DaemonType>(),
            Ok(DaemonType::AutoSync),
            "{spelling}"
        );
    }
    let err = "auto_snc".parse::<DaemonType>().expect_err("unknown");
    assert_eq!(
        err.to_string(),
        "[coord::E0501] unknown daemon 'auto_snc' (did you mean 'auto_sync'?); valid names: event_router, data_pipeline, auto_sync"
    );
    assert_eq!(<DaemonType as DaemonKind>::TYPE_NAME, "DaemonType");
    assert_eq!(DaemonKind::index(&DaemonType::AutoSync), 2);
}

#[test]
fn unknown_coordinator_names_suggest_the_closest() {
    let err = coord::registry()
        .coordinator("data_pipeline_orchestrater")
        .expect_err("unknown");
    assert_eq!(
        err.suggestion.as_deref(),
        Some("data_pipeline_orchestrator")
    );
}
