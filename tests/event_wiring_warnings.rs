//! A declared event nothing handles is only a warning: `validate` passes,
//! `validate --strict` fails on it.

use coord::prelude::*;

#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct GamesSynced {
    pub total: u64,
}

/// Declared published, handled by nothing.
#[derive(Event, Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SyncLagged {
    pub seconds: u64,
}

#[coordinator(publishes = [GamesSynced, SyncLagged])]
pub struct DataPipeline;

impl Coordinator for DataPipeline {
    async fn initialize(_ctx: &InitContext<'_, Self>) -> Result<Self, BoxError> {
        Ok(Self)
    }
}

#[subscriptions]
impl DataPipeline {
    #[subscribe]
    async fn on_games_synced(&self, _event: &GamesSynced) -> Result<(), BoxError> {
        Ok(())
    }
}

#[tokio::test]
async fn validate_passes_and_strict_fails_on_an_unhandled_declared_event() {
    assert_eq!(coord::validate_registry(), Ok(()));
    assert_eq!(coord::unhandled_events().len(), 1);
    let app = || coord::cli::App::new("event_wiring_warnings");
    let code = coord::cli::run_with_args(app(), ["x", "validate"]).await;
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let code = coord::cli::run_with_args(app(), ["x", "validate", "--strict"]).await;
    assert_eq!(code, std::process::ExitCode::FAILURE);
}
