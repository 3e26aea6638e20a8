// The real registry's shape: data_pipeline soft-depends on auto_sync, which
// hard-depends on data_pipeline. A cycle with a soft edge compiles; the soft
// edge is dropped from the order and reported as a warning.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    DataPipeline,
    AutoSync,
}

async fn run(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.cancelled().await;
    Ok(())
}

#[daemon(DaemonType::DataPipeline, runner = run, soft_depends_on = [DaemonType::AutoSync])]
pub struct DataPipeline;

#[daemon(DaemonType::AutoSync, runner = run, depends_on = [DaemonType::DataPipeline])]
pub struct AutoSync;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    coord::validate_registry().expect("a soft cycle is not an error");
    let order = coord::startup_order().expect("ordered");
    assert_eq!(order.levels(), &[vec!["data_pipeline"], vec!["auto_sync"]]);
    let warnings = coord::registry().warnings();
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].to_string(),
        "[coord::E0110] soft dependency cycle: data_pipeline ~> auto_sync -> data_pipeline; \
         the soft edge data_pipeline ~> auto_sync is dropped from the startup order \
         (data_pipeline starts without waiting for auto_sync)"
    );
    // And it runs: data_pipeline does not wait for auto_sync, which waits for it.
    let coordination = Coordination::builder().build().expect("builds");
    let manager = coordination.start_daemon_manager();
    let report = manager.start_all().await;
    assert!(report.is_ok(), "{report:?}");
    manager.shutdown().await;
}
