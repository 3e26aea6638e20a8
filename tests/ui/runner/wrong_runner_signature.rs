// The runner takes no context, so it could never be told to stop.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    AutoSync,
}

#[daemon(DaemonType::AutoSync, runner = run_auto_sync)]
pub struct AutoSync;

async fn run_auto_sync() -> Result<(), BoxError> {
    Ok(())
}

fn main() {}
