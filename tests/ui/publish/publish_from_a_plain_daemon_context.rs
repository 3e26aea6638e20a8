// A runner that takes a plain `DaemonContext` publishes: the context does
// not know its daemon, so it may not publish what the daemon declares.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    DataPipeline,
}

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GamesCollected {
    pub games: u32,
}

#[daemon(DaemonType::DataPipeline, runner = collect_games, publishes = [GamesCollected])]
pub struct DataPipeline;

async fn collect_games(ctx: DaemonContext) -> Result<(), BoxError> {
    ctx.ready();
    ctx.publish(GamesCollected { games: 40 }).await;
    Ok(())
}

fn main() {}
