// A runner takes the context of another daemon, to publish what that one declares.
use coord::prelude::*;

#[derive(DaemonType, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DaemonType {
    DataPipeline,
    Evaluation,
}

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GamesCollected {
    pub games: u32,
}

#[daemon(DaemonType::DataPipeline, runner = collect_games, publishes = [GamesCollected])]
pub struct DataPipeline;

#[daemon(DaemonType::Evaluation, runner = evaluate)]
pub struct Evaluation;

async fn collect_games(ctx: DaemonContext<DataPipeline>) -> Result<(), BoxError> {
    ctx.publish(GamesCollected { games: 40 }).await;
    Ok(())
}

async fn evaluate(ctx: DaemonContext<DataPipeline>) -> Result<(), BoxError> {
    ctx.publish(GamesCollected { games: 1 }).await;
    Ok(())
}

fn main() {}
